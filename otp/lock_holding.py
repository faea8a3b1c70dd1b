"""From the statement that takes a row lock other requests queue for, to the commit that
releases it.

A verification takes its account's rows: the wrong-code counter's (when VERIFY_FAILURE_LIMIT is
on) and, for a code that matches, the one-time-use mark's. Whatever it waits for from then until
its commit, every other verification of the account waits for too. The storage backend may wait
differently there: in a gevent worker, otpsite/postgres/lock_waits.py keeps the worker on such a
request rather than running the worker's other requests between its round trips.
"""

import contextlib
import contextvars

# None outside a transaction that may take such locks; False inside one, before it takes them;
# True once it has. Per greenlet under gevent, per thread otherwise, as the request deadline is.
_holding: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "otp_holding_locks", default=None
)


@contextlib.contextmanager
def transaction_scope():
    """Around a transaction (its commit included) whose statements may call taking_locks()."""
    token = _holding.set(False)
    try:
        yield
    finally:
        _holding.reset(token)


def taking_locks() -> None:
    """Called just before a statement that takes such a lock; until the scope ends, holding()
    is true. Outside a scope it does nothing, so no request can be left marked."""
    if _holding.get() is not None:
        _holding.set(True)


def holding() -> bool:
    return _holding.get() is True
