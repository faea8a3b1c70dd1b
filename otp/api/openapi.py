"""How the API appears in its OpenAPI document: who may call it and every answer it can give."""

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from otp.api.serializers import (
    AccountListSerializer,
    ErrorSerializer,
    OtpSerializer,
    VerifyResultSerializer,
)
from otp.core.names import ACCOUNT_NAME

# The longest name ACCOUNT_NAME matches: one character, then up to 63.
ACCOUNT_NAME_MAX_LENGTH = 64

API_KEY_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": (
        "Your API key: the service's API_KEY, or a client key printed by "
        "`manage.py otp client create`. A client created with --require-signature must sign "
        "its requests instead, so its key is refused here."
    ),
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "otp.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return API_KEY_SCHEME


class TimestampSignatureScheme(OpenApiAuthenticationExtension):
    """/otp/secure's v1 scheme: the ApiKey scheme, plus two headers that change with the time,
    which that operation documents as its parameters (a person enters them per request)."""

    target_class = "otp.api.authentication.HmacSignatureAuthentication"
    # Registers nothing of its own: ApiKeyScheme defines "ApiKey" (a second definition of the
    # same name, from another class, would be a conflict).
    name = []

    def get_security_requirement(self, auto_schema):
        return {ApiKeyScheme.name: []}

    def get_security_definition(self, auto_schema):
        return []


class SignedRequestScheme(OpenApiAuthenticationExtension):
    """v2 signed requests: listed only where they are the only way in (REQUIRE_SIGNED_REQUESTS).

    Nobody can sign a request with a fresh nonce from a browser: next to the API key, an entry in
    Swagger's Authorize dialog could only produce 401s (which count toward the address's
    lockout). The API description tells scripts about v2.
    """

    target_class = "otp.api.authentication.SignedRequestAuthentication"

    @property
    def name(self) -> list[str]:
        return ["SignedRequest"] if settings.REQUIRE_SIGNED_REQUESTS else []

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Key-Id",
                "description": (
                    "Signed requests only: X-Key-Id (`manage.py otp keyid`), X-Timestamp, "
                    "X-Nonce and X-Signature over the whole request, as docs/api.md describes. "
                    "They cannot be made from this page."
                ),
            }
            for _ in self.name
        ]


class MetricsKeyScheme(OpenApiAuthenticationExtension):
    """GET /metrics: a bearer token (Prometheus' `authorization` setting) or the ApiKey scheme."""

    target_class = "otp.api.authentication.MetricsKeyAuthentication"
    name = "MetricsBearer"

    def get_security_requirement(self, auto_schema):
        # With only signed requests accepted, only a metrics-only key may travel, and nothing
        # else documents the ApiKey scheme.
        if settings.REQUIRE_SIGNED_REQUESTS:
            return [{self.name: []}]
        return [{self.name: []}, {ApiKeyScheme.name: []}]

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key allowed to read the metrics (API_KEY, or a client created with "
                "--metrics; where signed requests are required, only a client granted nothing "
                "else) as `Authorization: Bearer <key>`."
            ),
        }


class CodeFieldScheme(OpenApiSerializerFieldExtension):
    """A code is any string; its only bound is the body's size limit."""

    target_class = "otp.api.serializers.CodeField"

    def map_serializer_field(self, auto_schema, direction):
        # The longest string a body within the limit can carry, as {"otp":"..."} in ASCII.
        longest = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len('{"otp":""}')
        return {"type": "string", "maxLength": longest}


ACCOUNT_NAME_PARAMETER = OpenApiParameter(
    "name",
    {
        "type": "string",
        # Anchored, this reads in JSON Schema's regex dialect (ECMA-262) as fullmatch does here.
        "pattern": f"^{ACCOUNT_NAME.pattern}$",
        "minLength": 1,
        "maxLength": ACCOUNT_NAME_MAX_LENGTH,
    },
    OpenApiParameter.PATH,
    description="The account's name, as `manage.py otp account list` shows it.",
)

TIMESTAMP_SIGNATURE_PARAMETERS = [
    OpenApiParameter(
        "X-Timestamp",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="Unix time in seconds, within 30 s of the server's clock: `date +%s`.",
    ),
    OpenApiParameter(
        "X-Signature",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description=(
            "Lowercase hex HMAC-SHA256 of the X-Timestamp value, keyed with your API key: "
            '`printf %s "$TS" | openssl dgst -sha256 -hmac "$API_KEY"`.'
        ),
    ),
]

# The headers DRF sets on refusals: which scheme to use, and how long to wait.
REFUSAL_HEADERS = [
    OpenApiParameter(
        "WWW-Authenticate",
        str,
        OpenApiParameter.HEADER,
        required=True,
        response=[401],
        description="The scheme to authenticate with.",
    ),
    OpenApiParameter(
        "Retry-After",
        int,
        OpenApiParameter.HEADER,
        required=True,
        response=[429],
        description="Seconds to wait before trying again.",
    ),
]


