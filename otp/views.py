"""The four endpoints: thin views over the TOTP module, one clock reading per request."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import clock, totp
from otp.authentication import ApiKeyAuthentication, HmacSignatureAuthentication
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
    """A view that needs valid credentials of its first authentication scheme."""

    authentication_classes = [ApiKeyAuthentication]

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
    authentication_classes = [HmacSignatureAuthentication]

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
        step = totp.matching_step(settings.OTP_SECRET, serializer.validated_data["otp"], at)
        return Response({"valid": step is not None, "timestamp": at})
