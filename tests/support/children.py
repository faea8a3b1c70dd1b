"""Running a Python script in a child process of its own, for what must not happen in the test
process: gevent's patching is process-wide, and must come before Django loads."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def report_of(script: str, *args: str, **env: str) -> dict:
    """Run `script` with `args` from the project root, with the test environment plus `env`;
    the JSON object it printed last."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])
