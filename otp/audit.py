"""The audit trail: a row and a JSON log line per code, verification, refusal and change."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

audit_log = logging.getLogger("otp.audit")
# The client column of the operator's own changes; no client may be called this.
OPERATOR = "operator"

# Plain SQL: written on every code handed out, where the ORM's query building would cost more
# than the insert itself (bench/profile_request.py measured that for the other hot paths).
_INSERT = (
    'INSERT INTO "otp_auditrecord" '
    "(at, client, key_id, account, action, outcome, address, request_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: a client over HTTP, or the operator at the command line (whose
    changes to a client are recorded under that client's name)."""

    client: str
    key_id: str = ""
    address: str = ""
    request_id: str = ""


def operator() -> Actor:
    """The person running `manage.py otp ...`; each command gets its own request id."""
    return Actor(client=OPERATOR, address="local", request_id=uuid.uuid4().hex)


def record(actor: Actor, action: str, outcome: str, account: str, at: int) -> None:
    """Write one record in the caller's transaction, and log it once that commits.

    Raises the database's error if the row cannot be written: the caller's transaction then
    rolls back too, and no code is handed out or accepted without its record.
    """
    when = datetime.fromtimestamp(at, UTC)
    fields = {
        "client": actor.client,
        "key_id": actor.key_id,
        "account": account,
        "action": action,
        "outcome": outcome,
        "address": actor.address,
        "request_id": actor.request_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [connection.ops.adapt_datetimefield_value(when), *fields.values()])
    # Outside a transaction on_commit runs at once; inside, only if the record is kept.
    transaction.on_commit(
        lambda: audit_log.info("audit", extra={"event": "audit", "at": at, **fields})
    )
