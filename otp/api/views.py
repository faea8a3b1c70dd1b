"""The endpoints: thin views over the TOTP and storage modules, one clock reading per request."""

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import audit, codes, outages, readiness
from otp.api.access import account_for
from otp.api.authentication import (
    ApiKeyAuthentication,
    HmacSignatureAuthentication,
    SignedRequestAuthentication,
)
from otp.api.openapi import (
    REFUSAL_HEADERS,
    TIMESTAMP_SIGNATURE_PARAMETERS,
    UNAVAILABLE,
    protected_responses,
)
from otp.api.serializers import (
    HealthSerializer,
    OtpSerializer,
    VerifyRequestSerializer,
    VerifyResultSerializer,
)
from otp.core import clock
from otp.core.names import ACCOUNT_NAME, DEFAULT_NAME
from otp.core.principals import Action, Actor, Outcome
from otp.exceptions import TooManyFailedAuthentications, TooManyWrongCodes
from otp.guards import lockout

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
            self.record_refusal(request, Outcome.LOCKED_OUT, now)
            raise TooManyFailedAuthentications(wait)
        try:
            super().initial(request, *args, **kwargs)
        except AuthenticationFailed as refused:
            # Only credentials presented and wrong count: a request with none guesses nothing,
            # and counting it would let a misconfigured monitor lock out every bot behind it.
            with transaction.atomic():  # counted only if it is on the record too
                lockout.record_failure(request.client_address, now)
                self.record_refusal(request, Outcome.FAILED, now, refused)
            raise

    def permission_denied(self, request, message=None, code=None):
        # With no credentials at all DRF would say "credentials were not provided"; answer as for
        # wrong ones, so a client cannot probe which part it got right.
        if request.authenticators and not request.successful_authenticator:
            self.record_refusal(request, Outcome.MISSING, clock.now())
            raise NotAuthenticated(request.authenticators[0].failure_message)
        super().permission_denied(request, message, code)

    def record_refusal(self, request, outcome: Outcome, at: int, refused=None) -> None:
        """Audit a refused authentication, with whatever is known of who tried (a key id and
        client a refused key or signature named) and which account the path names."""
        actor = Actor(
            client=getattr(refused, "client", ""),
            key_id=getattr(refused, "key_id", ""),
            address=request.client_address,
            request_id=request.request_id,
        )
        name = self.kwargs.get("name", self.fixed_account)
        if not ACCOUNT_NAME.fullmatch(name):
            name = ""
        # Counted on one record a minute, so a flood does not grow the table per request; the
        # default account has no stored row to be looked up in.
        audit.record_refusal(
            actor, outcome=outcome, account=name, at=at, stored_account=name != DEFAULT_NAME
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
        account = account_for(request.user, actor, name, Action.ISSUE, at)
        return Response(codes.issue(account, actor, at))

    def verify(self, request, name: str) -> Response:
        at, actor = clock.now(), self.actor(request)
        account = account_for(request.user, actor, name, Action.VERIFY, at)
        serializer = VerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = codes.verify(account, serializer.validated_data["otp"], actor, at)
        # The access log line says why a code was refused; the client only sees valid: false.
        request._request.verify_outcome = result.outcome
        if result.outcome == Outcome.THROTTLED:
            raise TooManyWrongCodes(result.retry_after)
        return Response({"valid": result.outcome == Outcome.VALID, "timestamp": at})

    def finalize_response(self, request, response, *args, **kwargs):
        # Every protected request reads the database first (the lockout check): an answer
        # below 500 means the database answered, and its outage the log was telling is over.
        if response.status_code < 500:
            outages.served("database")
        return super().finalize_response(request, response, *args, **kwargs)


class ReadyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness check: the database and the cache answer",
        description="200 once the database and the cache both answer, else 503.",
        responses={200: HealthSerializer, 503: UNAVAILABLE},
        examples=[OpenApiExample("Ready", {"status": "ready", "timestamp": 1700000000})],
    )
    def get(self, request):
        readiness.check_storage()
        outages.served("database")
        outages.served("cache")
        return Response({"status": "ready", "timestamp": clock.now()})


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness check",
        description="200 while the process serves requests; it touches no storage.",
        responses={200: HealthSerializer},
        examples=[OpenApiExample("Alive", {"status": "ok", "timestamp": 1700000000})],
    )
    def get(self, request):
        return Response({"status": "ok", "timestamp": clock.now()})


class OtpView(ProtectedView):
    fixed_account = DEFAULT_NAME

    @extend_schema(
        summary="Current code",
        description=(
            "The current code of the `default` account (OTP_SECRET). A client limited to other "
            "accounts gets 404; one that may see it but not fetch codes gets 403."
        ),
        responses=protected_responses(OTP_RESPONSE, ApiKeyAuthentication),
        parameters=REFUSAL_HEADERS,
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
            "30 s of server time) and X-Signature = hex HMAC-SHA256(key=API key, msg=X-Timestamp), "
            "or be a signed (v2) request."
        ),
        responses=protected_responses(OTP_RESPONSE, HmacSignatureAuthentication),
        parameters=[*TIMESTAMP_SIGNATURE_PARAMETERS, *REFUSAL_HEADERS],
        examples=[OTP_EXAMPLE],
    )
    def get(self, request):
        return self.issue(request, self.fixed_account)


class OtpVerifyView(ProtectedView):
    fixed_account = DEFAULT_NAME

    @extend_schema(
        summary="Check a code",
        description=(
            "Accepts the code of the previous, current or next 30-second window of the "
            "`default` account, once. A string that is not six ASCII digits is simply not "
            "valid. The whole body is at most 1 KiB (else 413)."
        ),
        request=VerifyRequestSerializer,
        responses=protected_responses(
            VERIFY_RESPONSE, ApiKeyAuthentication, body=True, wrong_codes=True
        ),
        parameters=REFUSAL_HEADERS,
        examples=VERIFY_EXAMPLES,
    )
    def post(self, request):
        return self.verify(request, self.fixed_account)
