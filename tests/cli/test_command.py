"""`manage.py otp` itself: its help, and what it prints at a terminal."""

import argparse
import json
import os
import pty
import subprocess
import sys

import pytest

from otp.management.commands.otp import Command
from tests.support.commands import manage
from tests.support.servers import ROOT

AUDIT_LINE = '"event": "audit"'


def subcommands(parser, path=()):
    """(path, parser) of `parser` and of every subcommand under it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subcommand in action.choices.items():
                yield from subcommands(subcommand, (*path, name))


PARSERS = list(subcommands(Command().create_parser("manage.py", "otp")))


@pytest.mark.parametrize(("path", "parser"), PARSERS, ids=[" ".join(p) for p, _ in PARSERS])
def test_every_positional_argument_has_help(path, parser):
    for action in parser._actions:
        if not action.option_strings:
            assert action.help, f"otp {' '.join(path)}: {action.metavar or action.dest} has no help"


@pytest.mark.parametrize(("path", "parser"), PARSERS, ids=[" ".join(p) for p, _ in PARSERS])
def test_every_subcommand_usage_names_its_own_path(path, parser):
    assert parser.format_usage().startswith(f"usage: {' '.join(('manage.py otp', *path))} ")


def test_audit_purge_help_prints_its_own_usage(tmp_path):
    result = manage(tmp_path, "otp", "audit", "purge", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: manage.py otp audit purge [-h]")
    assert "--since" not in result.stdout  # the listing's options are not purge's


def at_a_terminal(data_dir, *args, stdin=""):
    """Run manage.py ARGS with stdout and stderr on a pseudo-terminal; what it showed there."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "ENV_FILE": "", "DATA_DIR": str(data_dir)}
    try:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=terminal,
            stderr=terminal,
        )
    finally:
        os.close(terminal)
    process.communicate(stdin.encode(), timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.returncode == 0, shown
    return shown.decode()


@pytest.fixture
def data_dir(tmp_path):
    assert manage(tmp_path, "migrate", "-v0").returncode == 0
    return tmp_path


URI = "otpauth://totp/GitHub:bot?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=GitHub\n"


def test_a_change_at_a_terminal_prints_its_answer_without_the_json_audit_line(data_dir):
    shown = at_a_terminal(data_dir, "otp", "account", "add", "github-bot", stdin=URI)
    assert shown.strip() == "added account github-bot (issuer GitHub, SHA1, 6 digits, every 30 s)"
    # Withheld from the terminal only: the change is on the audit trail.
    trail = manage(data_dir, "otp", "audit", "--format", "json")
    assert [json.loads(line)["action"] for line in trail.stdout.splitlines()] == ["account.add"]


def test_verbosity_2_shows_the_audit_line_at_a_terminal(data_dir):
    shown = at_a_terminal(data_dir, "otp", "-v", "2", "account", "add", "github-bot", stdin=URI)
    assert AUDIT_LINE in shown


def test_a_pipe_still_gets_the_audit_line_on_stderr(data_dir):
    result = manage(data_dir, "otp", "account", "add", "github-bot", stdin=URI)
    assert result.returncode == 0
    assert json.loads(result.stderr)["event"] == "audit"
