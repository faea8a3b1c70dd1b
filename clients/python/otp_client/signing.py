"""v2 request signing: the headers that prove the key without sending it."""

import hashlib
import hmac
import secrets

SCHEME = "OTP-HMAC-SHA256"


def key_id(api_key: str) -> str:
    """The key's public name (X-Key-Id): the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def request_signature(
    api_key: str, timestamp: str, nonce: str, method: str, target: str, body: bytes
) -> str:
    """Hex HMAC-SHA256 keyed with the API key over six lines joined by newlines: the scheme,
    timestamp, nonce, METHOD, the target (path and query exactly as sent) and the body's hex
    SHA-256. The same as the service's otp.core.credentials.request_signature."""
    message = "\n".join(
        [SCHEME, timestamp, nonce, method.upper(), target, hashlib.sha256(body).hexdigest()]
    )
    return hmac.new(api_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """32 characters of A-Z a-z 0-9 _ -, fresh for every request (the service takes each once)."""
    return secrets.token_urlsafe(24)


def signed_headers(
    api_key: str, method: str, target: str, body: bytes, timestamp: int
) -> dict[str, str]:
    """X-Key-Id, X-Timestamp, X-Nonce and X-Signature for one request; never the key."""
    stamp, nonce = str(timestamp), new_nonce()
    return {
        "X-Key-Id": key_id(api_key),
        "X-Timestamp": stamp,
        "X-Nonce": nonce,
        "X-Signature": request_signature(api_key, stamp, nonce, method, target, body),
    }
