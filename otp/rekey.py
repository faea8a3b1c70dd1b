"""OTP_ENCRYPTION_KEYS over time: what no key opens, and resealing all under the first key."""

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from otp import audit, sealing
from otp.accounts import associated_data as account_data
from otp.client_keys import key_associated_data as key_data
from otp.client_keys import live_keys
from otp.core.principals import Action, Actor, Outcome
from otp.models import Account


def _sealed_values(now: int, lock: bool = False):
    """(model row, field name, associated data, description) for every sealed value in use.

    Keys whose grace period has ended are left out: they never open again, so they must not
    hold up a start or a rekey (rotation deletes them). With `lock` (inside a transaction) the
    rows stay locked, so an account removed and added again meanwhile is not overwritten with
    the old secret.
    """
    accounts, keys = Account.objects.all(), live_keys(now).select_related("client")
    if lock:
        accounts, keys = accounts.select_for_update(), keys.select_for_update(of=("self",))
    for account in accounts:
        yield account, "sealed_secret", account_data(account.name), f'account "{account.name}"'
    for key in keys:
        yield key, "sealed_key", key_data(key.key_id), f'client "{key.client.name}"'


def unopenable(now: int) -> list[str]:
    """What no configured key opens, e.g. ['account "github-bot"']; empty when all is well."""
    problems = []
    for row, field, data, description in _sealed_values(now):
        try:
            sealing.open_sealed(getattr(row, field), data)
        except sealing.CannotOpen:
            problems.append(description)
    return problems


def check_keys_open_everything(now: int) -> None:
    """Raise ImproperlyConfigured naming OTP_ENCRYPTION_KEYS if any stored secret is locked."""
    problems = unopenable(now)
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise ImproperlyConfigured(
            f"OTP_ENCRYPTION_KEYS: no configured key opens the secret of {problems[0]}{more}; "
            "set the key that sealed it (the first key seals, every key opens)"
        )


def rekey(actor: Actor, now: int) -> int:
    """Reseal every stored secret under the first key, all in one transaction; returns how many
    were sealed under another key. Raises sealing.CannotOpen (and changes nothing) if one
    cannot be opened."""
    resealed = 0
    with transaction.atomic():
        for row, field, data, _ in _sealed_values(now, lock=True):
            sealed = getattr(row, field)
            if sealing.sealed_with_first_key(sealed):
                # Still opened here, so a damaged value stops the rekey instead of surviving it.
                sealing.open_sealed(sealed, data)
                continue
            setattr(row, field, sealing.seal(sealing.open_sealed(sealed, data), data))
            row.save(update_fields=[field])
            resealed += 1
        audit.record(actor, action=Action.REKEY, outcome=Outcome.OK, at=now)
    return resealed
