"""Every error as {"error": ...}: DRF's exception handler for what views raise, and Django's error
views (handler400/404/500...) for what happens before or outside DRF: an unknown path, a method
a path does not answer, a bad Host header, a crash.
"""

import logging

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, UnsupportedMediaType
from rest_framework.views import exception_handler

from otp import outages
from otp.exceptions import DEPENDENCY_ERRORS, PayloadTooLarge, ServiceUnavailable
from otp.sealing import CannotOpen

# The name these lines had before the handler moved here: log readers filter on it.
logger = logging.getLogger("otp.exceptions")


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            {"error": PayloadTooLarge.default_detail}, status=PayloadTooLarge.status_code
        )
    if isinstance(exception, DisallowedHost):
        # For the access log line (otp.api.middleware); Django's own message quotes the header.
        request.refusal_reason = "host not allowed"
    return JsonResponse({"error": "Bad request"}, status=status.HTTP_400_BAD_REQUEST)


def permission_denied(request, exception=None):
    return JsonResponse({"error": "Forbidden"}, status=status.HTTP_403_FORBIDDEN)


def not_found(request, exception=None):
    return JsonResponse({"error": "Not found"}, status=status.HTTP_404_NOT_FOUND)


def method_not_allowed(request, allowed: tuple[str, ...]):
    """405 with the methods the path answers (otp.api.methods), in the words DRF's 405 uses too."""
    response = JsonResponse(
        {"error": "Method not allowed"}, status=status.HTTP_405_METHOD_NOT_ALLOWED
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


def server_error(request):
    return JsonResponse(
        {"error": "Internal server error"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
    )


def json_error_handler(exc, context):
    """DRF's handler (it sets WWW-Authenticate and Retry-After), with the body flattened.

    Returns None for what DRF does not know, so Django logs the traceback and answers with
    handler500's generic body.
    """
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, MethodNotAllowed):
        # DRF's messages quote what the client sent; ours are fixed.
        exc.detail = "Method not allowed"
    elif isinstance(exc, UnsupportedMediaType):
        exc.detail = "Unsupported media type: send application/json"
    elif isinstance(exc, DEPENDENCY_ERRORS):
        outages.failed(exc)
        exc = ServiceUnavailable()
    elif isinstance(exc, CannotOpen):
        # A secret sealed under a key this instance was not given (another instance has a
        # newer OTP_ENCRYPTION_KEYS): it cannot account for the code, so it hands out none.
        logger.error("a stored secret cannot be opened with OTP_ENCRYPTION_KEYS, answering 503")
        exc = ServiceUnavailable()
    response = exception_handler(exc, context)
    if response is not None:
        response.data = {"error": error_message(response.data)}
    return response


def error_message(detail) -> str:
    """One readable line from DRF's error detail (a string, list or dict of them)."""
    if isinstance(detail, dict):
        if "detail" in detail:
            return error_message(detail["detail"])
        parts = []
        for field, value in detail.items():
            message = error_message(value)
            parts.append(message if field == "non_field_errors" else f"{field}: {message}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(error_message(item) for item in detail)
    return str(detail)
