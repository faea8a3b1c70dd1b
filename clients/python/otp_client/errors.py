"""What the client raises: the service said no, the service could not be reached, or the
client was not told where or with what key."""


class OTPError(Exception):
    """Base of every error this package raises. No message ever holds the API key."""

    # Robot Framework shows a failed keyword's message without the exception's class name.
    ROBOT_SUPPRESS_NAME = True


class OTPConfigError(OTPError, ValueError):
    """No service URL or no API key: neither passed nor in the environment."""


class OTPServiceError(OTPError):
    """The service answered with an error status.

    `status` is the HTTP status, `message` the service's `{"error": ...}` text (or the reason
    phrase when something in between answered), `retry_after` the seconds it asked to wait (or
    None) and `request_id` its X-Request-ID, which finds the request in the service's log.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
    ):
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.request_id = request_id
        text = f"otp-service answered {status}: {message}"
        if retry_after is not None:
            text += f" (Retry-After: {retry_after:g} s)"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)


class OTPNetworkError(OTPError):
    """No answer from the service: refused connection, unknown host, timeout, TLS failure, or a
    reply that is not HTTP."""
