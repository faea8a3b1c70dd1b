"""DRF authentication for the API key scheme and the API key + signed timestamp scheme."""

from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from otp import clock
from otp.credentials import key_id, key_matches, signature_matches, timestamp_is_fresh


@dataclass(frozen=True)
class ApiClient:
    """The caller a configured API key vouched for; the service has no user accounts."""

    key_id: str
    is_authenticated: ClassVar[bool] = True


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <key>`. No header: not this scheme (None). Wrong key: 401."""

    # One message for every failure of the scheme: a client must not learn which check failed.
    failure_message = "Invalid or missing API key"

    def authenticate(self, request):
        presented = request.META.get("HTTP_X_API_KEY")
        if presented is None:
            return None
        api_key = settings.API_KEY
        if not key_matches(presented, api_key):
            raise AuthenticationFailed(self.failure_message)
        return ApiClient(key_id(api_key)), None

    def authenticate_header(self, request):
        return 'ApiKey realm="otp-service"'


class HmacSignatureAuthentication(ApiKeyAuthentication):
    """The API key plus `X-Timestamp` (unix seconds, within MAX_SKEW_SECONDS of now, either way)
    and `X-Signature` = hex HMAC-SHA256(key=API key, msg=X-Timestamp value)."""

    failure_message = "Invalid or missing request signature"
    MAX_SKEW_SECONDS = 30

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is None:
            return None
        timestamp = request.META.get("HTTP_X_TIMESTAMP", "")
        signature = request.META.get("HTTP_X_SIGNATURE", "")
        fresh = timestamp_is_fresh(timestamp, clock.now(), self.MAX_SKEW_SECONDS)
        if not (fresh and signature_matches(settings.API_KEY, timestamp, signature)):
            raise AuthenticationFailed(self.failure_message)
        return authenticated

    def authenticate_header(self, request):
        return 'HmacSignature realm="otp-service"'
