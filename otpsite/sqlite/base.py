"""The backend's DatabaseWrapper: Django's, taking its connection from a per-process free list
and waiting for another process's write lock without blocking the worker."""

import os
import sqlite3
import threading
import time

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

    busy_seconds = 5.0  # how long a statement waits for another connection's write lock

    _idle: dict[str, list] = {}  # database file: connections to it
    _idle_pid = 0
    _idle_guard = threading.Lock()

    def get_connection_params(self):
        params = super().get_connection_params()
        self.busy_seconds = float(params.get("timeout", self.busy_seconds))
        return params

    def get_new_connection(self, conn_params):
        with self._idle_guard:
            idle = DatabaseWrapper._idle.get(str(self.settings_dict["NAME"]), [])
            if DatabaseWrapper._idle_pid == os.getpid() and idle:
                return idle.pop()
        connection = super().get_new_connection(conn_params)
        # SQLite's own busy handler sleeps in C, holding up every greenlet of the worker while
        # another process writes (p99 of 220 ms against 24 ms for sync workers, verify at 16
        # connections); CooperativeCursor waits instead. Opening still used it, for the pragmas.
        connection.execute("PRAGMA busy_timeout = 0")
        return connection

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=CooperativeCursor)
        cursor.busy_seconds = self.busy_seconds
        return cursor

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


class CooperativeCursor(base.SQLiteCursorWrapper):
    """Django's cursor, retrying a statement that found the database locked by another
    connection (SQLITE_BUSY) for up to busy_seconds, with sleeps that, under gevent, let the
    worker's other greenlets run. SQLite leaves a statement that failed with SQLITE_BUSY
    without effect, so trying it again is what its own busy handler does."""

    busy_seconds = DatabaseWrapper.busy_seconds

    def execute(self, query, params=None):
        return self._retrying(super().execute, query, params)

    def executemany(self, query, param_list):
        return self._retrying(super().executemany, query, list(param_list))

    def _retrying(self, run, *args):
        # Outside a transaction every statement of the process takes its turn, first tries
        # included: one waiter polls while the others queue behind it in order. Were only the
        # waiters to queue, a request arriving meanwhile could go straight past them, and the
        # unlucky first in line lose for hundreds of milliseconds (GET /otp's p99 at 16
        # connections, two workers). Uncontended, the turn costs a lock: SQLite work does not
        # yield, so statements only queue while one waits for the other process.
        # A statement inside a transaction goes first: its transaction may hold the write lock
        # that the waiter in turn is waiting for.
        if not self.connection.in_transaction:
            with _turn:
                return self._trying(run, args)
        try:
            return run(*args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
        with _turn:
            return self._trying(run, args, tried=True)

    def _trying(self, run, args, tried=False):
        deadline = time.monotonic() + self.busy_seconds
        pause = 0.0002
        while True:
            if tried:
                if time.monotonic() + pause > deadline:
                    raise sqlite3.OperationalError("database is locked")
                time.sleep(pause)
                pause = min(pause * 2, 0.001)
            try:
                return run(*args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
            tried = True


_turn = threading.Lock()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def close_idle() -> None:
    """Close this process's idle connections for good: gunicorn's master calls it before it
    forks, so that no worker inherits a connection (SQLite forbids using one across a fork)."""
    with DatabaseWrapper._idle_guard:
        idle, DatabaseWrapper._idle = DatabaseWrapper._idle, {}
    for connections in idle.values():
        for connection in connections:
            connection.close()
