"""In a gevent worker, a request holding row locks (otp.lock_holding) keeps its worker through a
short wait for PostgreSQL, and lets the worker's other requests run through a long one
(otpsite/postgres/lock_waits.py). Run in a child process: gevent's patching is process-wide."""

from otpsite.postgres.lock_waits import BLOCK_MS
from tests.support.backends import postgres  # noqa: F401 (fixture)
from tests.support.children import report_of

CHILD = r"""
from gevent import monkey

monkey.patch_all()

import json, sys, time

import gevent

from otp import lock_holding
from otpsite.postgres.deadline import DeadlineConnection

connection = DeadlineConnection.connect(sys.argv[1], autocommit=True)
ticks = []

def tick():  # another request of the worker: runs whenever the worker lets it
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.0005)

ticker = gevent.spawn(tick)
gevent.sleep(0)

def answer(seconds, holding):
    with lock_holding.transaction_scope():
        if holding:
            lock_holding.taking_locks()
        started = time.monotonic()
        value = connection.execute("SELECT pg_sleep(%s), 42", [seconds]).fetchone()[1]
        ended = time.monotonic()
    during = [t - started for t in ticks if started < t < ended]
    return {"value": value, "ticks": len(during), "first": during[0] if during else None}

report = {
    "short, holding": answer(0.002, True),
    "short": answer(0.002, False),
    "long, holding": answer(0.2, True),
}
ticker.kill()
print(json.dumps(report))
"""


def test_a_request_holding_locks_keeps_its_worker_through_a_short_wait(postgres):  # noqa: F811
    report = report_of(CHILD, postgres.url(postgres.new_database()))
    assert {each["value"] for each in report.values()} == {42}
    # Holding locks, a 2 ms statement is waited for without letting the other request run...
    assert report["short, holding"]["ticks"] == 0
    # ...which it does otherwise,
    assert report["short"]["ticks"] > 0
    # and through a wait longer than the block, once the block has passed.
    long = report["long, holding"]
    assert long["ticks"] > 20
    assert long["first"] >= BLOCK_MS / 1000 * 0.8
