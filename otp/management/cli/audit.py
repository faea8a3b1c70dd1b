"""`manage.py otp audit ...`: list the audit trail, or purge what is past its retention."""

import argparse

from django.conf import settings
from django.core.management.base import CommandError

from otp import audit, audit_report
from otp.core import clock
from otp.management.cli import listing

_HELP = """\
Lists audit records, oldest first: codes issued, verifications, refused callers and every
operator change. Never a code, key or secret. Times are UTC.
COUNT is how many requests a record stands for: refused authentications alike (same address,
client, key id, account and outcome) within a minute share one record, with the time and
request id of the first; every other record is one event.
--format json writes one JSON object per line (for a log pipeline); csv has a header row.

audit purge deletes the records older than AUDIT_RETENTION_DAYS days, and records that it did."""


def add_parsers(commands) -> None:
    trail = commands.add_parser(
        "audit",
        # argparse would show the optional "purge" as if it were required.
        usage=(
            "%(prog)s [--since WHEN] [--account ACCOUNT] [--client CLIENT]\n"
            "         [--action ACTION] [--outcome OUTCOME] [--limit N] [--format {table,json,csv}]"
            "\n       %(prog)s purge"
        ),
        help="list audit records, or purge old ones (audit purge)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trail.add_argument(
        "--since", metavar="WHEN", help=f"only records from then on: {audit_report.SINCE_FORMS}"
    )
    trail.add_argument("--account", help="only records of this account")
    trail.add_argument(
        "--client",
        help=(
            'only records of this client; "operator" for account changes, rekey and purge '
            "(a change to a client is under the client's name)"
        ),
    )
    trail.add_argument("--action", help="only records of this action (issue, authenticate, ...)")
    trail.add_argument(
        "--outcome", help="only records of this outcome (issued, failed, missing, ...)"
    )
    trail.add_argument(
        "--limit",
        metavar="N",
        type=_limit,
        help=f"only the N most recent matching records, still oldest first (1 to {LIMIT_MAX})",
    )
    listing.add_format_option(trail)
    trail.set_defaults(run=list_records)
    actions = trail.add_subparsers(
        dest="audit_command",
        metavar="purge",
        help="purge: delete the records older than AUDIT_RETENTION_DAYS days",
    )
    purge = actions.add_parser(
        "purge", help="delete the records older than AUDIT_RETENTION_DAYS days"
    )
    purge.set_defaults(run=purge_records)


LIMIT_MAX = audit_report.LIMIT_MAX


def _limit(text: str) -> int:
    """--limit's value; anything else is a usage error (argparse: one line, exit status 2)."""
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= LIMIT_MAX:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {LIMIT_MAX}")
    return int(text)


def list_records(command, options) -> None:
    since = None
    if options["since"] is not None:
        try:
            since = audit_report.since_moment(options["since"], clock.now())
        except audit_report.BadSince as bad:
            raise CommandError(str(bad)) from None
    rows = audit_report.records(
        since,
        options["account"],
        options["client"],
        action=options["action"],
        outcome=options["outcome"],
        limit=options["limit"],
    )
    listing.write_rows(command.stdout.write, rows, audit_report.COLUMNS, options["format"])
    if settings.AUDIT_ISSUED_CODES == "LOG":
        # On stderr: stdout stays the listing alone, for a script reading JSON or CSV.
        command.stderr.write(
            "codes handed out to clients since AUDIT_ISSUED_CODES=log are not listed: their "
            "records are the service's log lines"
        )


def purge_records(command, options) -> None:
    listing_options = ("since", "account", "client", "action", "outcome", "limit")
    if any(options[name] is not None for name in listing_options) or options["format"] != "table":
        # Silently ignored, they could look like a filter on what is deleted.
        raise CommandError(
            "audit purge takes no --since, --account, --client, --action, --outcome, --limit or "
            "--format: it deletes every record older than AUDIT_RETENTION_DAYS"
        )
    now = clock.now()
    deleted = audit_report.purge(audit.operator(), now)
    cutoff = listing.utc_text(audit_report.retention_cutoff(now))
    records = "1 audit record" if deleted == 1 else f"{deleted} audit records"
    command.stdout.write(
        f"deleted {records} older than {settings.AUDIT_RETENTION_DAYS} days (before {cutoff})"
    )
