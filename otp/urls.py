"""The service's API routes: exact paths, no trailing slashes, as existing scripts call them."""

from django.urls import path

from otp.account_views import AccountListView, AccountOtpView, AccountVerifyView
from otp.views import (
    HealthView,
    OtpSecureView,
    OtpVerifyView,
    OtpView,
    ReadyView,
)

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("ready", ReadyView.as_view(), name="ready"),
    path("otp", OtpView.as_view(), name="otp"),
    path("otp/verify", OtpVerifyView.as_view(), name="otp-verify"),
    path("otp/secure", OtpSecureView.as_view(), name="otp-secure"),
    path("accounts", AccountListView.as_view(), name="accounts"),
    path("accounts/<str:name>/otp", AccountOtpView.as_view(), name="account-otp"),
    path("accounts/<str:name>/otp/verify", AccountVerifyView.as_view(), name="account-verify"),
]
