"""One HTTP exchange over urllib: what came back, whatever the status, or OTPNetworkError."""

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message

from otp_client.errors import OTPNetworkError


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The service never redirects. A 3xx comes from something in between, and following it
    would send the request's headers to another place: it is answered as it is instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def new_opener() -> urllib.request.OpenerDirector:
    # The default handlers, proxies from the environment included, minus redirects.
    return urllib.request.build_opener(_NoRedirects)


def send(
    opener: urllib.request.OpenerDirector,
    url: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
) -> Reply:
    """Send one request; the reply whatever its status. No answer at all: OTPNetworkError,
    whose message names the URL (never a header) and why."""
    # The URL's scheme was checked when the client was made: http or https only.
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        try:
            with opener.open(request, timeout=timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as answered:
            with answered:
                return Reply(answered.code, answered.headers, answered.read())
    except urllib.error.URLError as failure:
        raise OTPNetworkError(f"cannot reach {url}: {failure.reason}") from failure
    except (OSError, http.client.HTTPException) as failure:
        raise OTPNetworkError(f"no answer from {url}: {_describe(failure)}") from failure


def is_refused(error: OTPNetworkError) -> bool:
    """Whether the connection was refused: the request never reached a server, so sending it
    again cannot do anything twice."""
    cause = error.__cause__
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, ConnectionRefusedError)


def _describe(failure: BaseException) -> str:
    if isinstance(failure, TimeoutError):
        return "timed out"
    return str(failure) or type(failure).__name__
