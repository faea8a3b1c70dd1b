"""The shipped gunicorn configuration, started for real on a loopback port."""

import json
import os
import socket

import pytest
from rest_framework import status

from tests.support.servers import start_gunicorn
from tests.support.signing import v1_headers

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server(tmp_path_factory, home):
    # HOME points at an empty folder so the test can see gunicorn leaves no control socket.
    started = start_gunicorn(
        tmp_path_factory.mktemp("gunicorn"), HOME=str(home), XDG_RUNTIME_DIR=""
    )
    yield started
    started.stop()


def test_health(server):
    code, headers, body = server.request("GET", "/health")
    assert code == status.HTTP_200_OK
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"status", "timestamp"}


def test_otp_with_the_key(server):
    code, headers, body = server.request("GET", "/otp", headers={"X-API-Key": API_KEY})
    assert code == status.HTTP_200_OK
    assert headers["Cache-Control"] == "no-store"
    payload = json.loads(body)
    assert payload["otp"].isdigit()
    assert len(payload["otp"]) == 6
    assert payload["valid_for_seconds"] == 30 - payload["timestamp"] % 30


def test_otp_without_the_key_is_401(server):
    code, headers, body = server.request("GET", "/otp")
    assert code == status.HTTP_401_UNAUTHORIZED
    assert headers["WWW-Authenticate"]
    assert json.loads(body) == {"error": "Invalid or missing API key"}


def test_a_fetched_code_verifies(server):
    key = {"X-API-Key": API_KEY}
    otp = json.loads(server.request("GET", "/otp", headers=key)[2])["otp"]
    code, _, body = server.request(
        "POST",
        "/otp/verify",
        body=json.dumps({"otp": otp}),
        headers={**key, "Content-Type": "application/json"},
    )
    assert code == status.HTTP_200_OK
    assert json.loads(body)["valid"] is True


def test_secure_with_a_signature(server):
    # The server's clock is the real one here, as it would be for a client.
    _, _, body = server.request("GET", "/health")
    headers = v1_headers(API_KEY, json.loads(body)["timestamp"])
    code, _, body = server.request("GET", "/otp/secure", headers=headers)
    assert code == status.HTTP_200_OK
    assert set(json.loads(body)) == {"otp", "valid_for_seconds", "timestamp"}


def test_an_8_kib_header_gets_a_json_error(server):
    code, headers, body = server.request("GET", "/otp", headers={"X-API-Key": "k" * 8192})
    assert 400 <= code < 500
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"error"}


def test_a_query_string_past_the_request_line_limit_is_the_documented_414(server):
    # What a client repeating min_validity a few hundred times gets (tests/servers/test_docs.py).
    query = "&".join(["min_validity=10"] * 400)
    code, headers, body = server.request("GET", f"/otp?{query}", headers={"X-API-Key": API_KEY})
    assert code == status.HTTP_414_REQUEST_URI_TOO_LONG
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "URI Too Long"}


def test_a_malformed_header_gets_json_and_stays_out_of_the_log(server):
    # A key sent without its colon: gunicorn rejects the line before Django sees it.
    request = f"GET /otp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key {API_KEY}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        reply = sock.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 400")
    assert '{"error": "Bad Request"}' in reply
    assert API_KEY not in server.log()


def test_an_oversized_body_is_413_json(server):
    code, _, body = server.request(
        "POST",
        "/otp/verify",
        body=b'{"otp": "' + b"1" * 50_000 + b'"}',
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
    )
    assert code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert json.loads(body) == {"error": "Request body too large"}


def test_a_bad_host_header_is_400_json(server):
    code, _, body = server.request("GET", "/health", headers={"Host": "attacker.example"})
    assert code == status.HTTP_400_BAD_REQUEST
    assert json.loads(body) == {"error": "Bad request"}


def test_shutdown_is_graceful_and_the_log_is_clean_json(tmp_path, home):
    # A server of its own: stopping the shared one would break the tests above when run alone.
    own = start_gunicorn(tmp_path, HOME=str(home), XDG_RUNTIME_DIR="")
    own.request("GET", "/otp", headers={"X-API-Key": API_KEY})
    own.request("GET", "/otp", headers={"X-API-Key": "wrong-key-0123456789"})
    assert own.stop() == 0
    lines = [json.loads(line) for line in own.log().splitlines()]
    access = [line for line in lines if line["logger"] == "otp.access"]
    assert [line["status"] for line in access[-2:]] == [200, 401]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    for secret in (API_KEY, OTP_SECRET, "wrong-key-0123456789"):
        assert secret not in own.log()


def test_no_control_socket_is_left_behind(server, home):
    assert not (home / ".gunicorn").exists()
