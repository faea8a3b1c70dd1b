"""A PostgreSQL that stops answering mid-connection (a proxy in front keeps every connection open
but forwards nothing): every request that needs it is a 503 within 5 s, the log says one line per
503, and the service recovers without a restart."""

import contextlib
import json
import os
import threading
import time

import pytest
from rest_framework import status

from tests.support.backends import (
    POSTGRES_PORT,
    TcpProxy,
    postgres,  # noqa: F401 (fixture)
    redis_server,  # noqa: F401 (fixture)
)
from tests.support.raw_http import connect, raw_request, read_reply, send
from tests.support.servers import start_gunicorn

KEY = {"X-API-Key": os.environ["API_KEY"]}
ANSWER_WITHIN_SECONDS = 5
WORKERS = 2
CONCURRENT = 8
RECOVERY_SECONDS = 20


@contextlib.contextmanager
def served_behind_proxy(tmp_path, postgres, redis_server, **settings):  # noqa: F811
    """A server whose PostgreSQL is reached through a proxy the test can silence."""
    proxy = TcpProxy(POSTGRES_PORT)
    proxy.start()
    server = start_gunicorn(
        tmp_path,
        DATABASE_URL=postgres.url(postgres.new_database(), proxy.port),
        CACHE_URL=redis_server(),
        WEB_CONCURRENCY=str(WORKERS),
        **settings,
    )
    try:
        yield server, proxy
    finally:
        server.stop()
        proxy.stop()


@pytest.fixture
def behind_proxy(tmp_path, postgres, redis_server):  # noqa: F811
    with served_behind_proxy(tmp_path, postgres, redis_server) as served:
        yield served


def timed_requests(port: int, count: int) -> list[tuple[int, float]]:
    """(status, seconds) of `count` GET /otp sent together, each answered 503."""
    results: list = [None] * count

    def one(index: int) -> None:
        started = time.monotonic()
        with connect(port) as sock:
            sock.settimeout(3 * ANSWER_WITHIN_SECONDS)
            sock.sendall(raw_request("GET", "/otp", KEY))
            reply = read_reply(sock)
        results[index] = (reply.status, time.monotonic() - started, reply.json())

    threads = [threading.Thread(target=one, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(4 * ANSWER_WITHIN_SECONDS)
    assert None not in results, "a request got no answer"
    assert {body["error"] for _, _, body in results} == {"Service unavailable"}
    return [(code, seconds) for code, seconds, _ in results]


def storage_lines(log: str) -> list[dict]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "storage_unavailable"]


def test_a_silent_database_is_503_within_5_seconds_then_recovers(behind_proxy):
    server, proxy = behind_proxy
    for _ in range(2 * WORKERS):  # connections open in every worker's pool
        assert send(server.port, raw_request("GET", "/otp", KEY)).status == status.HTTP_200_OK
    proxy.hold()
    try:
        # The first requests wait on connections already open; later ones on whatever the pool
        # has then. Every one is answered, and in time.
        results = timed_requests(server.port, CONCURRENT) + timed_requests(server.port, 2)
    finally:
        proxy.release()
    assert [code for code, _ in results] == [status.HTTP_503_SERVICE_UNAVAILABLE] * len(results)
    assert max(seconds for _, seconds in results) < ANSWER_WITHIN_SECONDS
    # Recovers by itself.
    deadline = time.monotonic() + RECOVERY_SECONDS
    while send(server.port, raw_request("GET", "/otp", KEY)).status != status.HTTP_200_OK:
        assert time.monotonic() < deadline, "not recovered"
        time.sleep(0.2)
    log = server.log()
    # One line per 503, naming the store and the error's class; a traceback at most once per
    # outage in each worker process; nothing else at ERROR.
    lines = storage_lines(log)
    assert len(lines) >= len(results)
    assert {(line["store"], line["error"]) for line in lines} == {("database", "OperationalError")}
    assert sum("exc_info" in line for line in lines) <= WORKERS
    assert "WORKER TIMEOUT" not in log
    errors = [json.loads(line) for line in log.splitlines() if '"level": "ERROR"' in line]
    assert all(line.get("event") == "storage_unavailable" for line in errors)


@pytest.fixture
def verifying_behind_proxy(tmp_path, postgres, redis_server):  # noqa: F811
    """Without the address lockout: a verification's first statement then takes the account's
    lock (otpsite/postgres/lock_waits.py)."""
    with served_behind_proxy(tmp_path, postgres, redis_server, AUTH_FAILURE_LIMIT="0") as served:
        yield served


def test_verifications_holding_locks_on_a_silent_database_hold_up_no_one(
    verifying_behind_proxy,
):
    server, proxy = verifying_behind_proxy
    body = json.dumps({"otp": "000000"}).encode()
    verify = raw_request("POST", "/otp/verify", {**KEY, "Content-Type": "application/json"}, body)
    for _ in range(2 * WORKERS):
        assert send(server.port, verify).status == status.HTTP_200_OK
    proxy.hold()
    results: list = [None] * CONCURRENT

    def one(index: int) -> None:
        started = time.monotonic()
        with connect(server.port) as sock:
            sock.settimeout(3 * ANSWER_WITHIN_SECONDS)
            sock.sendall(verify)
            results[index] = (read_reply(sock).status, time.monotonic() - started)

    threads = [threading.Thread(target=one, args=(index,)) for index in range(CONCURRENT)]
    try:
        for thread in threads:
            thread.start()
        # Meanwhile the workers answer what needs no storage at once.
        health = []
        while any(thread.is_alive() for thread in threads) and len(health) < 20:
            started = time.monotonic()
            assert send(server.port, raw_request("GET", "/health", {})).status == 200
            health.append(time.monotonic() - started)
            time.sleep(0.1)
        for thread in threads:
            thread.join(4 * ANSWER_WITHIN_SECONDS)
    finally:
        proxy.release()
    assert None not in results, "a verification got no answer"
    assert [code for code, _ in results] == [status.HTTP_503_SERVICE_UNAVAILABLE] * CONCURRENT
    assert max(seconds for _, seconds in results) < ANSWER_WITHIN_SECONDS
    assert len(health) >= 5
    assert max(health) < 0.5
