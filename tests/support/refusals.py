"""What every refused `manage.py otp account` command must show: one line, no secret, no change."""

import pytest
from django.core.management.base import CommandError

from otp.models import Account, AuditRecord, Client
from tests.support.commands import call_otp

# Distinctive, so any output or record that echoes it (or a recognisable part) is caught.
SECRET = "N52HALLTMVZHM2LDMUQHGZLLOJUXIIJB"
OTHER_SECRET = "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"


def stored_state():
    return (
        list(Account.objects.values_list("name", "sealed_secret")),
        list(Client.objects.values_list("name", "accounts")),
        list(AuditRecord.objects.values_list("action", "account")),
    )


def refusal(*args, stdin="") -> str:
    """The CommandError message of a refused command: one line, no secret, nothing changed."""
    before = stored_state()
    with pytest.raises(CommandError) as refused:
        call_otp(*args, stdin=stdin)
    message = str(refused.value)
    assert "\n" not in message
    assert_no_secret(message)
    assert stored_state() == before
    return message


def assert_no_secret(text: str):
    for secret in (SECRET, OTHER_SECRET):
        for leak in (secret, secret.lower(), secret[:12], secret[-12:]):
            assert leak not in text
