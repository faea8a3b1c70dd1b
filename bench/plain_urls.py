"""Fixtures for bench/profile_request.py: a flat URLconf for GET /otp with no include(), served by
the shipped DRF view or, when settings.BENCH_PLAIN_VIEW is set, by a plain Django view (to price
DRF's part); and the least middleware the views need once RequestLogMiddleware is taken out."""

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from otp import codes
from otp.accounts import default_account
from otp.api.addresses import client_address
from otp.api.views import OtpView
from otp.client_keys import environment_caller
from otp.core import clock
from otp.core.credentials import matching_key
from otp.core.principals import Actor

drf_view = OtpView.as_view()


class RequestAttributesMiddleware:
    """What RequestLogMiddleware sets and the views read (the lockout check and the audit trail
    use them), without the access line, the timing or the X-Request-ID header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = ""
        request.client_address = client_address(request)
        return self.get_response(request)


def plain_otp(request):
    """GET /otp's work as the service does it now, the audit record included, without DRF."""
    presented = request.META.get("HTTP_X_API_KEY", "")
    api_key = matching_key(presented, settings.API_KEYS)
    if api_key is None:
        return JsonResponse({"error": "Invalid or missing API key"}, status=401)
    caller = environment_caller(api_key)
    actor = Actor(caller.name, caller.key_id, client_address(request), "")
    return JsonResponse(codes.issue(default_account(), actor, clock.now()))


def otp(request):
    if getattr(settings, "BENCH_PLAIN_VIEW", False):
        return plain_otp(request)
    return drf_view(request)


urlpatterns = [path("otp", otp)]
