"""`manage.py otp rekey`: reseal every stored secret under the first OTP_ENCRYPTION_KEYS key."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from otp import audit, rekey, sealing
from otp.core import clock

_HELP = (
    "Reseals every stored account secret and client key under the first OTP_ENCRYPTION_KEYS "
    "key, in one transaction. Afterwards the other keys open nothing stored and can be removed. "
    "If any secret opens with no configured key, nothing is changed."
)


def add_parsers(commands) -> None:
    command = commands.add_parser(
        "rekey", help="reseal every stored secret under the first encryption key", description=_HELP
    )
    command.set_defaults(run=rekey_everything)


def rekey_everything(command, options) -> None:
    try:
        # Names what is locked (the rekey itself only says that something is).
        rekey.check_keys_open_everything(clock.now())
        resealed = rekey.rekey(audit.operator(), clock.now())
    except (ImproperlyConfigured, sealing.CannotOpen) as locked:
        raise CommandError(f"{locked}; nothing was changed") from None
    secrets = "1 stored secret" if resealed == 1 else f"{resealed} stored secrets"
    command.stdout.write(
        f"resealed {secrets}; everything stored now opens with the first OTP_ENCRYPTION_KEYS key"
    )
