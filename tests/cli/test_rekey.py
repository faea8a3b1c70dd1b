"""`manage.py otp rekey`: resealing every stored secret under the first encryption key."""

import base64

import pytest
from django.core.management.base import CommandError

from otp import accounts, client_keys, rekey
from otp.models import Account, AuditRecord, ClientKey
from tests.support.commands import call_otp
from tests.support.commands import manage as run_manage

OLD, NEW = bytes([4]) * 32, bytes([5]) * 32
SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"


def sealed_values():
    return (
        list(Account.objects.values_list("name", "sealed_secret")),
        list(ClientKey.objects.values_list("key_id", "sealed_key")),
    )


@pytest.fixture
def sealed_under_old(settings, frozen_clock):
    """An account and a client key sealed under OLD; returns the client's (API key, key id)."""
    settings.OTP_ENCRYPTION_KEYS = [OLD]
    call_otp("account", "add", "ci", stdin=SECRET)
    out = call_otp("client", "create", "bot", "--all-accounts", "--issue", "--quiet").out
    api_key = out.strip()
    return api_key, client_keys.caller_for_key(api_key, frozen_clock.at).key_id


def test_rekey_reseals_under_the_new_key_so_the_old_one_can_go(
    settings, frozen_clock, sealed_under_old
):
    api_key, kid = sealed_under_old
    settings.OTP_ENCRYPTION_KEYS = [NEW, OLD]
    out = call_otp("rekey").out
    assert out == (
        "resealed 2 stored secrets; everything stored now opens with the first "
        "OTP_ENCRYPTION_KEYS key\n"
    )
    settings.OTP_ENCRYPTION_KEYS = [NEW]
    assert rekey.unopenable(frozen_clock.at) == []
    assert accounts.get_account("ci").secret == SECRET
    assert client_keys.signing_key(kid, frozen_clock.at)[0] == api_key
    record = AuditRecord.objects.get(action="rekey")
    assert (record.client, record.address) == ("operator", "local")


def test_rekey_twice_reseals_nothing_the_second_time(settings, sealed_under_old):
    settings.OTP_ENCRYPTION_KEYS = [NEW, OLD]
    call_otp("rekey")
    assert call_otp("rekey").out.startswith("resealed 0 stored secrets;")


def test_rekey_without_the_old_key_fails_naming_it_and_changes_nothing(settings, sealed_under_old):
    settings.OTP_ENCRYPTION_KEYS = [NEW]
    before = sealed_values()
    with pytest.raises(CommandError) as refused:
        call_otp("rekey")
    message = str(refused.value)
    assert message.startswith(
        'OTP_ENCRYPTION_KEYS: no configured key opens the secret of account "ci"'
    )
    assert message.endswith("; nothing was changed")
    assert "\n" not in message
    assert sealed_values() == before
    assert not AuditRecord.objects.filter(action="rekey").exists()


def test_rekey_that_cannot_open_midway_changes_nothing(settings, sealed_under_old, monkeypatch):
    # The check passes, then the rekey meets a value it cannot open (changed since the check).
    settings.OTP_ENCRYPTION_KEYS = [NEW]
    monkeypatch.setattr(rekey, "check_keys_open_everything", lambda now: None)
    before = sealed_values()
    with pytest.raises(CommandError, match="cannot be opened with OTP_ENCRYPTION_KEYS"):
        call_otp("rekey")
    assert sealed_values() == before


def test_command_line_rekey_runs_despite_the_key_check_and_exits_1_when_a_key_is_missing(
    tmp_path,
):
    def manage(*args, keys, stdin=""):
        encoded = ",".join(base64.b64encode(key).decode() for key in keys)
        return run_manage(tmp_path, *args, stdin=stdin, OTP_ENCRYPTION_KEYS=encoded)

    assert manage("migrate", "--verbosity", "0", keys=[OLD]).returncode == 0
    assert manage("otp", "account", "add", "ci", keys=[OLD], stdin=SECRET).returncode == 0

    # The system check would refuse to start any command without OLD; rekey says why itself.
    missing = manage("otp", "rekey", keys=[NEW])
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [
        'CommandError: OTP_ENCRYPTION_KEYS: no configured key opens the secret of account "ci"; '
        "set the key that sealed it (the first key seals, every key opens); nothing was changed"
    ]

    rotated = manage("otp", "rekey", keys=[NEW, OLD])
    assert rotated.returncode == 0
    assert rotated.stdout.startswith("resealed 1 stored secret;")
    assert manage("otp", "rekey", keys=[NEW]).stdout.startswith("resealed 0 stored secrets;")


def test_a_key_whose_grace_has_ended_does_not_hold_up_a_start(
    settings, frozen_clock, sealed_under_old
):
    settings.OTP_ENCRYPTION_KEYS = [NEW, OLD]
    call_otp("client", "rotate", "bot", "--grace", "60")  # the new key is sealed under NEW
    call_otp("account", "remove", "ci")
    call_otp("account", "add", "cj", stdin=SECRET)
    frozen_clock.at += 60
    # Only the expired key is still sealed under OLD: dropping OLD must not stop a start.
    settings.OTP_ENCRYPTION_KEYS = [NEW]
    assert rekey.unopenable(frozen_clock.at) == []
    frozen_clock.at -= 1
    assert rekey.unopenable(frozen_clock.at) == ['client "bot"']
