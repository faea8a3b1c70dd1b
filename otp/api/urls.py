"""The service's API routes: exact paths, no trailing slashes, as existing scripts call them.
A method a route does not serve is 405 before its view runs (otp.api.methods)."""

from django.urls import path

from otp.api.methods import answering_only_its_methods as only
from otp.api.views import (
    AccountListView,
    AccountOtpView,
    AccountVerifyView,
    HealthView,
    OtpSecureView,
    OtpVerifyView,
    OtpView,
    ReadyView,
)

urlpatterns = [
    path("health", only(HealthView.as_view()), name="health"),
    path("ready", only(ReadyView.as_view()), name="ready"),
    path("otp", only(OtpView.as_view()), name="otp"),
    path("otp/verify", only(OtpVerifyView.as_view()), name="otp-verify"),
    path("otp/secure", only(OtpSecureView.as_view()), name="otp-secure"),
    path("accounts", only(AccountListView.as_view()), name="accounts"),
    path("accounts/<str:name>/otp", only(AccountOtpView.as_view()), name="account-otp"),
    path(
        "accounts/<str:name>/otp/verify",
        only(AccountVerifyView.as_view()),
        name="account-verify",
    ),
]
