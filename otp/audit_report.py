"""The audit trail as operators read it (by time, account, client) and purge it (retention)."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from otp import audit
from otp.core.principals import Action, Actor, Outcome
from otp.models import AuditRecord

# Column key -> table heading, in the order shown.
COLUMNS = {
    "at": "AT",
    "client": "CLIENT",
    "key_id": "KEY ID",
    "account": "ACCOUNT",
    "action": "ACTION",
    "outcome": "OUTCOME",
    "address": "ADDRESS",
    "request_id": "REQUEST ID",
    # Added last, so that scripts reading the columns before them by position still find them.
    "count": "COUNT",
    # The time step of a code handed out (which client got which step); empty otherwise.
    "step": "STEP",
}
# The most --limit may ask for: a table is held in memory before it is printed.
LIMIT_MAX = 100_000
SINCE_FORMS = (
    "a duration such as 30m, 1h or 2d, or a UTC date or time such as 2026-01-01 or 2026-01-01T12:00"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d{1,9})([smhd])")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?Z?")


class BadSince(ValueError):
    """A --since value that names no moment; the message is one line."""


def since_moment(text: str, now: int) -> datetime:
    """The UTC moment `text` names: a duration back from `now` or a UTC date or time (a
    trailing Z is allowed, other offsets are not); else BadSince."""
    text = text.strip()
    try:
        if duration := _DURATION.fullmatch(text):
            amount, unit = duration.groups()
            return datetime.fromtimestamp(now - int(amount) * _UNIT_SECONDS[unit], UTC)
        if _MOMENT.fullmatch(text):
            return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        # 2026-02-30, or a duration reaching back before the year 1.
        pass
    raise BadSince(f"--since must be {SINCE_FORMS}")


def records(
    since: datetime | None = None,
    account: str | None = None,
    client: str | None = None,
    *,
    action: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
) -> Iterator[dict]:
    """The matching records, oldest first, as dicts of COLUMNS' keys; streamed, not loaded.
    With `limit`, only that many of the most recent ones."""
    chosen = AuditRecord.objects.all()
    if since is not None:
        chosen = chosen.filter(at__gte=since)
    for column, value in (
        ("account", account),
        ("client", client),
        ("action", action),
        ("outcome", outcome),
    ):
        if value is not None:
            chosen = chosen.filter(**{column: value})
    if limit is not None:
        newest = chosen.order_by("-at", "-id").values("id")[:limit]
        chosen = AuditRecord.objects.filter(id__in=newest)
    # id breaks ties: records written in the same second stay in the order they were written.
    return chosen.order_by("at", "id").values(*COLUMNS).iterator()


def retention_cutoff(now: int) -> datetime:
    """Records before this moment are past AUDIT_RETENTION_DAYS."""
    return datetime.fromtimestamp(now, UTC) - timedelta(days=settings.AUDIT_RETENTION_DAYS)


def purge(actor: Actor, now: int) -> int:
    """Delete the records older than AUDIT_RETENTION_DAYS and record the purge ("audit.purge"),
    in one transaction; returns how many were deleted."""
    with transaction.atomic():
        deleted, _ = AuditRecord.objects.filter(at__lt=retention_cutoff(now)).delete()
        audit.record(actor, action=Action.AUDIT_PURGE, outcome=Outcome.OK, at=now)
    return deleted
