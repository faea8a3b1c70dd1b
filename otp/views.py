"""The endpoints: thin views over the TOTP and storage modules, one clock reading per request."""

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import audit, clock, codes, lockout, readiness
from otp.access import account_for
from otp.accounts import DEFAULT_NAME
from otp.audit import Actor
from otp.authentication import (
    ApiKeyAuthentication,
    HmacSignatureAuthentication,
    SignedRequestAuthentication,
)
from otp.callers import ISSUE, VERIFY
from otp.exceptions import TooManyFailedAuthentications, TooManyWrongCodes
from otp.otpauth import ACCOUNT_NAME
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
# Every code handed out or checked is on the audit trail first; when it cannot be, no code.
UNRECORDED = OpenApiResponse(
    ErrorSerializer, description="The audit record could not be written: nothing handed out."
)
VERIFY_RESPONSES = {
    200: VerifyResultSerializer,
    400: OpenApiResponse(ErrorSerializer, description="Body is not JSON with a string otp."),
    401: unauthorized(ApiKeyAuthentication),
    413: OpenApiResponse(ErrorSerializer, description="Body larger than 1 KiB."),
    429: OpenApiResponse(
        ErrorSerializer,
        description=(
            "VERIFY_FAILURE_LIMIT consecutive wrong codes for the account: wait Retry-After "
            "seconds (30, doubling per further wrong code up to 15 minutes)."
        ),
    ),
    503: UNRECORDED,
}
VERIFY_EXAMPLES = [
    OpenApiExample("Code", {"otp": "482910"}, request_only=True),
    OpenApiExample("Valid", {"valid": True, "timestamp": 1700000012}, response_only=True),
]


class ProtectedView(APIView):
    """A view that needs valid credentials, from an address that is not locked out. Every
    refusal is on the audit trail."""

    # The account a view acts on when its path names none (the original endpoints: default).
    fixed_account = ""
    authentication_classes = [ApiKeyAuthentication, SignedRequestAuthentication]
    # No HEAD: Django would run GET for it, handing out (and recording) a code nobody receives.
    http_method_names = [name for name in APIView.http_method_names if name != "head"]

    def get_authenticators(self):
        if settings.REQUIRE_SIGNED_REQUESTS:
            return [SignedRequestAuthentication()]
        return super().get_authenticators()

    def initial(self, request, *args, **kwargs):
        # Checked before the credentials: a locked-out address must not learn whether a guess
        # was right, so it gets 429 either way.
        now = clock.now()
        wait = lockout.seconds_locked(request.client_address, now)
        if wait:
            self.record_refusal(request, "locked_out", now)
            raise TooManyFailedAuthentications(wait)
        try:
            super().initial(request, *args, **kwargs)
        except AuthenticationFailed as refused:
            # Only credentials presented and wrong count: a request with none guesses nothing,
            # and counting it would let a misconfigured monitor lock out every bot behind it.
            with transaction.atomic():  # counted only if it is on the record too
                lockout.record_failure(request.client_address, now)
                self.record_refusal(request, "failed", now, refused)
            raise

    def permission_denied(self, request, message=None, code=None):
        # With no credentials at all DRF would say "credentials were not provided"; answer as for
        # wrong ones, so a client cannot probe which part it got right.
        if request.authenticators and not request.successful_authenticator:
            self.record_refusal(request, "missing", clock.now())
            raise NotAuthenticated(request.authenticators[0].failure_message)
        super().permission_denied(request, message, code)

    def record_refusal(self, request, outcome: str, at: int, refused=None) -> None:
        """Audit a refused authentication, with whatever is known of who tried (a key id and
        client a refused key or signature named) and which account the path names."""
        actor = Actor(
            client=getattr(refused, "client", ""),
            key_id=getattr(refused, "key_id", ""),
            address=request.client_address,
            request_id=request.request_id,
        )
        name = self.kwargs.get("name", self.fixed_account)
        audit.record(
            actor, "authenticate", outcome, name if ACCOUNT_NAME.fullmatch(name) else "", at
        )

    @staticmethod
    def actor(request) -> Actor:
        caller = request.user
        return Actor(
            client=caller.name,
            key_id=caller.key_id,
            address=request.client_address,
            request_id=request.request_id,
        )

    def issue(self, request, name: str) -> Response:
        at, actor = clock.now(), self.actor(request)
        account = account_for(request.user, actor, name, ISSUE, at)
        return Response(codes.issue(account, actor, at))

    def verify(self, request, name: str) -> Response:
        at, actor = clock.now(), self.actor(request)
        account = account_for(request.user, actor, name, VERIFY, at)
        serializer = VerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = codes.verify(account, serializer.validated_data["otp"], actor, at)
        # The access log line says why a code was refused; the client only sees valid: false.
        request._request.verify_outcome = result.outcome
        if result.outcome == "throttled":
            raise TooManyWrongCodes(result.retry_after)
        return Response({"valid": result.outcome == "valid", "timestamp": at})


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
    fixed_account = DEFAULT_NAME

    @extend_schema(
        summary="Current code",
        responses={200: OtpSerializer, 401: unauthorized(ApiKeyAuthentication), 503: UNRECORDED},
        examples=[OTP_EXAMPLE],
    )
    def get(self, request):
        return self.issue(request, self.fixed_account)


class OtpSecureView(ProtectedView):
    fixed_account = DEFAULT_NAME
    authentication_classes = [HmacSignatureAuthentication, SignedRequestAuthentication]

    @extend_schema(
        summary="Current code, request signed with a timestamp",
        description=(
            "Like GET /otp, and the request must also carry X-Timestamp (unix seconds, within "
            "30 s of server time) and X-Signature = hex HMAC-SHA256(key=API key, msg=X-Timestamp)."
        ),
        responses={
            200: OtpSerializer,
            401: unauthorized(HmacSignatureAuthentication),
            503: UNRECORDED,
        },
        examples=[OTP_EXAMPLE],
    )
    def get(self, request):
        return self.issue(request, self.fixed_account)


class OtpVerifyView(ProtectedView):
    fixed_account = DEFAULT_NAME

    @extend_schema(
        summary="Check a code",
        description=(
            "Accepts the code of the previous, current or next 30-second window. A string that "
            "is not six ASCII digits is simply not valid."
        ),
        request=VerifyRequestSerializer,
        responses=VERIFY_RESPONSES,
        examples=VERIFY_EXAMPLES,
    )
    def post(self, request):
        return self.verify(request, self.fixed_account)
