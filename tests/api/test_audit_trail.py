"""The audit trail: a row and a JSON log line for every code issued, every verification and
every refused caller, never holding a code, key or secret, and no code without its row."""

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from django.core.management.base import CommandError
from django.db import connection
from rest_framework import status
from rest_framework.test import APIClient

from otp import audit, clients
from otp.accounts import add_accounts
from otp.core import totp
from otp.core.credentials import key_id
from otp.core.otpauth import parse_secret_or_uri
from otp.exceptions import ServiceUnavailable
from otp.models import AcceptedStep, AuditRecord, AuthFailureWindow, VerifyFailures
from tests.conftest import FROZEN_AT
from tests.support.commands import call_otp, manage
from tests.support.factories import new_client
from tests.support.logs import audit_lines, log_lines
from tests.support.signing import v1_headers, v2_headers, wsgi

DEFAULT_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
ALPHA_SECRET = "MFWHA2DBFVQWGY3POVXHILLTMVRXEZLU"
BETA_SECRET = "MJSXIYJNMFRWG33VNZ2C243FMNZGK5BB"
WIDE_SECRET = "O5UWIZJNMFRWG33VNZ2C243FMNZGK5BB"
WIDE = totp.Params("SHA512", 8, 60)
FIELDS = ("client", "key_id", "account", "action", "outcome", "address", "request_id")
REQUEST_ACTIONS = ("issue", "verify", "authenticate")


