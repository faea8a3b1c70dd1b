"""`manage.py otp client ...`: create, list, revoke and rotate the clients and their API keys."""

import argparse
from datetime import UTC, datetime, timedelta

from django.core.management.base import CommandError

from otp import audit, clients, sealing
from otp.core import clock
from otp.management.cli import listing

COLUMNS = {
    "name": "NAME",
    "accounts": "ACCOUNTS",
    "actions": "ACTIONS",
    "requires_signature": "SIGNED ONLY",
    "key_ids": "KEY IDS",
    "created_at": "CREATED",
    "revoked_at": "REVOKED",
}
DEFAULT_GRACE_SECONDS = 3600
_NAME_HELP = (
    "the client's name, as the audit trail shows it (a bot or job, e.g. github-ci; "
    '"operator" is reserved)'
)
_QUIET_HELP = (
    "print the API key alone on one line, for a script to capture (client list shows its key id)"
)
_CREATE_HELP = """\
Creates a client with an API key of its own and prints the key and its key id (X-Key-Id). This
is the only time the key is shown: the service keeps its hash, and a sealed copy for checking
signatures. For a script: KEY=$(manage.py otp client create ci --all-accounts --issue --quiet)"""


def add_parsers(commands) -> None:
    client = commands.add_parser("client", help="create, list, revoke or rotate API clients")
    actions = client.add_subparsers(
        dest="client_command", required=True, metavar="ACTION", help="what to do (each has --help)"
    )

    create = actions.add_parser(
        "create",
        help="create a client; prints its API key once",
        description=_CREATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("name", help=_NAME_HELP)
    # Required unless the client only reads the metrics (otp.clients.create_client checks).
    scope = create.add_mutually_exclusive_group()
    scope.add_argument(
        "--account",
        action="append",
        dest="accounts",
        metavar="ACCOUNT",
        help='an account the client may use; repeat for several ("default" is OTP_SECRET)',
    )
    scope.add_argument(
        "--all-accounts", action="store_true", help="every account, those added later too"
    )
    create.add_argument("--issue", action="store_true", help="may fetch codes")
    create.add_argument("--verify", action="store_true", help="may verify codes")
    create.add_argument(
        "--metrics",
        action="store_true",
        help="may read GET /metrics (Prometheus; needs no --account)",
    )
    create.add_argument(
        "--require-signature",
        action="store_true",
        help="accept only its signed v2 requests (X-Key-Id), never the key itself sent",
    )
    create.add_argument("--quiet", action="store_true", help=_QUIET_HELP)
    create.set_defaults(run=create_client)

    show = actions.add_parser("list", help="list the clients (never a key or its hash)")
    listing.add_format_option(show)
    show.set_defaults(run=list_clients)

    revoke = actions.add_parser("revoke", help="refuse every key of a client from now on")
    revoke.add_argument("name", help="the client whose keys are refused")
    revoke.set_defaults(run=revoke_client)

    rotate = actions.add_parser(
        "rotate",
        help="give a client a new API key; prints it once",
        description=(
            "Gives the client a new API key, printed once, and keeps its previous keys working "
            f"for --grace seconds ({DEFAULT_GRACE_SECONDS} unless given; 0 ends them now)."
        ),
    )
    rotate.add_argument("name", help="the client that gets a new key")
    rotate.add_argument(
        "--grace",
        type=int,
        default=DEFAULT_GRACE_SECONDS,
        metavar="SECONDS",
        help=(
            f"how long the previous keys keep working (default {DEFAULT_GRACE_SECONDS}, "
            f"at most {clients.MAX_GRACE_SECONDS})"
        ),
    )
    rotate.add_argument("--quiet", action="store_true", help=_QUIET_HELP)
    rotate.set_defaults(run=rotate_client)


def create_client(command, options) -> None:
    name = options["name"]
    try:
        api_key, key_id = clients.create_client(
            name,
            # Neither --account nor --all-accounts: no account at all (a metrics reader's).
            accounts=None if options["all_accounts"] else options["accounts"] or [],
            may_issue=options["issue"],
            may_verify=options["verify"],
            may_read_metrics=options["metrics"],
            requires_signature=options["require_signature"],
            actor=audit.operator(),
            now=clock.now(),
        )
    except (clients.ClientError, sealing.NoEncryptionKey) as refused:
        raise CommandError(str(refused)) from None
    _show_new_key(command, options, f"created client {name}", api_key, key_id)


def list_clients(command, options) -> None:
    rows = clients.client_rows(clock.now())
    listing.write_rows(command.stdout.write, rows, COLUMNS, options["format"])


def revoke_client(command, options) -> None:
    name = options["name"]
    try:
        clients.revoke_client(name, audit.operator(), clock.now())
    except clients.ClientError as refused:
        raise CommandError(str(refused)) from None
    command.stdout.write(f"revoked client {name}: its keys are refused from now on")


def rotate_client(command, options) -> None:
    name, grace = options["name"], options["grace"]
    now = clock.now()
    try:
        api_key, key_id = clients.rotate_client(name, grace, audit.operator(), now)
    except (clients.ClientError, sealing.NoEncryptionKey) as refused:
        raise CommandError(str(refused)) from None
    if grace:
        ends = listing.utc_text(datetime.fromtimestamp(now, UTC) + timedelta(seconds=grace))
        previous = f"its previous keys work until {ends}, then are refused"
    else:
        previous = "its previous keys are refused from now on"
    _show_new_key(command, options, f"rotated client {name}: {previous}", api_key, key_id)


def _show_new_key(command, options, headline: str, api_key: str, key_id: str) -> None:
    if options["quiet"]:
        command.stdout.write(api_key)
        return
    command.stdout.write(headline)
    command.stdout.write(f"api key: {api_key}")
    command.stdout.write(f"key id: {key_id}")
    command.stdout.write("The API key is not shown again: store it now.")
