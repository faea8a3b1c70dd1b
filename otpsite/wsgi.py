"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from otpsite.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpsite.settings")

with exit_on_configuration_error():
    application = get_wsgi_application()
