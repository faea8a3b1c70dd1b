"""GET /metrics on a real gunicorn: every worker's figures in one scrape, those of a worker that
died included, read with prometheus-client's own parser."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework import status

from tests.support.backends import dead_port
from tests.support.prometheus import samples
from tests.support.servers import ROOT, start_gunicorn

API_KEY = os.environ["API_KEY"]
BEARER = {"Authorization": f"Bearer {API_KEY}"}
CONNECTIONS = 16
REQUESTS_EACH = 15


def scrape(server) -> dict:
    code, headers, body = server.request("GET", "/metrics", headers=BEARER)
    assert code == status.HTTP_200_OK
    assert headers["Content-Type"].startswith("text/plain")
    return samples(body.decode())


def issued(figures: dict) -> float:
    return sum(value for (name, _), value in figures.items() if name == "otp_codes_issued_total")


def otp_requests(figures: dict, answer: int) -> float:
    labels = (("endpoint", "/otp"), ("method", "GET"), ("status", str(answer)))
    return figures.get(("otp_http_requests_total", labels), 0.0)


def worker_pids(folder) -> set[int]:
    """The workers that wrote figures: prometheus-client names each file after its process."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in folder.glob("counter_*.db")}


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("metrics")


@pytest.fixture(scope="module")
def server(tmp_path_factory, metrics_dir):
    started = start_gunicorn(
        tmp_path_factory.mktemp("gunicorn"),
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    yield started
    started.stop()


def fetch_codes(server, count: int) -> list[int]:
    """`count` GET /otp, each on a new connection, CONNECTIONS at a time: both workers serve."""

    def one(_):
        return server.request("GET", "/otp", headers={"X-API-Key": API_KEY})[0]

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return list(pool.map(one, range(count)))


def test_one_scrape_counts_the_requests_of_every_worker(server, metrics_dir):
    before = scrape(server)
    answers = fetch_codes(server, CONNECTIONS * REQUESTS_EACH)
    refused = [server.request("GET", "/otp")[0] for _ in range(3)]
    after = scrape(server)

    assert answers == [status.HTTP_200_OK] * len(answers)
    assert refused == [status.HTTP_401_UNAUTHORIZED] * 3
    assert len(worker_pids(metrics_dir)) == 2  # each worker counted into files of its own
    assert otp_requests(after, 200) - otp_requests(before, 200) == len(answers)
    assert otp_requests(after, 401) - otp_requests(before, 401) == 3
    assert issued(after) - issued(before) == len(answers)
    missing = (("outcome", "missing"),)
    refusals = ("otp_refused_authentications_total", missing)
    assert after.get(refusals, 0) - before.get(refusals, 0) == 3
    assert after[("otp_storage_up", (("store", "database"),))] == 1


def test_a_dead_workers_counts_stay_in_the_sums(server, metrics_dir):
    fetch_codes(server, 40)
    before = scrape(server)
    victim = max(worker_pids(metrics_dir))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(worker_pids(metrics_dir) - {victim}) < 2:
        fetch_codes(server, CONNECTIONS)  # until the replacement has served and counted
    after = scrape(server)
    assert len(worker_pids(metrics_dir) - {victim}) == 2
    assert issued(after) >= issued(before)
    assert otp_requests(after, 200) >= otp_requests(before, 200) + CONNECTIONS


def test_metrics_public_opens_it_and_the_folder_it_made_goes_when_it_stops(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # No folder given: the master makes one under TMPDIR.
    server = start_gunicorn(
        tmp_path, METRICS_PUBLIC="true", TMPDIR=str(scratch), PROMETHEUS_MULTIPROC_DIR=""
    )
    try:
        code, _, body = server.request("GET", "/metrics")
        assert code == status.HTTP_200_OK
        assert b"otp_http_requests_total" in body
        assert [path.name.startswith("otp-metrics-") for path in scratch.iterdir()] == [True]
    finally:
        assert server.stop() == 0
    assert list(scratch.iterdir()) == []


def test_a_metrics_folder_that_cannot_be_made_stops_gunicorn_with_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RuntimeError) as stopped:
        start_gunicorn(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(blocker / "metrics"))
    assert (
        "otp-service: configuration error: PROMETHEUS_MULTIPROC_DIR cannot be created or emptied"
        in str(stopped.value)
    )
    assert "Traceback" not in str(stopped.value)


def test_each_scrape_measures_whether_each_store_answers(tmp_path):
    # Redis on a port where nothing listens: the scrape still answers, and says so.
    server = start_gunicorn(
        tmp_path, METRICS_PUBLIC="true", CACHE_URL=f"redis://127.0.0.1:{dead_port()}/0"
    )
    try:
        code, _, body = server.request("GET", "/metrics")
        assert code == status.HTTP_200_OK
        figures = {
            labels: figure
            for (name, labels), figure in samples(body.decode()).items()
            if name == "otp_storage_up"
        }
        assert figures == {(("store", "database"),): 1.0, (("store", "cache"),): 0.0}
    finally:
        server.stop()


def test_operator_commands_count_into_no_instances_folder(tmp_path):
    folder = tmp_path / "not-made"
    result = subprocess.run(
        [sys.executable, "manage.py", "otp", "keyid"],
        cwd=ROOT,
        env={**os.environ, "ENV_FILE": "", "PROMETHEUS_MULTIPROC_DIR": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not folder.exists()
