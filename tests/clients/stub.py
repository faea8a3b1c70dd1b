"""A scripted HTTP server on 127.0.0.1 and injected time, for the client's behaviour that the
live service cannot be made to show on cue (429, 503, silence, a proxy's pages)."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from otp_client import Client

KEY = "stub-key-0123456789abcdef"
CODE = {"otp": "482910", "valid_for_seconds": 18, "timestamp": 1_700_000_012}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def answer(code: int, body: dict | None = None, **headers: str) -> Reply:
    names = {name.replace("_", "-"): value for name, value in headers.items()}
    return Reply(code, json.dumps(body).encode() if body is not None else b"", names)


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class Stub(ThreadingHTTPServer):
    """Answers each request with the next scripted Reply (the last one over and over) and
    records what it was sent."""

    daemon_threads = True

    def __init__(self, replies: list[Reply]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies = list(replies)
        self.seen: list[Seen] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def handle_error(self, request, client_address):
        """A client that gave up (the timeout tests) is expected: no traceback on stderr."""


class _Handler(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
        reply = self.server.next_reply()
        time.sleep(reply.delay)
        # As the service: a Date header always (the scripted one, if any).
        self.send_response_only(reply.status)
        headers = {"Date": self.date_time_string()} | reply.headers
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = _answer

    def log_message(self, format, *args):
        pass


class FakeTime:
    """The client's clock and sleep: sleeping moves the clock and is recorded."""

    def __init__(self):
        self.now = time.time()
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def http_date(at: float) -> str:
    return formatdate(at, usegmt=True)


def client_of(server: Stub, fake_time: FakeTime, **options) -> Client:
    return Client(server.url, KEY, clock=fake_time.clock, sleep=fake_time.sleep, **options)


@contextmanager
def serving() -> Iterator:
    """serve(*replies) starts a Stub answering them; every one started is stopped at the end."""
    servers = []

    def serve(*replies: Reply) -> Stub:
        server = Stub(list(replies))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    try:
        yield serve
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
