"""Hashing and constant-time comparison of API keys and request signatures."""

import hashlib
import hmac


def key_id(api_key: str) -> str:
    """A public name for a key (first 16 hex of its SHA-256): safe to log and to show."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def key_matches(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())


def timestamp_signature(api_key: str, timestamp: str) -> str:
    """The v1 signature: hex HMAC-SHA256 keyed with the API key over the X-Timestamp value."""
    return hmac.new(api_key.encode(), timestamp.encode(), hashlib.sha256).hexdigest()


def signature_matches(api_key: str, timestamp: str, presented: str) -> bool:
    return hmac.compare_digest(timestamp_signature(api_key, timestamp).encode(), presented.encode())


def timestamp_is_fresh(timestamp: str, now: int, max_skew: int) -> bool:
    """True for a unix-seconds integer string within max_skew of now, in either direction.

    Both directions: a far-future timestamp would otherwise make a signature valid forever.
    """
    if not (0 < len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
        return False
    return abs(int(timestamp) - now) <= max_skew
