"""HTTP as real clients send it, on real servers: request targets signed exactly as sent, JSON
bodies read one way only, a JSON answer to every method on every path, and a Host refused with a
reason in the log but not the header."""

import http.client
import json
import os
import re
import time

import pytest
from rest_framework import status

from tests.support.commands import manage
from tests.support.raw_http import connect, raw_request, send
from tests.support.servers import start_gunicorn, start_runserver
from tests.support.signing import v2_headers

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
BAD_SIGNATURE = {"error": "Invalid or missing request signature"}
METHOD_NOT_ALLOWED = {"error": "Method not allowed"}
NOT_FOUND = {"error": "Not found"}
# A name nothing else in a request or the log could contain by chance.
FOREIGN_HOST = "foreign-host-7q2x.example"

# Each route with the methods it serves; /openapi.json and /docs only with ENABLE_DOCS=true.
API_ROUTES = {
    "/health": ("GET", "HEAD"),
    "/ready": ("GET", "HEAD"),
    "/otp": ("GET",),
    "/otp/verify": ("POST",),
    "/otp/secure": ("GET",),
    "/accounts": ("GET",),
    "/accounts/default/otp": ("GET",),
    "/accounts/default/otp/verify": ("POST",),
}
DOCS_ROUTES = {"/openapi.json": ("GET", "HEAD"), "/docs": ("GET", "HEAD")}
OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW")


@pytest.fixture(scope="module")
def gunicorn_docs(tmp_path_factory):
    server = start_gunicorn(tmp_path_factory.mktemp("gunicorn-docs"), ENABLE_DOCS="true")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gunicorn_plain(tmp_path_factory):
    server = start_gunicorn(tmp_path_factory.mktemp("gunicorn-plain"), ENABLE_DOCS="false")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runserver_docs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runserver-docs")
    # As `make dev` does: runserver does not migrate by itself.
    manage(folder / "data", "migrate", "-v0", check=True)
    manage(folder / "data", "createcachetable", check=True)
    server = start_runserver(folder, ENABLE_DOCS="true")
    yield server
    server.stop()


@pytest.fixture(params=["gunicorn", "runserver"])
def any_server(request):
    return request.getfixturevalue(f"{request.param}_docs")


def log_lines(server) -> list[dict]:
    # runserver prints a plain-text banner first; every line after it is JSON.
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def assert_log_is_clean(server, *client_input: str) -> None:
    """No error or traceback, and none of what the client sent (nor the key or secret)."""
    text = server.log()
    assert "Traceback" not in text
    assert all(line["level"] in {"INFO", "WARNING"} for line in log_lines(server))
    for sent in (API_KEY, OTP_SECRET, *client_input):
        assert sent not in text


def signed(method: str, target: str, signed_target: str | None = None, body: bytes = b""):
    """Raw bytes of a v2 request for `target`, its signature computed over `signed_target`
    (by default the target itself, as sent); the nonce and signature, to look for in the log."""
    headers = v2_headers(API_KEY, method, signed_target or target, body, timestamp=int(time.time()))
    sent = (headers["X-Nonce"], headers["X-Signature"])
    if body:
        headers["Content-Type"] = "application/json"
    return raw_request(method, target, headers, body), sent


# --- The request target, signed as sent ---


@pytest.mark.parametrize(
    "target",
    [
        "/ot%70",
        "/%6Ftp",
        "/otp?for=bot%207&x=%2F",
        "/accounts/defaul%74/otp",
        # What the README's clients send: nothing to decode, signed as before.
        "/otp",
        "/otp?x=1",
    ],
)
def test_a_signature_covers_the_target_exactly_as_sent(any_server, target):
    request, sent = signed("GET", target)
    reply = send(any_server.port, request)
    assert reply.status == status.HTTP_200_OK, reply.body
    assert set(reply.json()) == {"otp", "valid_for_seconds", "timestamp"}
    assert_log_is_clean(any_server, *sent)


