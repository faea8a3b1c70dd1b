"""The `manage.py otp` subcommands, one module per group (code, accounts, clients, rekey, audit);
otp/management/commands/otp.py assembles them."""

from otp.management.cli import accounts, audit, clients, code, rekey

__all__ = ["accounts", "audit", "clients", "code", "rekey"]
