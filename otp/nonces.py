"""Single use of v2 request nonces, shared by every worker and instance through the cache."""

from django.core.cache import cache


def first_use(key_id: str, nonce: str, remember_seconds: int) -> bool:
    """True the first time (key id, nonce) is seen; cache.add is atomic in Redis and the
    database cache alike. A cache that cannot be reached raises (the caller answers 503)."""
    return cache.add(f"otp:nonce:{key_id}:{nonce}", 1, timeout=remember_seconds)
