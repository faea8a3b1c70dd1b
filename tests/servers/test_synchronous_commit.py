"""DATABASE_SYNCHRONOUS_COMMIT: the service's own PostgreSQL sessions wait for the disk flush
unless it is false."""

import os
import subprocess
import sys

import pytest

from tests.support.backends import (
    postgres,  # noqa: F401 (fixture)
    redis_server,  # noqa: F401 (fixture)
    storage_env,
)
from tests.support.servers import ROOT

SHOW = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SHOW synchronous_commit')\n"
    "    print(cursor.fetchone()[0])"
)


def session_setting(request, **env) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW],
        cwd=ROOT,
        env={**os.environ, "ENV_FILE": "", **storage_env(request, "postgres+db"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("setting", "session"), [({}, "on"), ({"DATABASE_SYNCHRONOUS_COMMIT": "false"}, "off")]
)
def test_the_sessions_wait_for_the_flush_unless_told_not_to(request, setting, session):
    assert session_setting(request, **setting) == session
