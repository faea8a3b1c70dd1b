"""Django settings for otp-service: the only module that reads the environment."""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from otp.core.totp import InvalidSecret, validate_secret
from otpsite.data_dir import make_private
from otpsite.env import StrictEnv

BASE_DIR = Path(__file__).resolve().parent.parent

env = StrictEnv()

# The process environment wins over the file. ENV_FILE="" reads no file at all (the tests use that
# so a developer's .env cannot leak into them).
ENV_FILE = env.ENVIRON.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    if Path(ENV_FILE).is_file():
        StrictEnv.read_env(ENV_FILE)
    elif "ENV_FILE" in env.ENVIRON:
        raise ImproperlyConfigured("ENV_FILE names a file that does not exist")

# --- Secrets: no defaults, checked now so a bad value stops start-up, not the first request. ---
API_KEY = env.secret("API_KEY", min_length=16)
# Keys accepted alongside API_KEY, for rotation without downtime (docs/api.md: Key rotation).
API_KEYS = [API_KEY, *env.secret_list("API_KEYS", min_length=16)]
try:
    # Spaces anywhere are fine: secrets are shown in groups of four.
    OTP_SECRET = validate_secret(env.secret("OTP_SECRET", spaces_allowed=True))
except InvalidSecret as problem:
    raise ImproperlyConfigured(f"OTP_SECRET {problem}") from None

# AES-256-GCM keys for the account secrets and client keys stored in the database: the first
# seals, every one opens (docs/operations.md: Encryption keys). Needed only once accounts or
# clients exist; storage.prepare_storage refuses to start when none of them opens what is stored.
OTP_ENCRYPTION_KEYS = env.encryption_keys("OTP_ENCRYPTION_KEYS")

# --- Service ---
HOST = env.text("HOST", "0.0.0.0").strip("[]")  # "[::]" and "::" alike
PORT = env.bounded_int("PORT", 8000, low=1, high=65535)
# One worker process per core (gevent: each serves many connections at once); with the sync
# workers shipped before, more workers gave no more throughput on the 2-core reference machine
# and a worse p99 (docs/PERFORMANCE.md, "Worker count"; not yet measured with gevent).
WEB_CONCURRENCY = env.bounded_int("WEB_CONCURRENCY", 2, low=1, high=64)
ENABLE_DOCS = env.strict_bool("ENABLE_DOCS", default=False)
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
# Loopback names are always allowed, so the container's healthcheck and local probes work; any
# other name only when the operator lists it.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = [*LOOPBACK_HOSTS, *env.strict_list("ALLOWED_HOSTS", default=[])]

# --- Security policy ---
# Only v2 signed requests (the key never travels) are accepted on protected endpoints.
REQUIRE_SIGNED_REQUESTS = env.strict_bool("REQUIRE_SIGNED_REQUESTS", default=False)
# Failed authentications from one address within the window that lock it out (0: never).
AUTH_FAILURE_LIMIT = env.bounded_int("AUTH_FAILURE_LIMIT", 20, low=0, high=1_000_000)
AUTH_FAILURE_WINDOW = env.bounded_int("AUTH_FAILURE_WINDOW", 300, low=1, high=86_400)
# Consecutive wrong codes on one account before its verifications are throttled (RFC 4226
# section 7.3); each further failure doubles the wait, up to 15 minutes. 0: never.
VERIFY_FAILURE_LIMIT = env.bounded_int("VERIFY_FAILURE_LIMIT", 5, low=0, high=1000)
# Audit records older than this are deleted by `manage.py otp audit purge`.
AUDIT_RETENTION_DAYS = env.bounded_int("AUDIT_RETENTION_DAYS", 90, low=1, high=36_500)
# Where the audit record of each code handed out to a client is kept. DATABASE (the default): a row,
# written before the code is answered, and a copy as a log line. LOG: only the JSON log line on
# stdout, written and flushed before the code is answered (a failed write: 503, no code), at every
# LOG_LEVEL; not in `otp audit`. Verifications, refusals, changes and `otp code` keep their rows. It
# saves the row's cost on the busiest path (docs/PERFORMANCE.md, "The audit row of a code handed
# out").
AUDIT_ISSUED_CODES = env.choice("AUDIT_ISSUED_CODES", "DATABASE", ("DATABASE", "LOG"))
# How many reverse proxies append to X-Forwarded-For; 0 trusts only the socket address.
TRUSTED_PROXY_COUNT = env.bounded_int("TRUSTED_PROXY_COUNT", 0, low=0, high=10)
# X-Forwarded-For is believed only from a peer in these networks: a client that reaches the
# service directly could otherwise write any address into it.
TRUSTED_PROXY_NETWORKS = env.networks(
    "TRUSTED_PROXY_NETWORKS", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
)

