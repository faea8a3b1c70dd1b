"""The `manage.py otp` subcommands, one module per group (accounts, clients, rekey, audit);
otp/management/commands/otp.py assembles them."""

from otp.management.cli import accounts, audit, clients, rekey

__all__ = ["accounts", "audit", "clients", "rekey"]
