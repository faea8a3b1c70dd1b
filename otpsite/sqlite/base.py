"""The backend's DatabaseWrapper: Django's, taking its connection from a per-process free list."""

import os
import threading

from django.db.backends.sqlite3 import base

# Open connections a worker keeps between requests, per database file: more than it serves at
# once is waste.
IDLE_LIMIT = 8


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's SQLite DatabaseWrapper, closing into a free list instead of closing for good.

    Under gevent Django's connections are per greenlet, that is per client connection, and a
    bot that opens a connection per request would pay for a new SQLite connection each time
    (opening it and reading the schema cost a quarter of the throughput of such clients). A
    connection closed outside a transaction goes back to this process's list and the next
    request takes it. SQLite work never yields to another greenlet, so a connection serves one
    request at a time; the list is per process (never inherited across gunicorn's fork).
    """

    _idle: dict[str, list] = {}  # database file: connections to it
    _idle_pid = 0
    _idle_guard = threading.Lock()

    def get_new_connection(self, conn_params):
        with self._idle_guard:
            idle = DatabaseWrapper._idle.get(str(self.settings_dict["NAME"]), [])
            if DatabaseWrapper._idle_pid == os.getpid() and idle:
                return idle.pop()
        return super().get_new_connection(conn_params)

    def _close(self):
        connection = self.connection
        if connection is None or connection.in_transaction or self.in_atomic_block:
            return super()._close()
        with self._idle_guard:
            if DatabaseWrapper._idle_pid != os.getpid():
                DatabaseWrapper._idle, DatabaseWrapper._idle_pid = {}, os.getpid()
            idle = DatabaseWrapper._idle.setdefault(str(self.settings_dict["NAME"]), [])
            if len(idle) < IDLE_LIMIT:
                idle.append(connection)
                return None
        return super()._close()


def close_idle() -> None:
    """Close this process's idle connections for good: gunicorn's master calls it before it
    forks, so that no worker inherits a connection (SQLite forbids using one across a fork)."""
    with DatabaseWrapper._idle_guard:
        idle, DatabaseWrapper._idle = DatabaseWrapper._idle, {}
    for connections in idle.values():
        for connection in connections:
            connection.close()
