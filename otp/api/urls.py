"""The service's API routes: exact paths, no trailing slashes, as existing scripts call them.
A method a route does not serve is 405 before its view runs (otp.api.methods)."""

from django.conf import settings
from django.urls import path

from otp.api.methods import answering_only_its_methods as only
from otp.api.views import (
    AccountListView,
    AccountOtpView,
    AccountVerifyView,
    HealthView,
    MetricsView,
    OtpSecureView,
    OtpVerifyView,
    OtpView,
    PublicMetricsView,
    ReadyView,
)

# Fixed when the service starts, like every setting: the schema then shows the one it serves.
_metrics = PublicMetricsView if settings.METRICS_PUBLIC else MetricsView

urlpatterns = [
    path("health", only(HealthView.as_view()), name="health"),
    path("ready", only(ReadyView.as_view()), name="ready"),
    path("otp", only(OtpView.as_view()), name="otp"),
    path("otp/verify", only(OtpVerifyView.as_view()), name="otp-verify"),
    path("otp/secure", only(OtpSecureView.as_view()), name="otp-secure"),
    path("accounts", only(AccountListView.as_view()), name="accounts"),
    path("metrics", only(_metrics.as_view()), name="metrics"),
    path("accounts/<str:name>/otp", only(AccountOtpView.as_view()), name="account-otp"),
    path(
        "accounts/<str:name>/otp/verify",
        only(AccountVerifyView.as_view()),
        name="account-verify",
    ),
]
