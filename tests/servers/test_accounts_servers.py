"""Accounts, clients and the audit trail on real gunicorn instances sharing PostgreSQL and Redis:
revocation and rotation hold on every instance at once, every request is on the record, an audit
trail that cannot be written hands out nothing, and a server refuses to start when no configured
OTP_ENCRYPTION_KEYS key opens what is stored."""

import base64
import contextlib
import json
import os
import secrets
import signal
import string
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
from rest_framework import status

from otp.core import totp
from otp.core.credentials import key_id
from tests.support.backends import (
    Postgres,
    postgres,  # noqa: F401 (fixture)
    redis_server,  # noqa: F401 (fixture)
)
from tests.support.raw_http import HTTP_TIMEOUT, Reply, each_worker, raw_request, send
from tests.support.servers import (
    ROOT,
    START_TIMEOUT,
    Server,
    free_port,
    start_gunicorn,
    start_instances,
)
from tests.support.signing import v2_headers

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
ENV_CALLER = f"env:{key_id(API_KEY)}"
WRONG_KEY = "wrong-key-0123456789abcdef"
SERVICE_UNAVAILABLE = {"error": "Service unavailable"}
BAD_KEY = {"error": "Invalid or missing API key"}
NOT_FOUND = {"error": "Account not found"}
MANAGE_TIMEOUT = 30
# The spec: `client revoke` takes effect on every instance within this many seconds.
REVOKE_BOUND_SECONDS = 5
POLL_SECONDS = 0.1


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode()


def new_encryption_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def letters(count: int) -> str:
    """Random letters: request ids made of them cannot contain a code by chance."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(count))


# --- The real management code, run in a subprocess against the server's database.

# Reads what to do as JSON on stdin; prints one line "RESULT {...}" with the new keys.
MANAGE_SCRIPT = """
import json, sys
from django.core.management import call_command
from otp import accounts, audit, clients, rekey
from otp.core import clock, otpauth

ops = json.load(sys.stdin)
out = {"keys": {}}
if ops.get("migrate"):
    call_command("migrate", interactive=False, verbosity=0)
if ops.get("accounts"):
    specs = [
        (item["name"], otpauth.parse_secret_or_uri(
            item["secret"], algorithm=item["algorithm"], digits=item["digits"]
        ))
        for item in ops["accounts"]
    ]
    accounts.add_accounts(specs, audit.operator(), clock.now())
for item in ops.get("clients", []):
    out["keys"][item["name"]], _ = clients.create_client(
        item["name"], accounts=item["accounts"], may_issue=item["issue"], may_verify=item["verify"],
        requires_signature=False, actor=audit.operator(), now=clock.now(),
    )
for name in ops.get("revoke", []):
    clients.revoke_client(name, audit.operator(), clock.now())
for item in ops.get("rotate", []):
    out["now"] = clock.now()
    out["keys"][item["name"]], _ = clients.rotate_client(
        item["name"], item["grace"], audit.operator(), out["now"]
    )
if ops.get("rekey"):
    out["resealed"] = rekey.rekey(audit.operator(), clock.now())
print("RESULT " + json.dumps(out))
"""


def process_env(tmp_path: Path, **overrides) -> dict:
    """The environment tests.support.servers.start gives a server; an override of None unsets."""
    env = {**os.environ, "ENV_FILE": "", "HOST": "127.0.0.1", "DATA_DIR": str(tmp_path / "data")}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env: dict, **operations) -> dict:
    """Run MANAGE_SCRIPT's `operations` in `manage.py shell`; what it printed after RESULT."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", MANAGE_SCRIPT],
        cwd=ROOT,
        env=env,
        input=json.dumps(operations),
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0].removeprefix("RESULT "))


def account(name: str, secret: str, algorithm: str = "SHA1", digits: int = 6) -> dict:
    return {"name": name, "secret": secret, "algorithm": algorithm, "digits": digits}


def client(name: str, accounts=None, issue=True, verify=True) -> dict:
    return {"name": name, "accounts": accounts, "issue": issue, "verify": verify}


# --- Requests.


def key_request(method: str, path: str, api_key: str | None, request_id: str = "", body=None):
    headers = {"X-API-Key": api_key} if api_key is not None else {}
    if request_id:
        headers["X-Request-ID"] = request_id
    if body is None:
        return raw_request(method, path, headers)
    headers["Content-Type"] = "application/json"
    return raw_request(method, path, headers, json.dumps(body).encode())


