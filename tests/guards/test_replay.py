"""Each code is accepted once, and never after a newer one (RFC 6238 section 5.2)."""

import logging

from django.conf import settings

from otp.core import totp
from otp.models import AcceptedStep
from tests.conftest import FROZEN_AT


def verify(client, code):
    return client.post("/otp/verify", {"otp": code}, format="json").json()["valid"]


def test_a_code_is_accepted_once(authed, frozen_clock):
    code = totp.code_at(settings.OTP_SECRET, FROZEN_AT)
    assert verify(authed, code) is True
    assert verify(authed, code) is False


def test_an_older_code_is_refused_after_a_newer_one(authed, frozen_clock):
    current = totp.code_at(settings.OTP_SECRET, FROZEN_AT)
    previous = totp.code_at(settings.OTP_SECRET, FROZEN_AT - 30)
    assert verify(authed, current) is True
    assert verify(authed, previous) is False


def test_the_next_window_is_accepted_after_the_current_one(authed, frozen_clock):
    assert verify(authed, totp.code_at(settings.OTP_SECRET, FROZEN_AT)) is True
    assert verify(authed, totp.code_at(settings.OTP_SECRET, FROZEN_AT + 30)) is True


def test_a_replay_looks_like_a_wrong_code_but_the_log_says_why(authed, frozen_clock, caplog):
    caplog.set_level(logging.INFO)
    code = totp.code_at(settings.OTP_SECRET, FROZEN_AT)
    verify(authed, code)
    replay = authed.post("/otp/verify", {"otp": code}, format="json")
    wrong = authed.post("/otp/verify", {"otp": "000000" if code != "000000" else "111111"})
    assert replay.content == wrong.content
    outcomes = [r.verify for r in caplog.records if r.name == "otp.access"]
    assert outcomes == ["valid", "replayed", "invalid"]


def test_storage_holds_a_fingerprint_never_the_secret(authed, frozen_clock):
    verify(authed, totp.code_at(settings.OTP_SECRET, FROZEN_AT))
    (row,) = AcceptedStep.objects.all()
    assert row.fingerprint == totp.fingerprint(settings.OTP_SECRET)
    assert settings.OTP_SECRET not in row.fingerprint
    assert row.last_step == FROZEN_AT // 30


def test_a_wrong_code_records_nothing(authed, frozen_clock):
    verify(authed, "000000" if totp.code_at(settings.OTP_SECRET, FROZEN_AT) != "000000" else "1")
    assert not AcceptedStep.objects.exists()
