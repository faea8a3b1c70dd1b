"""Waiting for a fresher code without holding a worker: a request that asked for
`min_validity` sleeps until the next window, cooperatively under gevent, and ends at once when
the worker shuts down."""

import threading
import time

from django.db import connection
from django.dispatch import Signal

from otp.core import clock
from otp.exceptions import ShuttingDown

# Set when this worker process stops (otpsite/gunicorn.conf.py): every wait ends with a 503.
shutdown = threading.Event()
# Sent when a request has waited: a per-request storage deadline starts again
# (otpsite/postgres/deadline.py), or a 29 s wait would spend it.
resumed = Signal()


def pause_until(target: int) -> bool:
    """Sleep until unix second `target` (or shutdown); True if the process is shutting down.
    Tests replace it to move their clock instead of sleeping."""
    return shutdown.wait(max(0.001, target - time.time()))


def until(target: int) -> int:
    """Wait until clock.now() reaches `target`, and return it; ShuttingDown if the process
    stops first. The request's database connection goes back to its pool meanwhile, so waiting
    requests do not hold the connections the others need."""
    if not connection.in_atomic_block:
        connection.close()
    while (now := clock.now()) < target:
        if pause_until(target):
            raise ShuttingDown()
    resumed.send(sender=None)
    return now
