"""Who may call: the all-access keys of the environment, and clients with keys of their own,
limited to some accounts and actions."""

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from otp import audit, sealing
from otp.accounts import DEFAULT_NAME
from otp.audit import Actor
from otp.credentials import constant_time_equal, key_id, matching_key
from otp.models import Account, Client, ClientKey
from otp.otpauth import ACCOUNT_NAME

ISSUE, VERIFY = "issue", "verify"
# Longer than the 16 characters the environment keys need, and URL-safe so it pastes anywhere.
_KEY_BYTES = 32


class ClientError(ValueError):
    """An operator's request that cannot be done; the message is one line for the command."""


@dataclass(frozen=True)
class Caller:
    """The authenticated principal: what it may see and do. The service has no user accounts."""

    name: str
    key_id: str
    all_accounts: bool = True
    accounts: frozenset[str] = frozenset()
    may_issue: bool = True
    may_verify: bool = True
    requires_signature: bool = False
    is_authenticated: ClassVar[bool] = True

    def may_see(self, account: str) -> bool:
        return self.all_accounts or account in self.accounts

    def may(self, action: str, account: str) -> bool:
        allowed = self.may_issue if action == ISSUE else self.may_verify
        return allowed and self.may_see(account)


def environment_caller(api_key: str) -> Caller:
    """API_KEY and API_KEYS: every account, every action."""
    kid = key_id(api_key)
    return Caller(name=f"env:{kid}", key_id=kid)


def caller_for_key(presented: str, now: int) -> Caller | None:
    """The caller whose API key was sent as X-API-Key, or None."""
    api_key = matching_key(presented, settings.API_KEYS)
    if api_key is not None:
        return environment_caller(api_key)
    found = _live_key(key_id(presented), now)
    digest = hashlib.sha256(presented.encode()).hexdigest()
    if found is None or not constant_time_equal(digest, found.key_hash):
        return None
    return _caller(found)


def signing_key(claimed_id: str, now: int) -> tuple[str, Caller] | None:
    """The key behind a v2 X-Key-Id, and its caller; None if no live key has that id."""
    for api_key in settings.API_KEYS:
        if constant_time_equal(key_id(api_key), claimed_id):
            return api_key, environment_caller(api_key)
    found = _live_key(claimed_id, now)
    if found is None:
        return None
    api_key = sealing.open_sealed(found.sealed_key, key_associated_data(found.key_id)).decode()
    return api_key, _caller(found)


def live_keys(now: int):
    """The keys that work at `now`: their client is not revoked and their grace has not ended."""
    moment = datetime.fromtimestamp(now, UTC)
    return ClientKey.objects.filter(client__revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=moment)
    )


def _live_key(kid: str, now: int) -> ClientKey | None:
    # Read on every request, from the database every instance shares: a revocation or an
    # expired grace period holds everywhere at once, with no cache to wait out.
    return live_keys(now).select_related("client").filter(key_id=kid).first()


def _caller(found: ClientKey) -> Caller:
    client = found.client
    return Caller(
        name=client.name,
        key_id=found.key_id,
        all_accounts=client.all_accounts,
        accounts=frozenset(client.accounts),
        may_issue=client.may_issue,
        may_verify=client.may_verify,
        requires_signature=client.requires_signature,
    )


def key_associated_data(kid: str) -> str:
    """Binds a sealed key to its key id: copied onto another row, it does not open."""
    return f"client-key:{kid}"


def create_client(
    name: str,
    *,
    accounts: list[str] | None,
    may_issue: bool,
    may_verify: bool,
    requires_signature: bool,
    actor: Actor,
    now: int,
) -> tuple[str, str]:
    """Create the client with a first key; return (API key, key id), the only time the key
    is seen. `accounts=None` means every account."""
    _check_name(name)
    if not (may_issue or may_verify):
        raise ClientError("give --issue, --verify or both: a client that may do nothing is useless")
    if accounts is not None:
        if not accounts:
            raise ClientError("give --account NAME (repeatable) or --all-accounts")
        known = set(Account.objects.filter(name__in=accounts).values_list("name", flat=True))
        unknown = sorted(set(accounts) - known - {DEFAULT_NAME})
        if unknown:
            raise ClientError(f'no account "{unknown[0]}"')
    with transaction.atomic():
        if Client.objects.filter(name=name).exists():
            raise ClientError(f'client "{name}" already exists')
        client = Client.objects.create(
            name=name,
            all_accounts=accounts is None,
            accounts=sorted(set(accounts or [])),
            may_issue=may_issue,
            may_verify=may_verify,
            requires_signature=requires_signature,
            created_at=datetime.fromtimestamp(now, UTC),
        )
        api_key, kid = _add_key(client, now)
        audit.record(replace(actor, client=name, key_id=kid), "client.create", "ok", "", now)
    return api_key, kid


def _check_name(name: str) -> None:
    # Client names follow the account-name rule, so they are safe to quote in any message.
    if not ACCOUNT_NAME.fullmatch(name):
        raise ClientError("client name must match [a-z0-9][a-z0-9._-]{0,63}")


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
        key_hash=hashlib.sha256(api_key.encode()).hexdigest(),
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
        audit.record(replace(actor, client=name), "client.revoke", "ok", "", now)


def rotate_client(name: str, grace_seconds: int, actor: Actor, now: int) -> tuple[str, str]:
    """A new key for the client; its other keys keep working for `grace_seconds`, no longer."""
    _check_name(name)
    if grace_seconds < 0:
        raise ClientError("--grace must be 0 or more seconds")
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
        audit.record(replace(actor, client=name, key_id=kid), "client.rotate", "ok", "", now)
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
                "accounts": "*" if client.all_accounts else ",".join(client.accounts),
                "actions": ",".join(
                    action
                    for action, allowed in ((ISSUE, client.may_issue), (VERIFY, client.may_verify))
                    if allowed
                ),
                "requires_signature": client.requires_signature,
                "key_ids": live if client.revoked_at is None else [],
                "created_at": client.created_at,
                "revoked_at": client.revoked_at,
            }
        )
    return rows
