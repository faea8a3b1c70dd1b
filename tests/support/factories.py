"""Accounts and clients made through the real services, as the operator commands make them."""

from otp import audit, clients
from otp.accounts import add_accounts
from otp.core.otpauth import parse_secret_or_uri
from tests.conftest import FROZEN_AT


def add_account(name, secret, at=FROZEN_AT, **options):
    """Store an account from a bare secret or otpauth URI; options as for a bare secret."""
    add_accounts([(name, parse_secret_or_uri(secret, **options))], audit.operator(), at)


def new_client(
    name, accounts=None, *, issue=True, verify=True, metrics=False, signature=False, now=FROZEN_AT
):
    """(API key, key id) of a new client; `accounts=None` grants every account."""
    return clients.create_client(
        name,
        accounts=accounts,
        may_issue=issue,
        may_verify=verify,
        may_read_metrics=metrics,
        requires_signature=signature,
        actor=audit.operator(),
        now=now,
    )
