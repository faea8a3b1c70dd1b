"""Every endpoint: thin views over the app's modules, one clock reading per request. What the
protected ones share is in otp/api/base.py."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import audit, clock_skew, metrics, outages, readiness
from otp.accounts import account_summaries
from otp.api.authentication import (
    ApiKeyAuthentication,
    HmacSignatureAuthentication,
    MetricsKeyAuthentication,
    SignedRequestAuthentication,
)
from otp.api.base import ProtectedView
from otp.api.openapi import (
    ACCOUNT_LIST_EXAMPLE,
    ACCOUNT_LIST_RESPONSE,
    ACCOUNT_NAME_PARAMETER,
    CODE_REFUSAL_HEADERS,
    FRESHNESS_PARAMETERS,
    METRICS_TEXT,
    OTP_EXAMPLE,
    OTP_RESPONSE,
    REFUSAL_HEADERS,
    TIMESTAMP_SIGNATURE_PARAMETERS,
    VERIFY_EXAMPLES,
    VERIFY_RESPONSE,
    metrics_responses,
    protected_responses,
)
from otp.api.serializers import (
    ErrorSerializer,
    HealthSerializer,
    VerifyRequestSerializer,
)
from otp.core import clock
from otp.core.names import DEFAULT_NAME
from otp.core.principals import Action, Outcome
from otp.exceptions import MetricsNotAllowed, ServiceUnavailable


class ReadyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness check: the storage answers and the clock agrees with the database's",
        description=(
            "200 once the database and the cache both answer and, with PostgreSQL, this "
            "instance's clock is within MAX_CLOCK_SKEW seconds of the database server's (every "
            "code is computed from it); else 503."
        ),
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "The database or the cache cannot be reached, or this instance's clock is "
                    "too far from the database server's: that message names the skew, rounded "
                    "to whole seconds, and the limit."
                ),
                examples=[
                    OpenApiExample(
                        "Storage unavailable", {"error": ServiceUnavailable.default_detail}
                    ),
                    OpenApiExample("Clock skew", {"error": clock_skew.refusal(12, 5)}),
                ],
            ),
        },
        examples=[OpenApiExample("Ready", {"status": "ready", "timestamp": 1700000000})],
    )
    def get(self, request):
        readiness.check_storage()
        outages.served("database")
        outages.served("cache")
        readiness.check_clock()
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
        responses=protected_responses(OTP_RESPONSE, ApiKeyAuthentication, fresh=True),
        parameters=[*FRESHNESS_PARAMETERS, *CODE_REFUSAL_HEADERS],
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
        responses=protected_responses(OTP_RESPONSE, HmacSignatureAuthentication, fresh=True),
        parameters=[*TIMESTAMP_SIGNATURE_PARAMETERS, *FRESHNESS_PARAMETERS, *CODE_REFUSAL_HEADERS],
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


class AccountListView(ProtectedView):
    @extend_schema(
        summary="The accounts this client may use",
        description="Names and TOTP parameters of the accounts this client may see; no secrets.",
        responses=protected_responses(ACCOUNT_LIST_RESPONSE, ApiKeyAuthentication, account=False),
        parameters=REFUSAL_HEADERS,
        examples=[ACCOUNT_LIST_EXAMPLE],
    )
    def get(self, request):
        return Response({"accounts": account_summaries(request.user.may_see)})


class AccountOtpView(ProtectedView):
    @extend_schema(
        summary="Current code of one account",
        description="Like GET /otp, with the account's own algorithm, digits and period.",
        responses=protected_responses(OTP_RESPONSE, ApiKeyAuthentication, fresh=True),
        parameters=[ACCOUNT_NAME_PARAMETER, *FRESHNESS_PARAMETERS, *CODE_REFUSAL_HEADERS],
        examples=[OTP_EXAMPLE],
    )
    def get(self, request, name):
        return self.issue(request, name)


class AccountVerifyView(ProtectedView):
    @extend_schema(
        summary="Check a code of one account",
        description=(
            "Like POST /otp/verify, once per code and account. After VERIFY_FAILURE_LIMIT "
            "consecutive wrong codes the account answers 429 with Retry-After, doubling per "
            "further wrong code up to 15 minutes; a valid code resets it. The whole body is at "
            "most 1 KiB (else 413)."
        ),
        request=VerifyRequestSerializer,
        responses=protected_responses(
            VERIFY_RESPONSE, ApiKeyAuthentication, body=True, wrong_codes=True
        ),
        parameters=[ACCOUNT_NAME_PARAMETER, *REFUSAL_HEADERS],
        examples=VERIFY_EXAMPLES,
    )
    def post(self, request, name):
        return self.verify(request, name)


def _metrics_answer() -> HttpResponse:
    # Storage and clock measured at each scrape, so that they are current where nothing probes
    # /ready, and right after an outage.
    readiness.probe_for_metrics()
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)


class MetricsView(ProtectedView):
    """GET /metrics for Prometheus: a key granted --metrics (or an environment key), sent as a
    bearer token or X-API-Key. A scrape is not audited; a refused one is, like any refusal."""

    authentication_classes = [MetricsKeyAuthentication, SignedRequestAuthentication]

    def get_authenticators(self):
        # Not ProtectedView's: MetricsKeyAuthentication applies REQUIRE_SIGNED_REQUESTS itself,
        # so that a metrics-only key, which opens no code, may still travel.
        return [authentication() for authentication in self.authentication_classes]

    @extend_schema(
        summary="Metrics, in Prometheus' text format",
        description=(
            "Requests, codes issued, verifications, refused authentications, audit write time, "
            "storage and clock offset, summed over this instance's workers. With "
            "METRICS_PUBLIC=true it needs no key."
        ),
        responses=metrics_responses(MetricsKeyAuthentication),
        parameters=REFUSAL_HEADERS,
    )
    def get(self, request):
        if not request.user.may_read_metrics:
            audit.record(
                self.actor(request),
                action=Action.READ_METRICS,
                outcome=Outcome.DENIED,
                at=clock.now(),
            )
            raise MetricsNotAllowed()
        return _metrics_answer()


class PublicMetricsView(APIView):
    """GET /metrics with METRICS_PUBLIC=true: for a network that already restricts who reaches
    it. The figures hold no secret, but they tell who uses which account how often."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Metrics, in Prometheus' text format",
        description="Open to anyone who can reach the service (METRICS_PUBLIC=true).",
        responses=METRICS_TEXT,
    )
    def get(self, request):
        return _metrics_answer()
