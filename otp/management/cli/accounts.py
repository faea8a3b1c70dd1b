"""`manage.py otp account ...`: add, import, list and remove the TOTP accounts."""

import argparse
import getpass

from django.core.management.base import CommandError

from otp import accounts, audit, sealing
from otp.core import clock, totp
from otp.core.names import ACCOUNT_NAME, DEFAULT_NAME, InvalidAccount, check_name
from otp.core.otpauth import AccountSpec, parse_secret_or_uri
from otp.management.cli import account_file, files, listing, qr_image
from otp.models import Account

COLUMNS = {
    "name": "NAME",
    "issuer": "ISSUER",
    "algorithm": "ALGORITHM",
    "digits": "DIGITS",
    "period": "PERIOD",
    "exclusive": "EXCLUSIVE",
}
_ADD_HELP = """\
Reads an otpauth://totp/ URI, or a bare base32 secret, from standard input: never from the
command line, where it would stay in the shell history and the process list. At a terminal it
is asked for without being echoed; otherwise pipe it in, e.g.
    manage.py otp account add github-bot < github.uri
or, with --qr, from the QR code a site shows, saved as a PNG or JPEG screenshot:
    manage.py otp account add github-bot --qr github-qr.png
The image is only read (delete it afterwards: it holds the secret); it must show one QR code,
holding an otpauth://totp/ URI.
--issuer, --algorithm, --digits and --period describe a bare secret; a URI carries its own."""