# GET /metrics answers without credentials: only where the network already restricts who
# reaches it. Otherwise it takes a client granted --metrics (or an environment key).
METRICS_PUBLIC = env.strict_bool("METRICS_PUBLIC", default=False)
# With PostgreSQL, /ready answers 503 while this instance's clock and the database server's
# differ by more than this many seconds: every code depends on the instance's clock.
MAX_CLOCK_SKEW = env.bounded_int("MAX_CLOCK_SKEW", 5, low=1, high=3600)

# --- Storage: SQLite in DATA_DIR for one instance; PostgreSQL + Redis for several. ---
# A relative DATA_DIR is taken from the project root, wherever the command runs from.
DATA_DIR = (BASE_DIR / env.text("DATA_DIR", "var")).resolve()
# PostgreSQL connections each gunicorn worker keeps (a pool shared by its greenlets): an
# instance holds WEB_CONCURRENCY x this many.
DATABASE_POOL_SIZE = env.bounded_int("DATABASE_POOL_SIZE", 4, low=1, high=100)
# PostgreSQL only. true (the default): a code is handed out, and a verification answered, once
# its audit record and one-time-use mark are flushed to disk. false: once they are committed, the
# flush following within a fraction of a second: faster (docs/PERFORMANCE.md, "Speed against the
# seed"), but a crash of PostgreSQL's host can lose the last moment's records and marks.
DATABASE_SYNCHRONOUS_COMMIT = env.strict_bool("DATABASE_SYNCHRONOUS_COMMIT", default=True)
DATABASES = {
    "default": env.database("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'otp.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    try:
        # Folder 0700, database files 0600: they hold the audit trail and the sealed secrets.
        make_private(Path(DATABASES["default"]["NAME"]), DATA_DIR)
    except OSError:
        raise ImproperlyConfigured("DATA_DIR (the SQLite folder) cannot be created") from None
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and the writer of several gunicorn workers proceed together; IMMEDIATE
        # transactions take the write lock up front, so two workers queue (up to the timeout)
        # instead of failing with "database is locked" halfway through.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 5,
    }
    # Django's backend, whose connections go back to a per-process list after each request
    # (otpsite/sqlite/base.py): a client connection per request must not mean a new SQLite one.
    DATABASES["default"]["ENGINE"] = "otpsite.sqlite"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    from otpsite.postgres.deadline import DeadlineConnection

    # Django's backend with a check of each pooled connection (otpsite/postgres/base.py).
    DATABASES["default"]["ENGINE"] = "otpsite.postgres"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # A database that stops answering must become a 503 within seconds, not a request stuck
        # until gunicorn kills its worker: a bounded connect; statements and lock waits bounded
        # on the server; every wait bounded on the client by the request's deadline
        # (otpsite/postgres/deadline.py); TCP keepalives notice a dead peer.
        connect_timeout=3,
        options="-c statement_timeout=3000 -c lock_timeout=2000"
        + ("" if DATABASE_SYNCHRONOUS_COMMIT else " -c synchronous_commit=off"),
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=3,
        keepalives_count=3,
        # Each worker process holds at most DATABASE_POOL_SIZE connections, however many
        # greenlets it serves; a request waits at most `timeout` seconds for one, else 503.
        # A connection that cannot be opened is retried once, then given up: the next request
        # that needs one opens it, so the pool refills as soon as the database is back rather
        # than after psycopg's backoff of up to minutes.
        pool={
            "min_size": DATABASE_POOL_SIZE,
            "max_size": DATABASE_POOL_SIZE,
            "timeout": 1.5,
            "reconnect_timeout": 0,
            "connection_class": DeadlineConnection,
        },
    )
    # The pool keeps connections; Django returns them after each request. No health check
    # before each request: on PostgreSQL it is a round trip per request (docs/PERFORMANCE.md,
    # "No connection health check").
    # A connection that fails is dropped and replaced by the pool, so after the database
    # restarts the service recovers by itself.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

CACHES = {"default": env.cache("CACHE_URL", default="db")}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # Django's, with one connection pool per process (not per greenlet): otpsite/redis_cache.py.
    CACHES["default"]["BACKEND"] = "otpsite.redis_cache.SharedRedisCache"
    # A dead Redis must turn into a quick 503, not a hung worker.
    CACHES["default"].setdefault("OPTIONS", {}).update(socket_connect_timeout=2, socket_timeout=2)

