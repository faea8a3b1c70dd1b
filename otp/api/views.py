"""Every endpoint: thin views over the app's modules, one clock reading per request. What the
protected ones share is in otp/api/base.py."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import outages, readiness
from otp.accounts import account_summaries
from otp.api.authentication import (
    ApiKeyAuthentication,
    HmacSignatureAuthentication,
    SignedRequestAuthentication,
)
from otp.api.base import ProtectedView
from otp.api.openapi import (
    ACCOUNT_LIST_EXAMPLE,
    ACCOUNT_LIST_RESPONSE,
    ACCOUNT_NAME_PARAMETER,
    CODE_REFUSAL_HEADERS,
    FRESHNESS_PARAMETERS,
    OTP_EXAMPLE,
    OTP_RESPONSE,
    REFUSAL_HEADERS,
    TIMESTAMP_SIGNATURE_PARAMETERS,
    UNAVAILABLE,
    VERIFY_EXAMPLES,
    VERIFY_RESPONSE,
    protected_responses,
)
from otp.api.serializers import (
    HealthSerializer,
    VerifyRequestSerializer,
)
from otp.core import clock
from otp.core.names import DEFAULT_NAME


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
