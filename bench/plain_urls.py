"""A flat URLconf for bench/profile_request.py: GET /otp with no include(), served by the shipped
DRF view or, when settings.BENCH_PLAIN_VIEW is set, by a plain Django view (to price DRF's part)."""

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from otp import clock
from otp.credentials import matching_key
from otp.views import OtpView, current_code_body

drf_view = OtpView.as_view()


def plain_otp(request):
    presented = request.META.get("HTTP_X_API_KEY", "")
    if matching_key(presented, settings.API_KEYS) is None:
        return JsonResponse({"error": "Invalid or missing API key"}, status=401)
    return JsonResponse(current_code_body(clock.now()))


def otp(request):
    if getattr(settings, "BENCH_PLAIN_VIEW", False):
        return plain_otp(request)
    return drf_view(request)


urlpatterns = [path("otp", otp)]
