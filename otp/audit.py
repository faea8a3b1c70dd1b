"""The audit trail: a row and a JSON log line per code, verification and change (with
AUDIT_ISSUED_CODES=log a code handed out is the line alone); refused authentications counted by
the minute."""

import contextlib
import logging
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from otp import metrics
from otp.core.principals import OPERATOR, REFUSALS, Action, Actor, Outcome
from otp.exceptions import ServiceUnavailable
from otpsite.log_config import TrailRecord

audit_log = logging.getLogger("otp.audit")

# Plain SQL: written on every code handed out, where the ORM's query building would cost more
# than the insert itself (bench/profile_request.py measured that for the other hot paths).
_INSERT = (
    'INSERT INTO "otp_auditrecord" '
    "(at, client, key_id, account, action, outcome, address, request_id, step) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
# A refused authentication adds itself to its minute's record, which the first one creates
# (keeping its time and request id). One statement, atomic across workers and instances: the
# unique index otp_audit_one_refusal_a_minute (otp/models.py) serializes concurrent inserts, and
# the losers update. SQLite >= 3.24 and PostgreSQL both take it as written.
_COUNT_REFUSAL = (
    'INSERT INTO "otp_auditrecord" '
    '(at, client, key_id, account, action, outcome, address, request_id, "count", "minute") '
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s) "
    'ON CONFLICT (address, client, key_id, account, action, outcome, "minute") '
    'WHERE "minute" IS NOT NULL '
    'DO UPDATE SET "count" = "otp_auditrecord"."count" + 1'
)


class AuditNotWritten(ServiceUnavailable, DatabaseError):
    """The database refused the record for a reason other than being out of reach (a revoked
    grant, a constraint): a 503, and still a DatabaseError, so an operator command reports it
    in one line as before."""


def operator() -> Actor:
    """The person running `manage.py otp ...`; each command gets its own request id."""
    return Actor(client=OPERATOR, address="local", request_id=uuid.uuid4().hex)


def record(
    actor: Actor,
    *,
    action: Action,
    outcome: Outcome,
    account: str = "",
    at: int,
    step: int | None = None,
) -> None:
    """Write one record in the caller's transaction, and log it once that commits. `step`: the
    time step of a code handed out (which code, never the code itself).

    Raises if the row cannot be written (the database's error, or AuditNotWritten): the
    caller's transaction then rolls back too, and no code is handed out or accepted without its
    record.
    """
    fields = _fields(actor, action, outcome, account)
    if _on_the_log_alone(actor, outcome):
        _write_line(at, {**fields, "step": step})
        return
    with metrics.AUDIT_WRITE_SECONDS.time(), unwritten_is_503(), connection.cursor() as cursor:
        cursor.execute(_INSERT, [_db_time(at), *fields.values(), step])
    _on_commit(at, fields if step is None else {**fields, "step": step})


def _on_the_log_alone(actor: Actor, outcome: Outcome) -> bool:
    """Whether the record is its log line alone: a code handed out to a client, with
    AUDIT_ISSUED_CODES=log. An operator's code (`manage.py otp code`) keeps its row, since that
    command's log goes to its own terminal, not to the service's log pipeline."""
    return (
        outcome == Outcome.ISSUED
        and settings.AUDIT_ISSUED_CODES == "LOG"
        and actor.client != OPERATOR
    )


def _write_line(at: int, fields: dict) -> None:
    """The record as its log line alone, written now: in the caller's transaction, if any, so
    that a claimed step rolls back with a line that could not be written. Raises
    AuditNotWritten unless the line reached stdout (a full disk, a closed pipe, no handler)."""
    line = TrailRecord(audit_log.name, logging.INFO, "", 0, "audit", (), None)
    line.__dict__.update(event="audit", at=at, **fields)
    with metrics.AUDIT_WRITE_SECONDS.time():
        try:
            # handle(), not info(): the record is written whatever the log level.
            audit_log.handle(line)
        except Exception as problem:  # a write error, from TrailStreamHandler.emit
            # Through logging's usual path: where stdout fails too, logging reports it on stderr.
            _log_unwritten(type(problem).__name__)
            raise AuditNotWritten() from problem
    if not line.kept:
        raise AuditNotWritten()
    _count(fields)


