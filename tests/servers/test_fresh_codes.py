"""min_validity against the shipped gunicorn: 50 requests waiting for the next window hold no
worker and no database connection that others need, and end at once, cleanly, on SIGTERM."""

import contextlib
import json
import os
import select
import time

import pytest
from rest_framework import status

from tests.support.backends import postgres, redis_server, storage_env  # noqa: F401
from tests.support.raw_http import connect, raw_request, read_reply
from tests.support.servers import start_gunicorn

KEY = {"X-API-Key": os.environ["API_KEY"]}
WAITING = 50
# The "at once", with room for a shared CI machine.
PROMPT_SECONDS = 2


@pytest.fixture(params=["sqlite+db", "postgres+redis"])
def service(request, tmp_path):
    server = start_gunicorn(tmp_path, **storage_env(request, request.param))
    yield server
    server.stop()


def timed_get(port: int, path: str) -> tuple[int, float]:
    started = time.monotonic()
    with connect(port) as sock:
        sock.settimeout(PROMPT_SECONDS)
        sock.sendall(raw_request("GET", path, KEY))
        reply = read_reply(sock)
    return reply.status, time.monotonic() - started


def out_of_the_first_seconds_of_a_window() -> None:
    """min_validity=29 waits unless the current 30 s window began under 2 s ago: step past
    that (at most 2 s, never across a window) so that every request below waits."""
    left = 30 - time.time() % 30
    if left > 28:
        time.sleep(left - 27.5)


def test_waiting_requests_hold_up_no_one_and_end_cleanly_on_sigterm(service):
    out_of_the_first_seconds_of_a_window()
    with contextlib.ExitStack() as stack:
        waiting = []
        for _ in range(WAITING):
            sock = stack.enter_context(connect(service.port))
            sock.sendall(raw_request("GET", "/otp?min_validity=29", KEY))
            waiting.append(sock)
        for path in ("/health", "/otp", "/health"):
            code, seconds = timed_get(service.port, path)
            assert code == status.HTTP_200_OK
            assert seconds < PROMPT_SECONDS, (path, seconds)
        # They are still waiting: not one has been answered.
        readable, _, _ = select.select(waiting, [], [], 0)
        assert readable == []

        stopped_at = time.monotonic()
        service.process.send_signal(15)  # SIGTERM, as an orchestrator stops a container
        replies = []
        for sock in waiting:
            sock.settimeout(10)
            replies.append(read_reply(sock))
        answered_within = time.monotonic() - stopped_at
    assert {reply.status for reply in replies} == {status.HTTP_503_SERVICE_UNAVAILABLE}
    assert {json.dumps(reply.json()) for reply in replies} == {
        json.dumps({"error": "The service is shutting down; try again."})
    }
    assert {reply.headers["Retry-After"] for reply in replies} == {"1"}
    assert answered_within < 3, answered_within
    assert service.process.wait(timeout=15) == 0
    assert "Traceback" not in service.log()
