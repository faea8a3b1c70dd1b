"""`manage.py otp code NAME`: an account's current code for a person at a terminal, as oathtool
or `vault read totp/code/NAME` print it; handed out, and audited, as the operator."""

from django.core.management.base import CommandError

from otp import accounts, audit, codes, sealing
from otp.core import clock
from otp.core.names import ACCOUNT_NAME

_HELP = (
    "Prints the current code of the account NAME on stdout, alone, so that CODE=$(...) works; "
    "how long it stays valid goes to stderr. Each code printed is on the audit trail as the "
    "operator's, like one handed out over HTTP."
)


def add_parsers(commands) -> None:
    command = commands.add_parser(
        "code", help="print an account's current code (audited as the operator)", description=_HELP
    )
    command.add_argument("name", help='the account ("default" is OTP_SECRET\'s)')
    command.set_defaults(run=print_code)


def print_code(command, options) -> None:
    name = options["name"]
    if not ACCOUNT_NAME.fullmatch(name):
        raise CommandError(f"no such account; account names match {ACCOUNT_NAME.pattern}")
    try:
        account = accounts.get_account(name)
    except sealing.CannotOpen:
        raise CommandError(
            f'the secret of "{name}" opens with no OTP_ENCRYPTION_KEYS key; no code printed'
        ) from None
    if account is None:
        raise CommandError(f'no account "{name}"')
    answer = codes.issue(account, audit.operator(), clock.now())
    command.stdout.write(answer["otp"])
    command.stderr.write(f"valid for {answer['valid_for_seconds']} s")
