"""`otp-client`: codes, verification and accounts from a shell.

Exit status 0: done (or the code is valid); 1: the code is not valid; 2: a usage, network or
service error, told in one line on stderr. Standard output holds only the answer, so that
`CODE=$(otp-client code github-bot --min-validity 10)` works.
"""

import argparse
import json
import sys
from dataclasses import asdict

from otp_client import __version__
from otp_client.client import DEFAULT_MAX_WAIT, DEFAULT_TIMEOUT, KEY_VARIABLE, URL_VARIABLE, Client
from otp_client.errors import OTPError

DONE, NOT_VALID, FAILED = 0, 1, 2
PROG = "otp-client"


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not the usage plus a line."""

    def error(self, message: str):
        self.exit(FAILED, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _connection_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    # Given to the main parser and to each command, so they may come before or after it; the
    # commands' copies leave unset what was not given there (SUPPRESS).
    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--url",
        default=default(None),
        help=f"the service, e.g. https://otp.example.com (default: ${URL_VARIABLE})",
    )
    parser.add_argument(
        "--key",
        default=default(None),
        help=(
            f"the API key (default: ${KEY_VARIABLE}; prefer the variable, since other users "
            "of the host can see a command line)"
        ),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=default(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"for each network step (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=default(DEFAULT_MAX_WAIT),
        metavar="SECONDS",
        help=(
            "the most to wait on top of that, for Retry-After pauses and for the service to "
            f"hand out a fresh code (default {DEFAULT_MAX_WAIT:g})"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROG,
        description=(
            "Fetch and verify TOTP codes from otp-service with signed requests: the API key "
            "never travels and the account's secret never leaves the service."
        ),
        epilog=(
            "Exit status: 0 done (verify: the code is valid), 1 the code is not valid, 2 a "
            "usage, network or service error (one line on stderr)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _connection_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    code = commands.add_parser(
        "code",
        help="print an account's current code",
        description="Print an account's current code (\"default\" is the service's OTP_SECRET).",
    )
    code.add_argument("account")
    code.add_argument(
        "--min-validity",
        type=int,
        metavar="N",
        help="a code valid at least N more seconds: the service waits for the next one if need be",
    )
    code.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help=(
            "fail (exit 2) instead of waiting for the next code (with --min-validity, or when an "
            "exclusive account's current code is taken)"
        ),
    )
    code.add_argument(
        "--json",
        action="store_true",
        help='print {"otp": ..., "valid_for_seconds": ..., "timestamp": ...} instead',
    )
    _connection_options(code, defaults=False)

    verify = commands.add_parser(
        "verify",
        help="check a code: exit 0 if valid, 1 if not",
        description="Check a code (each is accepted once); prints valid or invalid.",
    )
    verify.add_argument("account")
    verify.add_argument("code")
    _connection_options(verify, defaults=False)

    accounts = commands.add_parser(
        "accounts",
        help="list the accounts the key may use",
        description="List the accounts the key may use, one name a line.",
    )
    accounts.add_argument("--json", action="store_true", help="print them as a JSON list")
    _connection_options(accounts, defaults=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        client = Client(
            options.url, options.key, timeout=options.timeout, max_wait=options.max_wait
        )
        return _run(client, options)
    except OTPError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail("interrupted")


def _run(client: Client, options: argparse.Namespace) -> int:
    if options.command == "code":
        code = client.code(options.account, min_validity=options.min_validity, wait=options.wait)
        print(json.dumps(asdict(code)) if options.json else code.otp)
        return DONE
    if options.command == "verify":
        valid = client.verify(options.account, options.code)
        print("valid" if valid else "invalid")
        return DONE if valid else NOT_VALID
    accounts = client.accounts()
    if options.json:
        print(json.dumps([asdict(account) for account in accounts]))
    else:
        for account in accounts:
            print(account.name)
    return DONE


def _fail(message: str) -> int:
    print(f"{PROG}: " + " ".join(message.split()), file=sys.stderr)
    return FAILED


if __name__ == "__main__":
    sys.exit(main())
