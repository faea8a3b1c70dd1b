"""Who is calling: an all-access key of the environment, or a client's live key with its grants
(the Caller, otp/core/principals.py)."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q

from otp import sealing
from otp.core.credentials import constant_time_equal, key_hash, key_id, matching_key
from otp.core.principals import Caller
from otp.models import ClientKey

# What otp.core.credentials.key_id makes; anything else names no key and is not looked up.
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{16}")


def environment_caller(api_key: str) -> Caller:
    """API_KEY and API_KEYS: every account, every action, the metrics too."""
    kid = key_id(api_key)
    return Caller(
        name=f"env:{kid}",
        key_id=kid,
        all_accounts=True,
        accounts=frozenset(),
        may_issue=True,
        may_verify=True,
        may_read_metrics=True,
        requires_signature=False,
    )


def caller_for_key(presented: str, now: int) -> Caller | None:
    """The caller whose API key was sent as X-API-Key, or None."""
    api_key = matching_key(presented, settings.API_KEYS)
    if api_key is not None:
        return environment_caller(api_key)
    found = _live_key(key_id(presented), now)
    if found is None or not constant_time_equal(key_hash(presented), found.key_hash):
        return None
    return found.caller


def signing_key(claimed_id: str, now: int) -> tuple[str, Caller] | None:
    """The key behind a v2 X-Key-Id, and its caller; None if no live key has that id."""
    if not KEY_ID_PATTERN.fullmatch(claimed_id):
        return None
    for api_key in settings.API_KEYS:
        if constant_time_equal(key_id(api_key), claimed_id):
            return api_key, environment_caller(api_key)
    found = _live_key(claimed_id, now)
    if found is None:
        return None
    api_key = sealing.open_sealed(found.sealed_key, key_associated_data(claimed_id)).decode()
    return api_key, found.caller


def live_keys(now: int):
    """The keys that work at `now`: their client is not revoked and their grace has not ended."""
    moment = datetime.fromtimestamp(now, UTC)
    return ClientKey.objects.filter(client__revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=moment)
    )


@dataclass(frozen=True)
class _LiveKey:
    key_hash: str
    sealed_key: bytes
    caller: Caller


# Whether a refused request named a client key's id (otp/api/base.py): on the flood path.
_KEY_ID_EXISTS = 'SELECT EXISTS (SELECT 1 FROM "otp_clientkey" WHERE key_id = %s)'
# live_keys() as one statement: read on every request by a client, where the ORM's query
# building cost several times the query itself (bench/profile_issue.py).
_READ_LIVE_KEY = (
    "SELECT k.key_hash, k.sealed_key, c.name, c.all_accounts, c.accounts, c.may_issue, "
    'c.may_verify, c.may_read_metrics, c.requires_signature FROM "otp_clientkey" k '
    'JOIN "otp_client" c ON c.id = k.client_id '
    "WHERE k.key_id = %s AND c.revoked_at IS NULL "
    "AND (k.expires_at IS NULL OR k.expires_at > %s)"
)


def _live_key(kid: str, now: int) -> _LiveKey | None:
    # Read on every request, from the database every instance shares: a revocation or an
    # expired grace period holds everywhere at once, with no cache to wait out.
    moment = connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(now, UTC))
    with connection.cursor() as cursor:
        cursor.execute(_READ_LIVE_KEY, [kid, moment])
        row = cursor.fetchone()
    if row is None:
        return None
    (key_hash, sealed_key, name, all_accounts, accounts, may_issue, may_verify, may_read_metrics,
     must_sign) = row  # fmt: skip
    # JSON arrives as text from SQLite (and from PostgreSQL as Django configures psycopg).
    granted = json.loads(accounts) if isinstance(accounts, str) else accounts
    caller = Caller(
        name=name,
        key_id=kid,
        all_accounts=bool(all_accounts),
        accounts=frozenset(granted),
        may_issue=bool(may_issue),
        may_verify=bool(may_verify),
        may_read_metrics=bool(may_read_metrics),
        requires_signature=bool(must_sign),
    )
    return _LiveKey(key_hash, bytes(sealed_key), caller)


def is_key_id(kid: str) -> bool:
    """Whether some client key, live or not, has the id `kid`."""
    with connection.cursor() as cursor:
        cursor.execute(_KEY_ID_EXISTS, [kid])
        return bool(cursor.fetchone()[0])


def key_associated_data(kid: str) -> str:
    """Binds a sealed key to its key id: copied onto another row, it does not open."""
    return f"client-key:{kid}"
