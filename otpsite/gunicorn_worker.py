"""gunicorn's gevent worker, closing the database connections of each client connection it ends."""

from django.db import connections
from gunicorn.workers.ggevent import GeventWorker


class ClosingGeventWorker(GeventWorker):
    """Django's connections are per thread, which under gevent means per greenlet: one per
    client connection. Closed when that greenlet ends, rather than whenever the garbage
    collector gets to them, so that a stream of short client connections cannot pile up
    open SQLite files (PostgreSQL's go back to the pool after every request anyway)."""

    def handle(self, listener, client, addr):
        try:
            super().handle(listener, client, addr)
        finally:
            connections.close_all()
