"""Lock out a client address after too many failed authentications, across every instance."""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from otp.models import AuthFailureWindow

# Read on every protected request: plain SQL, since compiling the same query through the ORM
# cost about five times the query itself (bench/profile_request.py; docs/PERFORMANCE.md,
# "Plain SQL on the hot paths").
_READ = 'SELECT failures, window_start FROM "otp_authfailurewindow" WHERE address = %s'


def seconds_locked(address: str, now: int) -> int:
    """How long `address` stays locked out (0: it is not)."""
    limit, window = settings.AUTH_FAILURE_LIMIT, settings.AUTH_FAILURE_WINDOW
    if limit == 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_READ, [address])
        row = cursor.fetchone()
    if row is None or row[0] < limit:
        return 0
    return max(0, row[1] + window - now)


def record_failure(address: str, now: int) -> None:
    """Count one failure; a window starts at the first failure after the previous one ended.

    Windows that have ended are deleted first (this address's and any other's, so the table
    holds only live windows), then the row is created if missing and incremented. Each step is
    atomic: of two workers racing, the second waits on the first's row lock and then finds the
    fresh window, so every concurrent failure is counted.
    """
    if settings.AUTH_FAILURE_LIMIT == 0:
        return
    windows = AuthFailureWindow.objects
    with transaction.atomic():
        windows.filter(window_start__lte=now - settings.AUTH_FAILURE_WINDOW).delete()
        windows.get_or_create(address=address, defaults={"window_start": now, "failures": 0})
        windows.filter(address=address).update(failures=F("failures") + 1)
