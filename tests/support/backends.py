"""The machine's PostgreSQL and Redis for real-server tests, and a TCP proxy to cut them off."""

import contextlib
import os
import secrets
import selectors
import socket
import threading

import psycopg
import pytest
import redis
from psycopg import sql

from tests.support.servers import free_port

LOOPBACK = "127.0.0.1"
POSTGRES_PORT = 5432
REDIS_PORT = 6379
# A database number nothing else on the machine should use: it is flushed at start and end.
REDIS_TEST_DB = 13
CONNECT_TIMEOUT = 3


def unavailable(reason: str) -> None:
    """Skip a test whose server is missing; under CI=true fail instead, so CI cannot pass by
    silently skipping the tests that matter most."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


class Postgres:
    """The machine's PostgreSQL (trust authentication for user postgres): fresh databases, all
    dropped at the end of the session."""

    def __init__(self) -> None:
        self.created: list[str] = []

    @staticmethod
    def connect(name: str, autocommit: bool = False) -> psycopg.Connection:
        return psycopg.connect(
            host=LOOPBACK,
            port=POSTGRES_PORT,
            user="postgres",
            dbname=name,
            autocommit=autocommit,
            connect_timeout=CONNECT_TIMEOUT,
        )

    def new_database(self) -> str:
        """The name of a new, empty database."""
        name = f"otp_test_{secrets.token_hex(6)}"
        with self.connect("postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return name

    @staticmethod
    def url(name: str, port: int = POSTGRES_PORT, password: str = "") -> str:
        """DATABASE_URL of database `name`; `port` may be a proxy in front of the server."""
        credentials = f"postgres:{password}" if password else "postgres"
        return f"postgres://{credentials}@{LOOPBACK}:{port}/{name}"

    def drop_all(self) -> None:
        with self.connect("postgres", autocommit=True) as admin:
            for name in self.created:
                # FORCE: a server that failed to stop may still hold a connection.
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


@pytest.fixture(scope="session")
def postgres():
    server = Postgres()
    try:
        server.connect("postgres").close()
    except psycopg.Error as problem:
        unavailable(f"PostgreSQL is not reachable at {LOOPBACK}:{POSTGRES_PORT}: {problem}")
    yield server
    server.drop_all()


def redis_url(port: int = REDIS_PORT) -> str:
    """The test database on the machine's Redis; `port` may name a proxy in front of it."""
    return f"redis://{LOOPBACK}:{port}/{REDIS_TEST_DB}"


@pytest.fixture(scope="session")
def redis_server():
    """redis_url, with the test database flushed before and after the session."""
    client = redis.Redis(
        host=LOOPBACK,
        port=REDIS_PORT,
        db=REDIS_TEST_DB,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT,
    )
    try:
        client.flushdb()
    except redis.RedisError as problem:
        client.close()
        unavailable(f"Redis is not reachable at {LOOPBACK}:{REDIS_PORT}: {problem}")
    yield redis_url
    client.flushdb()
    client.close()


def dead_port() -> int:
    """A loopback port with nothing listening: connections to it are refused at once."""
    return free_port()


class TcpProxy:
    """Forwards a free loopback port to `target_port`.

    stop() closes the listener and cuts every open connection, as if the server behind it had
    died; start() listens on the same port again. hold() keeps what clients send until release()
    delivers it all at once, lining up the clients' next commands. The real server is never
    disturbed.
    """

    POLL_SECONDS = 0.05
    IO_TIMEOUT = 10
    JOIN_TIMEOUT = 5

    def __init__(self, target_port: int) -> None:
        self.target = (LOOPBACK, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        # Guards the sets below, and every write upstream, so release() cannot interleave with
        # a pump thread's own forwarding.
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._held: dict[socket.socket, bytearray] | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._listener is not None:
            raise RuntimeError("the proxy is already running")
        self._stopping.clear()
        # create_server sets SO_REUSEADDR, so the port can be bound again right after stop().
        self._listener = socket.create_server((LOOPBACK, self.port))
        self._listener.settimeout(self.POLL_SECONDS)
        self._spawn(self._accept_loop, self._listener)

    def stop(self) -> None:
        if self._listener is None:
            return
        self._stopping.set()
        self._listener.close()
        self._listener = None
        with self._lock:
            self._held = None
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()
        for thread in self._threads:
            thread.join(self.JOIN_TIMEOUT)
        alive = [thread for thread in self._threads if thread.is_alive()]
        self._threads = alive
        if alive:
            raise RuntimeError(f"{len(alive)} proxy threads did not stop")

    def hold(self) -> None:
        with self._lock:
            self._held = {}

    def held_connections(self) -> int:
        """How many connections have sent something that is being held."""
        with self._lock:
            return len(self._held or {})

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held or {}, None
            for upstream, data in held.items():
                with contextlib.suppress(OSError):
                    upstream.sendall(data)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed by stop()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT)
            except OSError:
                client.close()
                continue
            client.settimeout(self.IO_TIMEOUT)
            upstream.settimeout(self.IO_TIMEOUT)
            with self._lock:
                if self._stopping.is_set():
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            self._spawn(self._pump, client, upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes or the proxy stops."""
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            try:
                while not self._stopping.is_set():
                    for key, _ in selector.select(self.POLL_SECONDS):
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        if key.fileobj is upstream:
                            client.sendall(data)
                            continue
                        with self._lock:
                            if self._held is None:
                                upstream.sendall(data)
                            else:
                                self._held.setdefault(upstream, bytearray()).extend(data)
            except (OSError, ValueError):  # cut by stop(), or the peer reset the connection
                return
            finally:
                with self._lock:
                    self._open.difference_update((client, upstream))
                client.close()
                upstream.close()


def storage_env(request, backend: str) -> dict:
    """DATABASE_URL and CACHE_URL for "database+cache"; each call gets a database of its own."""
    database, cache = backend.split("+")
    env = {"CACHE_URL": request.getfixturevalue("redis_server")() if cache == "redis" else "db"}
    if database == "postgres":
        server = request.getfixturevalue("postgres")
        env["DATABASE_URL"] = server.url(server.new_database())
    return env