def record_refusal(actor: Actor, *, outcome: Outcome, account: str, at: int) -> None:
    """Count one refused authentication (principals.REFUSALS) on the one record of its minute,
    address, client, key id and account, in the caller's transaction; raises as record() does.

    The caller passes only an account and key id the service holds (otp/api/base.py): a made-up
    name would be a record of its own, and a flood of them would grow the table. Each refusal is
    still its own log line, under its own request id (its access line's).
    """
    if outcome not in REFUSALS:
        raise ValueError(f"not a refused authentication: {outcome}")
    fields = _fields(actor, Action.AUTHENTICATE, outcome, account)
    with metrics.AUDIT_WRITE_SECONDS.time(), unwritten_is_503(), connection.cursor() as cursor:
        cursor.execute(_COUNT_REFUSAL, [_db_time(at), *fields.values(), at // 60])
    _on_commit(at, fields)


def _fields(actor: Actor, action: Action, outcome: Outcome, account: str) -> dict:
    # Plain strings: a database driver may write an enum member by its name, not its value.
    return {
        "client": actor.client,
        "key_id": actor.key_id,
        "account": account,
        "action": str(action),
        "outcome": str(outcome),
        "address": actor.address,
        "request_id": actor.request_id,
    }


def _db_time(at: int):
    return connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(at, UTC))


@contextlib.contextmanager
def unwritten_is_503():
    """A database error writing (or preparing) an audit record is a 503, never a 500."""
    try:
        yield
    except (OperationalError, InterfaceError):
        # Out of reach or timed out: the storage outage every request path answers 503 for
        # (otp.exceptions.DEPENDENCY_ERRORS), logged there.
        raise
    except DatabaseError as problem:
        # Any other refusal would be a 500. The error's class names the cause (e.g.
        # InsufficientPrivilege, SQLSTATE 42501) without the message, which may quote values.
        cause = problem.__cause__ or problem
        _log_unwritten(
            f"{type(problem).__name__}: {type(cause).__name__}",
            sqlstate=getattr(cause, "sqlstate", None) or "",
        )
        raise AuditNotWritten() from problem


def _log_unwritten(error: str, **details) -> None:
    """The one line of a record that could not be written: the error's class, never its
    message (which may quote values)."""
    audit_log.error(
        "audit record not written, answering 503",
        extra={"event": "audit_not_written", "error": error, **details},
    )


def _on_commit(at: int, fields: dict) -> None:
    """Log the record and count it for GET /metrics once it is kept. Outside a transaction
    on_commit runs at once; inside, only if the transaction commits."""

    def kept():
        audit_log.info("audit", extra={"event": "audit", "at": at, **fields})
        _count(fields)

    transaction.on_commit(kept)


def _count(fields: dict) -> None:
    action, outcome = fields["action"], fields["outcome"]
    if action == Action.AUTHENTICATE:
        metrics.REFUSED_AUTHENTICATIONS.labels(outcome).inc()
    elif action == Action.ISSUE and outcome == Outcome.ISSUED:
        metrics.CODES_ISSUED.labels(fields["account"], fields["client"]).inc()
    elif action == Action.VERIFY and outcome not in _NOT_CHECKED:
        metrics.VERIFICATIONS.labels(fields["account"], outcome).inc()


# Verifications refused before a code was looked at: the account named was not found (a name
# the client chose, never a label) or not granted. GET /metrics counts them by status (404, 403).
_NOT_CHECKED = frozenset({Outcome.NOT_FOUND, Outcome.DENIED})
