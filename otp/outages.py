"""Storage outages as the log tells them: one traceback when a store starts failing, then one
line per request it fails, until that store answers again; and as otp_storage_up shows them."""

import logging
import threading

from django.db import DatabaseError

from otp import metrics

logger = logging.getLogger("otp.storage")

_lock = threading.Lock()
_failing: set[str] = set()  # stores that failed since they last answered; per process
_answered: set[str] = set()  # stores otp_storage_up shows as up, set once per process


def store_of(error: BaseException) -> str:
    """ "database" or "cache" (Redis): which store raised `error`."""
    return "database" if isinstance(error, DatabaseError) else "cache"


def failed(error: BaseException) -> None:
    """Log a request refused with 503 because a store failed: the first time in an outage with
    the traceback (whose message says what failed: a timeout, a refused connection), else one
    line naming only the store and the error's class, so an outage does not flood the log."""
    store = store_of(error)
    with _lock:
        first = store not in _failing
        _failing.add(store)
        _answered.discard(store)
    metrics.STORAGE_UP.labels(store).set(0)
    fields = {"event": "storage_unavailable", "store": store, "error": type(error).__name__}
    if first:
        logger.error("storage unavailable, answering 503", exc_info=error, extra=fields)
    else:
        logger.error("storage unavailable, answering 503", extra=fields)


def unreachable(store: str) -> None:
    """`store` did not answer a probe that is not a request's (a scrape of /metrics): shown on
    otp_storage_up, without the log lines of a refused request."""
    with _lock:
        _answered.discard(store)
    metrics.STORAGE_UP.labels(store).set(0)


def served(store: str) -> None:
    """`store` ("database" or "cache") answered a request: its outage, if any, is over."""
    # Read without the lock on every request: the gauge is written only when the state turns.
    if store not in _answered:
        with _lock:
            _failing.discard(store)
            _answered.add(store)
        metrics.STORAGE_UP.labels(store).set(1)


def one_line(problem: Exception) -> str:
    """A storage error in one line, for an operator: its class and the first line of its
    message (which names host and port, never a password)."""
    lines = str(problem).strip().splitlines()
    return f"{type(problem).__name__}: {lines[0]}" if lines else type(problem).__name__