# The query of the code endpoints (otp.api.serializers.FreshnessSerializer).
FRESHNESS_PARAMETERS = [
    OpenApiParameter(
        "min_validity",
        {"type": "integer", "minimum": 1, "maximum": 119},
        OpenApiParameter.QUERY,
        required=False,
        description=(
            "Seconds the code must still be valid, 1 to the account's period minus 1. If the "
            "current code has fewer left, the answer waits for the next window and is its code "
            "(valid_for_seconds = the period, timestamp = the window's first second)."
        ),
    ),
    OpenApiParameter(
        "wait",
        {"type": "string", "enum": ["true", "false"]},
        OpenApiParameter.QUERY,
        required=False,
        description="false: instead of waiting, answer 409 with Retry-After (default true).",
    ),
]
# The code endpoints' refusal headers: Retry-After also on 409 and on a shutdown's 503.
CODE_REFUSAL_HEADERS = [
    REFUSAL_HEADERS[0],
    OpenApiParameter(
        "Retry-After",
        int,
        OpenApiParameter.HEADER,
        required=True,
        response=[409, 429],
        description="Seconds to wait before trying again.",
    ),
]


def error(description: str, message: str = "") -> OpenApiResponse:
    """An error answer: {"error": message}, with the message as its example when one is fixed."""
    examples = [OpenApiExample("Error", {"error": message})] if message else []
    return OpenApiResponse(ErrorSerializer, description=description, examples=examples)


UNAVAILABLE = error(
    "The database or the cache cannot be reached, or the audit record cannot be written: "
    "nothing is handed out or accepted that is not on the record.",
    "Service unavailable",
)


def protected_responses(
    ok,
    authentication,
    *,
    account: bool = True,
    body: bool = False,
    wrong_codes: bool = False,
    fresh: bool = False,
) -> dict:
    """Every answer of a protected operation: `ok` as 200, then each refusal.

    `authentication` is the view's first authentication class (its message is the 401's);
    `account` if the operation acts on one account, `body` if it reads a JSON body,
    `wrong_codes` if it counts wrong codes per account, `fresh` if it takes min_validity.
    """
    locked_out = (
        "Too many failed authentications from this address (AUTH_FAILURE_LIMIT within "
        "AUTH_FAILURE_WINDOW): every request from it is refused for Retry-After seconds, "
        "whatever its credentials."
    )
    if wrong_codes:
        locked_out += (
            " Or VERIFY_FAILURE_LIMIT consecutive wrong codes for the account: wait Retry-After "
            "seconds (30, doubling per further wrong code up to 15 minutes)."
        )
    responses = {
        200: ok,
        401: error(
            "Credentials missing or wrong: one message, whatever failed.",
            authentication.failure_message,
        ),
        413: error(
            "The request body is larger than 1 KiB (for a signed request, whose body is read "
            "to check its signature, on any method).",
            "Request body too large",
        ),
        # gunicorn answers this before Django sees the request (limit_request_line, 4094 bytes).
        414: error("The request line (method, path and query string) is longer than 4 KiB."),
        429: error(locked_out),
        503: UNAVAILABLE,
    }
    if account:
        responses[403] = error(
            "This client may see the account but not do this on it.",
            "This client may not do that on this account",
        )
        responses[404] = error(
            "No such account, or one this client may not see: one answer for both.",
            "Account not found",
        )
    if body:
        responses[400] = error(
            "The body is not a JSON object with a string `otp` (a duplicate key included)."
        )
        responses[408] = error("The announced body did not arrive in time.")
        responses[415] = error("The body is not sent as application/json.")
    if fresh:
        responses[400] = error(
            "min_validity or wait is not one the account allows (whole seconds from 1 to its "
            "period minus 1; true or false)."
        )
        responses[409] = error(
            "wait=false, and the current code has less than min_validity seconds left: the next "
            "one is out after Retry-After seconds.",
            "The next code is not out yet: try again after Retry-After seconds.",
        )
    return dict(sorted(responses.items()))


METRICS_TEXT = {
    (200, "text/plain"): OpenApiResponse(
        OpenApiTypes.STR, description="Prometheus' text format (otp/metrics.py lists the series)."
    )
}


def metrics_responses(authentication) -> dict:
    """GET /metrics's answers: the figures as text, or a protected operation's refusals."""
    refusals = protected_responses(None, authentication, account=False)
    del refusals[200]
    refusals[403] = error(
        "This client's key is good but not granted --metrics.",
        "This client may not read the metrics",
    )
    return {**METRICS_TEXT, **dict(sorted(refusals.items()))}


# Examples and documented answers of the endpoints (otp/api/views.py).
OTP_EXAMPLE = OpenApiExample(
    "Current code", {"otp": "482910", "valid_for_seconds": 18, "timestamp": 1700000012}
)
OTP_RESPONSE = OpenApiResponse(
    OtpSerializer, description="The current code (every code handed out is on the audit trail)."
)
VERIFY_RESPONSE = OpenApiResponse(
    VerifyResultSerializer, description="Whether the code is valid: each code is accepted once."
)
VERIFY_EXAMPLES = [
    OpenApiExample("Code", {"otp": "482910"}, request_only=True),
    OpenApiExample("Valid", {"valid": True, "timestamp": 1700000012}, response_only=True),
]
ACCOUNT_LIST_EXAMPLE = OpenApiExample(
    "Accounts",
    {
        "accounts": [
            {
                "name": "default",
                "issuer": "",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "exclusive": False,
            },
            {
                "name": "github-bot",
                "issuer": "GitHub",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "exclusive": True,
            },
        ]
    },
)
ACCOUNT_LIST_RESPONSE = OpenApiResponse(
    AccountListSerializer, description="The accounts this client may see, by name."
)
