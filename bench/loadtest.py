"""Load-tests otp-service under gunicorn, with a bare WSGI floor; bench/run.sh is the entry point.

Settings come from the environment (all optional):
  BENCH_SCENARIOS       what to load (default "otp"): otp = GET /otp with X-API-Key (the bare
                        floor is measured with it); otp-fresh = the same on a new connection
                        per request (Connection: close), as a bot running curl per code does;
                        account = GET /accounts/<name>/otp of an
                        account stored (sealed) in the database, by a client with a key of its
                        own granted only that account and only issuing, both created once the
                        server is up (BENCH_ACCOUNT_SETUP); verify = POST /otp/verify with
                        X-API-Key and the code fetched just before each wrk run (the first
                        request accepts it, the rest are replays); v2 = GET /otp with a v2
                        signature and a fresh nonce per request, pre-signed in Python
                        (BENCH_V2_RATE, default 3000 req/s, x3 sets per run second), v2 runs
                        last BENCH_V2_DURATION s (default 8) after a 1 s warm-up so their
                        timestamps stay fresh
  BENCH_BACKENDS        storage (default "sqlite"): sqlite = DATABASE_URL and CACHE_URL unset
                        (SQLite in a fresh DATA_DIR, database cache); postgres-redis = a fresh
                        database on BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432),
                        dropped afterwards, and CACHE_URL=BENCH_REDIS_URL (default
                        redis://127.0.0.1:6379/12), that Redis database flushed before and after
  BENCH_WORKERS         WEB_CONCURRENCY for a variant run (empty: the settings default)
  BENCH_GUNICORN_ARGS   GUNICORN_CMD_ARGS for a variant run, e.g. "--worker-class gthread
                        --threads 4 --keep-alive 5" (empty: the config file as shipped);
                        a leading "-c FILE" runs another config file, e.g. "-c
                        bench/sync.conf.py" (the sync workers shipped before gevent)
  BENCH_LABEL           the variant's name in the table
  BENCH_VARIANTS        a file of variants ("label | workers | gunicorn args" per line) to run
                        one after another instead of the single one above
  BENCH_CONNECTIONS     wrk connection counts (default "1 16 64")
  BENCH_DURATION        seconds per measured wrk run (default 10), BENCH_WARMUP (default 2)
  BENCH_REPEAT          measured runs per point, the median by req/s is shown (default 1)
  BENCH_APPS            which servers to load (default "django bare"); "ablated" is the Django
                        app with a piece of audited issuance taken out (bench/ablation_app.py,
                        BENCH_SERVER_ENV="BENCH_ABLATE=line|record|transaction")
  BENCH_SERVER_ENV      extra "NAME=value" settings for the server, space-separated, applied
                        after the caller's are scrubbed, e.g. "AUTH_FAILURE_LIMIT=0" (no lockout
                        read per request)
  BENCH_ACCOUNT_SETUP   how the account scenario's account and client are made (default auto):
                        cli = `manage.py otp account add` and `otp client create`; shell = the
                        same service functions through `manage.py shell -c`; auto = cli if
                        `manage.py otp` has those commands, else shell

After every measured run of the Django app the audit records written during it are counted in
the database (SQLite file in DATA_DIR, or the PostgreSQL database) and set against the requests
the server logged and those wrk counted.
"""

