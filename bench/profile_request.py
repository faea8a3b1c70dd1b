"""Where GET /otp spends CPU inside the Django app, in-process (no HTTP, no gunicorn).

Times otpsite.wsgi.application called with a gunicorn-like environ, against the bare app and
against the app with one piece taken away at a time; then a cProfile breakdown.
Run: .venv/bin/python -m bench.profile_request [requests per measurement, default 20000]
"""

import base64
import contextlib
import cProfile
import io
import json
import logging
import os
import pstats
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime

API_KEY = secrets.token_urlsafe(32)
# Set before Django loads: the same settings gunicorn would see from bench/run.sh.
os.environ.update(
    ENV_FILE="",
    # Empty SQLite storage of its own (the default backend), prepared below as gunicorn's start
    # hook would: every protected request reads the lockout table.
    DATA_DIR=tempfile.mkdtemp(prefix="otp-profile-"),
    API_KEY=API_KEY,
    OTP_SECRET=base64.b32encode(secrets.token_bytes(20)).decode(),
    HOST="127.0.0.1",
    PORT="8000",
    LOG_LEVEL="INFO",
    ENABLE_DOCS="false",
    ALLOWED_HOSTS="localhost,127.0.0.1,[::1]",
    DJANGO_SETTINGS_MODULE="otpsite.settings",
)
for name in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS"):
    os.environ.pop(name, None)

# The access log goes where gunicorn's stdout would: a file, flushed per line (like
# bench/run.sh's server log). The handler binds to sys.stdout when Django configures logging.
REPORT = sys.stdout
LOG_FILE = tempfile.TemporaryFile("w")  # noqa: SIM115 (lives as long as the process)
sys.stdout = LOG_FILE

from django.test.utils import override_settings  # noqa: E402

from bench import bare_app  # noqa: E402
from otpsite.storage import prepare_storage  # noqa: E402
from otpsite.wsgi import application  # noqa: E402

prepare_storage()

ENVIRON = {
    # What gunicorn 27 hands the app for wrk's request: only Host and X-API-Key headers.
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/otp",
    "QUERY_STRING": "",
    "RAW_URI": "/otp",
    "SCRIPT_NAME": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "50000",
    "HTTP_HOST": "127.0.0.1:8000",
    "HTTP_X_API_KEY": API_KEY,
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "wsgi.errors": sys.stderr,
    "SERVER_SOFTWARE": "gunicorn/27.0.1",
}


def call(app) -> str:
    statuses = []
    environ = dict(ENVIRON, **{"wsgi.input": io.BytesIO(b"")})
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()  # Django sends request_finished here, as under gunicorn
    return statuses[0]


def per_request_us(app, count: int) -> float:
    """Best of three timed loops, in microseconds of CPU per request."""
    if call(app) != "200 OK":
        raise SystemExit(f"profile: {app!r} did not answer 200")
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(count):
            call(app)
        best = min(best, (time.process_time() - started) * 1e6 / count)
    return best


@contextlib.contextmanager
def handler_with(**overrides):
    """A fresh WSGIHandler under overridden settings, kept in force while it is timed."""
    from django.core.handlers.wsgi import WSGIHandler

    with override_settings(**overrides):
        yield WSGIHandler()  # loads MIDDLEWARE from the overridden settings


@contextlib.contextmanager
def access_formatter(formatter: logging.Formatter):
    handlers = [h for h in logging.getLogger().handlers if h.formatter]
    saved = [h.formatter for h in handlers]
    for h in handlers:
        h.setFormatter(formatter)
    try:
        yield application
    finally:
        for h, old in zip(handlers, saved, strict=True):
            h.setFormatter(old)


@contextlib.contextmanager
def access_log_off():
    access = logging.getLogger("otp.access")
    access.disabled = True
    try:
        yield application
    finally:
        access.disabled = False


@contextlib.contextmanager
def db_signal_receivers_off(**overrides):
    """Django connects reset_queries and close_old_connections to every request."""
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    signals.request_started.disconnect(reset_queries)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with handler_with(**overrides) as handler:
            yield handler
    finally:
        signals.request_started.connect(reset_queries)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


class MinimalJsonFormatter(logging.Formatter):
    """A sketch of a cheaper formatter giving the same line: one json.dumps, no per-record
    scan through python-json-logger's reserved-attribute machinery."""

    STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record):
        line = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update((k, v) for k, v in record.__dict__.items() if k not in self.STANDARD)
        line["time"] = datetime.fromtimestamp(record.created, UTC).isoformat()
        return json.dumps(line)


def ablations(count: int) -> list[tuple[str, float]]:
    from django.conf import settings

    middleware = list(settings.MIDDLEWARE)
    # Since the audit trail the views read request.client_address and request.request_id, which
    # RequestLogMiddleware sets: where it is taken out, this sets them and does nothing else.
    least = ["bench.plain_urls.RequestAttributesMiddleware"]
    cases = [
        ("bare WSGI app (the floor, same work)", contextlib.nullcontext(bare_app.application)),
        ("Django app as shipped", contextlib.nullcontext(application)),
        ("  access log line off (logger disabled)", access_log_off()),
        (
            "  access log via a minimal json.dumps formatter",
            access_formatter(MinimalJsonFormatter()),
        ),
        (
            "  access log via a plain %-Formatter (not JSON)",
            access_formatter(logging.Formatter("%(levelname)s %(name)s %(message)s")),
        ),
    ]
    cases += [
        (
            f"  without {name}",
            handler_with(
                MIDDLEWARE=[m for m in middleware if m != name]
                if name != "otp.api.middleware.RequestLogMiddleware"
                else [least[0] if m == name else m for m in middleware]
            ),
        )
        for name in middleware
    ]
    cases += [
        ("  no middleware but the request attributes", handler_with(MIDDLEWARE=least)),
        ("  the same, no DB signal receivers", db_signal_receivers_off(MIDDLEWARE=least)),
        (
            "  the same, flat URLconf (no include())",
            handler_with(MIDDLEWARE=least, ROOT_URLCONF="bench.plain_urls"),
        ),
        (
            "  the same, flat URLconf, plain Django view, no DRF",
            handler_with(MIDDLEWARE=least, ROOT_URLCONF="bench.plain_urls", BENCH_PLAIN_VIEW=True),
        ),
    ]
    rows = []
    for label, case in cases:
        with case as app:
            rows.append((label, per_request_us(app, count)))
    return rows


def profile(count: int, top: int = 30) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        call(application)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top + 20)
    return out.getvalue()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    if not 100 <= count <= 200000:
        raise SystemExit("profile: the count must be between 100 and 200000")
    print(f"CPU µs per GET /otp, in-process, best of 3 x {count} calls", file=REPORT)
    for label, us in ablations(count):
        print(f"{us:8.1f}  {label}", file=REPORT)
    print(f"\ncProfile of {count} calls (times include cProfile's own overhead)", file=REPORT)
    print(profile(count), file=REPORT)


if __name__ == "__main__":
    main()
