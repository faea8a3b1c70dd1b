"""Whether this instance can serve right now (GET /ready): its storage answers, its clock agrees."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from otp import clock_skew, outages
from otp.exceptions import DEPENDENCY_ERRORS, ClockSkewed


def check_storage() -> None:
    """Raise the database's or the cache's own error if either cannot be reached."""
    _ping_database()
    _ping_cache()


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _ping_cache() -> None:
    cache.get("otp:readiness-probe")


def probe_for_metrics() -> None:
    """What a scrape of /metrics reports, measured then: whether each store answers
    (otp_storage_up) and, with PostgreSQL, the clock offset. Never raises for a store that does
    not answer: the scrape still answers, showing it down."""
    for store, ping in (("database", _ping_database), ("cache", _ping_cache)):
        try:
            ping()
            if store == "database":
                clock_skew.check()
        except DEPENDENCY_ERRORS:
            outages.unreachable(store)
        else:
            outages.served(store)


def check_clock() -> None:
    """Raise ClockSkewed, naming the skew, while this instance's clock and the PostgreSQL
    server's differ by more than MAX_CLOCK_SKEW (the database's own error if it cannot be
    reached). Without PostgreSQL there is nothing to compare."""
    offset = clock_skew.check()
    limit = settings.MAX_CLOCK_SKEW
    if offset is not None and clock_skew.beyond(offset, limit):
        raise ClockSkewed(clock_skew.refusal(offset, limit))
