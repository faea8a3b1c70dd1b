"""bench/ stays runnable: a rename in the app breaks this test, not the next benchmark run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Generous for a run that takes a few seconds; only there so that a hang fails instead of waiting.
TIMEOUT = 60


def run_python(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python *args` from the project root, its scratch files and data under tmp_path."""
    environment = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        # The profilers make their own storage with tempfile (ignoring DATA_DIR): keep it here.
        "TMPDIR": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )


def test_the_request_profiler_runs_and_reports(tmp_path):
    # 100 requests per measurement, the profiler's smallest count: a few seconds in all.
    result = run_python(tmp_path, "-m", "bench.profile_request", "100")

    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert report.startswith("CPU µs per GET /otp, in-process, best of 3 x 100 calls\n"), report
    assert "  bare WSGI app (the floor, same work)\n" in report
    assert "  Django app as shipped\n" in report
    assert "  the same, flat URLconf, plain Django view, no DRF\n" in report
    assert "cProfile of 100 calls" in report


def test_the_other_bench_modules_import(tmp_path):
    # What they import at the top; the load test itself needs wrk and gunicorn, so it is not run.
    result = run_python(
        tmp_path,
        "-c",
        "import bench.loadtest, bench.profile_issue, bench.ablation_app",
        BENCH_ABLATE="record",  # ablation_app refuses to load without one
    )

    assert result.returncode == 0, result.stderr


def test_gc_pause_reports_both_collections(tmp_path):
    result = run_python(tmp_path, "-m", "bench.gc_pause")
    assert result.returncode == 0, result.stderr
    assert "full collection, ms:" in result.stdout
    assert "after gc.freeze(), ms:" in result.stdout
