"""What an audited code costs in-process: GET /otp and GET /accounts/<name>/otp, with pieces off.

Calls otpsite.wsgi.application in-process (no HTTP, no gunicorn) on fresh storage, as
bench/profile_request.py does for GET /otp, and times each case as CPU µs per request, best of
3 loops, and the wall time (CPU plus waiting, e.g. on a commit); over PostgreSQL + Redis also
the storage processes' CPU (bench.loadtest's accounting). Then the pieces of the account path
timed alone (timeit, best of 3).
Run: .venv/bin/python -m bench.profile_issue [requests per loop, default 5000] [sqlite|
postgres-redis (PostgreSQL and Redis on loopback, as bench/run.sh uses them)]
"""

import base64
import contextlib
import io
import logging
import os
import secrets
import sys
import tempfile
import time
import timeit
from pathlib import Path

from bench.loadtest import CLK_TCK, SCRUBBED, Storage, storage_pids, ticks_of

ACCOUNT, CLIENT = "bench-account", "bench-client"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    backend = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    if not 100 <= count <= 100_000 or backend not in ("sqlite", "postgres-redis"):
        raise SystemExit("profile: [count 100..100000] [sqlite|postgres-redis]")
    with tempfile.TemporaryDirectory(prefix="otp-profile-") as scratch:
        storage = Storage(backend, Path(scratch))
        with storage as storage_env:
            run(count, storage, storage_env)


def run(count: int, storage: Storage, storage_env: dict[str, str]) -> None:
    api_key = secrets.token_urlsafe(32)
    for name in SCRUBBED:
        os.environ.pop(name, None)
    # Set before Django loads: what gunicorn would see from bench/run.sh.
    os.environ.update(
        ENV_FILE="",
        API_KEY=api_key,
        OTP_SECRET=base64.b32encode(secrets.token_bytes(20)).decode(),
        OTP_ENCRYPTION_KEYS=base64.b64encode(secrets.token_bytes(32)).decode(),
        DJANGO_SETTINGS_MODULE="otpsite.settings",
        **storage_env,
    )
    report = sys.stdout
    # The log lines go where gunicorn's stdout would: a file, flushed per line.
    sys.stdout = tempfile.TemporaryFile("w")  # noqa: SIM115 (lives as long as the process)

    from otpsite.storage import prepare_storage
    from otpsite.wsgi import application

    prepare_storage()
    from otp import accounts, audit, clients
    from otp.core import clock, otpauth

    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    accounts.add_accounts(
        [(ACCOUNT, otpauth.parse_secret_or_uri(secret))], audit.operator(), clock.now()
    )
    client_key, _ = clients.create_client(
        CLIENT, accounts=[ACCOUNT], may_issue=True, may_verify=False,
        requires_signature=False, actor=audit.operator(), now=clock.now(),
    )  # fmt: skip

    account_path = f"/accounts/{ACCOUNT}/otp"
    cases = [
        ("GET /otp (environment key), as shipped", "/otp", api_key, contextlib.nullcontext()),
        ("  audit log line off (logger disabled)", "/otp", api_key, logger_off("otp.audit")),
        ("  no audit record at all (audit.record a no-op)", "/otp", api_key, no_audit()),
        ("GET /accounts/<name>/otp, environment key", account_path, api_key,
         contextlib.nullcontext()),
        ("GET /accounts/<name>/otp, the scoped client's key", account_path, client_key,
         contextlib.nullcontext()),
        ("  no audit record at all (audit.record a no-op)", account_path, client_key,
         no_audit()),
    ]  # fmt: skip
    store_note = "; storage = PostgreSQL's processes and Redis in the same loop"
    print(
        f"µs per request in-process, {storage.backend}, best of 3 x {count} calls: this process's "
        "CPU, wall time" + (store_note if storage.database else ""),
        file=report,
    )
    for label, path, key, case in cases:
        with case:
            own, wall, store = per_request_us(application, path, key, count, storage.database)
        extra = f"  storage {store:6.1f}" if storage.database else ""
        print(f"{own:8.1f}  wall {wall:7.1f}{extra}  {label}", file=report)
    print(f"\nWall µs per call of the pieces, {storage.backend}, best of 3 x {count}", file=report)
    for label, piece in pieces(api_key, client_key):
        piece()
        best = min(timeit.repeat(piece, number=count, repeat=3)) * 1e6 / count
        print(f"{best:8.1f}  {label}", file=report)