import base64
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from otp.core import credentials, totp  # pure Python, no Django: codes and v2 signatures

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CONFIG = "otpsite/gunicorn.conf.py"
APPS = {
    "django": None,
    "bare": "bench.bare_app:application",
    "ablated": "bench.ablation_app:application",  # BENCH_ABLATE, see there
}
SCENARIOS = ("otp", "otp-fresh", "account", "verify", "v2")
BACKENDS = ("sqlite", "postgres-redis")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Variables of the caller's shell that would change what is measured; the run sets its own.
SCRUBBED = {
    "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "HOST", "PORT", "API_KEY", "OTP_SECRET", "ENV_FILE",
    "LOG_LEVEL", "ENABLE_DOCS", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "API_KEYS",
    "DATABASE_URL", "CACHE_URL", "DATA_DIR", "REQUIRE_SIGNED_REQUESTS", "AUTH_FAILURE_LIMIT",
    "AUTH_FAILURE_WINDOW", "TRUSTED_PROXY_COUNT", "TRUSTED_PROXY_NETWORKS", "OTP_ENCRYPTION_KEYS",
    "VERIFY_FAILURE_LIMIT", "AUDIT_RETENTION_DAYS", "BENCH_ABLATE",
}  # fmt: skip
RESULT_LINE = re.compile(r"^BENCH-RESULT (.*)$", re.MULTILINE)
# The account scenario's account and client (one of each per server, on fresh storage).
BENCH_ACCOUNT, BENCH_CLIENT = "bench-account", "bench-client"
CLIENT_KEY = re.compile(r"\b(otp_[A-Za-z0-9_-]{40,})")
# Run by `manage.py shell -c` in the server's environment; names and secret come on stdin, the
# key goes back on stdout (neither is ever on a command line).
SHELL_SETUP = """
import sys
from otp import accounts, audit, clients
from otp.core import clock, otpauth
account, client, secret = sys.stdin.read().split()
spec = otpauth.parse_secret_or_uri(secret)
accounts.add_accounts([(account, spec)], audit.operator(), clock.now())
api_key, _ = clients.create_client(
    client, accounts=[account], may_issue=True, may_verify=False, requires_signature=False,
    actor=audit.operator(), now=clock.now(),
)
print("BENCH-CLIENT-KEY", api_key)
"""


@dataclass(frozen=True)
class Variant:
    label: str
    workers: str  # "" keeps the settings default
    gunicorn_args: str  # "" keeps the config file


@dataclass
class Run:
    scenario: str
    backend: str
    variant: str
    app: str
    connections: int
    requests: int
    seconds: float
    p50_us: int
    p99_us: int
    cpu_seconds: float
    errors: dict
    wrk_cpu_seconds: float
    worker_split: list[float]  # each worker's share of the workers' CPU, largest first
    other_cpu_seconds: float  # processes other than the server, storage and wrk, machine-wide
    storage_cpu_seconds: float  # PostgreSQL backends of the bench database + redis-server
    check: str  # what the server log says the run did (verify outcomes), or ""
    audit: str  # audit records written during the run against requests, or "" (bare app)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds * 1e6 / self.requests if self.requests else float("nan")

    @property
    def storage_us_per_request(self) -> float:
        return self.storage_cpu_seconds * 1e6 / self.requests if self.requests else float("nan")


def bounded_env_int(name: str, default: int, low: int, high: int) -> int:
    value = int(os.environ.get(name, "") or default)
    if not low <= value <= high:
        raise SystemExit(f"bench: {name} must be between {low} and {high}")
    return value


def variants_from_env() -> list[Variant]:
    listing = os.environ.get("BENCH_VARIANTS", "")
    if listing:
        variants = []
        for line in Path(listing).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                label, workers, args = (part.strip() for part in line.split("|", 2))
                variants.append(Variant(label, workers, args))
        return variants
    workers = os.environ.get("BENCH_WORKERS", "")
    args = os.environ.get("BENCH_GUNICORN_ARGS", "")
    default_label = "shipped" if not (workers or args) else f"workers={workers or '-'} {args}"
    return [Variant(os.environ.get("BENCH_LABEL", default_label), workers, args)]


