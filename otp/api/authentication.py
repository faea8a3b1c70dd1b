"""DRF authentication: the API key (v1), the key plus a signed timestamp (v1 /otp/secure), and
v2 signed requests, where the key never leaves the client."""

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from otp import client_keys
from otp.client_keys import KEY_ID_PATTERN
from otp.core import clock
from otp.core.credentials import (
    NONCE_PATTERN,
    constant_time_equal,
    request_signature,
    signature_matches,
    timestamp_is_fresh,
)
from otp.core.principals import Caller
from otp.guards import nonces

MAX_SKEW_SECONDS = 30


def request_target(request) -> str:
    """The path and query string exactly as on the request line, percent-encoding untouched.

    gunicorn passes it as RAW_URI, and so does this project's runserver
    (otp/management/commands/runserver.py). Django's own path is decoded, so `/ot%70` would be
    signed as sent and checked as `/otp`. Without RAW_URI (Django's test client), Django's path
    re-encoded is the nearest there is.
    """
    return request.META.get("RAW_URI") or request.get_full_path()


class CredentialsRefused(AuthenticationFailed):
    """AuthenticationFailed that keeps, for the audit trail only, which client and key id the
    refused credentials named, when they named a real one (a good key sent by a client that
    must sign, a bad signature of a known key). The client sees the same 401 either way."""

    def __init__(self, detail, caller: Caller | None = None, key_id: str = ""):
        super().__init__(detail)
        self.client = caller.name if caller else ""
        self.key_id = caller.key_id if caller else key_id


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <key>`: an environment key or a client's live key, of a client that need not
    sign. No header: not this scheme (None). Else 401."""

    # One message for every failure of the scheme: a client must not learn which check failed.
    failure_message = "Invalid or missing API key"

    def authenticate(self, request):
        found = self.caller_and_key(request)
        if found is None:
            return None
        # request.auth stays None: the key itself is kept out of the request's state.
        return found[0], None

    def caller_and_key(self, request) -> tuple[Caller, str] | None:
        """Who sent the key, and the key; None without one, 401 if it is not good."""
        presented = self.presented_key(request)
        if presented is None:
            return None
        caller = client_keys.caller_for_key(presented, clock.now())
        if caller is None:
            raise CredentialsRefused(self.failure_message)
        if caller.requires_signature:
            # A client that must sign may not send its key, even correctly: the key travelled,
            # and the audit trail names whose it was.
            raise CredentialsRefused(self.failure_message, caller)
        return caller, presented

    @staticmethod
    def presented_key(request) -> str | None:
        return request.META.get("HTTP_X_API_KEY")

    def authenticate_header(self, request):
        return 'ApiKey realm="otp-service"'


class MetricsKeyAuthentication(ApiKeyAuthentication):
    """GET /metrics: the key as `Authorization: Bearer <key>` (what Prometheus' `authorization`
    setting sends) or as X-API-Key. Where REQUIRE_SIGNED_REQUESTS holds, only a key that can
    neither fetch nor check codes may travel: a client's granted --metrics alone."""

    def caller_and_key(self, request) -> tuple[Caller, str] | None:
        found = super().caller_and_key(request)
        if found is not None and settings.REQUIRE_SIGNED_REQUESTS and found[0].may_use_codes:
            raise CredentialsRefused(self.failure_message, found[0])
        return found

    @staticmethod
    def presented_key(request) -> str | None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer":
            return token.strip()
        # Another scheme (Basic, say) is not a key of ours: X-API-Key, or no credentials.
        return request.META.get("HTTP_X_API_KEY")

    def authenticate_header(self, request):
        return 'Bearer realm="otp-service"'


class HmacSignatureAuthentication(ApiKeyAuthentication):
    """The API key plus `X-Timestamp` (unix seconds, within MAX_SKEW_SECONDS of now, either way)
    and `X-Signature` = hex HMAC-SHA256(key=API key, msg=X-Timestamp value)."""

    failure_message = "Invalid or missing request signature"

    def authenticate(self, request):
        found = self.caller_and_key(request)
        if found is None:
            return None
        caller, api_key = found
        timestamp = request.META.get("HTTP_X_TIMESTAMP", "")
        signature = request.META.get("HTTP_X_SIGNATURE", "")
        fresh = timestamp_is_fresh(timestamp, clock.now(), MAX_SKEW_SECONDS)
        if not (fresh and signature_matches(api_key, timestamp, signature)):
            raise CredentialsRefused(self.failure_message, caller)
        return caller, None

    def authenticate_header(self, request):
        return 'HmacSignature realm="otp-service"'


class SignedRequestAuthentication(BaseAuthentication):
    """v2: `X-Key-Id`, `X-Timestamp`, `X-Nonce`, `X-Signature` over the whole request
    (otp.core.credentials.request_signature), and no `X-API-Key`. Each nonce is accepted once."""

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
        found = client_keys.signing_key(claimed_id, now)
        if found is None:
            # A key id is public; one of the right shape is worth recording even if unknown.
            known_shape = claimed_id if KEY_ID_PATTERN.fullmatch(claimed_id) else ""
            raise CredentialsRefused(self.failure_message, key_id=known_shape)
        api_key, caller = found
        if (
            "HTTP_X_API_KEY" in meta
            or not NONCE_PATTERN.fullmatch(nonce)
            or not timestamp_is_fresh(timestamp, now, MAX_SKEW_SECONDS)
            or not self._request_signature_matches(request, api_key, timestamp, nonce)
            # Last, so that only a correctly signed request can use up a nonce.
            or not nonces.first_use(claimed_id, nonce, now, self.NONCE_MEMORY_SECONDS)
        ):
            raise CredentialsRefused(self.failure_message, caller)
        return caller, None

    @staticmethod
    def _request_signature_matches(request, api_key, timestamp, nonce) -> bool:
        expected = request_signature(
            api_key, timestamp, nonce, request.method, request_target(request), request.body
        )
        presented = request.META.get("HTTP_X_SIGNATURE", "")
        return constant_time_equal(presented, expected)

    def authenticate_header(self, request):
        return 'OTP-HMAC-SHA256 realm="otp-service"'
