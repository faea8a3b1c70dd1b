"""HTTP concerns shared by every response: the access log line and cache control."""

import logging
import re
import time
import uuid

from django.urls import Resolver404, resolve

from otp import metrics
from otp.api.addresses import client_address

access_log = logging.getLogger("otp.access")

# A client's id is echoed and logged only if it cannot smuggle anything into either.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestLogMiddleware:
    """One structured line per request, and its count and latency for GET /metrics; a request id
    taken from X-Request-ID or made, and echoed.

    The line holds method, path (no query string), status, latency, client address, request id,
    and when known the caller's name and key id, why a verification failed and why Django refused
    the request (a Host not in ALLOWED_HOSTS): never a header value, body, code or key.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")
        if not _SANE_REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        # Worked out once, for this line, the lockout check and the audit trail.
        request.request_id = request_id
        request.client_address = client_address(request)
        response = self.get_response(request)
        response.headers["X-Request-ID"] = request_id
        seconds = time.perf_counter() - started
        metrics.count_request(_route(request), request.method, response.status_code, seconds)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "latency_ms": round(seconds * 1000, 3),
            "client": request.client_address,
            "request_id": request_id,
        }
        # DRF puts the authenticated caller on the Django request too.
        caller = getattr(request, "user", None)
        if caller is not None:
            fields["caller"] = caller.name
            fields["key_id"] = caller.key_id
        outcome = getattr(request, "verify_outcome", None)
        if outcome is not None:
            fields["verify"] = outcome
        # Set by otp.api.errors, in fixed words.
        reason = getattr(request, "refusal_reason", None)
        if reason is not None:
            fields["reason"] = reason
        access_log.info("request", extra=fields)
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every /otp* and /accounts* response, errors included: a code
    must never sit in a shared cache or a client's history."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(("/otp", "/accounts")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _route(request) -> str | None:
    """The route that serves the request's path, or None for a path no route serves."""
    match = request.resolver_match
    if match is None:
        # Answered before its view was looked up (a body that never came, a Host not allowed):
        # still counted under the route its path names.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
    return match.route
