"""Short client connections against a real gunicorn on Redis: they share each worker's Redis
connections instead of opening one each (Django's cache objects are per greenlet under gevent)."""

import os
import secrets
import time

import redis
from rest_framework import status

from tests.support.backends import (
    LOOPBACK,
    REDIS_PORT,
    REDIS_TEST_DB,
    redis_server,  # noqa: F401 (fixture)
)
from tests.support.raw_http import raw_request, send
from tests.support.servers import start_gunicorn
from tests.support.signing import v2_headers

API_KEY = os.environ["API_KEY"]
REQUESTS = 40
WORKERS = 2


def signed_get() -> bytes:
    """A v2 GET /otp: its nonce is claimed in Redis."""
    return raw_request(
        "GET", "/otp", v2_headers(API_KEY, "GET", "/otp", timestamp=int(time.time()))
    )


def test_short_client_connections_share_the_workers_redis_connections(tmp_path, redis_server):  # noqa: F811
    server = start_gunicorn(tmp_path, CACHE_URL=redis_server(), WEB_CONCURRENCY=str(WORKERS))
    observer = redis.Redis(host=LOOPBACK, port=REDIS_PORT, db=REDIS_TEST_DB)
    try:
        name = f"otp-test-{secrets.token_hex(4)}"
        observer.client_setname(name)

        def service_connections() -> int:
            clients = observer.client_list()
            return sum(1 for c in clients if c["db"] == str(REDIS_TEST_DB) and c["name"] != name)

        before = service_connections()
        for _ in range(REQUESTS):  # each on a new connection (tests.support.raw_http.send)
            assert send(server.port, signed_get()).status == status.HTTP_200_OK
        # At most a connection or two per worker, however many client connections came.
        assert service_connections() - before <= 2 * WORKERS
    finally:
        observer.close()
        server.stop()
