"""Django app configuration for the TOTP service."""

from django.apps import AppConfig


class OtpConfig(AppConfig):
    name = "otp"
    verbose_name = "TOTP service"

    def ready(self):
        # Registers the OpenAPI descriptions of the authentication classes.
        from otp import schema  # noqa: F401
