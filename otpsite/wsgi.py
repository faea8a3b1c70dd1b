"""WSGI entry point for gunicorn: Django, behind the reader that buffers request bodies."""

import os

from django.conf import settings
from django.core import signals
from django.core.cache import close_caches
from django.core.handlers.base import reset_urlconf
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, reset_queries

from otpsite.request_body import BufferedBodyApplication
from otpsite.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpsite.settings")

with exit_on_configuration_error():
    application = BufferedBodyApplication(
        get_wsgi_application(), limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )

# At the start of each request Django closes the database connections the previous one left
# behind and clears their query log. Here every request closes its connections as it ends
# (CONN_MAX_AGE = 0: request_finished runs the same check), and no query is ever logged (DEBUG is
# never on): under gunicorn the two receivers only cost time, about 4 % of GET /otp's CPU
# (docs/PERFORMANCE.md, "Speed against the seed").
signals.request_started.disconnect(close_old_connections)
signals.request_started.disconnect(reset_queries)
# At the end of each request Django closes every cache and resets the URLconf. Neither cache this
# service can be given (otpsite/env.py: the database cache, Redis) has anything to close, and no
# request sets a URLconf of its own: the two receivers were 2.6 % of a worker's samples under
# GET /otp (py-spy; docs/PERFORMANCE.md, "At HEAD"). Closing the database connections stays.
signals.request_finished.disconnect(close_caches)
signals.request_finished.disconnect(reset_urlconf)
