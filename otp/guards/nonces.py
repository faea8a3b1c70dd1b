"""Single use of v2 request nonces, shared by every worker and instance."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction

from otp import outages

_FORGET_EXPIRED = 'DELETE FROM "otp_usednonce" WHERE expires_at < %s'
_CLAIM = (
    'INSERT INTO "otp_usednonce" (claim, expires_at) VALUES (%s, %s) ON CONFLICT (claim) DO NOTHING'
)


def first_use(key_id: str, nonce: str, now: int, remember_seconds: int) -> bool:
    """True the first time (key id, nonce) is seen; atomic across workers and instances.

    With Redis, an atomic cache `add` with a time to live. Otherwise a table of our own:
    Django's database cache culls entries that are still live once it holds MAX_ENTRIES (300 by
    default), and answers any database error in `add` as "already there" (a 401, where an
    unreachable database must be a 503). Storage that cannot be reached raises: the caller
    answers 503 and nothing was accepted.
    """
    claim = f"{key_id}:{nonce}"
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        first = cache.add(f"otp:nonce:{claim}", 1, timeout=remember_seconds)
        outages.served("cache")  # it answered: an outage of Redis the log was telling is over
        return first
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FORGET_EXPIRED, [now])
        cursor.execute(_CLAIM, [claim, now + remember_seconds])
        return cursor.rowcount == 1
