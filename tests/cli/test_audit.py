"""`manage.py otp audit`: listing the audit trail by time, account and client, and purging it."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management.base import CommandError

from otp import audit, audit_report
from otp.core.principals import Actor
from otp.models import AuditRecord
from tests.conftest import FROZEN_AT
from tests.support.commands import call_otp
from tests.support.commands import manage as run_manage

HOUR, DAY = 3600, 86400
BOT = Actor(client="bot", key_id="0123456789abcdef", address="192.0.2.7", request_id="req-1")
OTHER = Actor(client="other", key_id="fedcba9876543210", address="192.0.2.8", request_id="req-2")


def listed(*args) -> list[dict]:
    """The records `audit ARGS` lists, read back from its JSON lines."""
    return [
        json.loads(line) for line in call_otp("audit", "--format", "json", *args).out.splitlines()
    ]


def actions(*args) -> list[str]:
    return [row["action"] for row in listed(*args)]


@pytest.fixture
def trail(frozen_clock):
    """Records written out of time order, as concurrent workers may commit them."""
    now = frozen_clock.at
    audit.record(BOT, action="issue", outcome="ok", account="github-bot", at=now - 10)
    audit.record(OTHER, action="verify", outcome="rejected", account="deploy", at=now - 2 * DAY - 1)
    audit.record(BOT, action="verify", outcome="ok", account="deploy", at=now - HOUR)
    audit.record(BOT, action="authenticate", outcome="refused", at=now - HOUR - 1)
    audit.record(
        OTHER, action="issue", outcome="ok", account="github-bot", at=now - 10
    )  # same second: kept in order
    return now


# --- listing ---------------------------------------------------------------------------------


def test_audit_lists_every_record_oldest_first(trail):
    assert actions() == ["verify", "authenticate", "verify", "issue", "issue"]
    assert [row["client"] for row in listed()][-2:] == ["bot", "other"]


def test_audit_json_is_one_object_per_line_with_utc_times(trail):
    first = listed()[0]
    assert first == {
        "at": "2023-11-12T22:13:19Z",
        "client": "other",
        "key_id": "fedcba9876543210",
        "account": "deploy",
        "action": "verify",
        "outcome": "rejected",
        "address": "192.0.2.8",
        "request_id": "req-2",
        "count": 1,
        "step": None,
    }


def test_audit_csv_has_a_header_and_one_row_per_record(trail):
    rows = list(csv.DictReader(io.StringIO(call_otp("audit", "--format", "csv").out)))
    assert len(rows) == 5
    assert rows[0]["at"] == "2023-11-12T22:13:19Z"
    assert rows[0]["key_id"] == "fedcba9876543210"
    assert list(rows[0]) == list(audit_report.COLUMNS)


def test_audit_table_has_headings_and_aligned_columns(trail):
    lines = call_otp("audit", "--account", "github-bot").out.splitlines()
    assert lines == [
        "AT                    CLIENT  KEY ID            ACCOUNT     ACTION  OUTCOME  ADDRESS"
        "    REQUEST ID  COUNT  STEP",
        "2023-11-14T22:13:10Z  bot     0123456789abcdef  github-bot  issue   ok       192.0.2.7"
        "  req-1       1      -",
        "2023-11-14T22:13:10Z  other   fedcba9876543210  github-bot  issue   ok       192.0.2.8"
        "  req-2       1      -",
    ]


def test_audit_filters_by_account_and_client(trail):
    assert actions("--account", "deploy") == ["verify", "verify"]
    assert actions("--client", "other") == ["verify", "issue"]
    assert actions("--account", "deploy", "--client", "bot") == ["verify"]
    assert listed("--client", "nobody") == []


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("1h", ["verify", "issue", "issue"]),  # one hour back exactly is included
        ("60m", ["verify", "issue", "issue"]),
        ("3601s", ["authenticate", "verify", "issue", "issue"]),
        ("30m", ["issue", "issue"]),
        ("2d", ["authenticate", "verify", "issue", "issue"]),
        ("3d", ["verify", "authenticate", "verify", "issue", "issue"]),
        ("2023-11-14", ["authenticate", "verify", "issue", "issue"]),
        ("2023-11-14T21:13", ["authenticate", "verify", "issue", "issue"]),
        ("2023-11-14T21:13:20", ["verify", "issue", "issue"]),
        ("2023-11-14T21:13:20Z", ["verify", "issue", "issue"]),
        ("2023-11-14T22:13:11", []),
    ],
)
def test_audit_since_takes_durations_and_utc_dates(trail, since, expected):
    assert actions("--since", since) == expected


@pytest.mark.parametrize(
    "since",
    [
        "3x",
        "1 h",
        "-1h",
        "h",
        "yesterday",
        "2023-13-01",
        "2023-02-30",
        "2023-11-14T25:00",
        "2023-11-14 12:00",
        "2023-11-14T12:00+02:00",
        "999999999d",
        "",
    ],
)
def test_audit_refuses_a_bad_since_in_one_line(trail, since):
    with pytest.raises(CommandError) as refused:
        call_otp("audit", f"--since={since}")  # "=": argparse would take "-1h" for an option
    assert str(refused.value) == (
        "--since must be a duration such as 30m, 1h or 2d, or a UTC date or time such as "
        "2026-01-01 or 2026-01-01T12:00"
    )


def test_since_moment_counts_back_from_now_and_reads_dates_as_utc():
    assert audit_report.since_moment("2d", FROZEN_AT) == datetime(
        2023, 11, 12, 22, 13, 20, tzinfo=UTC
    )
    assert audit_report.since_moment("2026-01-01", FROZEN_AT) == datetime(2026, 1, 1, tzinfo=UTC)
    assert audit_report.since_moment("2026-01-01T12:00", 0) == datetime(2026, 1, 1, 12, tzinfo=UTC)


# --- counts, and the action, outcome and limit filters ---------------------------------------

STRANGER = Actor(client="", address="198.51.100.4", request_id="first-refusal")


@pytest.fixture
def refusals(frozen_clock):
    """Three refusals alike in one minute, two more of another outcome, then a code issued."""
    now = frozen_clock.at
    for _ in range(3):
        audit.record_refusal(STRANGER, outcome="missing", account="default", at=now - 30)
    for _ in range(2):
        audit.record_refusal(STRANGER, outcome="failed", account="default", at=now - 5)
    audit.record(BOT, action="issue", outcome="issued", account="default", at=now - 1)
    return now


def test_audit_shows_how_many_requests_each_record_stands_for(refusals):
    assert [(row["outcome"], row["count"]) for row in listed()] == [
        ("missing", 3),
        ("failed", 2),
        ("issued", 1),
    ]
    assert listed()[0]["request_id"] == "first-refusal"
    rows = list(csv.DictReader(io.StringIO(call_otp("audit", "--format", "csv").out)))
    assert [row["count"] for row in rows] == ["3", "2", "1"]
    table = call_otp("audit").out.splitlines()
    assert table[0].split()[-2:] == ["COUNT", "STEP"]
    assert [line.split()[-2] for line in table[1:]] == ["3", "2", "1"]


def test_audit_filters_by_action_and_outcome(refusals):
    assert [row["outcome"] for row in listed("--action", "authenticate")] == ["missing", "failed"]
    assert [row["count"] for row in listed("--outcome", "failed")] == [2]
    assert actions("--action", "issue", "--outcome", "issued", "--client", "bot") == ["issue"]
    assert listed("--action", "authenticate", "--outcome", "issued") == []


def test_audit_limit_lists_the_most_recent_records_oldest_first(trail):
    assert [row["client"] for row in listed("--limit", "2")] == ["bot", "other"]
    assert actions("--limit", "3") == ["verify", "issue", "issue"]
    assert actions("--limit", "100000") == ["verify", "authenticate", "verify", "issue", "issue"]
    # The limit applies to what the other options chose.
    assert [row["at"] for row in listed("--account", "deploy", "--limit", "1")] == [
        "2023-11-14T21:13:20Z"
    ]
    assert actions("--client", "other", "--limit", "1", "--since", "3d") == ["issue"]


@pytest.mark.parametrize(
    "limit", ["0", "-1", "x", "1.5", "1e3", " 3", "", "100001", "9" * 30, "\u0663"]
)
def test_audit_refuses_a_limit_that_is_not_a_whole_number_in_range(trail, limit):
    with pytest.raises(CommandError) as refused:
        call_otp("audit", f"--limit={limit}")
    assert str(refused.value) == (
        "Error: argument --limit: must be a whole number from 1 to 100000"
    )


# --- purge -----------------------------------------------------------------------------------


def test_purge_deletes_only_records_older_than_the_retention_and_records_itself(
    settings, frozen_clock
):
    settings.AUDIT_RETENTION_DAYS = 90
    now = frozen_clock.at
    audit.record(BOT, action="issue", outcome="ok", account="old", at=now - 400 * DAY)
    audit.record(BOT, action="issue", outcome="ok", account="just-past", at=now - 90 * DAY - 1)
    audit.record(BOT, action="issue", outcome="ok", account="at-the-limit", at=now - 90 * DAY)
    audit.record(BOT, action="issue", outcome="ok", account="recent", at=now - DAY)
    out = call_otp("audit", "purge").out
    assert out == "deleted 2 audit records older than 90 days (before 2023-08-16T22:13:20Z)\n"
    assert list(AuditRecord.objects.order_by("at").values_list("account", flat=True)) == [
        "at-the-limit",
        "recent",
        "",
    ]
    purge = AuditRecord.objects.get(action="audit.purge")
    assert (purge.client, purge.address, purge.outcome) == ("operator", "local", "ok")
    assert purge.at.timestamp() == now


def test_purge_follows_the_configured_retention(settings, frozen_clock):
    settings.AUDIT_RETENTION_DAYS = 1
    audit.record(
        BOT, action="issue", outcome="ok", account="two-days", at=frozen_clock.at - 2 * DAY
    )
    audit.record(BOT, action="issue", outcome="ok", account="an-hour", at=frozen_clock.at - HOUR)
    assert call_otp("audit", "purge").out.startswith("deleted 1 audit record older than 1 days")
    assert AuditRecord.objects.filter(account="two-days").count() == 0
    assert AuditRecord.objects.filter(account="an-hour").count() == 1


@pytest.mark.parametrize(
    "options",
    [
        ["--since", "1h"],
        ["--account", "x"],
        ["--client", "bot"],
        ["--format", "csv"],
        ["--action", "issue"],
        ["--outcome", "ok"],
        ["--limit", "1"],
    ],
)
def test_purge_refuses_listing_options_and_deletes_nothing(trail, options):
    before = AuditRecord.objects.count()
    with pytest.raises(CommandError, match="audit purge takes no --since"):
        call_otp("audit", *options, "purge")
    assert AuditRecord.objects.count() == before


# --- the real command line -------------------------------------------------------------------


def test_command_line_audit_exit_codes_and_clean_json_on_stdout(tmp_path):
    def manage(*args):
        return run_manage(tmp_path, *args)

    assert manage("migrate", "--verbosity", "0").returncode == 0
    purged = manage("otp", "audit", "purge")
    assert purged.returncode == 0
    assert purged.stdout.startswith("deleted 0 audit records older than 90 days")

    listing = manage("otp", "audit", "--format", "json", "--since", "1h")
    assert listing.returncode == 0
    assert [json.loads(line)["action"] for line in listing.stdout.splitlines()] == ["audit.purge"]

    bad = manage("otp", "audit", "--since", "yesterday")
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("CommandError: --since must be a duration")
    assert len(bad.stderr.splitlines()) == 1


def test_command_line_bad_limit_is_a_usage_error(tmp_path):
    bad = run_manage(tmp_path, "otp", "audit", "--limit", "0")
    assert bad.returncode == 2
    assert bad.stdout == ""
    errors = [line for line in bad.stderr.splitlines() if "error" in line]
    assert errors == [
        "manage.py otp audit: error: argument --limit: must be a whole number from 1 to 100000"
    ]