def signed_request(api_key: str, method: str = "GET", path: str = "/otp") -> bytes:
    """A v2 request by the holder of `api_key`, with a fresh nonce."""
    return raw_request(method, path, v2_headers(api_key, method, path, timestamp=int(time.time())))


def every_worker(ports: list[int], make_request) -> list[Reply]:
    """What each of the two workers of each instance answers."""
    return [reply for port in ports for reply in each_worker(port, make_request)]


def statuses(replies: list[Reply]) -> list[int]:
    return [reply.status for reply in replies]


def wrong_code(secret: str, params: totp.Params = totp.DEFAULT) -> str:
    """A well-formed code that no window near now accepts."""
    now = int(time.time())
    near = {totp.code_at(secret, now + step * params.period, params) for step in range(-2, 3)}
    while True:
        code = f"{secrets.randbelow(10**params.digits):0{params.digits}d}"
        if code not in near:
            return code


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == status.HTTP_503_SERVICE_UNAVAILABLE
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == SERVICE_UNAVAILABLE


# Fields that hold times: a code could match some of their digits by chance.
TIME_FIELDS = ("time", "at", "latency_ms")


def assert_log_is_clean(log: str, secret_values, codes) -> None:
    """No line holds a key or secret anywhere, nor a code outside its time fields."""
    for line in log.splitlines():
        for value in secret_values:
            assert value not in line
        try:
            fields = json.loads(line)
        except ValueError:  # a line still being written: check it as it stands
            fields = {"line": line}
        text = json.dumps({name: v for name, v in fields.items() if name not in TIME_FIELDS})
        for code in codes:
            assert code not in text


def audit_lines(servers: list[Server]) -> list[dict]:
    lines = []
    for server in servers:
        for line in server.log().splitlines():
            with contextlib.suppress(ValueError):
                fields = json.loads(line)
                if fields.get("event") == "audit":
                    lines.append(fields)
    return lines


# --- Two instances of two workers on one PostgreSQL database and Redis.

SECRETS = {"a": new_secret(), "b": new_secret(), "x": new_secret()}
B_PARAMS = totp.Params("SHA256", 8)
PARAMS = {"default": totp.DEFAULT, "a": totp.DEFAULT, "b": B_PARAMS, "x": totp.DEFAULT}


@pytest.fixture(scope="module")
def pair(tmp_path_factory, postgres, redis_server):  # noqa: F811
    database = postgres.new_database()
    env = {
        "DATABASE_URL": postgres.url(database),
        "CACHE_URL": redis_server(),
        "WEB_CONCURRENCY": "2",
        # Every wrong code and key of the audit run must be answered, not throttled.
        "VERIFY_FAILURE_LIMIT": "0",
        "AUTH_FAILURE_LIMIT": "0",
    }
    manage_env = process_env(tmp_path_factory.mktemp("manage"), **env)
    made = manage(
        manage_env,
        migrate=True,
        accounts=[
            account("a", SECRETS["a"]),
            account("b", SECRETS["b"], B_PARAMS.algorithm, B_PARAMS.digits),
            account("x", SECRETS["x"]),
        ],
        clients=[
            client("scoped", accounts=["b"], issue=True, verify=False),
            client("revoked-bot"),
            client("graced-bot"),
            client("rotated-bot"),
            client("expiring-bot"),
        ],
    )
    with contextlib.ExitStack() as cleanup:
        servers = start_instances(cleanup, tmp_path_factory, "pair", **env)
        ports = [server.port for server in servers]
        # Every worker up, with its connections open, before a test counts on four of them.
        assert statuses(every_worker(ports, lambda: raw_request("GET", "/ready"))) == [200] * 4
        yield SimpleNamespace(
            servers=servers,
            ports=ports,
            database=database,
            env=manage_env,
            keys=made["keys"],
            # Every key handed out by a test, so the leak checks can look for it.
            all_keys=[API_KEY, *made["keys"].values()],
        )


def manage_on(pair, **operations) -> dict:
    result = manage(pair.env, **operations)
    pair.all_keys.extend(result["keys"].values())
    return result


# --- 1. Revoked and rotated keys, on every worker of both instances.


