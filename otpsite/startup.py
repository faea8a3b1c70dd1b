"""Turns a configuration error into one clear line and a non-zero exit, instead of a traceback."""

import contextlib

from django.core.exceptions import ImproperlyConfigured


@contextlib.contextmanager
def exit_on_configuration_error():
    try:
        yield
    except ImproperlyConfigured as problem:
        # SystemExit prints its message to stderr and exits 1; the message never holds a value.
        raise SystemExit(f"otp-service: configuration error: {problem}") from None
