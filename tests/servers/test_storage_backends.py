"""Real gunicorn on each storage backend: codes, nonces and lockouts hold across workers and
instances, even when raced; without PostgreSQL or Redis the service fails closed, then recovers."""

import contextlib
import json
import os
import secrets
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from rest_framework import status

from otp.core import totp
from tests.support.backends import (
    LOOPBACK,
    POSTGRES_PORT,
    REDIS_PORT,
    Postgres,
    TcpProxy,
    dead_port,
    postgres,  # noqa: F401 (fixture)
    redis_server,  # noqa: F401 (fixture)
    storage_env,
)
from tests.support.raw_http import (
    HTTP_TIMEOUT,
    HeldRequest,
    Reply,
    connect,
    each_worker,
    raw_request,
    read_reply,
    send,
)
from tests.support.servers import start_gunicorn, start_instances
from tests.support.signing import v2_headers

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
KEY = {"X-API-Key": API_KEY}
WRONG_KEY = {"X-API-Key": "wrong-key-0123456789"}
SERVICE_UNAVAILABLE = {"error": "Service unavailable"}
RACERS = 64


def verify_request(code: str) -> bytes:
    body = json.dumps({"otp": code}).encode()
    return raw_request("POST", "/otp/verify", {**KEY, "Content-Type": "application/json"}, body)


def signed_request(method: str = "GET", path: str = "/otp", nonce: str | None = None) -> bytes:
    """A v2 request with a fresh nonce unless one is given."""
    headers = v2_headers(API_KEY, method, path, timestamp=int(time.time()), nonce=nonce)
    return raw_request(method, path, headers)


def ready() -> bytes:
    return raw_request("GET", "/ready")


def current_code(port: int) -> str:
    """The current code from GET /otp, taken with more than 2 s of its window left so the
    verifications that follow are not split across a window boundary."""
    for _ in range(3):
        reply = send(port, raw_request("GET", "/otp", KEY))
        assert reply.status == status.HTTP_200_OK
        body = reply.json()
        if body["valid_for_seconds"] > 2:
            return body["otp"]
        time.sleep(body["valid_for_seconds"])  # at most 2 s, into the next window
    raise AssertionError("GET /otp kept answering at the end of a window")


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == status.HTTP_503_SERVICE_UNAVAILABLE
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == SERVICE_UNAVAILABLE


def assert_log_is_clean(log: str, *secret_values: str) -> None:
    """No line holds any of `secret_values`; the timestamp field is left out, since a code could
    match its microseconds by chance."""
    for line in log.splitlines():
        try:
            fields = json.loads(line)
        except ValueError:  # a line still being written: check it as it stands
            fields = {"line": line}
        fields.pop("time", None)
        text = json.dumps(fields)
        for value in (API_KEY, OTP_SECRET, *secret_values):
            assert value not in text


# --- One instance per backend, two workers: what one worker records, the other sees.


@pytest.fixture(scope="module", params=["sqlite+db", "postgres+redis", "postgres+db"])
def service(request, tmp_path_factory):
    server = start_gunicorn(
        tmp_path_factory.mktemp("service"),
        **storage_env(request, request.param),
        WEB_CONCURRENCY="2",
        AUTH_FAILURE_LIMIT="3",
    )
    yield server
    server.stop()


def test_ready_when_database_and_cache_answer(service):
    reply = send(service.port, ready())
    assert reply.status == status.HTTP_200_OK
    assert reply.json()["status"] == "ready"
    assert set(reply.json()) == {"status", "timestamp"}


def test_a_code_is_accepted_once_across_workers(service):
    code = current_code(service.port)
    waiting = HeldRequest(service.port, verify_request(code))
    first = send(service.port, verify_request(code))
    second = waiting.release()
    assert first.status == second.status == status.HTTP_200_OK
    assert first.json()["valid"] is True
    assert second.json()["valid"] is False


