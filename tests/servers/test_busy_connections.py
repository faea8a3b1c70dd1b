"""A kept-alive connection with requests waiting must not keep its worker to itself: a gevent
greenlet reads a request that has already arrived without yielding, so without the yield in
otpsite/gunicorn.conf.py (post_request) one busy client holds up every other client of its
worker."""

import http.client
import json
import time

import pytest

from tests.support.raw_http import connect, raw_request
from tests.support.servers import start_gunicorn

PIPELINED = 300


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    # One worker, so that the other client cannot be served by a second one.
    server = start_gunicorn(tmp_path_factory.mktemp("busy"), WEB_CONCURRENCY="1")
    yield server
    server.stop()


class Pipelined:
    """Answers read one after another from one buffered stream: each http.client.HTTPResponse
    would otherwise read ahead into a buffer of its own and lose the next answer's bytes."""

    def __init__(self, sock):
        self.stream = sock.makefile("rb")

    def makefile(self, mode):
        return self

    def __getattr__(self, name):  # the stream's reads, for HTTPResponse
        return getattr(self.stream, name)

    def close(self):
        """HTTPResponse closes its stream after each answer; the next one is still to come."""

    def next_status(self) -> int:
        response = http.client.HTTPResponse(self)
        response.begin()
        response.read()
        return response.status


def logged_paths(server) -> list[str]:
    paths = []
    for line in server.log().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "path" in record:
            paths.append(record["path"])
    return paths


def test_another_client_is_served_between_the_requests_of_a_busy_connection(one_worker):
    with connect(one_worker.port) as busy, connect(one_worker.port) as other:
        # Every request is in the server's buffer before the first answer.
        answers = Pipelined(busy)
        busy.sendall(raw_request("GET", "/health") * PIPELINED)
        assert answers.next_status() == 200
        other.sendall(raw_request("GET", "/no-such-path"))
        assert Pipelined(other).next_status() == 404
        assert [answers.next_status() for _ in range(PIPELINED - 1)] == [200] * (PIPELINED - 1)
    deadline = time.monotonic() + 5
    while len(logged_paths(one_worker)) < PIPELINED + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    paths = logged_paths(one_worker)
    position = paths.index("/no-such-path")
    served_before = paths[:position].count("/health")
    # The start-up check's /health is in the log too. Without the yield the other client waits
    # for all 300; with it, for the few that were under way.
    assert served_before < PIPELINED // 3, served_before
