"""A SQLite statement waiting for another process's write lock must not hold up the rest of a
gevent worker (otpsite/sqlite/base.py). Run in a child process: gevent's patching is
process-wide and must come before Django loads."""

import pytest

from tests.support.children import report_of

CHILD = r"""
from gevent import monkey

monkey.patch_all()

import json, sqlite3, sys, threading, time

import gevent

from otpsite.sqlite.base import DatabaseWrapper

database, hold_seconds, busy_seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
blocker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
blocker.execute("PRAGMA journal_mode=WAL")
blocker.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
wrapper = DatabaseWrapper(
    {"NAME": database, "OPTIONS": {"timeout": busy_seconds}, "ENGINE": "otpsite.sqlite",
     "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
     "ATOMIC_REQUESTS": False, "TEST": {}, "USER": "", "PASSWORD": "", "HOST": "", "PORT": ""}
)
wrapper.ensure_connection()
blocker.execute("BEGIN IMMEDIATE")  # another connection's write lock, as another worker's
# threading is patched: the timer is a greenlet too, which a wait in C would hold up as well.
release = threading.Timer(hold_seconds, lambda: blocker.execute("COMMIT"))
release.start()
ticks = []
def tick():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.005)
ticker = gevent.spawn(tick)
gevent.sleep(0)
started = time.monotonic()
try:
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO t (n) VALUES (1)")
    outcome = "written"
except Exception as exc:
    outcome = type(exc).__name__
waited = time.monotonic() - started
during = [t for t in ticks if started <= t <= started + waited]
ticker.kill()
release.join()
print(json.dumps({"outcome": outcome, "waited": waited, "ticks": len(during)}))
"""


def run_child(tmp_path, hold_seconds: float, busy_seconds: float) -> dict:
    return report_of(
        CHILD,
        str(tmp_path / "busy.sqlite3"),
        str(hold_seconds),
        str(busy_seconds),
        DJANGO_SETTINGS_MODULE="otpsite.settings",
        DATA_DIR=str(tmp_path),
    )


@pytest.mark.parametrize("hold_seconds", [0.3])
def test_a_statement_waits_for_the_lock_while_other_greenlets_run(tmp_path, hold_seconds):
    report = run_child(tmp_path, hold_seconds, busy_seconds=5)
    assert report["outcome"] == "written"
    assert report["waited"] >= hold_seconds * 0.8
    # A wait in SQLite's C busy handler would let the ticker run once at most.
    assert report["ticks"] >= 20


def test_a_lock_held_past_the_timeout_is_an_error_after_the_timeout(tmp_path):
    report = run_child(tmp_path, hold_seconds=1.5, busy_seconds=0.4)
    assert report["outcome"] == "OperationalError"
    assert 0.3 <= report["waited"] < 1.2
    assert report["ticks"] >= 20
