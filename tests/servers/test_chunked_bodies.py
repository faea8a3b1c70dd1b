"""Chunked request bodies (Transfer-Encoding: chunked, as .NET, PowerShell and streaming clients
send them) against a real gunicorn: read, limited to 1 KiB, and covered by a v2 signature."""

import json
import os
import time

import pytest
from rest_framework import status

from otp.core import totp
from tests.support.raw_http import connect, read_reply
from tests.support.servers import start_gunicorn
from tests.support.signing import v2_headers

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
KEY = {"X-API-Key": API_KEY}
JSON = {"Content-Type": "application/json"}
LIMIT = 1024


def chunks(body: bytes, size: int = 7) -> bytes:
    """`body` in chunks of `size` bytes, without the last (empty) chunk."""
    parts = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in parts)


def chunked_head(method: str, path: str, headers: dict) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked_request(method: str, path: str, headers: dict, body: bytes) -> bytes:
    return chunked_head(method, path, headers) + chunks(body) + b"0\r\n\r\n"


def verify_body() -> bytes:
    return json.dumps({"otp": totp.code_at(OTP_SECRET, int(time.time()))}).encode()


def signed(method: str, path: str, body: bytes) -> dict:
    """v2 headers over `body` as the client means it (de-chunked)."""
    return v2_headers(API_KEY, method, path, body, timestamp=int(time.time()))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # A low lockout limit: a chunked body taken as empty would lock the test's address quickly.
    server = start_gunicorn(tmp_path_factory.mktemp("chunked"), AUTH_FAILURE_LIMIT="3")
    yield server
    server.stop()


def exchange(port: int, request: bytes):
    with connect(port) as sock:
        sock.sendall(request)
        return read_reply(sock)


def test_a_chunked_verify_body_is_read(service):
    body = verify_body()
    first = exchange(service.port, chunked_request("POST", "/otp/verify", {**KEY, **JSON}, body))
    assert first.status == status.HTTP_200_OK
    assert first.json()["valid"] is True
    # The same code again: read as the same body, and refused as a replay.
    again = exchange(service.port, chunked_request("POST", "/otp/verify", {**KEY, **JSON}, body))
    assert again.json()["valid"] is False


def test_a_v2_signature_covers_the_dechunked_body(service):
    for _ in range(4):  # more than AUTH_FAILURE_LIMIT: none of them may count as a failure
        body = json.dumps({"otp": "000000"}).encode()
        headers = {**signed("POST", "/otp/verify", body), **JSON}
        reply = exchange(service.port, chunked_request("POST", "/otp/verify", headers, body))
        assert reply.status == status.HTTP_200_OK
        assert reply.json()["valid"] is False


def test_a_v2_signature_over_other_bytes_than_the_chunked_body_is_refused(service):
    body = json.dumps({"otp": "000000"}).encode()
    headers = {**signed("POST", "/otp/verify", b'{"otp": "111111"}'), **JSON}
    reply = exchange(service.port, chunked_request("POST", "/otp/verify", headers, body))
    assert reply.status == status.HTTP_401_UNAUTHORIZED


def test_a_chunked_body_over_the_limit_is_413_without_reading_the_rest(service):
    # More than the limit is sent, but not the end of the body: the answer cannot wait for it.
    head = chunked_head("POST", "/otp/verify", {**KEY, **JSON})
    with connect(service.port) as sock:
        sock.sendall(head + chunks(b'{"otp": "' + b"1" * (LIMIT + 100) + b'"', size=256))
        reply = read_reply(sock)
    assert reply.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert reply.json() == {"error": "Request body too large"}


def test_a_chunked_body_within_the_limit_is_not_413(service):
    body = json.dumps({"otp": "0" * (LIMIT - 20)}).encode()
    assert len(body) <= LIMIT
    reply = exchange(service.port, chunked_request("POST", "/otp/verify", {**KEY, **JSON}, body))
    assert reply.status == status.HTTP_200_OK
    assert reply.json()["valid"] is False
