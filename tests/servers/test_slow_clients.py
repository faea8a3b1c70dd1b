"""Clients that open connections and stall, against the shipped gunicorn configuration: they delay
no one, and the server closes their connections."""

import contextlib
import http.client
import json
import os
import socket
import threading
import time

import pytest
from rest_framework import status

from tests.support.raw_http import connect, raw_request, read_reply
from tests.support.servers import start_gunicorn

KEY = {"X-API-Key": os.environ["API_KEY"]}
STALLED = 100
# "Within a second or two": the timeout of each request made while the stalled ones are held.
PROMPT_SECONDS = 2
# The bound on a connection that has not completed its request.
CLOSED_WITHIN_SECONDS = 30


def half_headers() -> bytes:
    return b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def short_body() -> bytes:
    """A verify request whose body stops short of its Content-Length."""
    request = raw_request(
        "POST", "/otp/verify", {**KEY, "Content-Type": "application/json"}, b'{"otp": "123456"}'
    )
    return request[:-6]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    server = start_gunicorn(tmp_path_factory.mktemp("slow"))
    yield server
    server.stop()


@contextlib.contextmanager
def stalled_connections(port: int, count: int):
    """`count` connections, half with unfinished headers and half with a short body."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for index in range(count):
            sock = stack.enter_context(connect(port))
            sock.sendall(half_headers() if index % 2 else short_body())
            sockets.append(sock)
        yield sockets


def prompt_request(port: int, path: str, headers: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROMPT_SECONDS)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection; TimeoutError past deadline."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(4096)
        if not data:
            return received
        received += data


def test_stalled_connections_delay_no_one(service):
    with stalled_connections(service.port, STALLED):
        for _ in range(3):
            assert prompt_request(service.port, "/health", {})[0] == status.HTTP_200_OK
            code_status, body = prompt_request(service.port, "/otp", KEY)
            assert code_status == status.HTTP_200_OK
            assert body["otp"].isdigit()
    log = service.log()
    assert "WORKER TIMEOUT" not in log
    assert "Traceback" not in log


def test_the_server_closes_connections_that_never_complete_their_request(service):
    deadline = time.monotonic() + CLOSED_WITHIN_SECONDS
    with stalled_connections(service.port, 20) as sockets:
        # A body that stops short: 408, then closed.
        for sock in sockets[::2]:
            sock.settimeout(CLOSED_WITHIN_SECONDS)
            reply = read_reply(sock)
            assert reply.status == status.HTTP_408_REQUEST_TIMEOUT
            assert reply.json() == {"error": "Request body not received in time"}
            assert read_until_closed(sock, deadline) == b""
        # Unfinished headers: closed without an answer.
        for sock in sockets[1::2]:
            assert read_until_closed(sock, deadline) == b""
    assert "Traceback" not in service.log()


def test_a_body_streamed_past_the_limit_is_not_read_to_its_end(tmp_path):
    """A client that announces a huge body and sends it as fast as it can: the server answers
    after the first KiB and closes the connection, instead of reading the rest (one worker, so
    that reading it would keep everyone else waiting)."""
    server = start_gunicorn(tmp_path, WEB_CONCURRENCY="1")
    sock = connect(server.port)
    stop, cut_off = threading.Event(), threading.Event()

    def stream() -> None:
        chunk, deadline = b"x" * 65536, time.monotonic() + CLOSED_WITHIN_SECONDS
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                sock.sendall(chunk)
        except OSError:  # reset or broken pipe: the server closed the connection
            cut_off.set()

    try:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000000\r\n\r\n"
        )
        streamer = threading.Thread(target=stream)
        streamer.start()
        for _ in range(3):
            assert prompt_request(server.port, "/health", {})[0] == status.HTTP_200_OK
        streamer.join(CLOSED_WITHIN_SECONDS + 5)
        assert cut_off.is_set()
    finally:
        stop.set()
        sock.close()
        server.stop()
