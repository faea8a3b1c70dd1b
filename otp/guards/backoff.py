"""Slowing guesses on an account: a doubling wait after too many wrong codes (RFC 4226 7.3)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from otp import lock_holding

FIRST_DELAY_SECONDS = 30  # one TOTP period: at most VERIFY_FAILURE_LIMIT guesses per code
MAX_DELAY_SECONDS = 15 * 60

# Plain SQL on the verify path, where the ORM's get_or_create cost more than the queries
# (bench/profile_issue.py). Portable between SQLite (3.35+, for RETURNING) and PostgreSQL.
# One statement creates the row if missing, locks it until the transaction ends and reads it:
# a row that does not exist yet cannot be locked by SELECT ... FOR UPDATE, and every round trip
# saved here is one less that concurrent verifications of the account wait through.
_LOCK = (
    'INSERT INTO "otp_verifyfailures" AS existing (account, failures, blocked_until) '
    "VALUES (%s, 0, 0) "
    "ON CONFLICT (account) DO UPDATE SET failures = existing.failures "
    "RETURNING failures, blocked_until"
)
_WRITE = 'UPDATE "otp_verifyfailures" SET failures = %s, blocked_until = %s WHERE account = %s'


@dataclass
class Counter:
    """Consecutive wrong codes on one account, and until when (unix seconds) it must wait."""

    account: str
    failures: int
    blocked_until: int


def delay_after(failures: int, limit: int) -> int:
    """Seconds to wait after `failures` consecutive wrong codes (0 below the limit)."""
    if limit == 0 or failures < limit:
        return 0
    # Bounded exponent: a count in the millions must not build a huge integer.
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(failures - limit, 16))


def lock_counter(account: str) -> Counter:
    """The account's counter, locked until the caller's transaction ends.

    Concurrent verifications of one account take turns, so none can slip past the limit
    (SQLite's IMMEDIATE transactions serialise writers already; on PostgreSQL the upsert's
    update locks the row, existing or just inserted).
    """
    lock_holding.taking_locks()
    with connection.cursor() as cursor:
        cursor.execute(_LOCK, [account])
        failures, blocked_until = cursor.fetchone()
    return Counter(account, failures, blocked_until)


def seconds_blocked(counter: Counter, now: int) -> int:
    return max(0, counter.blocked_until - now)


def count_failure(counter: Counter, now: int) -> None:
    counter.failures += 1
    wait = delay_after(counter.failures, settings.VERIFY_FAILURE_LIMIT)
    counter.blocked_until = now + wait if wait else 0
    _save(counter)


def reset(counter: Counter) -> None:
    if counter.failures or counter.blocked_until:
        counter.failures, counter.blocked_until = 0, 0
        _save(counter)


def _save(counter: Counter) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_WRITE, [counter.failures, counter.blocked_until, counter.account])
