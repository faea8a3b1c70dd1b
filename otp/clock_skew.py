"""This instance's clock against the PostgreSQL server's: measured, exported, logged per change."""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from otp import metrics

logger = logging.getLogger("otp.clock")

# The database server's wall clock as unix seconds, read when the statement runs (now() would be
# the transaction's start).
_SERVER_TIME = "SELECT extract(epoch FROM clock_timestamp())"


def offset_from(before: float, server: float, after: float) -> float:
    """This clock minus the server's, from one round trip: `before` and `after` are this clock's
    readings around the query, `server` the server's reading during it."""
    # The server read its clock at some moment between `before` and `after`; the midpoint is the
    # best guess of that moment on this clock, as NTP's own estimate is. Whatever the network
    # does, the error is at most half the round trip (well under a millisecond on a LAN, against
    # a limit of whole seconds).
    return (before + after) / 2 - server


def beyond(offset: float, limit: int) -> bool:
    """Whether clocks `offset` seconds apart are too far apart for MAX_CLOCK_SKEW = `limit`."""
    return abs(offset) > limit


def refusal(offset: float, limit: int) -> str:
    """What GET /ready answers while the clocks are too far apart: the skew in whole seconds,
    which way, and the limit; in tenths where whole seconds would round it down to the limit
    ("5.3 s", not "5 s", against a limit of 5)."""
    return f"Clock skew: this instance is {_skew(offset, limit)} (MAX_CLOCK_SKEW is {limit} s)"


def _skew(offset: float, limit: int) -> str:
    """ "12 s ahead of the database", in tenths where whole seconds would round to the limit."""
    direction = "ahead of" if offset > 0 else "behind"
    skew = abs(offset)
    shown = f"{round(skew)}" if round(skew) != limit else f"{skew:.1f}"
    return f"{shown} s {direction} the database"


class SkewWatch:
    """Whether the last offset was beyond the limit, and which way, so that only a change is
    logged: one line when the clocks drift apart (or jump from behind to ahead), one when they
    agree again, none per measurement in between."""

    def __init__(self) -> None:
        # +1 ahead, -1 behind, 0 within the limit; a process starts assuming the clocks agree.
        self._side = 0
        self._lock = threading.Lock()

    def update(self, offset: float, limit: int) -> bool | None:
        """True when `offset` has just gone beyond `limit` (either way), False when it has just
        come back within it, None when nothing changed."""
        side = (1 if offset > 0 else -1) if beyond(offset, limit) else 0
        with self._lock:
            if side == self._side:
                return None
            self._side = side
        return side != 0


# Per process: each gunicorn worker measures and remembers on its own, so an instance with several
# workers may log a change once per worker that sees it. Sharing the state through the cache
# would make a log line depend on Redis answering; a line per worker is cheap and still bounded.
_watch = SkewWatch()


def measure(now: Callable[[], float] = time.time) -> float:
    """This instance's clock minus the database server's, in seconds, from one round trip."""
    with connection.cursor() as cursor:
        # Read around the query alone: taking a pooled connection is not part of the round trip.
        before = now()
        cursor.execute(_SERVER_TIME)
        (server,) = cursor.fetchone()
        after = now()
    return offset_from(before, float(server), after)


def record(offset: float, limit: int, watch: SkewWatch = _watch) -> None:
    """Export `offset` (otp_clock_offset_seconds) and log if it has crossed `limit`."""
    metrics.CLOCK_OFFSET.set(offset)
    change = watch.update(offset, limit)
    if change is None:
        return
    fields = {"offset_seconds": round(offset, 1), "max_clock_skew": limit}
    if change:
        logger.warning(
            "clock skew beyond MAX_CLOCK_SKEW, /ready answers 503: this instance is %s",
            _skew(offset, limit),
            extra={"event": "clock_skew", **fields},
        )
    else:
        logger.info(
            "clock skew back within MAX_CLOCK_SKEW: this instance is %s",
            _skew(offset, limit),
            extra={"event": "clock_skew_resolved", **fields},
        )


def check() -> float | None:
    """Measure, export and log this instance's clock offset from the database server's; None
    without PostgreSQL. Raises the database's own error if it cannot be reached."""
    if connection.vendor != "postgresql":
        # SQLite is a file this instance's own clock stamps: there is no other clock to agree
        # with, and only one instance.
        return None
    offset = measure()
    record(offset, settings.MAX_CLOCK_SKEW)
    return offset
