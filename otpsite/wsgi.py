"""WSGI entry point for gunicorn: Django, behind the reader that buffers request bodies."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from otpsite.request_body import BufferedBodyApplication
from otpsite.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpsite.settings")

with exit_on_configuration_error():
    application = BufferedBodyApplication(
        get_wsgi_application(), limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
