"""ProtectedView: what every endpoint that needs credentials shares (lockout, authentication,
the audit record of each refusal, the account it acts on)."""

from django.conf import settings
from django.db import transaction
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from otp import accounts, audit, client_keys, codes, outages, waiting
from otp.api.access import account_for
from otp.api.authentication import (
    ApiKeyAuthentication,
    SignedRequestAuthentication,
)
from otp.api.serializers import FreshnessSerializer, VerifyRequestSerializer
from otp.core import clock, totp
from otp.core.names import ACCOUNT_NAME, DEFAULT_NAME
from otp.core.principals import Action, Actor, Outcome
from otp.exceptions import CodeNotReady, TooManyFailedAuthentications, TooManyWrongCodes
from otp.guards import lockout


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
        client = getattr(refused, "client", "")
        key_id = getattr(refused, "key_id", "")
        name = self.kwargs.get("name", self.fixed_account)
        # Counted on one record a minute, so a flood does not grow the table per request; a
        # refused caller names any account or key id it likes, and one the service does not
        # hold is recorded as "", or each made-up name would be a record of its own. A key id
        # that named a client is held; the default account has no stored row.
        with audit.unwritten_is_503():
            if not ACCOUNT_NAME.fullmatch(name) or (
                name != DEFAULT_NAME and not accounts.is_stored(name)
            ):
                name = ""
            if key_id and not client and not client_keys.is_key_id(key_id):
                key_id = ""
        actor = Actor(
            client=client,
            key_id=key_id,
            address=request.client_address,
            request_id=request.request_id,
        )
        audit.record_refusal(actor, outcome=outcome, account=name, at=at)

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
        min_validity, wait = FreshnessSerializer.read(request.query_params, account.params.period)
        # One clock decides: the code handed out, its validity and its audit record all come
        # from the reading after any wait.
        while True:
            ready = totp.fresh_from(at, min_validity, account.params) if min_validity else at
            if ready == at:
                answer = codes.issue(account, actor, at)
                if answer is not None:
                    return Response(answer)
                # An exclusive account's code of this step went to another caller: the next.
                ready = at + totp.seconds_left(at, account.params)
            if not wait:
                raise CodeNotReady(ready - at)
            at = waiting.until(ready)
            # Read again after the wait: the account may have been removed, or made shared.
            account = account_for(request.user, actor, name, Action.ISSUE, at)

    def verify(self, request, name: str) -> Response:
        at, actor = clock.now(), self.actor(request)
        account = account_for(request.user, actor, name, Action.VERIFY, at)
        code = VerifyRequestSerializer.read(request.data)
        result = codes.verify(account, code, actor, at)
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
