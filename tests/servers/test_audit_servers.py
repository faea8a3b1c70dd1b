"""The audit trail on real gunicorn instances sharing PostgreSQL: a flood of refused requests is
counted on one record a minute across workers and instances, and a database that refuses the
record (a revoked grant) answers 503, never 500."""

import contextlib
import json
import os
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from psycopg import sql
from rest_framework import status

from otp.core import totp
from tests.support.backends import (
    LOOPBACK,
    POSTGRES_PORT,
    Postgres,
    postgres,  # noqa: F401 (fixture)
)
from tests.support.commands import manage
from tests.support.raw_http import raw_request, send
from tests.support.servers import Server, start_gunicorn, start_instances

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
WRONG_KEY = "wrong-key-0123456789abcdef"
UNAVAILABLE = {"error": "Service unavailable"}
# Refusals of each kind in the flood, and the threads sending them.
FLOOD = 120
SENDERS = 8


def request(path: str, api_key: str | None, request_id: str, body: dict | None = None) -> bytes:
    headers = {"X-Request-ID": request_id}
    if api_key is not None:
        headers["X-API-Key"] = api_key
    if body is None:
        return raw_request("GET", path, headers)
    headers["Content-Type"] = "application/json"
    return raw_request("POST", path, headers, json.dumps(body).encode())


def log_lines(servers: list[Server]) -> list[dict]:
    lines = []
    for server in servers:
        for line in server.log().splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
    return lines


def unix_minute() -> int:
    return int(time.time()) // 60


def test_a_flood_of_refusals_on_two_instances_is_one_record_a_minute_counting_each(
    tmp_path_factory,
    postgres,  # noqa: F811
):
    database = postgres.new_database()
    env = {
        "DATABASE_URL": postgres.url(database),
        "CACHE_URL": "db",
        "WEB_CONCURRENCY": "2",
        "AUTH_FAILURE_LIMIT": "0",  # every wrong key refused as failed, none locked out
    }
    # kind: (path, key, the record's outcome and account)
    kinds = {
        "missing": (lambda n: "/otp", None, ("missing", "default")),
        "failed": (lambda n: "/otp", WRONG_KEY, ("failed", "default")),
        # A different made-up account name each time: still one record, under no account.
        "made-up": (lambda n: f"/accounts/made-up-{n}/otp", None, ("missing", "")),
    }
    tag = secrets.token_hex(6)
    with contextlib.ExitStack() as cleanup:
        servers = start_instances(cleanup, tmp_path_factory, "flood", **env)

        def refused(job: tuple[str, int]) -> tuple[str, str, int]:
            kind, number = job
            path, key, _ = kinds[kind]
            request_id = f"{kind}-{number}-{tag}"
            reply = send(servers[number % 2].port, request(path(number), key, request_id))
            assert reply.headers["X-Request-ID"] == request_id
            return kind, request_id, reply.status

        jobs = [(kind, number) for number in range(FLOOD) for kind in kinds]
        first_minute = unix_minute()
        with ThreadPoolExecutor(SENDERS) as pool:
            sent = list(pool.map(refused, jobs))
        last_minute = unix_minute()
        for server in servers:
            server.stop()

    assert Counter(answer for _, _, answer in sent) == {
        status.HTTP_401_UNAUTHORIZED: len(kinds) * FLOOD
    }
    with Postgres.connect(database) as connection:
        rows = connection.execute(
            'SELECT outcome, account, "count", "minute", request_id, at FROM otp_auditrecord '
            "WHERE action = 'authenticate' ORDER BY id"
        ).fetchall()
    for kind, (_, _, recorded) in kinds.items():
        ids = {request_id for sent_kind, request_id, _ in sent if sent_kind == kind}
        mine = [row for row in rows if row[:2] == recorded]
        # Every request counted once, on one record per minute the flood lasted.
        assert sum(row[2] for row in mine) == FLOOD
        assert sorted(row[3] for row in mine) == list(range(first_minute, last_minute + 1))
        for *_, minute, request_id, at in mine:
            assert request_id in ids  # the first request of its minute
            assert int(at.timestamp()) // 60 == minute
    assert len(rows) == len(kinds) * (last_minute - first_minute + 1)

    # The log still has one audit line per request, under the request's own id.
    lines = log_lines(servers)
    logged = Counter(line["request_id"] for line in lines if line.get("event") == "audit")
    assert {request_id: logged[request_id] for _, request_id, _ in sent} == {
        request_id: 1 for _, request_id, _ in sent
    }
    assert not [line for line in lines if line.get("status") == 500]
    assert all("Traceback" not in server.log() for server in servers)