def test_a_revoked_client_key_is_refused_by_every_instance_within_five_seconds(pair):
    key, other = pair.keys["revoked-bot"], pair.keys["graced-bot"]
    by_key = partial(key_request, "GET", "/accounts/a/otp", key)
    signed = partial(signed_request, key, path="/accounts/a/otp")
    assert statuses(every_worker(pair.ports, by_key)) == [200] * 4
    assert statuses(every_worker(pair.ports, signed)) == [200] * 4

    revoking = time.monotonic()  # before the command: the bound is measured generously
    manage_on(pair, revoke=["revoked-bot"])
    deadline = revoking + REVOKE_BOUND_SECONDS
    replies = every_worker(pair.ports, by_key)
    while statuses(replies) != [401] * 4 and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        replies = every_worker(pair.ports, by_key)
    assert statuses(replies) == [401] * 4
    assert all(reply.json() == BAD_KEY for reply in replies)
    # Stays refused, on every worker, whichever way the key is used.
    assert statuses(every_worker(pair.ports, by_key)) == [401] * 4
    assert statuses(every_worker(pair.ports, signed)) == [401] * 4
    # Only that client: another client's key still works everywhere.
    by_other = partial(key_request, "GET", "/accounts/a/otp", other)
    assert statuses(every_worker(pair.ports, by_other)) == [200] * 4


def test_during_a_rotation_grace_the_old_and_new_keys_work_on_every_instance(pair):
    old = pair.keys["graced-bot"]
    new = manage_on(pair, rotate=[{"name": "graced-bot", "grace": 300}])["keys"]["graced-bot"]
    assert new != old
    for api_key in (old, new):
        by_key = partial(key_request, "GET", "/accounts/a/otp", api_key)
        assert statuses(every_worker(pair.ports, by_key)) == [200] * 4


def test_a_rotation_without_grace_refuses_the_old_key_on_every_instance_at_once(pair):
    old = pair.keys["rotated-bot"]
    by_old = partial(key_request, "GET", "/accounts/a/otp", old)
    assert statuses(every_worker(pair.ports, by_old)) == [200] * 4
    new = manage_on(pair, rotate=[{"name": "rotated-bot", "grace": 0}])["keys"]["rotated-bot"]
    # No polling: the very first request after the command, on every worker.
    assert statuses(every_worker(pair.ports, by_old)) == [401] * 4
    by_new = partial(key_request, "GET", "/accounts/a/otp", new)
    assert statuses(every_worker(pair.ports, by_new)) == [200] * 4


def test_a_rotated_key_is_refused_everywhere_once_its_grace_ends(pair):
    # Two seconds of real time, not a 30-second window: in-process tests cover longer graces
    # with a frozen clock. The servers and the test read the same clock.
    old = pair.keys["expiring-bot"]
    result = manage_on(pair, rotate=[{"name": "expiring-bot", "grace": 2}])
    new, grace_ends = result["keys"]["expiring-bot"], result["now"] + 2
    by_old = partial(key_request, "GET", "/accounts/a/otp", old)
    observed = []  # (wall time once answered, statuses)
    while time.time() < grace_ends + 3:
        answered = statuses(every_worker(pair.ports, by_old))
        observed.append((time.time(), answered))
        if answered == [401] * 4:
            break
        time.sleep(POLL_SECONDS)
    assert observed[-1][1] == [401] * 4, observed
    # Refused only once the grace had ended; before that, every worker still took it.
    for answered_at, answered in observed:
        if answered_at < grace_ends:
            assert answered == [200] * 4, observed
    by_new = partial(key_request, "GET", "/accounts/a/otp", new)
    assert statuses(every_worker(pair.ports, by_new)) == [200] * 4


# --- 2. One audit record per request, under concurrent load on both instances.


@dataclass(frozen=True)
class Kind:
    """One kind of request in the audit run and what must come of it."""

    method: str
    path: str
    caller: str  # "env", "scoped", "wrong" or "none"
    verify_account: str  # the account whose wrong code is sent, "" for a GET
    status: int
    record: tuple[str, str, str, str]  # client, action, outcome, account


