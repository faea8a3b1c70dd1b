"""The service's API errors and the one handler that shapes every DRF error as {"error": ...}."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    Throttled,
    UnsupportedMediaType,
)

from otp import outages
from otp.sealing import CannotOpen

logger = logging.getLogger(__name__)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"
    default_code = "payload_too_large"


class AccountNotFound(NotFound):
    # The same answer for an account that does not exist and one the caller may not see.
    default_detail = "Account not found"


class ActionNotAllowed(PermissionDenied):
    default_detail = "This client may not do that on this account"


class TooManyWrongCodes(Throttled):
    default_detail = "Too many wrong codes for this account."


class TooManyFailedAuthentications(Throttled):
    default_detail = "Too many failed authentications."


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Service unavailable"
    default_code = "service_unavailable"


# The storage the service needs to account for codes and nonces cannot be reached: the request
# fails closed, nothing is handed out or accepted that could not be recorded. Other database
# errors (a missing table, bad SQL) are bugs and stay 500s with a traceback.
DEPENDENCY_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


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
    # Imported here: DRF's views read its settings, which import otp.api.http, which imports this
    # module; at the top, whichever of the two loaded first would find the other half-made.
    from rest_framework.views import exception_handler

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
