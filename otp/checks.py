"""A system check: `runserver` and `manage.py` refuse keys that cannot open what is stored."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from otp.core import clock
from otp.rekey import check_keys_open_everything


@checks.register()
def encryption_keys_open_stored_secrets(app_configs=None, **kwargs):
    """otp.E001 when OTP_ENCRYPTION_KEYS opens no copy of a stored secret (gunicorn makes the
    same check in otpsite/storage.py, since it runs no system checks)."""
    try:
        check_keys_open_everything(clock.now())
    except ImproperlyConfigured as problem:
        return [checks.Critical(str(problem), id="otp.E001")]
    except DatabaseError:
        # No database yet, or not migrated: nothing is stored that a key would have to open.
        return []
    return []