# --- Django ---
# Never: the debug page shows settings and tracebacks to the client.
DEBUG = False
# Nothing here is signed (no sessions, cookies or password resets), so a per-process random key
# is enough and there is no further secret to configure.
SECRET_KEY = secrets.token_urlsafe(50)

INSTALLED_APPS = [
    "rest_framework",
    "otp",
]
MIDDLEWARE = [
    "otp.api.middleware.RequestLogMiddleware",
    "otpsite.request_body.RequestBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "otp.api.middleware.NoStoreMiddleware",
]
if DATABASES["default"]["ENGINE"] == "otpsite.postgres":
    # Outermost but for the access line, so that every database wait of a request counts.
    MIDDLEWARE.insert(1, "otpsite.postgres.deadline.RequestDeadlineMiddleware")
if ENABLE_DOCS:
    INSTALLED_APPS += ["django.contrib.staticfiles", "drf_spectacular", "drf_spectacular_sidecar"]
    # Right after SecurityMiddleware, as WhiteNoise asks: the Swagger UI assets come from the app
    # itself, so the docs work with no internet access.
    _security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    MIDDLEWARE.insert(_security + 1, "whitenoise.middleware.WhiteNoiseMiddleware")
    # Above WhiteNoise, which answers other methods on its assets with an empty 405 itself.
    MIDDLEWARE.insert(_security + 1, "otp.api.methods.JsonMethodNotAllowedMiddleware")

ROOT_URLCONF = "otpsite.urls"
WSGI_APPLICATION = "otpsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
    }
]
USE_TZ = True
TIME_ZONE = "UTC"
# Paths are exact; a redirect to "/otp/" would only confuse scripts.
APPEND_SLASH = False
# A verify body is about 20 bytes; anything much larger is not a client of ours (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

STATIC_URL = "/static/"
# Serve the docs assets straight from the installed apps: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    # Deny by default: a view is public only when it says so.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["otp.api.http.LimitedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "otp.api.http.JsonOnlyNegotiation",
    "EXCEPTION_HANDLER": "otp.api.errors.json_error_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # No django.contrib.auth here: an anonymous request simply has no user.
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "otp-service",
    "DESCRIPTION": (
        "TOTP codes for automation: fetch the current code of an account, or check one.\n\n"
        "**Authorize** with your API key (the X-API-Key header) to try the endpoints here. "
        "GET /otp/secure also needs X-Timestamp and X-Signature, a signature of the current "
        "time, entered with the request.\n\n"
        "Scripts can sign every request instead of sending the key (v2): X-Key-Id "
        "(`manage.py otp keyid`), X-Timestamp, X-Nonce and X-Signature over the whole request, "
        "as docs/api.md describes. Each needs a fresh nonce and signature, so v2 cannot be used "
        "from this page.\n\n"
        'Every error is `{"error": "<message>"}`. A request with a Host the service does not '
        "serve is 400, one whose announced body does not arrive in time 408."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# One JSON line per event on stdout, gunicorn's own lines included (they share this config
# because gunicorn loads the app before it forks).
LOGGING_CONFIG = "otpsite.log_config.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
    },
    "filters": {
        "withhold_client_input": {"()": "otpsite.log_config.WithholdClientInput"},
        "omit_service_unavailable": {"()": "otpsite.log_config.OmitServiceUnavailable"},
    },
    "handlers": {
        "stdout": {
            "class": "otpsite.log_config.TrailStreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["withhold_client_input"],
        },
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default handlers, which would e-mail tracebacks to ADMINS.
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        # 4xx lines would duplicate the access line; 5xx keep their traceback.
        "django.request": {
            "handlers": ["stdout"],
            "level": "ERROR",
            "filters": ["omit_service_unavailable"],
            "propagate": False,
        },
        # Its connection attempts during an outage would add lines to the one per 503.
        "psycopg.pool": {"handlers": ["stdout"], "level": "ERROR", "propagate": False},
        # runserver's own access line would be a second line per request.
        "django.server": {"handlers": ["stdout"], "level": "ERROR", "propagate": False},
        # Its message quotes the Host header the client sent.
        "django.security.DisallowedHost": {"handlers": ["discard"], "propagate": False},
        "gunicorn.error": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        "gunicorn.access": {"handlers": ["discard"], "propagate": False},
        # Its only lines say that the body of an answer to HEAD was not sent, once per HEAD
        # request: Django writes the body and leaves that to the server, as WSGI allows.
        "gunicorn.http.wsgi": {"handlers": ["stdout"], "level": "ERROR", "propagate": False},
    },
}
