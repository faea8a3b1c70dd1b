"""A bare WSGI app doing GET /otp's work and nothing else: the floor the service is measured by."""

import hmac
import json
import os
import time

import pyotp

# A benchmark fixture, not part of the service: it reads the two secrets bench/run.sh generated
# straight from the environment, once per process, as the floor should.
_API_KEY = os.environ["API_KEY"].encode()
_TOTP = pyotp.TOTP(os.environ["OTP_SECRET"])
_STEP = 30
_UNAUTHORIZED = json.dumps({"error": "Invalid or missing API key"}).encode()
_NOT_FOUND = json.dumps({"error": "Not found"}).encode()


def _respond(start_response, status: str, body: bytes, *extra: tuple[str, str]) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *extra,
        ],
    )
    return [body]


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/otp" or environ.get("REQUEST_METHOD") != "GET":
        return _respond(start_response, "404 Not Found", _NOT_FOUND)
    presented = environ.get("HTTP_X_API_KEY", "").encode()
    if not hmac.compare_digest(presented, _API_KEY):
        return _respond(
            start_response,
            "401 Unauthorized",
            _UNAUTHORIZED,
            ("WWW-Authenticate", 'ApiKey realm="otp-service"'),
        )
    at = int(time.time())
    body = json.dumps(
        {"otp": _TOTP.at(at), "valid_for_seconds": _STEP - at % _STEP, "timestamp": at}
    ).encode()
    return _respond(start_response, "200 OK", body)
