"""Exclusive accounts across two instances on PostgreSQL + Redis: 8 concurrent requests for one
account never get one time step twice."""

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from rest_framework import status

from tests.support.backends import postgres, redis_server  # noqa: F401 (fixtures)
from tests.support.commands import manage
from tests.support.raw_http import raw_request, send
from tests.support.servers import start_instances

KEY = {"X-API-Key": os.environ["API_KEY"]}
SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"
REQUESTS = 8
PATH = "/accounts/shared-login/otp?wait=false"


def away_from_the_end_of_a_window() -> None:
    """So that the 8 requests fall in one time step: wait out a window's last 2 s (never more)."""
    left = 30 - time.time() % 30
    if left < 2:
        time.sleep(left + 0.1)


def test_eight_requests_on_two_instances_never_get_one_step_twice(
    tmp_path_factory,
    postgres,  # noqa: F811
    redis_server,  # noqa: F811
):
    database = postgres.new_database()
    env = {"DATABASE_URL": postgres.url(database), "CACHE_URL": redis_server()}
    data = tmp_path_factory.mktemp("manage")
    assert manage(data, "migrate", "-v0", **env).returncode == 0
    added = manage(
        data, "otp", "account", "add", "shared-login", "--exclusive", stdin=SECRET, **env
    )
    assert added.returncode == 0, added.stderr
    with contextlib.ExitStack() as cleanup:
        ports = [
            server.port for server in start_instances(cleanup, tmp_path_factory, "excl", **env)
        ]
        away_from_the_end_of_a_window()
        with ThreadPoolExecutor(REQUESTS) as pool:
            replies = list(
                pool.map(
                    lambda n: send(ports[n % 2], raw_request("GET", PATH, KEY)), range(REQUESTS)
                )
            )
    handed_out = [reply for reply in replies if reply.status == status.HTTP_200_OK]
    refused = [reply for reply in replies if reply.status == status.HTTP_409_CONFLICT]
    assert len(handed_out) + len(refused) == REQUESTS, [reply.status for reply in replies]
    steps = [reply.json()["timestamp"] // 30 for reply in handed_out]
    assert steps
    assert len(set(steps)) == len(steps)
    for reply in refused:
        assert 1 <= int(reply.headers["Retry-After"]) <= 30
        assert set(reply.json()) == {"error"}
    with psycopg.connect(postgres.url(database)) as connection:
        recorded = connection.execute(
            "SELECT step FROM otp_auditrecord WHERE action = 'issue' AND account = 'shared-login'"
        ).fetchall()
    assert sorted(step for (step,) in recorded) == sorted(steps)