def test_a_revoked_insert_grant_on_the_audit_table_is_503_with_nothing_changed(
    tmp_path,
    postgres,  # noqa: F811
):
    database = postgres.new_database()
    for command in (["migrate", "--verbosity", "0"], ["createcachetable"]):
        made = manage(tmp_path, *command, DATABASE_URL=postgres.url(database))
        assert made.returncode == 0, made.stderr
    role = f"otp_no_audit_{secrets.token_hex(4)}"
    granted = [
        "CREATE ROLE {} LOGIN",
        "GRANT USAGE ON SCHEMA public TO {}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}",
        "REVOKE INSERT ON otp_auditrecord FROM {}",
    ]
    with Postgres.connect(database, autocommit=True) as admin:
        for statement in granted:
            admin.execute(sql.SQL(statement).format(sql.Identifier(role)))
    server = None
    try:
        server = start_gunicorn(
            tmp_path,
            DATABASE_URL=f"postgres://{role}@{LOOPBACK}:{POSTGRES_PORT}/{database}",
            CACHE_URL="db",
            AUTH_FAILURE_LIMIT="20",
        )
        code = totp.code_at(OTP_SECRET, int(time.time()))
        replies = [
            send(server.port, request("/otp", None, "no-key")),
            send(server.port, request("/otp", WRONG_KEY, "wrong-key")),
            send(server.port, request("/otp", API_KEY, "issue")),
            send(server.port, request("/otp/verify", API_KEY, "verify", {"otp": code})),
        ]
        for reply in replies:
            assert reply.status == status.HTTP_503_SERVICE_UNAVAILABLE
            assert reply.headers["Content-Type"] == "application/json"
            assert reply.json() == UNAVAILABLE
        with Postgres.connect(database) as connection:
            for table in ("otp_auditrecord", "otp_authfailurewindow", "otp_acceptedstep"):
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                assert connection.execute(query).fetchone() == (0,), table

        # The grant back: the same code verifies, once, with no restart (it was not used up).
        with Postgres.connect(database, autocommit=True) as admin:
            admin.execute(
                sql.SQL("GRANT INSERT ON otp_auditrecord TO {}").format(sql.Identifier(role))
            )
        again = send(server.port, request("/otp/verify", API_KEY, "again", {"otp": code}))
        assert (again.status, again.json()["valid"]) == (status.HTTP_200_OK, True)
    finally:
        if server is not None:
            server.stop()
        with Postgres.connect(database, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with Postgres.connect("postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

    lines = log_lines([server])
    statuses = {line["request_id"]: line["status"] for line in lines if "status" in line}
    assert [statuses[name] for name in ("no-key", "wrong-key", "issue", "verify", "again")] == [
        503,
        503,
        503,
        503,
        200,
    ]
    # One line per refused record naming the error's class and SQLSTATE; no traceback, no 500.
    unwritten = [line for line in lines if line.get("event") == "audit_not_written"]
    assert len(unwritten) == 4
    assert {(line["error"], line["sqlstate"]) for line in unwritten} == {
        ("ProgrammingError: InsufficientPrivilege", "42501")
    }
    assert "Traceback" not in server.log()
    assert API_KEY not in server.log()
    assert WRONG_KEY not in server.log()
