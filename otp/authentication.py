"""DRF authentication: the API key (v1), the key plus a signed timestamp (v1 /otp/secure), and
v2 signed requests, where the key never leaves the client."""

from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from otp import clock, nonces
from otp.credentials import (
    NONCE_PATTERN,
    constant_time_equal,
    key_id,
    matching_key,
    request_signature,
    signature_matches,
    timestamp_is_fresh,
)

MAX_SKEW_SECONDS = 30


@dataclass(frozen=True)
class ApiClient:
    """The caller a configured API key vouched for; the service has no user accounts."""

    key_id: str
    is_authenticated: ClassVar[bool] = True


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <key>`, any configured key. No header: not this scheme (None). Else 401."""

    # One message for every failure of the scheme: a client must not learn which check failed.
    failure_message = "Invalid or missing API key"

    def authenticate(self, request):
        api_key = self.presented_key(request)
        if api_key is None:
            return None
        # request.auth stays None: the key itself is kept out of the request's state.
        return ApiClient(key_id(api_key)), None

    def presented_key(self, request) -> str | None:
        """The configured key sent as X-API-Key; None without the header, 401 if it is wrong."""
        presented = request.META.get("HTTP_X_API_KEY")
        if presented is None:
            return None
        api_key = matching_key(presented, settings.API_KEYS)
        if api_key is None:
            raise AuthenticationFailed(self.failure_message)
        return api_key

    def authenticate_header(self, request):
        return 'ApiKey realm="otp-service"'


class HmacSignatureAuthentication(ApiKeyAuthentication):
    """The API key plus `X-Timestamp` (unix seconds, within MAX_SKEW_SECONDS of now, either way)
    and `X-Signature` = hex HMAC-SHA256(key=API key, msg=X-Timestamp value)."""

    failure_message = "Invalid or missing request signature"

    def authenticate(self, request):
        api_key = self.presented_key(request)
        if api_key is None:
            return None
        timestamp = request.META.get("HTTP_X_TIMESTAMP", "")
        signature = request.META.get("HTTP_X_SIGNATURE", "")
        fresh = timestamp_is_fresh(timestamp, clock.now(), MAX_SKEW_SECONDS)
        if not (fresh and signature_matches(api_key, timestamp, signature)):
            raise AuthenticationFailed(self.failure_message)
        return ApiClient(key_id(api_key)), None

    def authenticate_header(self, request):
        return 'HmacSignature realm="otp-service"'


class SignedRequestAuthentication(BaseAuthentication):
    """v2: `X-Key-Id`, `X-Timestamp`, `X-Nonce`, `X-Signature` over the whole request
    (otp.credentials.request_signature), and no `X-API-Key`. Each nonce is accepted once."""

    failure_message = "Invalid or missing request signature"
    # A timestamp stays acceptable until MAX_SKEW_SECONDS after it, and it may lie up to
    # MAX_SKEW_SECONDS ahead of the clock: its nonce must be remembered at least that long, plus
    # a margin for instances whose clocks disagree by a few seconds.
    NONCE_MEMORY_SECONDS = 2 * MAX_SKEW_SECONDS + 60

    def authenticate(self, request):
        claimed_id = request.META.get("HTTP_X_KEY_ID")
        if claimed_id is None:
            return None
        meta = request.META
        timestamp = meta.get("HTTP_X_TIMESTAMP", "")
        nonce = meta.get("HTTP_X_NONCE", "")
        now = clock.now()
        api_key = {key_id(key): key for key in settings.API_KEYS}.get(claimed_id)
        if (
            api_key is None
            or "HTTP_X_API_KEY" in meta
            or not NONCE_PATTERN.fullmatch(nonce)
            or not timestamp_is_fresh(timestamp, now, MAX_SKEW_SECONDS)
            or not self._signature_matches(request, api_key, timestamp, nonce)
            # Last, so that only a correctly signed request can use up a nonce.
            or not nonces.first_use(claimed_id, nonce, now, self.NONCE_MEMORY_SECONDS)
        ):
            raise AuthenticationFailed(self.failure_message)
        return ApiClient(claimed_id), None

    @staticmethod
    def _signature_matches(request, api_key, timestamp, nonce) -> bool:
        expected = request_signature(
            api_key, timestamp, nonce, request.method, request.get_full_path(), request.body
        )
        presented = request.META.get("HTTP_X_SIGNATURE", "")
        return constant_time_equal(presented, expected)

    def authenticate_header(self, request):
        return 'OTP-HMAC-SHA256 realm="otp-service"'
