"""The headers of signed requests (v1 and v2), as a client sends them, and in test-client form."""

import secrets

from otp.core.credentials import key_id, request_signature, timestamp_signature
from tests.conftest import FROZEN_AT


def v1_headers(api_key: str, timestamp: int | str = FROZEN_AT) -> dict[str, str]:
    """X-API-Key, X-Timestamp and their HMAC as X-Signature. FROZEN_AT is the in-process tests'
    clock: against a real server, pass the real time."""
    timestamp = str(timestamp)
    return {
        "X-API-Key": api_key,
        "X-Timestamp": timestamp,
        "X-Signature": timestamp_signature(api_key, timestamp),
    }


def v2_headers(
    api_key: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    timestamp: int | str = FROZEN_AT,
    nonce: str | None = None,
) -> dict[str, str]:
    """X-Key-Id, X-Timestamp, X-Nonce (fresh unless given) and X-Signature over the request
    (`target` as on the request line). The timestamp as for v1_headers."""
    timestamp = str(timestamp)
    nonce = nonce or secrets.token_urlsafe(24)
    return {
        "X-Key-Id": key_id(api_key),
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": request_signature(api_key, timestamp, nonce, method, target, body),
    }


def wsgi(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers as Django's and DRF's test clients take them: X-Key-Id as HTTP_X_KEY_ID."""
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