@pytest.mark.parametrize(
    ("target", "signed_target"),
    [
        # Django's decoded path is not what was sent: a signature over it does not count.
        ("/ot%70", "/otp"),
        ("/otp?x=%41", "/otp?x=A"),
        # Nor another spelling of the same path.
        ("/otp", "/ot%70"),
        ("/ot%70", "/ot%2570"),
    ],
)
def test_a_signature_over_another_spelling_of_the_target_is_401(any_server, target, signed_target):
    request, sent = signed("GET", target, signed_target)
    reply = send(any_server.port, request)
    assert reply.status == status.HTTP_401_UNAUTHORIZED
    assert reply.json() == BAD_SIGNATURE
    assert_log_is_clean(any_server, *sent)


def test_a_signed_verify_with_an_encoded_target(any_server):
    body = b'{"otp": "000000"}'
    request, sent = signed("POST", "/otp/verif%79", body=body)
    reply = send(any_server.port, request)
    assert reply.status == status.HTTP_200_OK, reply.body
    assert set(reply.json()) == {"valid", "timestamp"}
    assert_log_is_clean(any_server, *sent)


# --- JSON bodies ---


def verify(server, body: bytes):
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    return send(server.port, raw_request("POST", "/otp/verify", headers, body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"otp": "111111", "otp": "222222"}',
        b'{"otp": "111111", "x": {"a": 1, "a": 2}}',
    ],
)
def test_a_body_with_a_duplicate_key_is_400(gunicorn_docs, body):
    reply = verify(gunicorn_docs, body)
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json() == {"error": "Request body has a duplicate key"}
    assert_log_is_clean(gunicorn_docs, "111111", "222222")


def test_a_body_with_a_byte_order_mark_is_read(gunicorn_docs):
    reply = verify(gunicorn_docs, b'\xef\xbb\xbf{"otp": "000000"}')
    assert reply.status == status.HTTP_200_OK, reply.body
    assert set(reply.json()) == {"valid", "timestamp"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"x",
        b'{"otp": "123456"',
        b'{"otp": NaN}',
        b'{"otp": "\xff\xfe"}',
        '{"otp": "123456"}'.encode("utf-16"),
        b"\xef\xbb\xbf\xef\xbb\xbf{}",
    ],
    ids=["empty", "word", "unclosed", "nan", "latin-1", "utf-16", "two-boms"],
)
def test_a_body_that_is_not_json_gets_one_fixed_message(gunicorn_docs, body):
    reply = verify(gunicorn_docs, body)
    assert reply.status == status.HTTP_400_BAD_REQUEST
    expected = "otp: This field is required." if not body else "Request body is not valid JSON"
    assert reply.json() == {"error": expected}
    assert_log_is_clean(gunicorn_docs)


def test_a_deep_body_gets_a_fixed_message(gunicorn_docs):
    reply = verify(gunicorn_docs, b"[" * 1024)
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json() == {"error": "Request body is nested too deeply"}
    assert_log_is_clean(gunicorn_docs)


def test_the_body_limit_still_holds(gunicorn_docs):
    reply = verify(gunicorn_docs, b'{"otp": "' + b"1" * 1024 + b'"}')
    assert reply.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert reply.json() == {"error": "Request body too large"}


# --- Every method on every path ---


@pytest.mark.parametrize("docs", [True, False], ids=["docs", "no-docs"])
def test_every_method_on_every_path_answers_json(request, docs):
    server = request.getfixturevalue("gunicorn_docs" if docs else "gunicorn_plain")
    routes = API_ROUTES | (DOCS_ROUTES if docs else {})
    for path, served in routes.items():
        for method in OTHER_METHODS:
            if method in served:
                continue
            reply = send(server.port, raw_request(method, path, {"X-API-Key": API_KEY}))
            where = f"{method} {path}"
            assert reply.status == status.HTTP_405_METHOD_NOT_ALLOWED, where
            assert reply.headers["Content-Type"] == "application/json", where
            assert reply.json() == METHOD_NOT_ALLOWED, where
            assert reply.headers["Allow"] == ", ".join(served), where
    unknown = ["/nowhere", "/otp/", "/accounts/default", "/static/nothing.js"]
    if not docs:
        unknown += list(DOCS_ROUTES)
    for path in unknown:
        for method in OTHER_METHODS:
            reply = send(server.port, raw_request(method, path))
            assert reply.status == status.HTTP_404_NOT_FOUND, f"{method} {path}"
            assert reply.json() == NOT_FOUND, f"{method} {path}"
    assert_log_is_clean(server)


