"""?min_validity=N: a code that stays valid long enough, waiting for the next window if it must;
&wait=false: 409 with Retry-After instead. The clock is frozen and the wait moves it: no test
sleeps."""

import pytest
from django.conf import settings
from rest_framework import status

from otp import waiting
from otp.core import totp
from otp.models import AuditRecord
from tests.conftest import FROZEN_AT
from tests.support.factories import add_account
from tests.support.signing import v1_headers, wsgi

# FROZEN_AT is 20 s into its 30 s window: its code has 10 s left.
LEFT = 10
NEXT_WINDOW = FROZEN_AT + LEFT
SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"


def issued_records():
    return list(AuditRecord.objects.filter(action="issue").values_list("at", "outcome"))


def test_enough_time_left_answers_the_current_code_at_once(authed, waits):
    reply = authed.get("/otp?min_validity=10")
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json() == {
        "otp": totp.code_at(settings.OTP_SECRET, FROZEN_AT),
        "valid_for_seconds": LEFT,
        "timestamp": FROZEN_AT,
    }
    assert waits == []


def test_too_little_time_left_waits_for_the_next_windows_code(authed, waits):
    reply = authed.get("/otp?min_validity=11")
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json() == {
        "otp": totp.code_at(settings.OTP_SECRET, NEXT_WINDOW),
        "valid_for_seconds": 30,
        "timestamp": NEXT_WINDOW,
    }
    assert waits == [NEXT_WINDOW]
    # The record carries the time the code was handed out, not the time it was asked for.
    assert [int(at.timestamp()) for at, _ in issued_records()] == [NEXT_WINDOW]


def test_wait_false_answers_409_with_retry_after_and_hands_out_nothing(authed, waits):
    reply = authed.get("/otp?min_validity=29&wait=false")
    assert reply.status_code == status.HTTP_409_CONFLICT
    assert reply["Retry-After"] == str(LEFT)
    assert reply.json() == {
        "error": "The next code is not out yet: try again after Retry-After seconds."
    }
    assert waits == []
    assert issued_records() == []


def test_wait_false_with_enough_time_left_answers_at_once(authed, waits):
    reply = authed.get("/otp?min_validity=5&wait=false")
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json()["timestamp"] == FROZEN_AT


@pytest.mark.parametrize(
    "query",
    [
        "min_validity=0",
        "min_validity=30",
        "min_validity=-1",
        "min_validity=",
        "min_validity=abc",
        "min_validity=10.0",
        "min_validity=1e1",
        "min_validity=%D9%A3",  # an Arabic-Indic digit: not ASCII
        "min_validity=99999",
        "min_validity=10&wait=maybe",
        "min_validity=10&wait=False",
        "min_validity=10&min_validity=29",
        "min_validity=10&wait=true&wait=false",
    ],
)
def test_anything_else_is_400_and_hands_out_nothing(authed, waits, query):
    reply = authed.get(f"/otp?{query}")
    assert reply.status_code == status.HTTP_400_BAD_REQUEST
    message = reply.json()["error"]
    assert message.startswith(("min_validity: ", "wait: "))
    assert waits == []
    assert issued_records() == []


def test_the_bound_is_the_accounts_own_period(authed, waits):
    add_account("slow-bot", SECRET, period=60)
    assert authed.get("/accounts/slow-bot/otp?min_validity=59").status_code == 200
    assert authed.get("/accounts/slow-bot/otp?min_validity=60").status_code == 400


def test_an_accounts_code_waits_for_its_own_next_window(authed, waits):
    add_account("slow-bot", SECRET, period=60)  # FROZEN_AT is 20 s into a 60 s window
    reply = authed.get("/accounts/slow-bot/otp?min_validity=45")
    assert reply.json() == {
        "otp": totp.code_at(SECRET, FROZEN_AT + 40, totp.Params(period=60)),
        "valid_for_seconds": 60,
        "timestamp": FROZEN_AT + 40,
    }


def test_the_secure_endpoint_takes_it_too(client, api_key, waits):
    reply = client.get("/otp/secure?min_validity=11", **wsgi(v1_headers(api_key)))
    assert reply.status_code == status.HTTP_200_OK
    assert reply.json()["timestamp"] == NEXT_WINDOW


def test_a_refused_caller_never_waits(client, waits):
    reply = client.get("/otp?min_validity=29", HTTP_X_API_KEY="wrong")
    assert reply.status_code == status.HTTP_401_UNAUTHORIZED
    assert waits == []


def test_a_wait_cut_short_by_shutdown_is_503_and_hands_out_nothing(
    authed, frozen_clock, monkeypatch
):
    monkeypatch.setattr(waiting, "pause_until", lambda target: True)
    reply = authed.get("/otp?min_validity=29")
    assert reply.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert reply.json() == {"error": "The service is shutting down; try again."}
    assert reply["Retry-After"] == "1"
    assert issued_records() == []


def test_without_min_validity_nothing_changes(authed, waits):
    reply = authed.get("/otp?wait=false")
    assert reply.json()["timestamp"] == FROZEN_AT
    assert waits == []
