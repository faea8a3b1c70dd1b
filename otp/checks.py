"""Django system checks: `runserver` and the management commands refuse to start with an
OTP_ENCRYPTION_KEYS that cannot open what the database holds (gunicorn checks in storage.py)."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError


@checks.register()
def encryption_keys_open_stored_secrets(app_configs=None, **kwargs):
    from otp.rekey import check_keys_open_everything

    try:
        check_keys_open_everything()
    except ImproperlyConfigured as problem:
        return [checks.Critical(str(problem), id="otp.E001")]
    except DatabaseError:
        # No database yet, or not migrated: nothing is stored that a key would have to open.
        return []
    return []
