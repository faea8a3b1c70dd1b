"""PostgreSQL connections that stop waiting for a server that stops answering mid-request.

statement_timeout runs on the server, so it cannot help when the server (or a middlebox) accepts
bytes and never answers; TCP keepalives and tcp_user_timeout notice only a peer that stops
acknowledging. The deadline here is the client's own: every wait for the server during a request
ends when the request's storage budget is spent, and the request answers 503.
"""

import contextvars
import time

import psycopg
from psycopg import errors

from otp import lock_holding
from otpsite.postgres import lock_waits

# From the start of a request, for everything it waits for on PostgreSQL together (the pool's
# own wait for a free connection is bounded by its "timeout", set in settings). A request takes
# milliseconds; lock waits are bounded on the server by lock_timeout.
REQUEST_SECONDS = 3.5
# psycopg's default: how often a wait wakes up to check for a timeout or an interrupt.
_WAIT_INTERVAL = 0.1

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "otp_postgres_deadline", default=None
)


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose waits end at the current request's deadline, if it has one.

    Outside a request (migrations, `manage.py otp ...`) it waits as psycopg does, bounded by
    the server's statement_timeout.
    """

    def wait(self, gen, interval: float = _WAIT_INTERVAL, timeout: float | None = None):
        deadline = _deadline.get()
        if timeout is not None or deadline is None:
            return self._waiting(gen, interval, timeout)
        try:
            return self._waiting(gen, interval, max(0.0, deadline - time.monotonic()))
        except errors._WaitTimeout:
            # Halfway through a statement: what the server has done is unknown, so nothing more
            # may be sent on this connection. Closed, Django drops it and the pool replaces it.
            self.pgconn.finish()
            raise psycopg.OperationalError("PostgreSQL did not answer in time") from None

    def _waiting(self, gen, interval, timeout):
        if lock_holding.holding() and lock_waits.in_gevent_worker():
            return lock_waits.wait(gen, self.pgconn.socket, timeout)
        return super().wait(gen, interval, timeout)


class RequestDeadlineMiddleware:
    """Starts the storage budget of each request (REQUEST_SECONDS), and starts it again after
    the request waited for a fresher code (otp.waiting.resumed): the budget is for storage."""

    def __init__(self, get_response):
        self.get_response = get_response
        from otp import waiting  # the app, loaded by now: middleware is built after it

        waiting.resumed.connect(_restart, dispatch_uid="otp-postgres-deadline")

    def __call__(self, request):
        token = _deadline.set(time.monotonic() + REQUEST_SECONDS)
        try:
            return self.get_response(request)
        finally:
            _deadline.reset(token)


def _restart(**kwargs) -> None:
    if _deadline.get() is not None:
        _deadline.set(time.monotonic() + REQUEST_SECONDS)
