"""Exclusive accounts: each time step's code goes to one caller; the next caller in the same step
gets the next step's code (or 409 with wait=false). The clock is frozen; waits move it."""

import json

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from rest_framework import status

from otp import audit, waiting
from otp.audit import AuditNotWritten
from otp.core import totp
from otp.core.credentials import key_id
from otp.models import AuditRecord
from tests.conftest import FROZEN_AT
from tests.support.commands import call_otp

SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"
STEP = FROZEN_AT // 30  # FROZEN_AT is 20 s into its window: 10 s left
NEXT_WINDOW = FROZEN_AT + 10


@pytest.fixture
def exclusive(frozen_clock):
    call_otp("account", "add", "shared-login", "--exclusive", stdin=SECRET)
    return "/accounts/shared-login/otp"


def issued_steps():
    records = AuditRecord.objects.filter(action="issue", account="shared-login").order_by("id")
    return list(records.values_list("step", "client"))


def test_the_listing_says_which_accounts_are_exclusive(authed, exclusive):
    listed = {row["name"]: row["exclusive"] for row in authed.get("/accounts").json()["accounts"]}
    assert listed == {"default": False, "shared-login": True}
    assert "shared-login" in call_otp("account", "list").out


def test_a_second_caller_in_the_same_step_gets_the_next_steps_code(authed, exclusive, waits):
    first = authed.get(exclusive).json()
    second = authed.get(exclusive).json()
    assert first == {
        "otp": totp.code_at(SECRET, FROZEN_AT),
        "valid_for_seconds": 10,
        "timestamp": FROZEN_AT,
    }
    assert second == {
        "otp": totp.code_at(SECRET, NEXT_WINDOW),
        "valid_for_seconds": 30,
        "timestamp": NEXT_WINDOW,
    }
    assert waits == [NEXT_WINDOW]
    assert [step for step, _ in issued_steps()] == [STEP, STEP + 1]


def test_with_wait_false_the_second_caller_gets_409_and_retry_after(authed, exclusive, waits):
    assert authed.get(exclusive).status_code == status.HTTP_200_OK
    refused = authed.get(f"{exclusive}?wait=false")
    assert refused.status_code == status.HTTP_409_CONFLICT
    assert refused["Retry-After"] == "10"
    assert "error" in refused.json()
    assert waits == []
    assert [step for step, _ in issued_steps()] == [STEP]


def test_min_validity_applies_on_top(authed, exclusive, waits):
    first = authed.get(f"{exclusive}?min_validity=15").json()  # 10 s left: the next window
    second = authed.get(exclusive).json()  # that step is taken: the one after
    assert first["timestamp"] == NEXT_WINDOW
    assert second["timestamp"] == NEXT_WINDOW + 30
    assert waits == [NEXT_WINDOW, NEXT_WINDOW + 30]
    assert [step for step, _ in issued_steps()] == [STEP + 1, STEP + 2]


def test_a_shared_account_hands_the_same_step_to_everyone(authed, exclusive, waits):
    assert call_otp("account", "set", "shared-login", "--shared").out.strip() == (
        "account shared-login is now shared"
    )
    codes = {authed.get(exclusive).json()["otp"] for _ in range(3)}
    assert codes == {totp.code_at(SECRET, FROZEN_AT)}
    assert waits == []
    call_otp("account", "set", "shared-login", "--exclusive")
    assert authed.get(f"{exclusive}?wait=false").status_code == status.HTTP_200_OK
    assert authed.get(f"{exclusive}?wait=false").status_code == status.HTTP_409_CONFLICT


def test_verification_is_unchanged(authed, exclusive, waits):
    code = authed.get(exclusive).json()["otp"]
    reply = authed.post("/accounts/shared-login/otp/verify", {"otp": code}, format="json")
    assert reply.json() == {"valid": True, "timestamp": FROZEN_AT}


def test_a_step_whose_record_was_not_written_is_not_used_up(authed, exclusive, monkeypatch):
    real_record = audit.record

    def refuse_once(*args, **kwargs):
        monkeypatch.setattr(audit, "record", real_record)
        raise AuditNotWritten()

    monkeypatch.setattr(audit, "record", refuse_once)
    assert authed.get(exclusive).status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    reply = authed.get(f"{exclusive}?wait=false")
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json()["timestamp"] == FROZEN_AT


def test_the_audit_trail_says_which_client_got_which_step_and_never_the_code(
    authed, exclusive, waits
):
    codes = [authed.get(exclusive).json()["otp"] for _ in range(2)]
    caller = f"env:{key_id(settings.API_KEY)}"
    assert issued_steps() == [(STEP, caller), (STEP + 1, caller)]
    for record in AuditRecord.objects.all():
        assert not set(codes) & {str(value) for value in vars(record).values()}


def test_setting_is_audited_and_refused_for_default_and_unknown_names(exclusive):
    call_otp("account", "set", "shared-login", "--shared")
    actions = list(AuditRecord.objects.values_list("action", flat=True).order_by("id"))
    assert actions[-1] == "account.shared"
    with pytest.raises(CommandError, match="OTP_SECRET"):
        call_otp("account", "set", "default", "--exclusive")
    with pytest.raises(CommandError, match='no account "nobody"'):
        call_otp("account", "set", "nobody", "--exclusive")
    with pytest.raises(CommandError):
        call_otp("account", "set", "shared-login")  # --exclusive or --shared


def test_an_account_removed_during_the_wait_is_404_not_a_wait_without_end(
    authed, exclusive, monkeypatch, frozen_clock
):
    assert authed.get(exclusive).status_code == status.HTTP_200_OK

    def remove_then_wake(target):
        call_otp("account", "remove", "shared-login")
        frozen_clock.at = target
        return False

    monkeypatch.setattr(waiting, "pause_until", remove_then_wake)
    reply = authed.get(exclusive)
    assert reply.status_code == status.HTTP_404_NOT_FOUND
    assert reply.json() == {"error": "Account not found"}


def test_otp_audit_shows_the_step_each_client_got(authed, exclusive, waits):
    authed.get(exclusive)
    authed.get(exclusive)
    printed = call_otp(
        "audit", "--format", "json", "--account", "shared-login", "--action", "issue"
    )
    rows = [json.loads(line) for line in printed.out.splitlines()]
    assert [(row["client"], row["step"]) for row in rows] == [
        (f"env:{key_id(settings.API_KEY)}", STEP),
        (f"env:{key_id(settings.API_KEY)}", STEP + 1),
    ]
