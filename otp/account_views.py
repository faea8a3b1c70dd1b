"""The endpoints of the accounts held in the database: list them, get and check their codes."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response

from otp.accounts import account_summaries
from otp.authentication import ApiKeyAuthentication
from otp.serializers import (
    AccountListSerializer,
    ErrorSerializer,
    OtpSerializer,
    VerifyRequestSerializer,
)
from otp.views import (
    OTP_EXAMPLE,
    UNRECORDED,
    VERIFY_EXAMPLES,
    VERIFY_RESPONSES,
    ProtectedView,
    unauthorized,
)

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
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such account, or one this client may not see: one answer."
)
FORBIDDEN = OpenApiResponse(
    ErrorSerializer, description="The client may see the account but not do this on it."
)


class AccountListView(ProtectedView):
    @extend_schema(
        summary="The accounts this client may use",
        responses={200: AccountListSerializer, 401: unauthorized(ApiKeyAuthentication)},
        examples=[ACCOUNT_LIST_EXAMPLE],
    )
    def get(self, request):
        return Response({"accounts": account_summaries(request.user.may_see)})


class AccountOtpView(ProtectedView):
    @extend_schema(
        summary="Current code of one account",
        description="Like GET /otp, with the account's own algorithm, digits and period.",
        responses={
            200: OtpSerializer,
            401: unauthorized(ApiKeyAuthentication),
            403: FORBIDDEN,
            404: NOT_FOUND,
            503: UNRECORDED,
        },
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
            "further wrong code up to 15 minutes; a valid code resets it."
        ),
        request=VerifyRequestSerializer,
        responses={**VERIFY_RESPONSES, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=VERIFY_EXAMPLES,
    )
    def post(self, request, name):
        return self.verify(request, name)