def test_a_nonce_is_accepted_once_across_workers(service):
    request = signed_request()
    waiting = HeldRequest(service.port, request)
    assert send(service.port, request).status == status.HTTP_200_OK
    assert waiting.release().status == status.HTTP_401_UNAUTHORIZED


def test_a_lockout_is_shared_by_every_worker(service):
    # An address of its own, so the lockout touches no other test.
    address = "127.0.0.2"
    waiting = HeldRequest(service.port, raw_request("GET", "/otp", KEY), source=address)
    failures = [send(service.port, raw_request("GET", "/otp", WRONG_KEY), address) for _ in "123"]
    assert [reply.status for reply in failures] == [status.HTTP_401_UNAUTHORIZED] * 3
    locked = waiting.release()
    assert locked.status == status.HTTP_429_TOO_MANY_REQUESTS
    assert int(locked.headers["Retry-After"]) > 0
    again = send(service.port, raw_request("GET", "/otp", KEY), address)
    assert again.status == status.HTTP_429_TOO_MANY_REQUESTS
    assert send(service.port, raw_request("GET", "/otp", KEY)).status == status.HTTP_200_OK


def test_a_used_nonce_stays_used_while_many_others_arrive(service):
    # Django's database cache culls a third of its entries (the first by key) once it holds more
    # than MAX_ENTRIES, 300 by default, live ones included. "-" sorts first, so this nonce's key
    # is among the first a cull would delete, and a replay would then be served.
    first = signed_request(nonce="-" * 22)
    assert send(service.port, first).status == status.HTTP_200_OK
    for _ in range(310):
        assert send(service.port, signed_request()).status == status.HTTP_200_OK
    assert send(service.port, first).status == status.HTTP_401_UNAUTHORIZED


def test_the_log_holds_no_key_secret_or_code(service):
    code = current_code(service.port)
    send(service.port, verify_request(code))
    send(service.port, raw_request("GET", "/otp", WRONG_KEY))
    assert_log_is_clean(service.log(), code, WRONG_KEY["X-API-Key"])


# --- Races between real processes: 64 requests released at once.


