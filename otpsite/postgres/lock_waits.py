"""Waiting for PostgreSQL while holding row locks, in a gevent worker: the worker waits too.

A gevent worker runs its other requests while one waits for PostgreSQL, and that request goes
on only when they next wait. For a request holding row locks that others queue for
(otp.lock_holding: a verification holds its account's), their CPU is added to every round
trip it makes under the locks, and so to the wait of everyone behind it: verifications of one
account at 16 connections ran at 0.81-0.83x the sync workers' rate, and at 0.98-1.00x with this
(docs/PERFORMANCE.md, "Verify on PostgreSQL").

Here such a wait first blocks the whole worker, as a sync worker's would, for up to BLOCK_MS:
enough for a statement, or a commit's flush to disk. Only a longer wait lets the worker's other
requests run. A PostgreSQL that stops answering thus holds a worker up for at most BLOCK_MS
per wait, and the request's deadline still ends the wait (otpsite/postgres/deadline.py).
"""

import select
import sys
import time

from psycopg import errors
from psycopg.waiting import Ready, Wait

# Measured: 2 ms gave 0.92x the sync workers' rate (a commit's flush often takes longer), 5 ms
# 0.98-1.00x, 10 and 25 ms 0.93-0.97x.
BLOCK_MS = 5

_EVENTS = {Wait.R: select.POLLIN, Wait.W: select.POLLOUT, Wait.RW: select.POLLIN | select.POLLOUT}


def in_gevent_worker() -> bool:
    """Whether gevent has patched `select` (otpsite/gunicorn.conf.py does, first): psycopg's
    own waits are then cooperative. Elsewhere they block already."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("select")


def wait(gen, fileno: int, timeout: float | None):
    """Run psycopg's generator `gen` to its end, as psycopg.waiting.wait does: each wait blocks
    for up to BLOCK_MS, then waits cooperatively; psycopg's _WaitTimeout once `timeout` seconds
    have passed (None: no limit)."""
    from gevent import monkey
    from gevent.socket import wait_read, wait_readwrite, wait_write

    cooperatively = {Wait.R: wait_read, Wait.W: wait_write, Wait.RW: wait_readwrite}
    # The standard library's poll: gevent's stand-in would let the other requests run.
    poller = monkey.get_original("select", "poll")()
    deadline = None if timeout is None else time.monotonic() + timeout
    registered = False
    try:
        state = next(gen)
        while True:
            if registered:
                poller.modify(fileno, _EVENTS[state])
            else:
                poller.register(fileno, _EVENTS[state])
                registered = True
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            events = poller.poll(BLOCK_MS if left is None else min(BLOCK_MS, left * 1000))
            if not events:
                cooperatively[state](
                    fileno,
                    timeout=None if deadline is None else max(0.0, deadline - time.monotonic()),
                    timeout_exc=errors._WaitTimeout("wait timeout expired"),
                )
                state = gen.send(Ready(state))
                continue
            flags = events[0][1]
            ready = (Ready.R if flags & select.POLLIN else 0) | (
                Ready.W if flags & select.POLLOUT else 0
            )
            # An error or hang-up alone: answer as waited for, and libpq's read or write finds
            # the error and psycopg raises it.
            state = gen.send(Ready(ready or state))
    except StopIteration as stop:
        return stop.value