def test_the_docs_assets_answer_other_methods_with_json(gunicorn_docs):
    page = send(gunicorn_docs.port, raw_request("GET", "/docs")).body.decode()
    (bundle,) = re.findall(r'src="(/static/[^"]+swagger-ui-bundle\.js)"', page)
    for method in OTHER_METHODS:
        if method == "GET":
            continue
        reply = send(gunicorn_docs.port, raw_request(method, bundle))
        assert reply.status == status.HTTP_405_METHOD_NOT_ALLOWED, method
        # WhiteNoise answers these itself, with an empty body, unless
        # otp.api.methods.JsonMethodNotAllowedMiddleware sits above it in MIDDLEWARE.
        assert reply.headers.get("Content-Type") == "application/json", method
        assert reply.json() == METHOD_NOT_ALLOWED, method
        assert reply.headers["Allow"] == "GET, HEAD", method
    assert_log_is_clean(gunicorn_docs)


def test_head_is_answered_without_a_body_or_a_log_warning(gunicorn_plain):
    for path, expected in [
        ("/health", status.HTTP_200_OK),
        ("/otp", status.HTTP_405_METHOD_NOT_ALLOWED),
    ]:
        with connect(gunicorn_plain.port) as sock:
            sock.sendall(raw_request("HEAD", path, {"X-API-Key": API_KEY}))
            reply = http.client.HTTPResponse(sock, method="HEAD")
            reply.begin()
            assert (reply.status, reply.read()) == (expected, b""), path
    assert_log_is_clean(gunicorn_plain)
    assert not [line for line in log_lines(gunicorn_plain) if line["level"] == "WARNING"]


def test_options_is_405_without_credentials_and_counts_nothing(gunicorn_plain):
    # Answered before credentials are looked at: no 401, no audit record, no lockout count.
    wrong_key = "wrong-key-5k3v8q0z1m"
    # More than AUTH_FAILURE_LIMIT (20): had they counted, the right key would now get 429.
    for _ in range(25):
        reply = send(gunicorn_plain.port, raw_request("OPTIONS", "/otp", {"X-API-Key": wrong_key}))
        assert reply.status == status.HTTP_405_METHOD_NOT_ALLOWED
        assert reply.headers["Allow"] == "GET"
    ok = send(gunicorn_plain.port, raw_request("GET", "/otp", {"X-API-Key": API_KEY}))
    assert ok.status == status.HTTP_200_OK
    assert_log_is_clean(gunicorn_plain, wrong_key)


@pytest.mark.parametrize(("path", "served"), [*API_ROUTES.items(), *DOCS_ROUTES.items()])
def test_allow_on_any_answer_lists_what_is_served(gunicorn_docs, path, served):
    # DRF sends Allow on every answer, and would list OPTIONS; /otp/secure answers 401 here.
    method = served[0]
    body = b'{"otp": "000000"}' if method == "POST" else b""
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    reply = send(gunicorn_docs.port, raw_request(method, path, headers, body))
    assert reply.status in {status.HTTP_200_OK, status.HTTP_401_UNAUTHORIZED}, path
    assert reply.headers["Allow"] == ", ".join(served)


# --- A Host not allowed ---


def test_a_host_not_allowed_is_logged_with_its_reason_not_its_name(gunicorn_plain):
    request = (
        f"GET /health HTTP/1.1\r\nHost: {FOREIGN_HOST}\r\nX-Request-ID: host-check-1\r\n\r\n"
    ).encode()
    reply = send(gunicorn_plain.port, request)
    assert reply.status == status.HTTP_400_BAD_REQUEST
    assert reply.json() == {"error": "Bad request"}
    (line,) = [
        line for line in log_lines(gunicorn_plain) if line.get("request_id") == "host-check-1"
    ]
    assert line["logger"] == "otp.access"
    assert (line["status"], line["reason"]) == (status.HTTP_400_BAD_REQUEST, "host not allowed")
    assert_log_is_clean(gunicorn_plain, FOREIGN_HOST)


def test_an_allowed_host_has_no_reason_in_its_line(gunicorn_plain):
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: host-check-2\r\n\r\n"
    assert send(gunicorn_plain.port, request).status == status.HTTP_200_OK
    (line,) = [
        line for line in log_lines(gunicorn_plain) if line.get("request_id") == "host-check-2"
    ]
    assert "reason" not in line