@pytest.fixture
def accounts():
    add_accounts(
        [
            ("alpha", parse_secret_or_uri(ALPHA_SECRET)),
            ("beta", parse_secret_or_uri(BETA_SECRET)),
            ("wide", parse_secret_or_uri(WIDE_SECRET, algorithm="SHA512", digits=8, period=60)),
        ],
        audit.operator(),
        FROZEN_AT,
    )


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what waits for a commit (the audit log line) when the block ends, as a real commit
    would: the test's own transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def audit_table_gone():
    """The audit table made unwritable for real, inside the test's transaction (SQLite DDL is
    transactional: the rename is rolled back with the test, see the last test of this file)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE otp_auditrecord RENAME TO otp_auditrecord_gone")


def restore_audit_table():
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE otp_auditrecord_gone RENAME TO otp_auditrecord")


def as_client(api_key):
    """A test client of its own (an `authed` client would send the environment key anyway)."""
    caller = APIClient(raise_request_exception=False)
    caller.credentials(HTTP_X_API_KEY=api_key)
    return caller


def verify(caller, code, name="alpha", **extra):
    return caller.post(f"/accounts/{name}/otp/verify", {"otp": code}, format="json", **extra)


def wrong_code(secret, at, params=totp.DEFAULT):
    """A well-formed code none of the accepted windows has; digits of pi, so that it does not
    turn up by chance inside a timestamp (as 000000 would) when the log is searched for it."""
    taken = {totp.code_at(secret, at + k * params.period, params) for k in (-1, 0, 1)}
    start = int("31415926"[: params.digits])
    return next(str(n) for n in range(start, start + 4) if str(n) not in taken)


def request_records():
    """The rows written for HTTP requests (not the operator's account and client changes)."""
    rows = AuditRecord.objects.filter(action__in=REQUEST_ACTIONS).order_by("id")
    return [dict(row, at=int(row["at"].timestamp())) for row in rows.values("at", *FIELDS, "count")]


def record(response, action, outcome, account, client="", key="", count=1):
    """The row a request should have left: address and time are the test client's and clock's;
    `count` requests alike within its minute, `response` the first."""
    return {
        "at": FROZEN_AT,
        "client": client,
        "key_id": key,
        "account": account,
        "action": action,
        "outcome": outcome,
        "address": "127.0.0.1",
        "request_id": response["X-Request-ID"],
        "count": count,
    }


def env_client(api_key):
    return {"client": f"env:{key_id(api_key)}", "key": key_id(api_key)}


# --- what is recorded ---


def test_an_issued_code_is_recorded_with_caller_account_address_and_request(
    authed, api_key, frozen_clock
):
    response = authed.get("/otp", HTTP_X_REQUEST_ID="bot-7.run-42")
    assert response.status_code == status.HTTP_200_OK
    assert response["X-Request-ID"] == "bot-7.run-42"
    assert request_records() == [
        record(response, "issue", "issued", "default", **env_client(api_key))
    ]
    row = AuditRecord.objects.get(action="issue")
    assert row.at == datetime.fromtimestamp(FROZEN_AT, UTC)


def test_a_made_up_request_id_is_the_one_recorded(authed, frozen_clock):
    response = authed.get("/otp", HTTP_X_REQUEST_ID="not sane\u00e9")
    assert response["X-Request-ID"] != "not sane\u00e9"
    assert request_records()[0]["request_id"] == response["X-Request-ID"]


def test_a_clients_code_is_recorded_under_its_name_and_key_id(accounts, frozen_clock):
    api_key, kid = new_client("alpha-bot", ["alpha"])
    response = as_client(api_key).get("/accounts/alpha/otp")
    assert response.status_code == status.HTTP_200_OK
    assert request_records() == [
        record(response, "issue", "issued", "alpha", client="alpha-bot", key=kid)
    ]


def test_a_signed_request_is_recorded_under_its_key_id(client, accounts, frozen_clock):
    api_key, kid = new_client("alpha-bot", ["alpha"])
    path = "/accounts/alpha/otp"
    response = client.generic("GET", path, **wsgi(v2_headers(api_key, "GET", path)))
    assert response.status_code == status.HTTP_200_OK
    assert request_records() == [
        record(response, "issue", "issued", "alpha", client="alpha-bot", key=kid)
    ]


def test_a_key_in_its_grace_period_is_recorded_under_its_own_key_id(accounts, frozen_clock):
    old_key, old_id = new_client("alpha-bot", ["alpha"])
    new_key, new_id = clients.rotate_client("alpha-bot", 300, audit.operator(), FROZEN_AT)
    old = as_client(old_key).get("/accounts/alpha/otp")
    new = as_client(new_key).get("/accounts/alpha/otp")
    assert request_records() == [
        record(old, "issue", "issued", "alpha", client="alpha-bot", key=old_id),
        record(new, "issue", "issued", "alpha", client="alpha-bot", key=new_id),
    ]


def test_every_verification_outcome_is_recorded(authed, api_key, accounts, frozen_clock, settings):
    settings.VERIFY_FAILURE_LIMIT = 1
    code = totp.code_at(ALPHA_SECRET, FROZEN_AT)
    responses = [
        verify(authed, code),  # valid
        verify(authed, code),  # replayed
        verify(authed, wrong_code(ALPHA_SECRET, FROZEN_AT)),  # invalid: now blocked
        verify(authed, code),  # throttled
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    outcomes = ["valid", "replayed", "invalid", "throttled"]
    assert request_records() == [
        record(response, "verify", outcome, "alpha", **env_client(api_key))
        for response, outcome in zip(responses, outcomes, strict=True)
    ]


def test_junk_and_codes_of_other_windows_are_recorded_as_invalid(authed, accounts, frozen_clock):
    verify(authed, "not a code")
    verify(authed, totp.code_at(ALPHA_SECRET, FROZEN_AT - 60))
    assert [row["outcome"] for row in request_records()] == ["invalid", "invalid"]


def test_the_original_endpoints_are_audited_as_account_default(authed, api_key, frozen_clock):
    otp = authed.get("/otp")
    secure = authed.get("/otp/secure", **wsgi(v1_headers(api_key)))
    checked = authed.post("/otp/verify", {"otp": otp.json()["otp"]}, format="json")
    caller = env_client(api_key)
    assert request_records() == [
        record(otp, "issue", "issued", "default", **caller),
        record(secure, "issue", "issued", "default", **caller),
        record(checked, "verify", "valid", "default", **caller),
    ]


def test_refused_credentials_are_recorded_with_the_key_they_named_and_the_account(
    client, api_key, accounts, frozen_clock
):
    revoked, _ = new_client("revoked-bot", ["alpha"])
    clients.revoke_client("revoked-bot", audit.operator(), FROZEN_AT)
    must_sign, signing_kid = new_client("signing-bot", ["alpha"], signature=True)
    path = "/accounts/alpha/otp"
    forged = {**wsgi(v2_headers(must_sign, "GET", path)), "HTTP_X_SIGNATURE": "0" * 64}
    unknown_id = {**forged, "HTTP_X_KEY_ID": "0123456789abcdef"}
    responses = [
        client.get(path, HTTP_X_API_KEY="wrong-key-0123456789abcdef"),
        client.get(path, HTTP_X_API_KEY=revoked),
        client.get(path, HTTP_X_API_KEY=must_sign),  # a good key that must not travel
        client.generic("GET", path, **forged),
        client.generic("GET", path, **unknown_id),
        client.get("/otp/secure", HTTP_X_API_KEY=api_key),  # unsigned
        client.get(path),
        client.get("/accounts"),
        client.post("/otp/verify", {"otp": "123456"}, format="json"),
    ]
    assert all(r.status_code == status.HTTP_401_UNAUTHORIZED for r in responses)
    env_kid = key_id(api_key)
    # Refusals alike in everything but their request, counted on one record in their minute: a
    # wrong key, a revoked one and a key id no key has (all name nothing the service holds), a
    # must-sign key in clear and a forged signature (both name the signing client's key).
    expected = [
        ("failed", "alpha", "", "", 3),
        ("failed", "alpha", "signing-bot", signing_kid, 2),
        ("failed", "default", f"env:{env_kid}", env_kid, 1),
        ("missing", "alpha", "", "", 1),
        ("missing", "", "", "", 1),
        ("missing", "default", "", "", 1),
    ]
    # Each record names the first request it counts.
    firsts = [responses[0], responses[2], *responses[5:]]
    assert request_records() == [
        record(response, "authenticate", outcome, account, client_name, kid, count)
        for response, (outcome, account, client_name, kid, count) in zip(
            firsts, expected, strict=True
        )
    ]


def test_a_locked_out_address_is_recorded(client, api_key, frozen_clock, settings):
    settings.AUTH_FAILURE_LIMIT = 1
    failed = client.get("/otp", HTTP_X_API_KEY="wrong-key-0123456789abcdef")
    locked = client.get("/otp", HTTP_X_API_KEY=api_key)
    assert locked.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert request_records() == [
        record(failed, "authenticate", "failed", "default"),
        record(locked, "authenticate", "locked_out", "default"),
    ]


def test_refusals_on_accounts_are_recorded_as_not_found_and_denied(accounts, frozen_clock):
    api_key, kid = new_client("issue-bot", ["alpha"], verify=False)
    caller = as_client(api_key)
    responses = [
        caller.get("/accounts/beta/otp"),
        caller.get("/accounts/nope/otp"),
        caller.get("/accounts/UPPER/otp"),
        verify(caller, "123456", "alpha"),
        verify(caller, "123456", "beta"),
        caller.get("/otp"),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404, 403, 404, 404]
    who = {"client": "issue-bot", "key": kid}
    assert request_records() == [
        record(responses[0], "issue", "not_found", "beta", **who),
        record(responses[1], "issue", "not_found", "nope", **who),
        # Not a name an account can have: not recorded as sent.
        record(responses[2], "issue", "not_found", "", **who),
        record(responses[3], "verify", "denied", "alpha", **who),
        record(responses[4], "verify", "not_found", "beta", **who),
        record(responses[5], "issue", "not_found", "default", **who),
    ]


def test_listing_accounts_and_bad_bodies_leave_no_verification_record(
    authed, accounts, frozen_clock
):
    authed.get("/accounts")
    authed.generic("POST", "/accounts/alpha/otp/verify", b"nope", content_type="application/json")
    assert request_records() == []


# --- refused floods: one record a minute ---

WRONG_KEY = "wrong-key-0123456789abcdef"
SECONDS_LEFT = 40  # in FROZEN_AT's minute, FROZEN_AT included: it is 20 s into it
UNAVAILABLE = {"error": str(ServiceUnavailable.default_detail)}


def refusal_records():
    rows = AuditRecord.objects.filter(action="authenticate").order_by("id")
    return [
        dict(row, at=int(row["at"].timestamp()))
        for row in rows.values("at", "outcome", "address", "account", "count", "request_id")
    ]


def test_refusals_from_one_address_in_one_minute_are_one_record_with_their_count(
    client, frozen_clock
):
    responses = []
    for second in range(SECONDS_LEFT):
        frozen_clock.at = FROZEN_AT + second
        responses.append(client.get("/otp"))
    assert {r.status_code for r in responses} == {status.HTTP_401_UNAUTHORIZED}
    # The time and request id of the first request, the count of all of them.
    assert refusal_records() == [
        {
            "at": FROZEN_AT,
            "outcome": "missing",
            "address": "127.0.0.1",
            "account": "default",
            "count": SECONDS_LEFT,
            "request_id": responses[0]["X-Request-ID"],
        }
    ]


def test_the_next_minute_starts_a_new_record(client, frozen_clock):
    frozen_clock.at = FROZEN_AT + SECONDS_LEFT - 1
    last = [client.get("/otp") for _ in range(3)]
    frozen_clock.at = FROZEN_AT + SECONDS_LEFT
    following = [client.get("/otp") for _ in range(2)]
    rows = refusal_records()
    assert [(row["at"], row["count"]) for row in rows] == [
        (FROZEN_AT + SECONDS_LEFT - 1, 3),
        (FROZEN_AT + SECONDS_LEFT, 2),
    ]
    assert [row["request_id"] for row in rows] == [
        last[0]["X-Request-ID"],
        following[0]["X-Request-ID"],
    ]


def test_another_address_outcome_or_account_is_another_record(client, accounts, frozen_clock):
    kinds = [
        ("/otp", {}),
        ("/otp", {"REMOTE_ADDR": "192.0.2.9"}),
        ("/otp", {"HTTP_X_API_KEY": WRONG_KEY}),
        ("/accounts/alpha/otp", {}),
    ]
    # Interleaved: a record counts every request alike in its minute, not only a run of them.
    for _ in range(3):
        for path, extra in kinds:
            assert client.get(path, **extra).status_code == status.HTTP_401_UNAUTHORIZED
    assert [
        (row["address"], row["outcome"], row["account"], row["count"]) for row in refusal_records()
    ] == [
        ("127.0.0.1", "missing", "default", 3),
        ("192.0.2.9", "missing", "default", 3),
        ("127.0.0.1", "failed", "default", 3),
        ("127.0.0.1", "missing", "alpha", 3),
    ]


def test_made_up_account_names_and_key_ids_are_not_a_record_each(client, accounts, frozen_clock):
    held_key, held_id = new_client("alpha-bot", ["alpha"], signature=True)
    names = [f"made-up-{n}" for n in range(10)]
    key_ids = [f"{n:016x}" for n in range(10)]
    for name in names:
        client.get(f"/accounts/{name}/otp")
    for kid in key_ids:
        client.generic(
            "GET", "/otp", **{**wsgi(v2_headers(held_key, "GET", "/otp")), "HTTP_X_KEY_ID": kid}
        )
    # What the service holds is still named: a stored account, the default one, a real key id.
    client.get("/accounts/alpha/otp")
    client.get("/accounts/default/otp")
    forged = {**wsgi(v2_headers(held_key, "GET", "/otp")), "HTTP_X_SIGNATURE": "0" * 64}
    client.generic("GET", "/otp", **forged)
    rows = AuditRecord.objects.filter(action="authenticate").order_by("id")
    assert [(row.outcome, row.account, row.key_id, row.count) for row in rows] == [
        ("missing", "", "", 10),
        ("failed", "default", "", 10),
        ("missing", "alpha", "", 1),
        ("missing", "default", "", 1),
        ("failed", "default", held_id, 1),
    ]


def test_a_locked_out_address_is_one_record_a_minute_and_every_failure_still_counts(
    client, api_key, frozen_clock, settings
):
    settings.AUTH_FAILURE_LIMIT = 3
    failed = [client.get("/otp", HTTP_X_API_KEY=WRONG_KEY) for _ in range(3)]
    locked = [client.get("/otp", HTTP_X_API_KEY=api_key) for _ in range(10)]
    assert {r.status_code for r in failed} == {status.HTTP_401_UNAUTHORIZED}
    assert {r.status_code for r in locked} == {status.HTTP_429_TOO_MANY_REQUESTS}
    assert AuthFailureWindow.objects.get().failures == 3
    assert [(row["outcome"], row["count"], row["request_id"]) for row in refusal_records()] == [
        ("failed", 3, failed[0]["X-Request-ID"]),
        ("locked_out", 10, locked[0]["X-Request-ID"]),
    ]


def test_codes_and_refusals_of_authenticated_clients_stay_one_record_each(
    authed, accounts, frozen_clock
):
    scoped_key, _ = new_client("issue-bot", ["alpha"], verify=False)
    scoped = as_client(scoped_key)
    issued = [authed.get("/otp") for _ in range(3)]
    checked = [verify(authed, "123456") for _ in range(2)]
    hidden = [scoped.get("/accounts/beta/otp") for _ in range(2)]
    denied = [verify(scoped, "123456") for _ in range(2)]
    responses = issued + checked + hidden + denied
    assert [r.status_code for r in responses] == [200] * 5 + [404] * 2 + [403] * 2
    rows = AuditRecord.objects.filter(action__in=REQUEST_ACTIONS).order_by("id")
    assert [row.request_id for row in rows] == [r["X-Request-ID"] for r in responses]
    assert {(row.count, row.minute) for row in rows} == {(1, None)}


def test_each_refusal_is_its_own_log_line_under_its_own_request_id(
    client, frozen_clock, log_output, committed
):
    with committed():
        responses = [client.get("/otp") for _ in range(5)]
    assert len(refusal_records()) == 1
    lines = audit_lines(log_output)
    assert [line["request_id"] for line in lines] == [r["X-Request-ID"] for r in responses]
    assert {(line["action"], line["outcome"]) for line in lines} == {("authenticate", "missing")}


# --- the log line of each record ---


def test_each_record_is_one_json_audit_log_line(
    client, api_key, accounts, frozen_clock, log_output, committed
):
    own_key, _ = new_client("issue-bot", ["alpha"], verify=False)
    mine = as_client(own_key)
    env = as_client(api_key)
    log_output.truncate(0)
    log_output.seek(0)
    with committed():
        code = env.get("/accounts/alpha/otp").json()["otp"]
        verify(env, code)
        verify(env, code)
        verify(env, "000000", "beta")
        env.get("/otp")
        mine.get("/accounts/beta/otp")
        verify(mine, code)
        client.get("/otp", HTTP_X_API_KEY="wrong-key-0123456789abcdef")
        client.get("/otp")
    rows = [{name: row[name] for name in ("at", *FIELDS)} for row in request_records()]
    lines = audit_lines(log_output)
    assert len(rows) == 9
    assert len(lines) == len(rows)
    for line in lines:
        assert line["logger"] == "otp.audit"
        assert line["level"] == "INFO"
    logged = [{name: line[name] for name in ("at", *FIELDS)} for line in lines]
    assert sorted(logged, key=repr) == sorted(rows, key=repr)


def test_the_log_line_shares_the_request_id_of_the_access_line(
    authed, frozen_clock, log_output, committed
):
    with committed():
        response = authed.get("/otp", HTTP_X_REQUEST_ID="req-123")
    by_logger = {line["logger"]: line for line in log_lines(log_output)}
    assert by_logger["otp.audit"]["request_id"] == "req-123"
    assert by_logger["otp.access"]["request_id"] == response["X-Request-ID"] == "req-123"


@pytest.mark.django_db(transaction=True)
def test_the_log_line_is_written_when_the_record_commits(authed, api_key, frozen_clock, log_output):
    # No test transaction around the request here: the service's own commit writes the line.
    response = authed.get("/otp")
    [line] = audit_lines(log_output)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["client"] == f"env:{key_id(api_key)}"
    assert line["at"] == FROZEN_AT


# --- nothing secret on the record ---


def test_no_code_key_or_secret_in_any_record_or_log_line(
    client, api_key, accounts, frozen_clock, log_output, committed, settings
):
    settings.AUTH_FAILURE_LIMIT = 0
    bot_key, _ = new_client("alpha-bot", ["alpha", "wide", "default"])
    signer_key, _ = new_client("signing-bot", None, signature=True)
    rotated_key, _ = new_client("rotated-bot", ["beta"])
    second_key, _ = clients.rotate_client("rotated-bot", 300, audit.operator(), FROZEN_AT)
    wrong_key = "wrong-key-0123456789abcdef"
    bot, env = as_client(bot_key), as_client(api_key)
    codes, signatures = set(), set()

    def issued(response):
        assert response.status_code == status.HTTP_200_OK
        codes.add(response.json()["otp"])
        return response.json()["otp"]

    with committed():
        for name in ("alpha", "wide", "default"):
            code = issued(bot.get(f"/accounts/{name}/otp"))
            verify(bot, code, name)
            verify(bot, code, name)
        issued(env.get("/otp"))
        for offset in (-30, 30, 90):
            code = totp.code_at(ALPHA_SECRET, FROZEN_AT + offset)
            codes.add(code)
            verify(env, code)
        wide_wrong = wrong_code(WIDE_SECRET, FROZEN_AT, WIDE)
        codes.add(wide_wrong)
        verify(env, wide_wrong, "wide")
        for caller_key in (rotated_key, second_key):
            issued(as_client(caller_key).get("/accounts/beta/otp"))
        path = "/accounts/wide/otp"
        headers = wsgi(v2_headers(signer_key, "GET", path))
        signatures.add(headers["HTTP_X_SIGNATURE"])
        issued(client.generic("GET", path, **headers))
        body = json.dumps({"otp": totp.code_at(WIDE_SECRET, FROZEN_AT, WIDE)}).encode()
        verify_path = "/accounts/wide/otp/verify"
        headers = wsgi(v2_headers(signer_key, "POST", verify_path, body))
        signatures.add(headers["HTTP_X_SIGNATURE"])
        client.generic("POST", verify_path, body, content_type="application/json", **headers)
        headers = v1_headers(api_key)
        signatures.add(headers["X-Signature"])
        issued(env.get("/otp/secure", **wsgi(headers)))
        client.get("/otp", HTTP_X_API_KEY=wrong_key)
        client.get("/accounts/alpha/otp", HTTP_X_API_KEY=signer_key)
        verify(as_client(wrong_key), "123456")

    assert len(codes) >= 8
    secret_values = [DEFAULT_SECRET, ALPHA_SECRET, BETA_SECRET, WIDE_SECRET]
    keys = [api_key, bot_key, signer_key, rotated_key, second_key, wrong_key]
    long_values = [
        *secret_values,
        *(secret.lower() for secret in secret_values),
        *(secret.rstrip("=") for secret in secret_values),
        *keys,
        *signatures,
    ]
    text = log_output.getvalue()
    assert audit_lines(log_output)  # the log was captured at all
    for value in long_values:
        assert value not in text
    # A code is short: look for it in every logged value but the wall-clock time, whose
    # microseconds are six random digits.
    logged_values = json.dumps(
        [{k: v for k, v in line.items() if k != "time"} for line in log_lines(log_output)]
    )
    stored_values = json.dumps(
        [{k: str(v) for k, v in row.items()} for row in AuditRecord.objects.values()]
    )
    assert AuditRecord.objects.count() > 20
    for value in [*long_values, *codes]:
        assert value not in logged_values
        assert value not in stored_values


# --- no code or verification without its record ---


@pytest.mark.parametrize("path", ["/otp", "/accounts/alpha/otp", "/accounts/default/otp"])
def test_no_code_is_handed_out_when_its_record_cannot_be_written(
    authed, accounts, frozen_clock, log_output, audit_table_gone, path
):
    response = authed.get(path)
    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert set(response.json()) == {"error"}
    assert "otp" not in response.json()
    assert audit_lines(log_output) == []
    would_be = {totp.code_at(ALPHA_SECRET, FROZEN_AT), totp.code_at(DEFAULT_SECRET, FROZEN_AT)}
    for code in would_be:
        assert code.encode() not in response.content


def test_no_signed_code_is_handed_out_when_its_record_cannot_be_written(
    authed, api_key, frozen_clock, audit_table_gone
):
    response = authed.get("/otp/secure", **wsgi(v1_headers(api_key)))
    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert "otp" not in response.json()


def _one_time_state():
    return (
        list(AcceptedStep.objects.order_by("fingerprint").values_list()),
        list(VerifyFailures.objects.order_by("account").values_list()),
    )


@pytest.mark.parametrize(
    ("path", "secret"),
    [("/accounts/alpha/otp/verify", ALPHA_SECRET), ("/otp/verify", DEFAULT_SECRET)],
)
def test_a_verification_changes_nothing_when_its_record_cannot_be_written(
    authed, accounts, frozen_clock, path, secret
):
    def send(code):
        return authed.post(path, {"otp": code}, format="json")

    # A mark on the previous window and two wrong codes counted, for the failures to change.
    assert send(totp.code_at(secret, FROZEN_AT - 30)).json()["valid"] is True
    for _ in range(2):
        assert send(wrong_code(secret, FROZEN_AT)).json()["valid"] is False
    before = _one_time_state()
    assert before[0]
    assert before[1][0][1] == 2
    rows_before = AuditRecord.objects.count()

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE otp_auditrecord RENAME TO otp_auditrecord_gone")
    right = totp.code_at(secret, FROZEN_AT)
    answers = [send(right), send(right)] + [send(wrong_code(secret, FROZEN_AT)) for _ in range(6)]
    for response in answers:
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert set(response.json()) == {"error"}
    assert _one_time_state() == before
    restore_audit_table()

    assert AuditRecord.objects.count() == rows_before
    # The right code was not used up, and the six wrong ones did not block the account.
    assert send(right).json() == {"valid": True, "timestamp": FROZEN_AT}
    assert VerifyFailures.objects.get().failures == 0


def test_a_blocked_account_answers_503_not_429_when_its_record_cannot_be_written(
    authed, accounts, frozen_clock, settings
):
    settings.VERIFY_FAILURE_LIMIT = 1
    verify(authed, wrong_code(ALPHA_SECRET, FROZEN_AT))
    before = _one_time_state()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE otp_auditrecord RENAME TO otp_auditrecord_gone")
    response = verify(authed, totp.code_at(ALPHA_SECRET, FROZEN_AT))
    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert _one_time_state() == before


@pytest.fixture
def audit_inserts_refused():
    """Every insert into the audit table refused with an error other than an outage's (SQLite's
    constraint error, like PostgreSQL's revoked grant a 500 unless handled); rolled back with
    the test."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER otp_audit_refused BEFORE INSERT ON otp_auditrecord "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )


def test_any_database_error_writing_a_record_is_503_and_changes_nothing(
    client, api_key, accounts, frozen_clock, log_output, audit_inserts_refused
):
    env = as_client(api_key)
    code = totp.code_at(ALPHA_SECRET, FROZEN_AT)
    responses = [
        env.get("/otp"),
        verify(env, code),
        verify(env, wrong_code(ALPHA_SECRET, FROZEN_AT)),
        client.get("/otp", HTTP_X_API_KEY=WRONG_KEY),
        client.get("/otp"),
    ]
    for response in responses:
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert response.json() == UNAVAILABLE
    # No code used up or wrong code counted, no failed authentication counted.
    assert _one_time_state() == ([], [])
    assert not AuthFailureWindow.objects.exists()
    # One line per refusal naming the error's class, without its message or a traceback.
    problems = [line for line in log_lines(log_output) if line["logger"] == "otp.audit"]
    assert [line["event"] for line in problems] == ["audit_not_written"] * len(responses)
    assert problems[0]["error"] == "IntegrityError: IntegrityError"
    text = log_output.getvalue()
    assert "refused by the test" not in text
    assert "Traceback" not in text


def test_a_record_not_written_is_a_one_line_error_for_the_operator_too(
    frozen_clock, audit_inserts_refused
):
    with pytest.raises(CommandError) as refused:
        call_otp("audit", "purge")
    assert str(refused.value).startswith("the database cannot be used: AuditNotWritten")


def test_records_written_before_the_upgrade_count_one(tmp_path):
    assert manage(tmp_path, "migrate", "otp", "0002", "--verbosity", "0").returncode == 0
    database = tmp_path / "otp.sqlite3"
    old_row = (
        "INSERT INTO otp_auditrecord (at, client, key_id, account, action, outcome, address, "
        "request_id) VALUES ('2023-11-14 22:13:20', '', '', 'default', 'authenticate', "
        "'missing', '127.0.0.1', '{}')"
    )
    with sqlite3.connect(database) as before:
        before.execute(old_row.format("before"))
    assert manage(tmp_path, "migrate", "--verbosity", "0").returncode == 0
    with sqlite3.connect(database) as after:
        # An instance of the previous release, still running during a deploy, inserts so too.
        after.execute(old_row.format("during"))
        rows = after.execute(
            "SELECT request_id, count, minute FROM otp_auditrecord ORDER BY id"
        ).fetchall()
    assert rows == [("before", 1, None), ("during", 1, None)]


def test_the_audit_table_renamed_by_earlier_tests_is_back(authed, frozen_clock):
    # Runs after the tests above in file order: their renames were rolled back with them.
    tables = connection.introspection.table_names()
    assert "otp_auditrecord" in tables
    assert "otp_auditrecord_gone" not in tables
    assert authed.get("/otp").status_code == status.HTTP_200_OK
    assert AuditRecord.objects.filter(action="issue").count() == 1
