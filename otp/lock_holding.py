"""The part of a request that holds database row locks other requests queue for.

A verification holds its account's rows (the failure counter and the one-time-use mark) from its
first statement until its commit, so whatever it waits for meanwhile, every other verification
of the account waits for too. The storage backend may wait differently there: in a gevent
worker, otpsite/postgres/lock_waits.py keeps the worker on such a request rather than running
the worker's other requests between its round trips.
"""

import contextlib
import contextvars

# Per greenlet under gevent, per thread otherwise, as the request deadline is.
_holding: contextvars.ContextVar[bool] = contextvars.ContextVar("otp_holding_locks", default=False)


def holding() -> bool:
    return _holding.get()


@contextlib.contextmanager
def holding_locks():
    token = _holding.set(True)
    try:
        yield
    finally:
        _holding.reset(token)