def add_parsers(commands) -> None:
    account = commands.add_parser("account", help="add, import, list, set or remove TOTP accounts")
    actions = account.add_subparsers(
        dest="account_command", required=True, metavar="ACTION", help="what to do (each has --help)"
    )

    add = actions.add_parser(
        "add",
        help="add one account, its URI or secret read from standard input",
        description=_ADD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("name", help=f"the account's name ({ACCOUNT_NAME.pattern})")
    add.add_argument(
        "--qr",
        metavar="FILE",
        help="read the otpauth://totp/ URI from the QR code in this PNG or JPEG screenshot, "
        "not from standard input",
    )
    add.add_argument("--issuer", default="", help="who issued a bare secret, e.g. GitHub")
    add.add_argument(
        "--algorithm", default=totp.DEFAULT.algorithm, help="SHA1 (the default), SHA256 or SHA512"
    )
    add.add_argument("--digits", type=int, default=totp.DEFAULT.digits, help="6 (default) or 8")
    add.add_argument(
        "--period", type=int, default=totp.DEFAULT.period, help="seconds a code lasts (30)"
    )
    add.add_argument(
        "--exclusive",
        action="store_true",
        help="hand each time step's code to one caller only (one bot per code)",
    )
    add.set_defaults(run=add_account)

    batch = actions.add_parser(
        "import",
        help="add the accounts of a file of otpauth URIs or a Google Authenticator export, all "
        "or none",
        description=account_file.FORMAT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("file", help="the file to read, or - for standard input")
    batch.add_argument(
        "--google-authenticator",
        action="store_true",
        help="the file holds Google Authenticator's export: otpauth-migration://offline?data=... "
        "URIs, one a line",
    )
    batch.set_defaults(run=import_accounts)

    show = actions.add_parser("list", help="list the accounts (never their secrets)")
    listing.add_format_option(show)
    show.set_defaults(run=list_accounts)

    change = actions.add_parser(
        "set",
        help="make an account exclusive (one caller per code) or shared again",
        description=(
            "An exclusive account hands each time step's code out at most once, across workers "
            "and instances: a second request in the same step waits for the next one (or gets "
            "409 with wait=false). Verification is unchanged."
        ),
    )
    change.add_argument("name", help="the account")
    sharing = change.add_mutually_exclusive_group(required=True)
    sharing.add_argument("--exclusive", dest="exclusive", action="store_true")
    sharing.add_argument("--shared", dest="exclusive", action="store_false")
    change.set_defaults(run=set_account)

    remove = actions.add_parser("remove", help="remove an account, and every client's grant of it")
    remove.add_argument("name", help='the account to remove ("default" cannot be)')
    remove.set_defaults(run=remove_account)


def add_account(command, options) -> None:
    name = options["name"]
    try:
        check_name(name)  # before the secret is asked for, not after
        if options["qr"]:
            # Read as standard input is, so that the same checks apply to what the code holds.
            path = options["qr"]
            text = _one_line(qr_image.otpauth_uri_in(path), f"the QR code in {path}")
        else:
            text = _one_line(_typed_or_piped(command.stdin), "standard input")
        spec = parse_secret_or_uri(
            text,
            issuer=options["issuer"],
            algorithm=options["algorithm"],
            digits=options["digits"],
            period=options["period"],
        )
        accounts.add_accounts(
            [(name, spec)], audit.operator(), clock.now(), exclusive=options["exclusive"]
        )
    except (InvalidAccount, sealing.NoEncryptionKey) as refused:
        raise CommandError(str(refused)) from None
    exclusive = ", exclusive" if options["exclusive"] else ""
    command.stdout.write(f"added {describe(name, spec)}{exclusive}")


def import_accounts(command, options) -> None:
    path = options["file"]
    lines = _lines_of(path, command.stdin)
    taken = set(Account.objects.values_list("name", flat=True))
    export = options["google_authenticator"]
    read = account_file.read_export if export else account_file.read_entries
    entries, problems = read(lines, taken)
    if problems:
        for problem in problems:
            command.stderr.write(problem)
        raise CommandError(f"nothing was imported: {_wrong(problems, export)} (listed above)")
    if not entries:
        held = "otpauth-migration" if export else "otpauth"
        raise CommandError(f"{_shown(path)} holds no {held} URI; nothing was imported")
    named_specs = [(entry.name, entry.spec) for entry in entries]
    try:
        accounts.add_accounts(named_specs, audit.operator(), clock.now())
    except (InvalidAccount, sealing.NoEncryptionKey) as refused:
        # A name taken since the check above, or no key to seal with.
        raise CommandError(f"{refused}; nothing was imported") from None
    for entry in entries:
        command.stdout.write(f"added {describe(entry.name, entry.spec)}")


def list_accounts(command, options) -> None:
    listing.write_rows(
        command.stdout.write, accounts.account_summaries(), COLUMNS, options["format"]
    )


def set_account(command, options) -> None:
    name, exclusive = options["name"], options["exclusive"]
    if name == DEFAULT_NAME:
        raise CommandError(
            f'"{name}" is OTP_SECRET\'s account and stays shared: add the secret as an account '
            "of its own to make it exclusive"
        )
    if not ACCOUNT_NAME.fullmatch(name):
        raise CommandError(f"no such account; account names match {ACCOUNT_NAME.pattern}")
    if not accounts.set_exclusive(name, exclusive, audit.operator(), clock.now()):
        raise CommandError(f'no account "{name}"')
    command.stdout.write(f"account {name} is now {'exclusive' if exclusive else 'shared'}")


def remove_account(command, options) -> None:
    name = options["name"]
    if name == DEFAULT_NAME:
        raise CommandError(
            f'"{name}" is OTP_SECRET\'s account: it cannot be removed, only OTP_SECRET changed'
        )
    if not ACCOUNT_NAME.fullmatch(name):
        raise CommandError(f"no such account; account names match {ACCOUNT_NAME.pattern}")
    if not accounts.remove_account(name, audit.operator(), clock.now()):
        raise CommandError(f'no account "{name}"')
    command.stdout.write(f"removed account {name}")


def describe(name: str, spec: AccountSpec) -> str:
    """What the operator is told of an added account: everything but its secret."""
    params = spec.params
    issuer = f"issuer {spec.issuer}, " if spec.issuer else ""
    return (
        f"account {name} ({issuer}{params.algorithm}, {params.digits} digits, "
        f"every {params.period} s)"
    )


def _typed_or_piped(stdin) -> str:
    if stdin.isatty():
        # Typed at a terminal: not echoed, so it stays out of the scrollback.
        try:
            return getpass.getpass("otpauth URI or base32 secret (not shown): ")
        except EOFError:
            return ""
    return _bounded_text(stdin, "standard input")


def _one_line(text: str, source: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CommandError(
            f"{source} is empty; give the otpauth://totp/ URI or the base32 secret there"
        )
    if len(lines) > 1:
        raise CommandError(
            f"{source} holds {len(lines)} lines; give one URI or secret "
            "(account import takes a file of several)"
        )
    return lines[0]


# An import file is at most this many bytes. A Google Authenticator export of hundreds of
# accounts is a few hundred KB, a file of otpauth URIs some 200 bytes an account: no real file
# comes near it, and the whole file is held in memory (a device such as /dev/zero never ends).
MAX_FILE_BYTES = 1024 * 1024
_MAX_FILE_SHOWN = "1 MiB"


def _lines_of(path: str, stdin) -> list[str]:
    if path == "-":
        if stdin.isatty():
            # Lines typed at a terminal would be echoed, secrets and all.
            raise CommandError("account import - reads a file piped in, not typed; or name a file")
        return _bounded_text(stdin, _shown(path)).splitlines()
    with files.open_regular(path) as file:
        try:
            data = file.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise CommandError(files.unreadable(path, error)) from None
    return _decoded(data, path).splitlines()


def _bounded_text(stream, source: str) -> str:
    """At most MAX_FILE_BYTES of `stream` (a pipe, or whatever standard input is), as text."""
    binary = getattr(stream, "buffer", None)
    if binary is None:  # already text (a StringIO): bounded in characters instead
        text = stream.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise CommandError(_too_large(source))
        return text.removeprefix("\ufeff")
    try:
        data = binary.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CommandError(files.unreadable(source, error)) from None
    return _decoded(data, source)


def _decoded(data: bytes, source: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise CommandError(_too_large(source))
    try:
        # utf-8-sig: a byte-order mark from a Windows editor is not part of the first URI.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError(f"{source} is not UTF-8 text") from None


def _too_large(source: str) -> str:
    return (
        f"{source} is larger than {_MAX_FILE_SHOWN}; an account file holds one line per "
        "account, far less than that even for thousands of accounts"
    )


def _wrong(problems: list[str], export: bool) -> str:
    count = len(problems)
    if export:  # one line of an export may hold several wrong accounts
        return "1 problem" if count == 1 else f"{count} problems"
    return "1 line is wrong" if count == 1 else f"{count} lines are wrong"


def _shown(path: str) -> str:
    return "standard input" if path == "-" else path
