"""What GET /metrics exports (Prometheus), and where each figure comes from.

Under gunicorn every worker is a process of its own: prometheus-client's multiprocess mode
keeps each one's values in files under PROMETHEUS_MULTIPROC_DIR (otpsite/gunicorn_common.py
makes it), and a scrape adds them up. Without it (runserver, the tests' in-process client)
the process's own registry is exported.

No label holds anything a client sent unchecked: endpoints are route templates, accounts only
names that resolved to an account, clients the names the operator gave them.
"""

import os
import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# From a cache hit (well under a millisecond) to a request that waited for the next window.
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)  # fmt: skip

REQUESTS = Counter(
    "otp_http_requests",
    "HTTP requests answered, by endpoint (route template), method and status.",
    ["endpoint", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "otp_http_request_duration_seconds",
    "Time from a request's arrival in Django to its answer, by endpoint.",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
)
CODES_ISSUED = Counter(
    "otp_codes_issued", "Codes handed out, by account and client.", ["account", "client"]
)
VERIFICATIONS = Counter(
    "otp_verifications",
    "Codes checked, by account and outcome (valid, invalid, replayed, throttled).",
    ["account", "outcome"],
)
REFUSED_AUTHENTICATIONS = Counter(
    "otp_refused_authentications",
    "Requests refused before their credentials were accepted, by outcome "
    "(missing, failed, locked_out).",
    ["outcome"],
)
AUDIT_WRITE_SECONDS = Histogram(
    "otp_audit_write_seconds",
    "Time to write one audit record (each answer waits for its record).",
    buckets=_LATENCY_BUCKETS,
)
STORAGE_UP = Gauge(
    "otp_storage_up",
    "1 while the store (database, cache) answered the last request that needed it, else 0.",
    ["store"],
    multiprocess_mode="mostrecent",
)
CLOCK_OFFSET = Gauge(
    "otp_clock_offset_seconds",
    "This instance's clock minus the PostgreSQL server's, as last measured (GET /ready).",
    multiprocess_mode="mostrecent",
)


# Methods are labelled by name only when they are HTTP's: gunicorn passes on any token a client
# makes up, and each would be a series of its own.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_PATH_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def endpoint_of(route: str | None) -> str:
    """The label of a request's endpoint: its route as a template ("/accounts/{name}/otp"), or
    "unmatched" for a path no route serves (never the path itself: a client makes those up)."""
    if route is None:
        return "unmatched"
    return "/" + _PATH_PARAMETER.sub(r"{\1}", route)


def count_request(route: str | None, method: str, status: int, seconds: float) -> None:
    endpoint = endpoint_of(route)
    method = method if method in _METHODS else "other"
    REQUESTS.labels(endpoint, method, str(status)).inc()
    REQUEST_SECONDS.labels(endpoint).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The current figures in Prometheus' text format, and its content type."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # A registry per scrape, as prometheus-client's docs have it: the collector reads
        # every worker's files, those of workers since gone included.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
