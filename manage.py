#!/usr/bin/env python
"""Django's command-line utility for otp-service."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpsite.settings")
    # Only gunicorn's workers count into that folder (otpsite/metrics_dir.py): a command's own
    # figures belong to no scrape, and would be added into a running instance's until it
    # restarts. runserver, one process, exports its own.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from django.core.management import execute_from_command_line

    from otpsite.startup import exit_on_configuration_error

    with exit_on_configuration_error():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
