"""AUDIT_ISSUED_CODES=log: the record of a code handed out is its JSON log line alone, written
before the answer at every log level; a line that cannot be written is a 503 with no code, and
an exclusive account's step stays unclaimed. Everything else keeps its row."""

import contextlib
import io
import json
import logging
import os

import pytest
from rest_framework import status
from rest_framework.test import APIClient

from otp import metrics
from otp.core import totp
from otp.models import AuditRecord
from tests.conftest import FROZEN_AT
from tests.support.commands import call_otp, manage
from tests.support.logs import audit_lines

SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"
UNAVAILABLE = {"error": "Service unavailable"}


@pytest.fixture(autouse=True)
def issued_codes_on_the_log(settings):
    settings.AUDIT_ISSUED_CODES = "LOG"


@pytest.fixture
def shared_login(frozen_clock):
    call_otp("account", "add", "shared-login", "--exclusive", stdin=SECRET)
    return "/accounts/shared-login/otp"


class FullDisk(io.StringIO):
    """A stream whose every write fails as a full disk's does."""

    def write(self, text):
        raise OSError(28, "No space left on device")


@contextlib.contextmanager
def log_written_to(log_output, stream):
    """The JSON log handler writes to `stream` instead of `log_output` while the block runs."""
    handler = next(h for h in logging.getLogger().handlers if h.stream is log_output)
    handler.setStream(stream)
    try:
        yield
    finally:
        handler.setStream(log_output)


def issued_total() -> float:
    return sum(
        sample.value
        for family in metrics.CODES_ISSUED.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def test_a_code_handed_out_is_one_line_and_no_row(authed, shared_login, log_output):
    counted = issued_total()
    answer = authed.get("/otp", HTTP_X_REQUEST_ID="req-1")
    assert answer.status_code == status.HTTP_200_OK
    assert authed.get(shared_login).status_code == status.HTTP_200_OK
    assert not AuditRecord.objects.filter(action="issue").exists()
    first, second = audit_lines(log_output)
    assert first["logger"] == "otp.audit"
    assert first["level"] == "INFO"
    assert {key: first[key] for key in ("at", "account", "action", "outcome", "request_id")} == {
        "at": FROZEN_AT,
        "account": "default",
        "action": "issue",
        "outcome": "issued",
        "request_id": "req-1",
    }
    assert first["step"] == second["step"] == FROZEN_AT // 30
    assert second["account"] == "shared-login"
    assert answer.json()["otp"] not in log_output.getvalue()
    assert issued_total() == counted + 2


def test_verifications_and_refusals_keep_their_rows(authed, log_output, frozen_clock):
    code = authed.get("/otp").json()["otp"]
    assert authed.post("/otp/verify", {"otp": code}).json()["valid"] is True
    stranger = APIClient()
    assert stranger.get("/otp", HTTP_X_API_KEY="wrong-key-0123456789abcdef").status_code == 401
    rows = AuditRecord.objects.values_list("action", "outcome")
    assert sorted(rows) == [("authenticate", "failed"), ("verify", "valid")]


def test_the_line_is_written_at_every_log_level(authed, log_output, frozen_clock):
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.CRITICAL)
    try:
        assert authed.get("/otp").status_code == status.HTTP_200_OK
    finally:
        root.setLevel(previous)
    [line] = audit_lines(log_output)
    assert line["outcome"] == "issued"


def test_a_line_that_cannot_be_written_is_a_503_without_a_code(authed, frozen_clock, log_output):
    counted = issued_total()
    with log_written_to(log_output, FullDisk()):
        answer = authed.get("/otp")
    assert answer.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert answer.json() == UNAVAILABLE
    assert issued_total() == counted


def test_an_exclusive_step_is_not_used_up_by_a_code_whose_line_failed(
    authed, shared_login, log_output
):
    with log_written_to(log_output, FullDisk()):
        refused = authed.get(shared_login)
    assert refused.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    # The claim rolled back with the line: the same step's code still goes to the next caller.
    answer = authed.get(f"{shared_login}?wait=false")
    assert answer.status_code == status.HTTP_200_OK
    assert answer.json()["otp"] == totp.code_at(SECRET, FROZEN_AT)


@pytest.mark.parametrize("cut_off", ["disabled", "no handler"])
def test_a_line_no_handler_writes_lets_no_code_leave(authed, frozen_clock, cut_off):
    audit_logger = logging.getLogger("otp.audit")
    # Disabled, or with no handler of its own and none above it: logging's last resort writes
    # only warnings.
    attribute, value = ("disabled", True) if cut_off == "disabled" else ("propagate", False)
    previous = getattr(audit_logger, attribute)
    setattr(audit_logger, attribute, value)
    try:
        answer = authed.get("/otp")
    finally:
        setattr(audit_logger, attribute, previous)
    assert answer.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert answer.json() == UNAVAILABLE


def test_a_line_that_failed_is_not_written_once_the_disk_has_room(
    authed, frozen_clock, log_output, tmp_path
):
    # A real file descriptor behind a buffered stream, as stdout is: first a full disk, then,
    # on the same descriptor, a file with room.
    with (
        open(os.open("/dev/full", os.O_WRONLY), "w") as stream,
        log_written_to(log_output, stream),
    ):
        refused = authed.get("/otp", HTTP_X_REQUEST_ID="refused")
        os.dup2(os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT), stream.fileno())
        served = authed.get("/otp", HTTP_X_REQUEST_ID="served")
    assert refused.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert served.status_code == status.HTTP_200_OK
    written = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    assert [line["request_id"] for line in written if line.get("event") == "audit"] == ["served"]
    # The refused request's access line and its audit_not_written line (neither a record) went
    # out once there was room.
    assert {"refused", "served"} <= {line.get("request_id") for line in written}
    [unwritten] = [line for line in written if line.get("event") == "audit_not_written"]
    assert unwritten["error"] == "OSError"


def test_the_operator_gets_a_row_and_a_listing_that_says_what_it_lacks(tmp_path):
    assert manage(tmp_path, "migrate", "-v0").returncode == 0
    done = manage(tmp_path, "otp", "code", "default", AUDIT_ISSUED_CODES="log")
    assert done.returncode == 0, done.stderr
    listed = manage(tmp_path, "otp", "audit", "--format", "json", AUDIT_ISSUED_CODES="log")
    assert listed.returncode == 0, listed.stderr
    # `otp code`'s log goes to its own terminal: its record is a row, as without the setting.
    [row] = [json.loads(text) for text in listed.stdout.splitlines()]
    assert (row["client"], row["action"], row["outcome"]) == ("operator", "issue", "issued")
    assert "since AUDIT_ISSUED_CODES=log" in listed.stderr
