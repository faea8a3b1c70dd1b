"""`python manage.py otp ...`: the service's operator commands."""

import argparse
import contextlib
import logging
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from otp import outages
from otp.core.credentials import key_id
from otp.management import cli


class Command(BaseCommand):
    help = (
        "otp-service operator commands: accounts, API clients, encryption keys, the audit trail. "
        "Every refusal is one line on stderr and a non-zero exit, with nothing changed."
    )
    # These commands repair what the system checks complain of (rekey; removing an account no
    # key opens), so they must not stop at those checks: each reports its own problem instead.
    requires_system_checks = []
    stealth_options = ("stdin",)
    # Set when run from a shell whose stderr, where the log lines go, is a terminal; never under
    # call_command.
    log_at_terminal = False

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="command",
            required=True,
            metavar="COMMAND",
            help="keyid, code, account, client, rekey or audit (each has --help)",
        )
        keyid = commands.add_parser(
            "keyid",
            help="Print the v2 key id (X-Key-Id) of each configured API key; never the key.",
        )
        keyid.set_defaults(run=print_key_ids)
        for group in (cli.code, cli.accounts, cli.clients, cli.rekey, cli.audit):
            group.add_parsers(commands)
        _name_subcommands(parser)

    def run_from_argv(self, argv):
        _log_to_stderr()
        self.log_at_terminal = sys.stderr.isatty()
        super().run_from_argv(argv)

    def handle(self, *args, run, **options):
        self.stdin = options.get("stdin") or sys.stdin
        try:
            with _audit_lines_shown(options["verbosity"] >= 2 or not self.log_at_terminal):
                run(self, options)
        except DatabaseError as problem:
            # Not migrated yet, or unreachable: one line naming the problem, not a traceback.
            raise CommandError(
                f"the database cannot be used: {outages.one_line(problem)}"
            ) from None


def print_key_ids(command, options) -> None:
    for position, api_key in enumerate(settings.API_KEYS):
        source = "API_KEY" if position == 0 else f"API_KEYS item {position}"
        command.stdout.write(f"{key_id(api_key)}  {source}")


def _name_subcommands(parser) -> None:
    """Give each subcommand its own path as its name in usage and --help: argparse takes the
    parent's usage line instead, which is wrong wherever a parent spells its usage out."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subcommand in action.choices.items():
                subcommand.prog = f"{parser.prog} {name}"
                _name_subcommands(subcommand)


@contextlib.contextmanager
def _audit_lines_shown(shown: bool):
    """Withhold the JSON audit line of each change unless `shown`.

    At a terminal it is noise beside the command's own answer; the record is on the audit trail
    all the same (`otp audit`), and a pipe or a log collector on stderr still gets every line.
    """
    audit_logger = logging.getLogger("otp.audit")
    previous = audit_logger.level
    if not shown:
        audit_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        audit_logger.setLevel(previous)


def _log_to_stderr() -> None:
    """Send the JSON log lines (the audit line of each change) to stderr for this process.

    stdout is what a script captures (an API key, JSON, CSV), so it holds the output alone.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