def race(ports: list[int], request: bytes, gate=None) -> list[Reply]:
    """Send `request` RACERS times at once, over connections spread across `ports` and opened
    before a barrier releases every sender together; then open `gate`, if any."""
    barrier = threading.Barrier(RACERS)
    outcomes: list[Reply | Exception | None] = [None] * RACERS

    def racer(index: int) -> None:
        try:
            with connect(ports[index % len(ports)]) as sock:
                barrier.wait(HTTP_TIMEOUT)
                sock.sendall(request)
                outcomes[index] = read_reply(sock)
        except Exception as problem:  # reported below, with every other racer's outcome
            barrier.abort()
            outcomes[index] = problem

    threads = [threading.Thread(target=racer, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    try:
        if gate is not None:
            gate.open()
    finally:
        deadline = time.monotonic() + 3 * HTTP_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    problems = Counter(repr(outcome) for outcome in outcomes if not isinstance(outcome, Reply))
    assert not problems
    return outcomes


class Gate:
    """Holds the racers at one point inside the servers until `waiters` of them queue there, then
    lets them through together.

    Without it the racers reach the critical step a few milliseconds apart, one worker after
    another, and a check-then-write bug would pass the race unseen.
    """

    TIMEOUT = 5

    def __init__(self, waiting, release, waiters: int):
        self.waiting, self.release, self.waiters = waiting, release, waiters

    def open(self) -> None:
        deadline = time.monotonic() + self.TIMEOUT
        try:
            while self.waiting() < self.waiters and time.monotonic() < deadline:
                time.sleep(0.01)
            queued = self.waiting()
        finally:
            self.release()
        assert queued >= self.waiters, (
            f"only {queued} of {self.waiters} server connections queued at the gate"
        )


@contextlib.contextmanager
def accepted_steps_locked(database: str, waiters: int):
    """A gate at the one-time check: the test holds every accepted-step row lock, and counts
    the server connections waiting for it."""
    with (
        Postgres.connect(database) as holder,
        Postgres.connect(database, autocommit=True) as observer,
    ):
        holder.execute("SELECT 1 FROM otp_acceptedstep FOR UPDATE")

        def waiting() -> int:
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND wait_event_type = 'Lock'"
            )
            return observer.execute(query, [database]).fetchone()[0]

        yield Gate(waiting, holder.rollback, waiters)


@contextlib.contextmanager
def cache_commands_held(proxy: TcpProxy, waiters: int):
    """A gate at the nonce check: the proxy in front of Redis holds every command sent."""
    proxy.hold()
    try:
        yield Gate(proxy.held_connections, proxy.release, waiters)
    finally:
        proxy.release()


def assert_one_code_accepted(replies: list[Reply]) -> None:
    outcomes = Counter((reply.status, reply.json().get("valid")) for reply in replies)
    assert outcomes == {(status.HTTP_200_OK, True): 1, (status.HTTP_200_OK, False): RACERS - 1}


def assert_one_nonce_accepted(replies: list[Reply]) -> None:
    outcomes = Counter(reply.status for reply in replies)
    assert outcomes == {status.HTTP_200_OK: 1, status.HTTP_401_UNAUTHORIZED: RACERS - 1}


# Every losing racer of a nonce race counts as a failed authentication.
RACE_ENV = {"AUTH_FAILURE_LIMIT": "1000"}


@pytest.fixture(scope="module")
def postgres_pair(tmp_path_factory, postgres, redis_server):  # noqa: F811
    """Two instances of two workers sharing one PostgreSQL database, and Redis through a proxy."""
    database = postgres.new_database()
    with contextlib.ExitStack() as cleanup:
        cache = TcpProxy(REDIS_PORT)
        cache.start()
        cleanup.callback(cache.stop)
        env = {
            **RACE_ENV,
            "DATABASE_URL": postgres.url(database),
            "CACHE_URL": redis_server(cache.port),
            "WEB_CONCURRENCY": "2",
        }
        ports = [
            server.port for server in start_instances(cleanup, tmp_path_factory, "pair", **env)
        ]
        for port in ports:
            # So that every worker has its database and cache connections open before a race.
            replies = each_worker(port, ready)
            assert [reply.status for reply in replies] == [status.HTTP_200_OK] * 2
        yield SimpleNamespace(ports=ports, database=database, cache=cache, workers=4)


def test_a_code_raced_over_two_instances_is_accepted_once(postgres_pair):
    ports = postgres_pair.ports
    # A first code creates the secret's row, which the gate locks. The race is then for the
    # next window's code: one the service accepts too (it allows one window either way).
    assert send(ports[0], verify_request(current_code(ports[0]))).json()["valid"] is True
    racing_code = totp.code_at(OTP_SECRET, int(time.time()) + totp.STEP_SECONDS)
    with accepted_steps_locked(postgres_pair.database, postgres_pair.workers) as gate:
        replies = race(ports, verify_request(racing_code), gate)
    assert_one_code_accepted(replies)


def test_a_nonce_raced_over_two_instances_is_accepted_once(postgres_pair):
    with cache_commands_held(postgres_pair.cache, postgres_pair.workers) as gate:
        replies = race(postgres_pair.ports, signed_request(), gate)
    assert_one_nonce_accepted(replies)


@pytest.fixture(scope="module")
def sqlite_instance(tmp_path_factory):
    """One instance of four workers on SQLite and the database cache."""
    server = start_gunicorn(
        tmp_path_factory.mktemp("sqlite"), **RACE_ENV, CACHE_URL="db", WEB_CONCURRENCY="4"
    )
    yield server
    server.stop()


def test_a_code_raced_over_four_sqlite_workers_is_accepted_once(sqlite_instance):
    code = current_code(sqlite_instance.port)
    assert_one_code_accepted(race([sqlite_instance.port], verify_request(code)))


def test_a_nonce_raced_over_four_sqlite_workers_is_accepted_once(sqlite_instance):
    assert_one_nonce_accepted(race([sqlite_instance.port], signed_request()))


# --- Fail closed: PostgreSQL and Redis behind proxies that a test stops and starts again.


# Trust authentication ignores it; it is there to show a password never reaches the log.
DATABASE_PASSWORD = secrets.token_hex(12)


@pytest.fixture(scope="module")
def proxies():
    database, cache = TcpProxy(POSTGRES_PORT), TcpProxy(REDIS_PORT)
    database.start()
    cache.start()
    yield SimpleNamespace(database=database, cache=cache)
    database.stop()
    cache.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, postgres, redis_server, proxies):  # noqa: F811
    server = start_gunicorn(
        tmp_path_factory.mktemp("proxied"),
        DATABASE_URL=postgres.url(
            postgres.new_database(), proxies.database.port, DATABASE_PASSWORD
        ),
        CACHE_URL=redis_server(proxies.cache.port),
    )
    yield server
    server.stop()


