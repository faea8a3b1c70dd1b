"""Real gunicorn on PostgreSQL + Redis with its wall clock shifted by libfaketime: /ready answers
503 naming the skew and the log says so once; in step, or within MAX_CLOCK_SKEW, it is ready."""

import json
from pathlib import Path

import pytest
from rest_framework import status

from tests.support.backends import (
    postgres,  # noqa: F401 (fixture)
    redis_server,  # noqa: F401 (fixture)
    storage_env,
    unavailable,
)
from tests.support.prometheus import samples
from tests.support.servers import start_gunicorn

# Debian's package libfaketime; the folder is the architecture's (x86_64-linux-gnu, ...).
FAKETIME_LIBRARIES = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
PROBES = 5
SHIFT = 20


@pytest.fixture
def libfaketime() -> Path:
    if not FAKETIME_LIBRARIES:
        unavailable("libfaketime is not installed (Debian package libfaketime)")
    return FAKETIME_LIBRARIES[0]


@pytest.fixture
def start(request, tmp_path, libfaketime):
    """start(shift=None, **env): gunicorn on a PostgreSQL database of its own and Redis, its
    clock `shift` ahead ("+20") or behind ("-20") the machine's (the database server's); the
    server, and the file holding the shift, which moves the running instance's clock too."""
    servers = []
    shift_file = tmp_path / "faketime"

    def start(shift: str | None = None, **env):
        if shift is not None:
            shift_file.write_text(f"{shift}\n")
            env |= {
                # LD_PRELOAD is inherited by the workers gunicorn forks, so they share the shift.
                "LD_PRELOAD": str(libfaketime),
                # Read from a file rather than FAKETIME, so that a test can move the clock of the
                # running instance; without a cache, a change is seen at the next clock reading
                # (libfaketime otherwise keeps a value for 10 s).
                "FAKETIME_TIMESTAMP_FILE": str(shift_file),
                "FAKETIME_NO_CACHE": "1",
                # Only the wall clock is wrong on a host that drifted: gevent's timers, psycopg's
                # timeouts and gunicorn's worker heartbeat keep the real monotonic clock, which
                # libfaketime would otherwise replace by one derived from the shifted wall clock.
                "DONT_FAKE_MONOTONIC": "1",
            }
        server = start_gunicorn(
            tmp_path,
            **storage_env(request, "postgres+redis"),
            # One worker: the log remembers the state per process (otp/clock_skew.py), and each
            # worker would say it once.
            WEB_CONCURRENCY="1",
            **env,
        )
        servers.append(server)
        return server, shift_file

    yield start
    for server in servers:
        server.stop()


def ready(server) -> tuple[int, dict]:
    code, _, body = server.request("GET", "/ready")
    return code, json.loads(body)


def clock_lines(server) -> list[dict]:
    lines = []
    for text in server.log().splitlines():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue  # not one of the JSON log's lines
        if isinstance(line, dict) and line.get("event", "").startswith("clock_skew"):
            lines.append(line)
    return lines


@pytest.mark.parametrize(
    ("shift", "offset", "words"), [("+20", SHIFT, "ahead of"), ("-20", -SHIFT, "behind")]
)
def test_an_instance_whose_clock_is_off_is_not_ready_and_says_so_once(start, shift, offset, words):
    # A clock 20 s off also makes this instance's codes differ from an instance in step with the
    # database for two windows in three: that is what the check is for.
    server, _ = start(shift)
    refusal = f"Clock skew: this instance is {SHIFT} s {words} the database (MAX_CLOCK_SKEW is 5 s)"
    for _ in range(PROBES):
        assert ready(server) == (status.HTTP_503_SERVICE_UNAVAILABLE, {"error": refusal})
    # Alive all the same: an orchestrator takes it out of the rotation, it does not restart it.
    assert server.request("GET", "/health")[0] == status.HTTP_200_OK
    lines = clock_lines(server)
    assert [(line["level"], line["event"], line["offset_seconds"]) for line in lines] == [
        ("WARNING", "clock_skew", offset)
    ]


def test_an_instance_whose_clock_comes_back_is_ready_again_and_the_log_says_so_once(start):
    server, shift_file = start(f"+{SHIFT}")
    assert ready(server)[0] == status.HTTP_503_SERVICE_UNAVAILABLE
    shift_file.write_text("+0\n")  # NTP has stepped the clock back
    for _ in range(PROBES):
        assert ready(server)[0] == status.HTTP_200_OK
    lines = clock_lines(server)
    assert [(line["level"], line["event"], line["offset_seconds"]) for line in lines] == [
        ("WARNING", "clock_skew", SHIFT),
        ("INFO", "clock_skew_resolved", 0),
    ]


def test_an_instance_in_step_with_the_database_is_ready(start):
    server, _ = start()
    for _ in range(PROBES):
        code, body = ready(server)
        assert code == status.HTTP_200_OK
        assert body["status"] == "ready"
    assert clock_lines(server) == []


def test_max_clock_skew_raises_the_bar(start):
    server, _ = start(f"+{SHIFT}", MAX_CLOCK_SKEW="60")
    assert ready(server)[0] == status.HTTP_200_OK
    assert clock_lines(server) == []


def test_each_scrape_exports_the_offset_measured_then(start):
    server, shift_file = start(f"+{SHIFT}", METRICS_PUBLIC="true")

    def offset() -> float:
        _, _, body = server.request("GET", "/metrics")
        return samples(body.decode())[("otp_clock_offset_seconds", ())]

    assert offset() == pytest.approx(SHIFT, abs=1)
    shift_file.write_text("+0\n")
    assert offset() == pytest.approx(0, abs=1)  # no /ready in between
