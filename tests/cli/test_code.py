"""`manage.py otp code NAME`: the current code for a person at a terminal, audited as the
operator."""

import json
import re

import pytest
from django.conf import settings as django_settings
from django.core.management.base import CommandError

from otp.core import totp
from otp.models import AuditRecord
from tests.conftest import FROZEN_AT
from tests.support.commands import call_otp, manage
from tests.support.factories import add_account

SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"


def test_prints_the_current_code_alone_and_its_validity_on_stderr(frozen_clock):
    add_account("github-bot", SECRET)
    printed = call_otp("code", "github-bot")
    assert printed.out == totp.code_at(SECRET, FROZEN_AT, totp.DEFAULT) + "\n"
    assert printed.err == f"valid for {totp.seconds_left(FROZEN_AT, totp.DEFAULT)} s\n"


def test_the_default_account_is_otp_secrets(frozen_clock):
    printed = call_otp("code", "default")
    assert printed.out.strip() == totp.code_at(django_settings.OTP_SECRET, FROZEN_AT, totp.DEFAULT)


def test_each_code_printed_is_on_the_audit_trail_as_the_operators(frozen_clock):
    add_account("github-bot", SECRET)
    before = AuditRecord.objects.count()
    code = call_otp("code", "github-bot").out.strip()
    record = AuditRecord.objects.order_by("-id").first()
    assert AuditRecord.objects.count() == before + 1
    assert (record.client, record.action, record.outcome, record.account, record.address) == (
        "operator",
        "issue",
        "issued",
        "github-bot",
        "local",
    )
    assert int(record.at.timestamp()) == FROZEN_AT
    assert code not in {str(value) for value in vars(record).values()}


@pytest.mark.parametrize("name", ["nobody", "../default", "Default", ""])
def test_an_unknown_account_prints_nothing_and_records_nothing(frozen_clock, name):
    before = AuditRecord.objects.count()
    with pytest.raises(CommandError, match="no"):
        call_otp("code", name)
    assert AuditRecord.objects.count() == before


def test_a_shell_can_capture_the_code(tmp_path):
    assert manage(tmp_path, "migrate", "-v0").returncode == 0
    done = manage(tmp_path, "otp", "code", "default")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d{6}\n", done.stdout)
    # The audit line (a JSON line on stderr away from a terminal, as for every otp command)
    # never holds the code.
    assert re.fullmatch(r"valid for \d+ s", done.stderr.splitlines()[-1])
    logged = [json.loads(line) for line in done.stderr.splitlines()[:-1]]
    assert [line["event"] for line in logged] == ["audit"]
    assert done.stdout.strip() not in {str(value) for value in logged[0].values()}
    refused = manage(tmp_path, "otp", "code", "nobody")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert refused.stderr.strip().endswith('no account "nobody"')