def fresh_secrets() -> dict[str, str]:
    """A new API_KEY, OTP_SECRET and OTP_ENCRYPTION_KEYS (which seals the account scenario's
    secret and client key in the database): nothing a bench run does can leak a real key."""
    return {
        "API_KEY": secrets.token_urlsafe(32),
        "OTP_SECRET": base64.b32encode(secrets.token_bytes(20)).decode(),
        "OTP_ENCRYPTION_KEYS": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def extra_server_env() -> dict[str, str]:
    pairs = os.environ.get("BENCH_SERVER_ENV", "").split()
    if not all("=" in pair and pair.split("=", 1)[0] for pair in pairs):
        raise SystemExit('bench: BENCH_SERVER_ENV must be "NAME=value" pairs')
    return dict(pair.split("=", 1) for pair in pairs)


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_ticks(pid: int) -> int:
    """utime + stime of one process, all its threads included, in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def descendants(pid: int) -> set[int]:
    found = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            found |= {int(child)} | descendants(int(child))
    return found


def server_ticks(master: int) -> dict[int, int]:
    """CPU ticks of the master and of each of its workers, by pid."""
    return {pid: process_ticks(pid) for pid in {master, *descendants(master)}}


def storage_pids(database: str | None) -> set[int]:
    """The PostgreSQL backends serving `database` (their title names it), PostgreSQL's own
    processes (postmaster, WAL writer, checkpointer...: no client in their title) and Redis: the
    CPU the service's storage spends outside the gunicorn processes. None: SQLite, in-process."""
    if database is None:
        return set()
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith("redis") or (
            comm == "postgres" and (f" {database} " in title or "(" not in title)
        ):
            found.add(int(proc.name))
    return found


def ticks_of(pids: set[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            ticks[pid] = process_ticks(pid)
    return ticks


def machine_ticks() -> tuple[int, int]:
    """All CPUs' (user + nice + system, total) ticks: what else ran during a run shows up here."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:3]), sum(fields)


class Storage:
    """A fresh store for one server: SQLite in a new DATA_DIR, or a new PostgreSQL database plus a
    flushed Redis database. Yields the environment the server needs; cleans up afterwards."""

    def __init__(self, backend: str, scratch: Path):
        self.backend = backend
        self.data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=scratch))
        self.database = None
        if backend == "postgres-redis":
            self.pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
            self.redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
            for url in (self.pg_url, self.redis_url):
                if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
                    raise SystemExit("bench: BENCH_PG_URL and BENCH_REDIS_URL must be loopback")
            self.database = f"otp_bench_{secrets.token_hex(4)}"

    def __enter__(self) -> dict[str, str]:
        env = {"DATA_DIR": str(self.data_dir)}
        if self.database:
            self._admin(f'CREATE DATABASE "{self.database}"')
            self._flush_redis()
            env["DATABASE_URL"] = f"{self.pg_url.rstrip('/')}/{self.database}"
            env["CACHE_URL"] = self.redis_url
        return env

    def __exit__(self, *exc):
        if self.database:
            self._flush_redis()
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def audit_mark(self) -> int:
        """The id of the newest audit record, once requests still in flight have finished (wrk
        stops with requests sent but unanswered: the server still answers and records them)."""
        deadline = time.monotonic() + 3
        mark = self._audit_query("SELECT coalesce(max(id), 0) FROM otp_auditrecord", [])[0][0]
        while time.monotonic() < deadline:
            time.sleep(0.25)
            newest = self._audit_query("SELECT coalesce(max(id), 0) FROM otp_auditrecord", [])
            if newest[0][0] == mark:
                break
            mark = newest[0][0]
        return mark

    def audit_rows(self, after: int, up_to: int) -> dict[str, int]:
        """Audit records with ids in (after, up_to], counted by "action/outcome"."""
        rows = self._audit_query(
            "SELECT action, outcome, count(*) FROM otp_auditrecord WHERE id > {0} AND id <= {0} "
            "GROUP BY action, outcome ORDER BY action, outcome",
            [after, up_to],
        )  # fmt: skip
        return {f"{action}/{outcome}": count for action, outcome, count in rows}

    def _audit_query(self, sql: str, params: list) -> list[tuple]:
        """Read the server's database from outside it, as an operator would."""
        if self.database is None:
            path = self.data_dir / "otp.sqlite3"  # otpsite/settings.py: DATA_DIR / otp.sqlite3
            with contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
                return conn.execute(sql.format("?"), params).fetchall()
        import psycopg

        url = f"{self.pg_url.rstrip('/')}/{self.database}"
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute(sql.format("%s"), params).fetchall()

    def _admin(self, statement: str) -> None:
        import psycopg  # the service's own driver, in .venv

        with psycopg.connect(f"{self.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(statement)

    def _flush_redis(self) -> None:
        import redis  # the service's own client, in .venv

        redis.Redis.from_url(self.redis_url, socket_timeout=5).flushdb()


class Server:
    """One gunicorn master, started with the shipped config file and a variant's overrides."""

    def __init__(self, app: str, variant: Variant, secrets_env: dict[str, str], log: Path,
                 storage_env: dict[str, str]):  # fmt: skip
        self.port = free_loopback_port()
        self.api_key = secrets_env["API_KEY"]
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env.update(ENV_FILE="", HOST="127.0.0.1", PORT=str(self.port), **secrets_env, **storage_env)
        env.update(extra_server_env())
        if variant.workers:
            env["WEB_CONCURRENCY"] = variant.workers
        config, gunicorn_args = CONFIG, variant.gunicorn_args
        if gunicorn_args.startswith("-c "):
            # Another config file (bench/sync.conf.py): gunicorn reads -c only from its argv.
            _, config, gunicorn_args = [*gunicorn_args.split(None, 2), ""][:3]
        if gunicorn_args:
            env["GUNICORN_CMD_ARGS"] = gunicorn_args
        argv = [str(GUNICORN), "-c", config] + ([APPS[app]] if APPS[app] else [])
        self.env = env  # the account scenario's set-up runs in the same one
        self.client_key = self.account_secret = ""
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)

    def request(self, method: str, path: str, headers: dict, body: bytes | None = None
                ) -> tuple[int, dict, bytes]:  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def get(self, path: str, api_key: str) -> tuple[int, dict, bytes]:
        return self.request("GET", path, {"X-API-Key": api_key})

    def current_code(self) -> str:
        return json.loads(self.get("/otp", self.api_key)[2])["otp"]

    def verify(self, code: str) -> tuple[int, dict]:
        status, _, body = self.request(
            "POST", "/otp/verify", {"X-API-Key": self.api_key, "Content-Type": "application/json"},
            json.dumps({"otp": code}).encode(),
        )  # fmt: skip
        return status, json.loads(body)

    def add_scoped_client(self, how: str) -> str:
        """Store BENCH_ACCOUNT (sealed, a fresh secret) and BENCH_CLIENT, granted only that
        account and only to issue, with the service's own code against this server's storage;
        keep the client's key. Returns how it was done ("cli" or "shell")."""
        self.account_secret = base64.b32encode(secrets.token_bytes(20)).decode()
        if how == "auto":
            commands = self.manage(["otp", "--help"], "").stdout
            # argparse lists subcommands as {a,b,...} (and the verbosity choices as {0,1,2,3}).
            offered = {word for group in re.findall(r"\{([\w,-]+)\}", commands)
                       for word in group.split(",")}  # fmt: skip
            how = "cli" if {"account", "client"} <= offered else "shell"
        if how == "cli":
            self.manage(["otp", "account", "add", BENCH_ACCOUNT], self.account_secret + "\n")
            grant = ["--account", BENCH_ACCOUNT, "--issue", "--quiet"]
            created = self.manage(["otp", "client", "create", BENCH_CLIENT, *grant], "")
        else:
            created = self.manage(
                ["shell", "-c", SHELL_SETUP],
                f"{BENCH_ACCOUNT} {BENCH_CLIENT} {self.account_secret}\n",
            )  # fmt: skip
        key = CLIENT_KEY.search(created.stdout)
        if key is None:
            self.fail(f"{how} set-up printed no client key:\n{created.stdout[-2000:]}")
        self.client_key = key.group(1)
        return how

    def manage(self, args: list[str], stdin: str) -> subprocess.CompletedProcess:
        """`manage.py <args>` in the server's environment, bounded; exits the bench if it fails."""
        argv = [str(GUNICORN.parent / "python"), "manage.py", *args]
        try:
            done = subprocess.run(
                argv, cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True,
                timeout=60, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            self.fail(f"manage.py {args[0]} {args[1]} took over 60 s")
        if done.returncode != 0:
            self.fail(f"manage.py {' '.join(args[:3])} failed ({done.returncode}):\n"
                      f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")  # fmt: skip
        return done

    def check_scenario(self, scenario: str) -> None:
        """Before loading it, check the scenario answers as the load test assumes."""
        if scenario == "account":
            path = f"/accounts/{BENCH_ACCOUNT}/otp"
            status, _, body = self.get(path, self.client_key)
            answer = json.loads(body) if status == 200 else {}
            at = answer.get("timestamp")
            expected = totp.code_at(self.account_secret, at) if isinstance(at, int) else None
            if not (expected and len(expected) in (6, 8) and answer.get("otp") == expected):
                self.fail(f"GET {path} answered {status}, not 200 with the account's code")
            verify = self.request(
                "POST", f"{path}/verify",
                {"X-API-Key": self.client_key, "Content-Type": "application/json"},
                json.dumps({"otp": expected}).encode(),
            )[0]  # fmt: skip
            answers = {
                "a wrong key": (self.get(path, "x" * len(self.client_key))[0], 401),
                "the client on /otp (account default, not granted)": (
                    self.get("/otp", self.client_key)[0], 404,
                ),
                "the client verifying (not granted)": (verify, 403),
            }  # fmt: skip
            for what, (got, wanted) in answers.items():
                if got != wanted:
                    self.fail(f"GET {path}: {what} answered {got}, not {wanted}")
        elif scenario == "verify":
            code = self.current_code()
            first, again = self.verify(code), self.verify(code)
            answers = [(status, body.get("valid")) for status, body in (first, again)]
            if answers != [(200, True), (200, False)]:
                self.fail(f"POST /otp/verify answered {first} then {again}, not valid then replay")
        elif scenario == "v2":
            (line,) = signed_header_sets(self.api_key, 1)
            kid, timestamp, nonce, signature = line.split()
            headers = {"X-Key-Id": kid, "X-Timestamp": timestamp, "X-Nonce": nonce,
                       "X-Signature": signature}  # fmt: skip
            first = self.request("GET", "/otp", headers)[0]
            again = self.request("GET", "/otp", headers)[0]
            if (first, again) != (200, 401):
                self.fail(f"v2 GET /otp answered {first} then {again} (same nonce), not 200, 401")

    def wait_until_serving(self) -> str:
        """Check a right key gets 200 with a six-digit code and a wrong one 401; return the
        Connection header of the 200 (sync workers close every connection)."""
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                self.fail("gunicorn exited during start-up")
            try:
                status, headers, body = self.get("/otp", self.api_key)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.fail("gunicorn did not answer within 30 s")
                time.sleep(0.1)
        code = json.loads(body).get("otp") if status == 200 else None
        if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
            self.fail(f"GET /otp answered {status}, not 200 with a six-digit code")
        wrong_status = self.get("/otp", "x" * len(self.api_key))[0]
        if wrong_status != 401:
            self.fail(f"GET /otp with a wrong key answered {wrong_status}, not 401")
        # Every worker forked and idle before any load: the worker set stops changing.
        workers, stable_since = set(), time.monotonic()
        while time.monotonic() - stable_since < 1 and time.monotonic() < deadline:
            now_workers = descendants(self.process.pid)
            if now_workers != workers:
                workers, stable_since = now_workers, time.monotonic()
            time.sleep(0.1)
        self.workers = len(workers)
        return headers.get("Connection", "(none)")

    def fail(self, message: str):
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"bench: {message}\n--- server output (tail) ---\n{tail}")

    def stop(self):
        if self.process.poll() is None:
            workers = descendants(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in (self.process.pid, *workers):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def signed_header_sets(api_key: str, count: int) -> list[str]:
    """`count` v2 header sets for GET /otp, each with its own nonce, signed now:
    "key_id timestamp nonce signature" per line (otp.core.credentials.request_signature)."""
    kid = credentials.key_id(api_key)
    timestamp = str(int(time.time()))
    lines = []
    for _ in range(count):
        nonce = secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]
        signature = credentials.request_signature(api_key, timestamp, nonce, "GET", "/otp", b"")
        lines.append(f"{kid} {timestamp} {nonce} {signature}")
    return lines


def wrk(server: Server, scenario: str, connections: int, seconds: int, scratch: Path
        ) -> tuple[dict, str, float]:  # fmt: skip
    """One bounded wrk run; returns the parsed result line, wrk's own output and its CPU time."""
    threads = 1 if connections == 1 else 2
    argv = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
        "-s", str(ROOT / "bench" / "report.lua"), f"http://127.0.0.1:{server.port}/otp",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_SCENARIO": scenario, "BENCH_THREADS": str(threads)}
    if scenario in ("otp", "otp-fresh", "verify"):
        env["BENCH_API_KEY"] = server.api_key
    if scenario == "account":
        env["BENCH_API_KEY"] = server.client_key
        env["BENCH_PATH"] = f"/accounts/{BENCH_ACCOUNT}/otp"
    if scenario == "verify":
        # Fetched just before the run: it stays within the accepted window (previous, current,
        # next step) for the whole run, so every replay takes the full check-and-record path.
        env["BENCH_OTP_CODE"] = server.current_code()
    if scenario == "v2":
        rate = bounded_env_int("BENCH_V2_RATE", 3000, 100, 100_000)
        sets = scratch / "v2-sets.txt"
        sets.write_text("\n".join(signed_header_sets(server.api_key, 3 * rate * seconds)) + "\n")
        env["BENCH_V2_SETS"] = str(sets)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = RESULT_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"bench: wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result, done.stdout, cpu


VERIFY_FIELD = re.compile(r'"verify": ?"(\w+)"')
ACCESS_STATUS = re.compile(r'"logger": ?"otp\.access".*?"status": ?(\d+)')
AUDIT_LINE = re.compile(r'"logger": ?"otp\.audit"')


def audit_check(rows: dict[str, int], log_text: str, wrk_requests: int) -> tuple[str, bool]:
    """The audit records of a run set against the requests the server logged (one access line
    each) and the audit lines it logged, and against the requests wrk counted; True if they
    agree. wrk does not count requests in flight when it stops, which the server still answers
    and records: up to one per connection more than wrk's count is expected."""
    statuses = ACCESS_STATUS.findall(log_text)
    logged = len(statuses)
    refused = sum(not status.startswith("2") for status in statuses)
    audit_lines = len(AUDIT_LINE.findall(log_text))
    total = sum(rows.values())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in rows.items()) or "no records"
    summary = f"{kinds}; requests logged {logged:,}"
    summary += f" ({refused:,} not 2xx)" if refused else ""
    summary += f", audit lines {audit_lines:,}"
    summary += f"; wrk {wrk_requests:,} ({total - wrk_requests:+,})"
    return summary, total == logged == audit_lines


def measure(server: Server, storage: Storage, scenario: str, variant: Variant, app: str,
            connections: int, warmup: int, duration: int, scratch: Path) -> Run:  # fmt: skip
    if warmup:
        wrk(server, scenario, connections, warmup, scratch)
    counting = app != "bare"  # the bare app keeps no records
    audit_before = storage.audit_mark() if counting else 0
    log_offset = server.log.stat().st_size
    storage_before = ticks_of(storage_pids(storage.database))
    machine_before, before = machine_ticks(), server_ticks(server.process.pid)
    result, output, wrk_cpu = wrk(server, scenario, connections, duration, scratch)
    after, machine_after = server_ticks(server.process.pid), machine_ticks()
    # PostgreSQL backends opened during the run started from zero.
    storage_after = ticks_of(storage_pids(storage.database))
    where = f"{scenario} {storage.backend} {app} c={connections}"
    if after.keys() != before.keys():
        print(f"bench: WARNING a worker was replaced during {where}: its CPU time "
              "is lost, so CPU/request is too low", file=sys.stderr)  # fmt: skip
    errors = {k: result[k] for k in ("status", "connect", "read", "write", "timeout", "exhausted")}
    if any(errors.values()):
        print(f"bench: {where}: non-2xx or socket errors:\n{output}", file=sys.stderr)
    used = {pid: after[pid] - before.get(pid, 0) for pid in after}
    workers = sorted((used[pid] for pid in used if pid != server.process.pid), reverse=True)
    server_cpu = sum(used.values()) / CLK_TCK
    storage_cpu = sum(t - storage_before.get(pid, 0) for pid, t in storage_after.items()) / CLK_TCK
    busy = (machine_after[0] - machine_before[0]) / CLK_TCK
    check = audit = ""
    if counting:
        # After the CPU readings: this waits for requests in flight, and reads the database.
        audit_after = storage.audit_mark()
        rows = storage.audit_rows(audit_before, audit_after)
    with server.log.open("rb") as log:
        log.seek(log_offset)
        log_text = log.read().decode(errors="replace")
    if scenario == "verify":
        outcomes = VERIFY_FIELD.findall(log_text)
        counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
        check = ", ".join(f"{o} {n:,}" for o, n in counts.items()) or "no verify lines"
    if counting:
        audit, agree = audit_check(rows, log_text, result["requests"])
        if not agree and app == "django":
            print(f"bench: WARNING {where}: audit records do not match the requests logged: "
                  f"{audit}", file=sys.stderr)  # fmt: skip
    return Run(
        scenario, storage.backend, variant.label, app, connections, result["requests"],
        result["duration_us"] / 1e6, result["p50_us"], result["p99_us"], server_cpu, errors,
        wrk_cpu, [share / max(sum(workers), 1) for share in workers],
        max(busy - server_cpu - wrk_cpu - storage_cpu, 0), storage_cpu, check, audit,
    )  # fmt: skip


def machine_lines() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown",
    )  # fmt: skip
    gunicorn = subprocess.run(
        [str(GUNICORN), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return [
        f"- machine: {os.cpu_count()} CPUs, {cpu}; load average at start "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        f"- Python {platform.python_version()}, {gunicorn}, "
        f"{(wrk_version.stdout or wrk_version.stderr).splitlines()[0].split(' [')[0]}",
    ]


def table(runs: list[Run], notes: dict[str, str]) -> list[str]:
    lines = [
        "| scenario | backend | variant | conns | app | req/s | p50 ms | p99 ms "
        "| server CPU µs/req | storage CPU µs/req | server CPU % | worker split % | wrk CPU % "
        "| other CPU % | errors | vs bare: req/s, CPU/req | server log | audit records |",
        "|---|---|---|--:|---|--:|--:|--:|--:|--:|--:|---|--:|--:|---|---|---|---|",
    ]
    floor = {(r.backend, r.variant, r.connections): r for r in runs if r.app == "bare"}
    order = {label: i for i, label in enumerate(dict.fromkeys(r.variant for r in runs))}

    def key(r: Run):
        return (SCENARIOS.index(r.scenario), BACKENDS.index(r.backend), order[r.variant],
                r.connections, list(APPS).index(r.app))  # fmt: skip

    for r in sorted(runs, key=key):
        bare = floor.get((r.backend, r.variant, r.connections)) if r.scenario == "otp" else None
        ratio = (
            f"{r.rps / bare.rps:.2f}x, {r.cpu_us_per_request / bare.cpu_us_per_request:.2f}x"
            if bare and r.app != "bare"
            else ""
        )
        errors = ", ".join(f"{k} {v}" for k, v in r.errors.items() if v) or "none"
        storage = f"{r.storage_us_per_request:.0f}" if r.backend != "sqlite" else "(in server)"
        lines.append(
            f"| {r.scenario} | {r.backend} | {r.variant} | {r.connections} | {r.app} "
            f"| {r.rps:,.0f} | {r.p50_us / 1000:.2f} "
            f"| {r.p99_us / 1000:.2f} | {r.cpu_us_per_request:.0f} | {storage} "
            f"| {100 * r.cpu_seconds / r.seconds:.0f} "
            f"| {'/'.join(f'{100 * share:.0f}' for share in r.worker_split)} "
            f"| {100 * r.wrk_cpu_seconds / r.seconds:.0f} "
            f"| {100 * r.other_cpu_seconds / r.seconds:.0f} | {errors} | {ratio} | {r.check} "
            f"| {r.audit} |"
        )
    lines.append("")
    lines += [f"- {label}: {note}" for label, note in notes.items()]
    return lines


def words_from_env(name: str, default: str, allowed) -> list[str]:
    words = os.environ.get(name, "").split() or default.split()
    if not set(words) <= set(allowed):
        raise SystemExit(f"bench: {name} must name some of: {' '.join(allowed)}")
    return words


def main() -> None:
    duration = bounded_env_int("BENCH_DURATION", 10, 1, 120)
    warmup = bounded_env_int("BENCH_WARMUP", 2, 0, 30)
    repeat = bounded_env_int("BENCH_REPEAT", 1, 1, 5)
    # v2 timestamps are signed before each wrk run and accepted for 30 s: keep the run short.
    v2_duration = bounded_env_int("BENCH_V2_DURATION", 8, 1, 20)
    connections = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1 16 64").split()]
    if not connections or not all(1 <= c <= 512 for c in connections):
        raise SystemExit("bench: BENCH_CONNECTIONS must be counts between 1 and 512")
    apps = words_from_env("BENCH_APPS", "django bare", APPS)
    scenarios = words_from_env("BENCH_SCENARIOS", "otp", SCENARIOS)
    backends = words_from_env("BENCH_BACKENDS", "sqlite", BACKENDS)
    variants = variants_from_env()
    account_setup = os.environ.get("BENCH_ACCOUNT_SETUP", "") or "auto"
    if account_setup not in ("auto", "cli", "shell"):
        raise SystemExit("bench: BENCH_ACCOUNT_SETUP must be auto, cli or shell")
    secrets_env = fresh_secrets()
    started = datetime.now(UTC)
    header = [f"# otp-service load test, {started:%Y-%m-%d %H:%M:%S} UTC", "", *machine_lines()]
    header += [
        "- server CPU = utime+stime of the gunicorn master and workers (/proc/<pid>/stat) over "
        "the run / requests; CPU % is of one core (the machine has "
        f"{os.cpu_count()}); worker split = each worker's share of the workers' CPU; storage = "
        "PostgreSQL's processes for the bench database and its own (WAL writer...) and Redis "
        "(SQLite runs inside the workers); other = user+system CPU of every other process "
        "(machine-wide, /proc/stat); softirq time (loopback TCP) is in none of these",
    ]
    header.append(
        f"- wrk {duration} s per run after a {warmup} s warm-up (v2: {v2_duration} s after 1 s), "
        f"-t1 at 1 connection, -t2 above; the median by req/s of {repeat} run(s) is shown; "
        "each server starts on empty storage (fresh DATA_DIR, fresh PostgreSQL database, "
        "flushed Redis database)"
        + (f"; server env {os.environ['BENCH_SERVER_ENV']}" if extra_server_env() else "")
    )
    runs, notes = [], {}
    with tempfile.TemporaryDirectory(prefix="otp-bench-") as scratch_name:
        scratch = Path(scratch_name)
        for backend in backends:
            for variant in variants:
                for app in apps:
                    # The bare floor only answers GET /otp with the key.
                    app_scenarios = scenarios if app != "bare" else [
                        s for s in scenarios if s == "otp"
                    ]  # fmt: skip
                    if not app_scenarios:
                        continue
                    print(f"bench: {backend} / {variant.label} / {app} ...", file=sys.stderr)
                    storage = Storage(backend, scratch)
                    with storage as storage_env:
                        server = Server(app, variant, secrets_env, scratch / "server.log",
                                        storage_env)  # fmt: skip
                        try:
                            connection = server.wait_until_serving()
                            note = (
                                f"{server.workers} workers, "
                                f"WEB_CONCURRENCY={variant.workers or 'default'}, "
                                f"GUNICORN_CMD_ARGS={variant.gunicorn_args or '(none)'}, "
                                f"response Connection: {connection}"
                            )
                            if "account" in app_scenarios:
                                how = server.add_scoped_client(account_setup)
                                note += f", account and client made by {how}"
                            notes[f"{backend} / {variant.label} / {app}"] = note
                            for scenario in app_scenarios:
                                server.check_scenario(scenario)
                                seconds, warm = (
                                    (v2_duration, min(warmup, 1)) if scenario == "v2"
                                    else (duration, warmup)
                                )  # fmt: skip
                                for count in connections:
                                    print(f"bench:   {scenario} c={count}", file=sys.stderr)
                                    tries = [
                                        measure(server, storage, scenario, variant, app, count,
                                                warm if i == 0 else 0, seconds, scratch)
                                        for i in range(repeat)
                                    ]  # fmt: skip
                                    runs.append(sorted(tries, key=lambda r: r.rps)[len(tries) // 2])
                        finally:
                            server.stop()
    write_report("\n".join([*header, "", *table(runs, notes)]) + "\n", f"{started:%Y%m%dT%H%M%SZ}")


def write_report(report: str, name: str) -> None:
    """Print `report` and keep it as bench/results/NAME.md (ignored by git)."""
    print(report)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"{name}.md"
    path.write_text(report)
    print(f"bench: written to {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