SCOPED = "scoped"
KINDS = [
    Kind("GET", "/otp", "env", "", 200, (ENV_CALLER, "issue", "issued", "default")),
    Kind("GET", "/accounts/a/otp", "env", "", 200, (ENV_CALLER, "issue", "issued", "a")),
    Kind("POST", "/accounts/a/otp/verify", "env", "a", 200, (ENV_CALLER, "verify", "invalid", "a")),
    Kind(
        "POST", "/otp/verify", "env", "default", 200, (ENV_CALLER, "verify", "invalid", "default")
    ),
    Kind("GET", "/accounts/a/otp", "wrong", "", 401, ("", "authenticate", "failed", "a")),
    Kind("GET", "/otp", "none", "", 401, ("", "authenticate", "missing", "default")),
    Kind("GET", "/accounts/a/otp", "scoped", "", 404, (SCOPED, "issue", "not_found", "a")),
    Kind("POST", "/accounts/b/otp/verify", "scoped", "b", 403, (SCOPED, "verify", "denied", "b")),
    Kind("GET", "/accounts/b/otp", "scoped", "", 200, (SCOPED, "issue", "issued", "b")),
]
THREADS = 4
REQUESTS_PER_THREAD = 50
RUN_DEADLINE_SECONDS = 45


def refusal_counts(database: str) -> Counter:
    """The requests counted on refused-authentication records, by everything they record."""
    with Postgres.connect(database) as connection:
        rows = connection.execute(
            'SELECT client, key_id, account, action, outcome, address, "count"'
            " FROM otp_auditrecord WHERE action = 'authenticate'"
        ).fetchall()
    counts: Counter = Counter()
    for *recorded, count in rows:
        counts[tuple(recorded)] += count
    return counts


def test_every_request_of_a_concurrent_run_is_on_the_audit_trail_once(pair):
    # Alike refusals are counted on one record a minute, which earlier tests may have begun.
    refusals_before = refusal_counts(pair.database)
    secret_of = {"default": OTP_SECRET, **SECRETS}
    keys = {"env": API_KEY, "scoped": pair.keys[SCOPED], "wrong": WRONG_KEY, "none": None}
    key_ids = {ENV_CALLER: key_id(API_KEY), SCOPED: key_id(pair.keys[SCOPED]), "": ""}
    sent: dict[str, tuple[Kind, Reply]] = {}
    codes_sent: set[str] = set()
    problems: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS

    def sender(thread: int) -> None:
        for count in range(REQUESTS_PER_THREAD):
            if time.monotonic() > deadline:
                return
            index = thread + THREADS * count
            kind = KINDS[index % len(KINDS)]
            request_id = f"audit-{index}-{letters(16)}"
            body = None
            if kind.verify_account:
                name = kind.verify_account
                body = {"otp": wrong_code(secret_of[name], PARAMS[name])}
                with lock:
                    codes_sent.add(body["otp"])
            request = key_request(kind.method, kind.path, keys[kind.caller], request_id, body)
            try:
                reply = send(pair.ports[index % 2], request)
            except OSError as problem:
                with lock:
                    problems.append(f"{request_id}: {problem!r}")
                continue
            with lock:
                sent[request_id] = (kind, reply)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline + HTTP_TIMEOUT - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    assert not problems
    assert len(sent) == THREADS * REQUESTS_PER_THREAD

    wrong_status = [
        (kind.path, kind.caller, reply.status)
        for kind, reply in sent.values()
        if reply.status != kind.status
    ]
    assert not wrong_status
    for kind, reply in sent.values():
        if kind.status == status.HTTP_200_OK and kind.verify_account:
            assert reply.json()["valid"] is False
    codes_returned = {
        reply.json()["otp"] for kind, reply in sent.values() if kind.record[2] == "issued"
    }

    with Postgres.connect(pair.database) as connection:
        rows = connection.execute(
            "SELECT request_id, client, key_id, account, action, outcome, address"
            " FROM otp_auditrecord"
        ).fetchall()
    records = Counter(row[0] for row in rows)
    found = {row[0]: row[1:] for row in rows}
    refused: Counter = Counter()
    for request_id, (kind, reply) in sent.items():
        assert reply.headers["X-Request-ID"] == request_id
        client_name, action, outcome, account_name = kind.record
        expected = (client_name, key_ids[client_name], account_name, action, outcome, "127.0.0.1")
        if action == "authenticate":
            refused[expected] += 1
            continue
        assert records[request_id] == 1, (request_id, kind)
        assert found[request_id] == expected
    # Each refusal counted exactly once.
    assert refusal_counts(pair.database) - refusals_before == refused

    # The same records on the instances' stdout, one JSON line each.
    logged = Counter(line["request_id"] for line in audit_lines(pair.servers))
    assert {request_id: logged[request_id] for request_id in sent} == dict.fromkeys(sent, 1)

    secret_values = [*secret_of.values(), *pair.all_keys, WRONG_KEY]
    codes = codes_returned | codes_sent
    for request_id, *others in rows:
        # Every text column (only `at`, a time, is left out). A request id the service made up
        # is 32 random hex digits, which hold some six-digit code by chance once in a few
        # thousand runs: only the ids this test chose are searched.
        chosen = request_id if request_id in sent else ""
        for column in (chosen, *others):
            for value in (*secret_values, *codes):
                assert value not in column
    for server in pair.servers:
        assert_log_is_clean(server.log(), secret_values, codes)


