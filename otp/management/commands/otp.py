"""`python manage.py otp ...`: the service's operator commands."""

import logging
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from otp.credentials import key_id
from otp.management import cli_accounts, cli_audit, cli_clients, cli_rekey


class Command(BaseCommand):
    help = (
        "otp-service operator commands: accounts, API clients, encryption keys, the audit trail. "
        "Every refusal is one line on stderr and a non-zero exit, with nothing changed."
    )
    # These commands repair what the system checks complain of (rekey; removing an account no
    # key opens), so they must not stop at those checks: each reports its own problem instead.
    requires_system_checks = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        keyid = commands.add_parser(
            "keyid",
            help="Print the v2 key id (X-Key-Id) of each configured API key; never the key.",
        )
        keyid.set_defaults(run=print_key_ids)
        for group in (cli_accounts, cli_clients, cli_rekey, cli_audit):
            group.add_parsers(commands)

    def run_from_argv(self, argv):
        _log_to_stderr()
        super().run_from_argv(argv)

    def handle(self, *args, run, **options):
        self.stdin = options.get("stdin") or sys.stdin
        try:
            run(self, options)
        except DatabaseError as problem:
            # Not migrated yet, or unreachable: one line naming the problem, not a traceback.
            lines = str(problem).strip().splitlines()
            detail = f": {lines[0]}" if lines else ""
            raise CommandError(
                f"the database cannot be used: {type(problem).__name__}{detail}"
            ) from None


def print_key_ids(command, options) -> None:
    for position, api_key in enumerate(settings.API_KEYS):
        source = "API_KEY" if position == 0 else f"API_KEYS item {position}"
        command.stdout.write(f"{key_id(api_key)}  {source}")


def _log_to_stderr() -> None:
    """Send the JSON log lines (the audit line of each change) to stderr for this process.

    stdout is what a script captures (an API key, JSON, CSV), so it holds the output alone.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
