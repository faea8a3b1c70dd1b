"""Account names: the one home of the naming rule and of the reserved name "default"."""

import re

# Account names, and client names (which share the rule): URL- and shell-safe, lower case.
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# The account of OTP_SECRET, served by /otp, /otp/verify and /otp/secure.
DEFAULT_NAME = "default"
RESERVED_NAMES = frozenset({DEFAULT_NAME})
# Characters of an account's issuer or label: what the database's columns hold (otp.models).
TEXT_LIMIT = 200


class InvalidAccount(ValueError):
    """One clear line saying what is wrong with an account; never holds the secret."""


def check_name(name: str) -> str:
    """Return `name` if it is a usable account name, else raise InvalidAccount."""
    if not ACCOUNT_NAME.fullmatch(name):
        raise InvalidAccount(f"account name must match {ACCOUNT_NAME.pattern}")
    if name in RESERVED_NAMES:
        raise InvalidAccount(f'"{name}" is reserved for OTP_SECRET')
    return name
