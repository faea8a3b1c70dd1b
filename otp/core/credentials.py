"""Hashing and constant-time comparison of API keys and request signatures."""

import hashlib
import hmac
import re

V2_SCHEME = "OTP-HMAC-SHA256"
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def key_hash(api_key: str) -> str:
    """The hex SHA-256 of a key: what a client key is stored as and checked against."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_id(api_key: str) -> str:
    """A public name for a key (the first 16 hex digits of its hash): safe to log, show, send."""
    return key_hash(api_key)[:16]


def constant_time_equal(presented: str, expected: str) -> bool:
    """Compare secrets (keys, signatures) in time independent of where they differ."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def matching_key(presented: str, keys: list[str]) -> str | None:
    """The configured key equal to `presented`, or None.

    Every key is compared, without an early exit, so the time taken does not tell whether (or
    which) key matched.
    """
    found = None
    for key in keys:
        if constant_time_equal(presented, key):
            found = key
    return found


def timestamp_signature(api_key: str, timestamp: str) -> str:
    """The v1 signature: hex HMAC-SHA256 keyed with the API key over the X-Timestamp value."""
    return hmac.new(api_key.encode(), timestamp.encode(), hashlib.sha256).hexdigest()


def signature_matches(api_key: str, timestamp: str, presented: str) -> bool:
    return constant_time_equal(presented, timestamp_signature(api_key, timestamp))


def request_signature(
    api_key: str, timestamp: str, nonce: str, method: str, target: str, body: bytes
) -> str:
    """The v2 signature: hex HMAC-SHA256 keyed with the API key over six lines.

    `OTP-HMAC-SHA256`, timestamp, nonce, METHOD, the request target (path and query string exactly
    as on the request line, percent-encoding untouched), and the hex SHA-256 of the raw body,
    joined by newlines. Binding method, target and body means a captured request cannot be
    turned into another one; the nonce means it cannot be sent twice.
    """
    message = "\n".join(
        [V2_SCHEME, timestamp, nonce, method.upper(), target, hashlib.sha256(body).hexdigest()]
    )
    return hmac.new(api_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def timestamp_is_fresh(timestamp: str, now: int, max_skew: int) -> bool:
    """True for a unix-seconds integer string within max_skew of now, in either direction.

    Both directions: a far-future timestamp would otherwise make a signature valid forever.
    """
    if not (0 < len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
        return False
    return abs(int(timestamp) - now) <= max_skew
