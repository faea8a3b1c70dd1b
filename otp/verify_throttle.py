"""Slowing guesses on an account: a doubling wait after too many wrong codes (RFC 4226 7.3)."""

from django.conf import settings

from otp.models import VerifyFailures

FIRST_DELAY_SECONDS = 30  # one TOTP period: at most VERIFY_FAILURE_LIMIT guesses per code
MAX_DELAY_SECONDS = 15 * 60


def delay_after(failures: int, limit: int) -> int:
    """Seconds to wait after `failures` consecutive wrong codes (0 below the limit)."""
    if limit == 0 or failures < limit:
        return 0
    # Bounded exponent: a count in the millions must not build a huge integer.
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(failures - limit, 16))


def lock_counter(account: str) -> VerifyFailures:
    """The account's counter, locked until the caller's transaction ends.

    Concurrent verifications of one account take turns, so none can slip past the limit
    (SQLite's IMMEDIATE transactions serialise writers already; PostgreSQL locks the row).
    """
    counter, _ = VerifyFailures.objects.select_for_update().get_or_create(
        account=account, defaults={"failures": 0, "blocked_until": 0}
    )
    return counter


def seconds_blocked(counter: VerifyFailures, now: int) -> int:
    return max(0, counter.blocked_until - now)


def count_failure(counter: VerifyFailures, now: int) -> None:
    counter.failures += 1
    wait = delay_after(counter.failures, settings.VERIFY_FAILURE_LIMIT)
    counter.blocked_until = now + wait if wait else 0
    counter.save(update_fields=["failures", "blocked_until"])


def reset(counter: VerifyFailures) -> None:
    if counter.failures or counter.blocked_until:
        counter.failures, counter.blocked_until = 0, 0
        counter.save(update_fields=["failures", "blocked_until"])
