"""The endpoints of the accounts held in the database: list them, get and check their codes."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response

from otp.accounts import account_summaries
from otp.api.authentication import ApiKeyAuthentication
from otp.api.openapi import ACCOUNT_NAME_PARAMETER, REFUSAL_HEADERS, protected_responses
from otp.api.serializers import AccountListSerializer, VerifyRequestSerializer
from otp.api.views import OTP_EXAMPLE, OTP_RESPONSE, VERIFY_EXAMPLES, VERIFY_RESPONSE, ProtectedView

ACCOUNT_LIST_EXAMPLE = OpenApiExample(
    "Accounts",
    {
        "accounts": [
            {"name": "default", "issuer": "", "algorithm": "SHA1", "digits": 6, "period": 30},
            {
                "name": "github-bot",
                "issuer": "GitHub",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
            },
        ]
    },
)
ACCOUNT_LIST_RESPONSE = OpenApiResponse(
    AccountListSerializer, description="The accounts this client may see, by name."
)


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
        responses=protected_responses(OTP_RESPONSE, ApiKeyAuthentication),
        parameters=[ACCOUNT_NAME_PARAMETER, *REFUSAL_HEADERS],
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
