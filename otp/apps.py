"""Django app configuration for the TOTP service."""

from django.apps import AppConfig


class OtpConfig(AppConfig):
    name = "otp"
    verbose_name = "TOTP service"

    def ready(self):
        # Registers the OpenAPI descriptions of the authentication classes and the start-up
        # check of OTP_ENCRYPTION_KEYS.
        from otp import checks  # noqa: F401
        from otp.api import openapi  # noqa: F401