# --- 3. An audit trail that cannot be written: 503, no code, the one-time mark unmoved.


def concurrently(calls, limit: float) -> list:
    """Run the zero-argument `calls` at once; their results, in order, within `limit` seconds."""
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as problem:  # reported by the caller's assertions
            results[index] = problem

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + limit
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_when_the_audit_trail_cannot_be_written_nothing_is_handed_out_or_used_up(pair):
    port_a, port_b = pair.ports
    fetched = send(port_b, key_request("GET", "/accounts/x/otp", API_KEY)).json()
    code_x = fetched["otp"]
    code_default = send(port_a, key_request("GET", "/otp", API_KEY)).json()["otp"]
    tag = letters(12)
    ids = [f"locked-{n}-{tag}" for n in range(5)]
    requests = [
        (port_a, key_request("GET", "/otp", API_KEY, ids[0])),
        (port_b, key_request("GET", "/accounts/x/otp", API_KEY, ids[1])),
        (port_a, key_request("POST", "/accounts/x/otp/verify", API_KEY, ids[2], {"otp": code_x})),
        (port_b, key_request("POST", "/otp/verify", API_KEY, ids[3], {"otp": code_default})),
        # A refused caller must be on the record too, or not answered.
        (port_a, key_request("GET", "/accounts/x/otp", WRONG_KEY, ids[4])),
    ]
    with Postgres.connect(pair.database) as holder:
        holder.execute("LOCK TABLE otp_auditrecord IN ACCESS EXCLUSIVE MODE")
        try:
            # Each insert waits out the server's 3 s lock_timeout; four workers, five requests.
            replies = concurrently(
                [partial(send, port, request) for port, request in requests],
                limit=3 * HTTP_TIMEOUT,
            )
        finally:
            holder.rollback()
    for reply in replies:
        assert isinstance(reply, Reply), reply
        assert_unavailable(reply)
        assert b"otp" not in reply.body

    # Nothing was recorded for them, and neither code was used up: each verifies now, once.
    with Postgres.connect(pair.database) as connection:
        rows = connection.execute(
            "SELECT count(*) FROM otp_auditrecord WHERE request_id = ANY(%s)", [ids]
        ).fetchone()
    assert rows == (0,)
    for port, path, code in (
        (port_a, "/accounts/x/otp/verify", code_x),
        (port_b, "/otp/verify", code_default),
    ):
        first = send(port, key_request("POST", path, API_KEY, body={"otp": code}))
        again = send(port, key_request("POST", path, API_KEY, body={"otp": code}))
        assert (first.status, first.json()["valid"]) == (status.HTTP_200_OK, True)
        assert (again.status, again.json()["valid"]) == (status.HTTP_200_OK, False)
    # The cause is in the log, the codes are not.
    logs = "".join(server.log() for server in pair.servers)
    assert "storage unavailable" in logs
    for server in pair.servers:
        assert_log_is_clean(
            server.log(), [API_KEY, WRONG_KEY, SECRETS["x"]], [code_x, code_default]
        )


# --- 3b. The verify throttle holds when wrong codes race across instances.

RACE_LIMIT = 3
RACERS = 9


def test_racing_wrong_codes_on_two_instances_get_exactly_the_limit_evaluated(
    tmp_path_factory,
    postgres,  # noqa: F811
    redis_server,  # noqa: F811
):
    env = {
        "DATABASE_URL": postgres.url(postgres.new_database()),
        "CACHE_URL": redis_server(),
        "VERIFY_FAILURE_LIMIT": str(RACE_LIMIT),
        "AUTH_FAILURE_LIMIT": "0",
    }
    secret = new_secret()
    manage(
        process_env(tmp_path_factory.mktemp("manage"), **env),
        migrate=True,
        accounts=[account("raced", secret)],
    )
    with contextlib.ExitStack() as cleanup:
        ports = [
            server.port for server in start_instances(cleanup, tmp_path_factory, "race", **env)
        ]
        path, body = "/accounts/raced/otp/verify", {"otp": wrong_code(secret)}
        # No counter row exists yet: the first failures also race to create it.
        replies = concurrently(
            [
                partial(send, ports[n % 2], key_request("POST", path, API_KEY, body=body))
                for n in range(RACERS)
            ],
            limit=30,
        )
    assert not any(isinstance(reply, Exception) for reply in replies), replies
    # Each verification took the account's counter in turn: exactly RACE_LIMIT were checked
    # (and refused), every later one waited, whichever instance it reached.
    assert Counter(reply.status for reply in replies) == {
        status.HTTP_200_OK: RACE_LIMIT,
        status.HTTP_429_TOO_MANY_REQUESTS: RACERS - RACE_LIMIT,
    }
    assert all(reply.json()["valid"] is False for reply in replies if reply.status == 200)


