"""gunicorn settings that do not depend on the worker model; gunicorn.conf.py picks the model.

HOST, PORT and WEB_CONCURRENCY come from Django settings, so .env and the environment are read in
one place and a bad value stops the master at once.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otpsite.settings")

from django.conf import settings

from otpsite import gunicorn_errors, metrics_dir
from otpsite.startup import exit_on_configuration_error

with exit_on_configuration_error():
    _host = settings.HOST
    bind = [f"[{_host}]:{settings.PORT}" if ":" in _host else f"{_host}:{settings.PORT}"]
    workers = settings.WEB_CONCURRENCY

# Before the app (and prometheus-client) loads: every worker counts into this folder.
with exit_on_configuration_error():
    metrics_dir.prepare()

wsgi_app = "otpsite.wsgi:application"
# Malformed requests (oversized header, bad request line) get {"error": ...} too, not HTML.
gunicorn_errors.install()
# Load Django in the master: a bad configuration stops it before any worker forks, and the
# workers share the loaded code.
preload_app = True
# A worker that stops reporting for this long is killed and replaced.
timeout = 30
# On SIGTERM, workers finish the requests they hold for up to this long: requests take
# milliseconds, and Docker and podman send SIGKILL 10 s after SIGTERM.
graceful_timeout = 8
# gunicorn 27 otherwise opens a control socket under ~/.gunicorn shared by every instance of
# the user; nothing here uses it.
control_socket_disable = True


def on_starting(server):
    """Bring the database up to date before the master binds and forks: `make run` and the
    container both start here, so neither can serve from a schema that is behind."""
    from otpsite.storage import prepare_storage

    prepare_storage()


def pre_fork(server, worker):
    """Freeze what the master has loaded (Django, the app, the migrations' leftovers) out of the
    garbage collector's sight: a worker's full collection would scan it all, stopping every
    greenlet for about 20 ms (p99 of GET /otp; docs/PERFORMANCE.md), and would write to each
    object's header, unsharing the pages the fork shares (the gc module's docs advise this)."""
    gc.freeze()


def child_exit(server, worker):
    metrics_dir.worker_exited(worker.pid)


def on_exit(server):
    metrics_dir.remove()


# The app writes one JSON access line per request; gunicorn's would be a second one.
accesslog = None
errorlog = "-"
