"""otp_client.signing signs exactly as the service checks (otp.core.credentials)."""

import pytest
from otp_client import signing

from otp.core.credentials import NONCE_PATTERN, key_id, request_signature

KEY = "test-api-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("GET", "/accounts/github-bot/otp", b""),
        ("get", "/accounts/github-bot/otp?min_validity=10&wait=false", b""),
        ("POST", "/accounts/team%2Fbot/otp/verify", b'{"otp": "012345"}'),
        ("GET", "/ot%70", b"\x00\xff"),
    ],
)
def test_the_signature_is_the_services(method, target, body):
    expected = request_signature(KEY, "1700000000", "n" * 20, method, target, body)
    assert signing.request_signature(KEY, "1700000000", "n" * 20, method, target, body) == expected


def test_the_key_id_is_the_services():
    assert signing.key_id(KEY) == key_id(KEY)


def test_signed_headers_carry_a_fresh_valid_nonce_and_never_the_key():
    first = signing.signed_headers(KEY, "GET", "/accounts", b"", 1_700_000_000)
    second = signing.signed_headers(KEY, "GET", "/accounts", b"", 1_700_000_000)
    assert set(first) == {"X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature"}
    assert first["X-Timestamp"] == "1700000000"
    assert NONCE_PATTERN.fullmatch(first["X-Nonce"])
    assert first["X-Nonce"] != second["X-Nonce"]
    assert KEY not in "".join(first.values())
    assert first["X-Signature"] == request_signature(
        KEY, "1700000000", first["X-Nonce"], "GET", "/accounts", b""
    )
