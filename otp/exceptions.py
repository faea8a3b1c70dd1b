"""The service's API errors and the one handler that shapes every DRF error as {"error": ...}."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"
    default_code = "payload_too_large"


def json_error_handler(exc, context):
    """DRF's handler (it sets WWW-Authenticate and Retry-After), with the body flattened.

    Returns None for what DRF does not know, so Django logs the traceback and answers with
    handler500's generic body.
    """
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
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