@contextlib.contextmanager
def outage(proxy: TcpProxy):
    proxy.stop()
    try:
        yield
    finally:
        proxy.start()


def assert_each_worker_answers(port: int, make_request, expected: int) -> None:
    assert [reply.status for reply in each_worker(port, make_request)] == [expected] * 2


def assert_each_worker_unavailable(port: int, make_request) -> None:
    for reply in each_worker(port, make_request):
        assert_unavailable(reply)


def test_without_redis_signed_requests_fail_closed_then_recover(proxied, proxies):
    with outage(proxies.cache):
        assert_each_worker_unavailable(proxied.port, ready)
        # Not 401 (the nonce may well be fresh), not 200 (its use could not be recorded).
        assert_each_worker_unavailable(proxied.port, signed_request)
        # The key alone needs no nonce, hence no cache: codes are still handed out.
        assert_each_worker_answers(
            proxied.port, lambda: raw_request("GET", "/otp", KEY), status.HTTP_200_OK
        )
    # No restart: each worker reconnects on its next request.
    assert_each_worker_answers(proxied.port, ready, status.HTTP_200_OK)
    assert_each_worker_answers(proxied.port, signed_request, status.HTTP_200_OK)


def test_without_postgres_nothing_is_handed_out_or_accepted_then_it_recovers(proxied, proxies):
    code = current_code(proxied.port)
    with outage(proxies.database):
        assert_each_worker_unavailable(proxied.port, ready)
        # The lockout check needs the database before anything else happens.
        assert_each_worker_unavailable(proxied.port, lambda: raw_request("GET", "/otp", KEY))
        assert_each_worker_unavailable(proxied.port, signed_request)
        assert_each_worker_unavailable(proxied.port, lambda: verify_request(code))
    # No restart; and the refused attempts recorded nothing: the code is still good, once.
    assert_each_worker_answers(proxied.port, ready, status.HTTP_200_OK)
    assert send(proxied.port, verify_request(code)).json()["valid"] is True
    assert send(proxied.port, verify_request(code)).json()["valid"] is False
    # The client saw only "Service unavailable"; the log has the cause, and no secret.
    assert "storage unavailable" in proxied.log()
    assert_log_is_clean(proxied.log(), code, DATABASE_PASSWORD)


def test_an_unreachable_redis_at_start_up_is_not_ready(tmp_path):
    # Nothing touches Redis at start-up (createcachetable is for the database cache only).
    server = start_gunicorn(tmp_path, CACHE_URL=f"redis://{LOOPBACK}:{dead_port()}/0")
    try:
        started = time.monotonic()
        assert_unavailable(send(server.port, ready()))
        # A quick 503, not a worker hung on the dead address.
        assert time.monotonic() - started < 5
        assert_unavailable(send(server.port, signed_request()))
        assert send(server.port, raw_request("GET", "/otp", KEY)).status == status.HTTP_200_OK
    finally:
        server.stop()
