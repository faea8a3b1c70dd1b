"""otp-service client: TOTP codes for bots, fetched and verified with signed requests."""

# Before the imports below: flit reads it from here, and client.py sends it as User-Agent.
__version__ = "1.0.0"

from otp_client.answers import Account, Code
from otp_client.client import Client
from otp_client.errors import (
    OTPConfigError,
    OTPError,
    OTPNetworkError,
    OTPServiceError,
)

__all__ = [
    "Account",
    "Client",
    "Code",
    "OTPConfigError",
    "OTPError",
    "OTPNetworkError",
    "OTPServiceError",
    "__version__",
]
