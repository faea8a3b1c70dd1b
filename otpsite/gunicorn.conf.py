"""gunicorn settings for otp-service: gevent workers over otpsite/gunicorn_common.py.

Bot hosts often reach the service with no buffering proxy in front. A sync worker serves one
connection at a time, so a client that opens as many connections as there are workers and sends
half a request on each stops the service. A gevent worker parks each connection in a greenlet:
a stalled one costs some memory, not a worker (docs/PERFORMANCE.md, "Worker model").
"""

# First, before anything imports the standard library's socket, threading or select: Django's
# per-thread database connections then become per-greenlet, and psycopg waits cooperatively
# (it checks for gevent's patching when it is imported).
import gevent
from gevent import monkey

monkey.patch_all()

from otpsite.gunicorn_common import *  # noqa: E402, F403

worker_class = "gevent"
# Connections (greenlets) per worker; PostgreSQL connections are bounded separately, by the pool
# (DATABASE_POOL_SIZE).
worker_connections = 1000
# gevent's worker allows this long for a request's headers, and for the next request on a
# kept-alive connection; the body has otpsite.request_body.BODY_SECONDS, after which the answer
# is 408 and the connection closes. A connection that has not completed its request is closed
# within 5 + 10 s.
keepalive = 5


def post_request(worker, req, environ, resp):
    """Let the worker's other connections run before this one's next request.

    A greenlet reads its connection's next request without yielding when the bytes are already
    there, which they are on a busy kept-alive connection: one client could then be served
    request after request while the others wait (p99 of 2.3 s against a p50 of 1.3 ms, GET /otp
    at 64 connections on one worker).
    """
    gevent.sleep(0)


def post_worker_init(worker):
    """Requests waiting for a fresher code (otp.waiting) end as soon as the worker is told to
    stop, instead of holding the shutdown for up to a period: gunicorn's SIGTERM handler only
    clears `alive`, so a greenlet watches it."""
    from otp import waiting

    def watch():
        while worker.alive:
            gevent.sleep(0.2)
        waiting.shutdown.set()

    gevent.spawn(watch)
