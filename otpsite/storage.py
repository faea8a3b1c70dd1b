"""Bringing the database up to date when a server starts."""

import django
from django.core.management import call_command
from django.db import DatabaseError, connection, connections

from otp import outages
from otpsite.sqlite.base import close_idle
from otpsite.startup import exit_on_configuration_error

# Any fixed number: the PostgreSQL advisory lock instances starting together queue on.
_MIGRATION_LOCK = 0x6F7470  # "otp"


def prepare_storage() -> None:
    """Apply migrations and create the cache table, check that OTP_ENCRYPTION_KEYS opens every
    stored secret, then close every connection.

    Instances started together against one PostgreSQL take turns (an advisory lock), instead of
    racing to create the same tables. The connections are closed because gunicorn forks its
    workers from the process that runs this: a database connection must never be shared by
    processes (two workers would interleave on one PostgreSQL session).
    """
    # Already done when gunicorn preloaded the Django app; not when it serves another WSGI app
    # under this config (bench/bare_app.py).
    django.setup()
    from otp.core import clock
    from otp.rekey import check_keys_open_everything  # needs the app registry set up

    try:
        postgres = connection.vendor == "postgresql"
        with connection.cursor() as cursor:
            if postgres:
                # Longer than the per-statement bounds in settings: another instance may be
                # migrating; wait for it, but not forever.
                cursor.execute("SET lock_timeout = '60s'; SET statement_timeout = '120s'")
                cursor.execute("SELECT pg_advisory_lock(%s)", [_MIGRATION_LOCK])
            try:
                call_command("migrate", interactive=False, verbosity=0)
                call_command("createcachetable", verbosity=0)
            finally:
                if postgres:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATION_LOCK])
        # Fail now, with the variable named, not on the first request for a locked account.
        with exit_on_configuration_error():
            check_keys_open_everything(clock.now())
    except DatabaseError as problem:
        # One line, like a configuration error.
        raise SystemExit(
            f"otp-service: the database cannot be prepared: {outages.one_line(problem)}"
        ) from None
    finally:
        connections.close_all()
        # Pooled or idle connections kept here would be handed to every forked worker.
        for each in connections.all(initialized_only=True):
            if getattr(each, "pool", None):
                each.close_pool()
        close_idle()
