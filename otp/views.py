"""The endpoints: thin views over the TOTP and storage modules, one clock reading per request."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import clock, lockout, readiness, totp
from otp.addresses import client_address
from otp.authentication import (
    ApiKeyAuthentication,
    HmacSignatureAuthentication,
    SignedRequestAuthentication,
)
from otp.one_time import accept_step
from otp.serializers import (
    ErrorSerializer,
    HealthSerializer,
    OtpSerializer,
    VerifyRequestSerializer,
    VerifyResultSerializer,
)


def unauthorized(authentication) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description="Credentials missing or wrong: one message, whatever failed.",
        examples=[OpenApiExample("Unauthorized", {"error": authentication.failure_message})],
    )


OTP_EXAMPLE = OpenApiExample(
    "Current code", {"otp": "482910", "valid_for_seconds": 18, "timestamp": 1700000012}
)


class ProtectedView(APIView):
    """A view that needs valid credentials, from an address that is not locked out."""

    authentication_classes = [ApiKeyAuthentication, SignedRequestAuthentication]

    def get_authenticators(self):
        if settings.REQUIRE_SIGNED_REQUESTS:
            return [SignedRequestAuthentication()]
        return super().get_authenticators()

    def initial(self, request, *args, **kwargs):
        # Checked before the credentials: a locked-out address must not learn whether a guess
        # was right, so it gets 429 either way.
        address, now = client_address(request), clock.now()
        wait = lockout.seconds_locked(address, now)
        if wait:
            raise Throttled(wait, detail="Too many failed authentications.")
        try:
            super().initial(request, *args, **kwargs)
        except AuthenticationFailed:
            # Only credentials presented and wrong count: a request with none guesses nothing,
            # and counting it would let a misconfigured monitor lock out every bot behind it.
            lockout.record_failure(address, now)
            raise

    def permission_denied(self, request, message=None, code=None):
        # With no credentials at all DRF would say "credentials were not provided"; answer as for
        # wrong ones, so a client cannot probe which part it got right.
        if request.authenticators and not request.successful_authenticator:
            raise NotAuthenticated(request.authenticators[0].failure_message)
        super().permission_denied(request, message, code)


def current_code_body(at: int) -> dict:
    """The /otp body: code, time left and timestamp all derived from the one reading `at`."""
    return {
        "otp": totp.code_at(settings.OTP_SECRET, at),
        "valid_for_seconds": totp.seconds_left(at),
        "timestamp": at,
    }


class ReadyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness check: the database and the cache answer",
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(ErrorSerializer, description="Database or cache unreachable."),
        },
        examples=[OpenApiExample("Ready", {"status": "ready", "timestamp": 1700000000})],
    )
    def get(self, request):
        readiness.check_storage()
        return Response({"status": "ready", "timestamp": clock.now()})


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness check",
        responses={200: HealthSerializer},
        examples=[OpenApiExample("Alive", {"status": "ok", "timestamp": 1700000000})],
    )
    def get(self, request):
        return Response({"status": "ok", "timestamp": clock.now()})


class OtpView(ProtectedView):
    @extend_schema(
        summary="Current code",
        responses={200: OtpSerializer, 401: unauthorized(ApiKeyAuthentication)},
        examples=[OTP_EXAMPLE],
    )
    def get(self, request):
        return Response(current_code_body(clock.now()))


class OtpSecureView(ProtectedView):
    authentication_classes = [HmacSignatureAuthentication, SignedRequestAuthentication]

    @extend_schema(
        summary="Current code, request signed with a timestamp",
        description=(
            "Like GET /otp, and the request must also carry X-Timestamp (unix seconds, within "
            "30 s of server time) and X-Signature = hex HMAC-SHA256(key=API key, msg=X-Timestamp)."
        ),
        responses={200: OtpSerializer, 401: unauthorized(HmacSignatureAuthentication)},
        examples=[OTP_EXAMPLE],
    )
    def get(self, request):
        return Response(current_code_body(clock.now()))


class OtpVerifyView(ProtectedView):
    @extend_schema(
        summary="Check a code",
        description=(
            "Accepts the code of the previous, current or next 30-second window. A string that "
            "is not six ASCII digits is simply not valid."
        ),
        request=VerifyRequestSerializer,
        responses={
            200: VerifyResultSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="Body is not JSON with a string otp."
            ),
            401: unauthorized(ApiKeyAuthentication),
            413: OpenApiResponse(ErrorSerializer, description="Body larger than 1 KiB."),
        },
        examples=[
            OpenApiExample("Code", {"otp": "482910"}, request_only=True),
            OpenApiExample("Valid", {"valid": True, "timestamp": 1700000012}, response_only=True),
        ],
    )
    def post(self, request):
        serializer = VerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        at = clock.now()
        outcome = verify_once(settings.OTP_SECRET, serializer.validated_data["otp"], at)
        # The access log line says why a code was refused; the client only sees valid: false.
        request._request.verify_outcome = outcome
        return Response({"valid": outcome == "valid", "timestamp": at})


def verify_once(secret: str, code: str, at: int) -> str:
    """ "valid", "invalid" or "replayed": a matching code is valid only the first time its time
    step (or a later one) is used."""
    step = totp.matching_step(secret, code, at)
    if step is None:
        return "invalid"
    return "valid" if accept_step(totp.fingerprint(secret), step) else "replayed"