def pieces(api_key: str, client_key: str) -> list[tuple[str, object]]:
    """The account path's steps, and what the ORM's share of them is (the same row read with
    one SQL statement)."""
    from django.db import connection, transaction

    from otp import accounts, audit, client_keys, sealing
    from otp.core import clock
    from otp.core.principals import Action, Outcome
    from otp.models import Account

    sealed = Account.objects.get(name=ACCOUNT).sealed_secret
    now = clock.now()
    actor = audit.Actor(client=CLIENT, key_id="0" * 16, address="127.0.0.1", request_id="x" * 32)

    def raw_account_row():
        with connection.cursor() as cursor:
            cursor.execute('SELECT * FROM "otp_account" WHERE "name" = %s', [ACCOUNT])
            return cursor.fetchone()

    def audited():
        with transaction.atomic():
            audit.record(
                actor, action=Action.ISSUE, outcome=Outcome.ISSUED, account=ACCOUNT, at=now
            )

    return [
        ("the client's key to its caller (client_keys.caller_for_key)",
         lambda: client_keys.caller_for_key(client_key, now)),
        ("an environment key to its caller", lambda: client_keys.caller_for_key(api_key, now)),
        ("the account, unsealed (accounts.get_account)", lambda: accounts.get_account(ACCOUNT)),
        ("  its row through the ORM (Account.objects.filter(name=).first())",
         lambda: Account.objects.filter(name=ACCOUNT).first()),
        ("  its row through one SQL statement (cursor.execute)", raw_account_row),
        ("  unsealing its secret (sealing.open_sealed)",
         lambda: sealing.open_sealed(sealed, accounts.associated_data(ACCOUNT))),
        ("the audit record in its transaction (with its log line)", audited),
    ]  # fmt: skip


def call(app, path: str, api_key: str) -> str:
    statuses = []
    environ = {
        # What gunicorn 27 hands the app for wrk's request: only Host and X-API-Key headers.
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "RAW_URI": path,
        "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_X_API_KEY": api_key, "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.errors": sys.stderr, "wsgi.input": io.BytesIO(b""),
        "SERVER_SOFTWARE": "gunicorn/27.0.1",
    }  # fmt: skip
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    body.close()  # Django sends request_finished here, as under gunicorn
    return statuses[0]


def per_request_us(app, path: str, api_key: str, count: int, database: str | None
                   ) -> tuple[float, float, float]:  # fmt: skip
    """Best of three loops by CPU: (this process's CPU, wall time, the storage's CPU) in µs
    per request."""
    status = call(app, path, api_key)
    if status != "200 OK":
        raise SystemExit(f"profile: GET {path} answered {status}, not 200")
    best = (float("inf"), 0.0, 0.0)
    for _ in range(3):
        before_store = ticks_of(storage_pids(database))
        started, started_wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            call(app, path, api_key)
        own = (time.process_time() - started) * 1e6 / count
        wall = (time.perf_counter() - started_wall) * 1e6 / count
        after_store = ticks_of(storage_pids(database))
        spent = sum(t - before_store.get(pid, 0) for pid, t in after_store.items())
        best = min(best, (own, wall, spent / CLK_TCK * 1e6 / count))
    return best


@contextlib.contextmanager
def logger_off(name: str):
    logger = logging.getLogger(name)
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = False


@contextlib.contextmanager
def no_audit():
    """Issue without the INSERT and the audit line. The transaction around it stays, empty: on
    SQLite that is still BEGIN IMMEDIATE and COMMIT."""
    from otp import audit

    record = audit.record
    audit.record = lambda *args, **kwargs: None
    try:
        yield
    finally:
        audit.record = record


if __name__ == "__main__":
    main()