# --- 4. Start-up refuses stored secrets that no configured key opens.


def start_expecting_failure(env: dict, tmp_path: Path) -> tuple[int, str]:
    """(exit code, output) of a gunicorn start that must stop by itself, within START_TIMEOUT."""
    output = tmp_path / f"refused-{secrets.token_hex(4)}.log"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "otpsite/gunicorn.conf.py"],
            cwd=ROOT,
            env={**env, "PORT": str(free_port())},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        returncode = process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        pytest.fail(f"gunicorn kept running:\n{output.read_text()}")
    return returncode, output.read_text()


def assert_refused_naming_the_keys(returncode: int, output: str, *hidden: str) -> None:
    assert returncode != 0
    naming = [line for line in output.splitlines() if "OTP_ENCRYPTION_KEYS" in line]
    assert len(naming) == 1, output
    assert naming[0].startswith("otp-service: configuration error: OTP_ENCRYPTION_KEYS"), output
    assert "Traceback" not in output
    for value in hidden:
        assert value not in output


def serves_the_account(server: Server, secret: str, client_key: str) -> None:
    """The account's code, by the all-access key and by the client's signed request (which
    needs the client's sealed key opened)."""
    for request in (
        key_request("GET", "/accounts/acct/otp", API_KEY),
        signed_request(client_key, path="/accounts/acct/otp"),
    ):
        reply = send(server.port, request)
        assert reply.status == status.HTTP_200_OK
        body = reply.json()
        assert body["otp"] == totp.code_at(secret, body["timestamp"])


def test_a_server_starts_only_with_a_key_that_opens_the_stored_secrets(tmp_path, postgres):  # noqa: F811
    first, second = new_encryption_key(), new_encryption_key()
    secret = new_secret()
    env = process_env(tmp_path, DATABASE_URL=postgres.url(postgres.new_database()), CACHE_URL="db")
    made = manage(
        {**env, "OTP_ENCRYPTION_KEYS": first},
        migrate=True,
        accounts=[account("acct", secret)],
        clients=[client("bot")],
    )
    client_key = made["keys"]["bot"]
    hidden = (first, second, secret, client_key)

    missing = {name: value for name, value in env.items() if name != "OTP_ENCRYPTION_KEYS"}
    assert_refused_naming_the_keys(*start_expecting_failure(missing, tmp_path), *hidden)
    wrong = {**env, "OTP_ENCRYPTION_KEYS": second}
    assert_refused_naming_the_keys(*start_expecting_failure(wrong, tmp_path), *hidden)

    # Rotated: the new key first, the old one still there to open what it sealed.
    rotated = {"OTP_ENCRYPTION_KEYS": f"{second},{first}", "DATABASE_URL": env["DATABASE_URL"]}
    server = start_gunicorn(tmp_path, CACHE_URL="db", **rotated)
    try:
        serves_the_account(server, secret, client_key)
    finally:
        server.stop()

    # Resealed under the new key, the old one can go; and is no longer enough.
    resealed = manage({**env, "OTP_ENCRYPTION_KEYS": f"{second},{first}"}, rekey=True)["resealed"]
    assert resealed == 2  # the account's secret and the client's key
    retired = {**env, "OTP_ENCRYPTION_KEYS": first}
    assert_refused_naming_the_keys(*start_expecting_failure(retired, tmp_path), *hidden)
    server = start_gunicorn(
        tmp_path, CACHE_URL="db", DATABASE_URL=env["DATABASE_URL"], OTP_ENCRYPTION_KEYS=second
    )
    try:
        serves_the_account(server, secret, client_key)
    finally:
        server.stop()
