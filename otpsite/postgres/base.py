"""The backend's DatabaseWrapper: Django's, handing out only pooled connections still open."""

import select
import sys

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL DatabaseWrapper, with a cheap check of each pooled connection.

    The pool hands out idle connections unchecked (a round trip each would cost on every
    request), so after PostgreSQL restarts every idle connection would fail one request with
    503. A connection the server has closed, or on which it said anything unasked, has a
    readable socket: it is dropped (the pool opens a replacement) and another one is taken.
    """

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        # Bounded: at most every connection the pool holds, then a new one.
        for _ in range(self.pool.max_size):
            if not _closed_by_server(connection):
                return connection
            connection.close()
            self.pool.putconn(connection)
            connection = super().get_new_connection(conn_params)
        return connection


def _closed_by_server(connection) -> bool:
    if connection.closed:
        return True
    # poll, not select: a worker with a thousand client connections has descriptors past
    # select's limit of 1024. The standard library's: a check that never waits has no use for
    # gevent's stand-in, which costs a watcher, a result object and a timer on every request.
    poller = _poll()
    try:
        poller.register(connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _poll():
    monkey = sys.modules.get("gevent.monkey")
    return monkey.get_original("select", "poll")() if monkey else select.poll()
