"""Whether this instance can serve right now (GET /ready): its storage answers, its clock agrees."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from otp import clock_skew
from otp.exceptions import ClockSkewed


def check_storage() -> None:
    """Raise the database's or the cache's own error if either cannot be reached."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.get("otp:readiness-probe")


def check_clock() -> None:
    """Raise ClockSkewed, naming the skew, while this instance's clock and the PostgreSQL
    server's differ by more than MAX_CLOCK_SKEW (the database's own error if it cannot be
    reached). Without PostgreSQL there is nothing to compare."""
    offset = clock_skew.check()
    limit = settings.MAX_CLOCK_SKEW
    if offset is not None and clock_skew.beyond(offset, limit):
        raise ClockSkewed(clock_skew.refusal(offset, limit))
