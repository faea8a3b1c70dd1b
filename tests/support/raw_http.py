"""HTTP on raw sockets for the real-server tests: a request can be held half-sent and sent from
any loopback address."""

import http.client
import json
import socket
from dataclasses import dataclass

from tests.support.backends import LOOPBACK

HTTP_TIMEOUT = 10


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


def raw_request(method: str, path: str, headers: dict | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def connect(port: int, source: str = LOOPBACK) -> socket.socket:
    return socket.create_connection(
        (LOOPBACK, port), timeout=HTTP_TIMEOUT, source_address=(source, 0)
    )


def read_reply(sock: socket.socket) -> Reply:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return Reply(response.status, response.headers, response.read())


def send(port: int, request: bytes, source: str = LOOPBACK) -> Reply:
    """One request on a fresh connection; `source` is the client address the server sees."""
    with connect(port, source) as sock:
        sock.sendall(request)
        return read_reply(sock)


class HeldRequest:
    """A request sent all but the blank line that ends its headers.

    Under the sync workers shipped before gevent, a held request pinned its worker, so what was
    sent meanwhile went to the other one. A gevent worker keeps serving while it waits, so the
    two requests may now reach the same worker or different ones: each_worker() still sends two
    requests at once, but no longer guarantees one per worker. It must complete within the
    server's 5 s allowance for headers.
    """

    def __init__(self, port: int, request: bytes, source: str = LOOPBACK):
        split = request.index(b"\r\n\r\n") + 2
        self._rest = request[split:]
        self._sock = connect(port, source)
        self._sock.sendall(request[:split])

    def release(self) -> Reply:
        with self._sock:
            self._sock.sendall(self._rest)
            return read_reply(self._sock)


def each_worker(port: int, make_request) -> list[Reply]:
    """What a two-worker instance answers to two requests from make_request() held open together
    (see HeldRequest: under gevent they may reach one worker)."""
    waiting = HeldRequest(port, make_request())
    return [send(port, make_request()), waiting.release()]
