"""The service's API routes: exact paths, no trailing slashes, as existing scripts call them."""

from django.urls import path

from otp.views import HealthView, OtpSecureView, OtpVerifyView, OtpView

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("otp", OtpView.as_view(), name="otp"),
    path("otp/verify", OtpVerifyView.as_view(), name="otp-verify"),
    path("otp/secure", OtpSecureView.as_view(), name="otp-secure"),
]
