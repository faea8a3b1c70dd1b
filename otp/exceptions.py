"""The errors the app raises, each with the HTTP answer it becomes (otp/api/errors.py shapes them
as {"error": ...})."""

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    Throttled,
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"
    default_code = "payload_too_large"


class AccountNotFound(NotFound):
    # The same answer for an account that does not exist and one the caller may not see.
    default_detail = "Account not found"


class ActionNotAllowed(PermissionDenied):
    default_detail = "This client may not do that on this account"


class MetricsNotAllowed(PermissionDenied):
    default_detail = "This client may not read the metrics"


class TooManyWrongCodes(Throttled):
    default_detail = "Too many wrong codes for this account."


class TooManyFailedAuthentications(Throttled):
    default_detail = "Too many failed authentications."


class CodeNotReady(APIException):
    """min_validity with wait=false, and the current code has too little time left."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The next code is not out yet: try again after Retry-After seconds."
    default_code = "code_not_ready"

    def __init__(self, wait: int):
        super().__init__()
        self.wait = wait  # DRF's exception handler sends it as Retry-After


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Service unavailable"
    default_code = "service_unavailable"


# The storage the service needs to account for codes and nonces cannot be reached: the request
# fails closed, nothing is handed out or accepted that could not be recorded. Other database
# errors (a missing table, bad SQL) are bugs and stay 500s with a traceback.
DEPENDENCY_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


class ClockSkewed(ServiceUnavailable):
    """GET /ready while this instance's clock is more than MAX_CLOCK_SKEW from the database
    server's (otp.clock_skew): every code it computes depends on that clock. Raised with the
    message otp.clock_skew.refusal() words."""

    default_code = "clock_skew"


class ShuttingDown(ServiceUnavailable):
    """A request waiting for the next window when its worker stops."""

    default_detail = "The service is shutting down; try again."

    def __init__(self):
        super().__init__()
        self.wait = 1
