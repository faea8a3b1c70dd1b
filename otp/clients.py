"""The operator's clients: creating them with their grants, revoking, rotating their keys."""

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from otp import audit, sealing
from otp.client_keys import key_associated_data
from otp.core.credentials import key_hash, key_id
from otp.core.names import ACCOUNT_NAME, DEFAULT_NAME
from otp.core.principals import OPERATOR, Action, Actor, Outcome
from otp.models import Account, Client, ClientKey

# Longer than the 16 characters the environment keys need, and URL-safe so it pastes anywhere.
_KEY_BYTES = 32
# A rotation is a move to a new key, not a second permanent one.
MAX_GRACE_SECONDS = 30 * 24 * 3600


class ClientError(ValueError):
    """An operator's request that cannot be done; the message is one line for the command."""


def create_client(
    name: str,
    *,
    accounts: list[str] | None,
    may_issue: bool,
    may_verify: bool,
    may_read_metrics: bool = False,
    requires_signature: bool,
    actor: Actor,
    now: int,
) -> tuple[str, str]:
    """Create the client with a first key; return (API key, key id), the only time the key
    is seen. `accounts=None` means every account; a client that only reads the metrics needs
    none."""
    _check_name(name)
    if not (may_issue or may_verify or may_read_metrics):
        raise ClientError(
            "give --issue, --verify, --metrics or several: a client that may do nothing is useless"
        )
    if accounts is not None and not accounts and (may_issue or may_verify):
        raise ClientError("give --account NAME (repeatable) or --all-accounts")
    with transaction.atomic():
        if accounts is not None:
            # Locked until the grant is stored: an account removed meanwhile would otherwise
            # leave a grant that a later account of the same name inherits.
            rows = Account.objects.select_for_update().filter(name__in=accounts)
            unknown = sorted(set(accounts) - set(rows.values_list("name", flat=True)))
            unknown = [name for name in unknown if name != DEFAULT_NAME]
            if unknown:
                raise ClientError(f'no account "{unknown[0]}"')
        if Client.objects.filter(name=name).exists():
            raise ClientError(f'client "{name}" already exists')
        try:
            with transaction.atomic():
                client = Client.objects.create(
                    name=name,
                    all_accounts=accounts is None,
                    accounts=sorted(set(accounts or [])),
                    may_issue=may_issue,
                    may_verify=may_verify,
                    may_read_metrics=may_read_metrics,
                    requires_signature=requires_signature,
                    created_at=datetime.fromtimestamp(now, UTC),
                )
        except IntegrityError:
            # Created by someone else between the check and now.
            raise ClientError(f'client "{name}" already exists') from None
        api_key, kid = _add_key(client, now)
        audit.record(
            replace(actor, client=name, key_id=kid),
            action=Action.CLIENT_CREATE,
            outcome=Outcome.OK,
            at=now,
        )
    return api_key, kid


def _check_name(name: str) -> None:
    # Client names follow the account-name rule, so they are safe to quote in any message.
    if not ACCOUNT_NAME.fullmatch(name):
        raise ClientError(f"client name must match {ACCOUNT_NAME.pattern}")
    if name == OPERATOR:
        # The audit trail's name for the person at the command line: a client must not pass
        # for them.
        raise ClientError(f'"{OPERATOR}" is reserved for the audit trail\'s operator')


def _add_key(client: Client, now: int) -> tuple[str, str]:
    env_ids = {key_id(key) for key in settings.API_KEYS}
    while True:
        api_key = "otp_" + secrets.token_urlsafe(_KEY_BYTES)
        kid = key_id(api_key)
        # 64-bit ids: a clash is practically impossible, but it would make a key unusable.
        if kid not in env_ids and not ClientKey.objects.filter(key_id=kid).exists():
            break
    ClientKey.objects.create(
        key_id=kid,
        client=client,
        key_hash=key_hash(api_key),
        sealed_key=sealing.seal(api_key.encode(), key_associated_data(kid)),
        created_at=datetime.fromtimestamp(now, UTC),
    )
    return api_key, kid


def revoke_client(name: str, actor: Actor, now: int) -> None:
    """Refuse every key of the client from now on, on every instance."""
    _check_name(name)
    with transaction.atomic():
        updated = Client.objects.filter(name=name, revoked_at__isnull=True).update(
            revoked_at=datetime.fromtimestamp(now, UTC)
        )
        if not updated:
            raise ClientError(f'no client "{name}" that is not revoked already')
        # A revoked key never works again: nothing of it (hash, sealed copy) need stay stored.
        ClientKey.objects.filter(client__name=name).delete()
        audit.record(
            replace(actor, client=name), action=Action.CLIENT_REVOKE, outcome=Outcome.OK, at=now
        )


def rotate_client(name: str, grace_seconds: int, actor: Actor, now: int) -> tuple[str, str]:
    """A new key for the client; its other keys keep working for `grace_seconds`, no longer."""
    _check_name(name)
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise ClientError(f"--grace must be 0 to {MAX_GRACE_SECONDS} seconds (30 days)")
    moment = datetime.fromtimestamp(now, UTC)
    with transaction.atomic():
        client = Client.objects.select_for_update().filter(name=name).first()
        if client is None or client.revoked_at is not None:
            raise ClientError(f'no client "{name}" that is not revoked')
        ends = moment + timedelta(seconds=grace_seconds)
        # Keys whose grace ended at an earlier rotation can never work again.
        client.keys.filter(expires_at__lte=moment).delete()
        client.keys.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ends)).update(
            expires_at=ends
        )
        api_key, kid = _add_key(client, now)
        audit.record(
            replace(actor, client=name, key_id=kid),
            action=Action.CLIENT_ROTATE,
            outcome=Outcome.OK,
            at=now,
        )
    return api_key, kid


def client_rows(now: int) -> list[dict]:
    """Every client for `client list`: never a key or its hash."""
    moment = datetime.fromtimestamp(now, UTC)
    rows = []
    for client in Client.objects.prefetch_related("keys"):
        live = [
            key.key_id
            for key in client.keys.all()
            if key.expires_at is None or key.expires_at > moment
        ]
        rows.append(
            {
                "name": client.name,
                # Lists: `client list --format json` keeps them lists, table and CSV join them.
                "accounts": ["*"] if client.all_accounts else list(client.accounts),
                "actions": [
                    action
                    for action, allowed in (
                        (Action.ISSUE, client.may_issue),
                        (Action.VERIFY, client.may_verify),
                        (Action.READ_METRICS, client.may_read_metrics),
                    )
                    if allowed
                ],
                "requires_signature": client.requires_signature,
                "key_ids": live if client.revoked_at is None else [],
                "created_at": client.created_at,
                "revoked_at": client.revoked_at,
            }
        )
    return rows
