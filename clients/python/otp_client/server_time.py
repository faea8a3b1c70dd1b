"""The service's clock as seen from this host: the local clock plus an offset learned from the
service's answers, so that a host whose clock is off still signs timestamps it accepts."""

import email.utils
from collections.abc import Callable, Mapping
from datetime import UTC

# An HTTP date and the service's "timestamp" are whole seconds, cut down: on average the
# service's clock is half a second past them.
_TRUNCATION = 0.5


class ServerClock:
    """`now()` is the service's time by this host's `clock` plus the last offset learned."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self.offset: float | None = None

    def local(self) -> float:
        return self._clock()

    def now(self) -> float:
        return self._clock() + (self.offset or 0.0)

    def learn(self, headers: Mapping[str, str], body_timestamp: object, received_at: float) -> bool:
        """Take the offset from an answer received at `received_at` (local clock): its Date
        header, else the JSON `timestamp`. Whether the answer told the time."""
        told = parse_http_date(headers.get("Date"))
        if (
            told is None
            and isinstance(body_timestamp, int)
            and not isinstance(body_timestamp, bool)
        ):
            told = float(body_timestamp)
        if told is None:
            return False
        # The answer left the service just before it arrived here; the time it spent on the
        # way (well under a second on a LAN) is the error, far inside the service's 30 s.
        self.offset = told + _TRUNCATION - received_at
        return True


def parse_http_date(value: str | None) -> float | None:
    """Unix seconds of an HTTP date (RFC 9110), or None if it is not one."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP dates are GMT; one written with "-0000" parses without a zone.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
