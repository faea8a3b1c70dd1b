"""Client: codes, verification and accounts over signed requests, with bounded retries."""

import http.client
import json
import logging
import os
import time
import urllib.parse
from collections.abc import Callable

from otp_client import __version__
from otp_client.answers import Account, Code
from otp_client.errors import OTPConfigError, OTPNetworkError, OTPServiceError
from otp_client.server_time import ServerClock, parse_http_date
from otp_client.signing import key_id, signed_headers
from otp_client.transport import Reply, is_refused, new_opener, send

logger = logging.getLogger("otp_client")

URL_VARIABLE = "OTP_SERVICE_URL"
KEY_VARIABLE = "OTP_SERVICE_KEY"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_WAIT = 60.0
# The service takes an X-Timestamp within this many seconds of its clock, either way.
SERVICE_MAX_SKEW = 30
# A refused request whose timestamp was further than this from the service's clock (as its
# answer tells it) was refused for the timestamp, most likely: it is signed again, once. The
# margin covers the whole-second Date header and the time the answer took to arrive.
REFUSED_SKEW = SERVICE_MAX_SKEW - 2
# What may be asked again after the pause the service names (Retry-After): it answered these
# without handing out, using up or counting anything.
RETRIED_STATUSES = frozenset({http.client.TOO_MANY_REQUESTS, http.client.SERVICE_UNAVAILABLE})
# Without Retry-After (a refused connection, a 503 from a proxy): 1 s, 2 s, 4 s, 8 s, 8 s...
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 8.0
# Even "Retry-After: 0" waits this long, so that a loop of them cannot flood the service.
MIN_PAUSE = 0.5


class Client:
    """A client of one otp-service, with one API key.

    `url` and `key` default to the OTP_SERVICE_URL and OTP_SERVICE_KEY environment variables.
    Requests are signed (v2) unless `signed=False`, which sends the key itself as X-API-Key.
    `timeout` bounds each network step; `max_wait` bounds the time spent waiting on top of it:
    pauses asked for by Retry-After, and the service holding a code back until a fresh one.
    `clock` (unix seconds) and `sleep` are the only ways the client reads or passes time.
    """

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_wait: float = DEFAULT_MAX_WAIT,
        signed: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        url = url or os.environ.get(URL_VARIABLE, "")
        key = key or os.environ.get(KEY_VARIABLE, "")
        if not url:
            raise OTPConfigError(f"no otp-service URL given, and {URL_VARIABLE} is not set")
        if not key:
            raise OTPConfigError(f"no API key given, and {KEY_VARIABLE} is not set")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OTPConfigError("the otp-service URL must be http:// or https://HOST[:PORT]")
        if parts.username is not None or parts.query or parts.fragment:
            raise OTPConfigError("the otp-service URL takes no user, query or fragment")
        if timeout <= 0 or max_wait < 0:
            raise OTPConfigError("timeout must be above 0 and max_wait 0 or more")
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        # A service published under a path (https://host/otp-service) signs that path too.
        self._prefix = parts.path.rstrip("/")
        self._key = key
        self.key_id = key_id(key)
        self.timeout = timeout
        self.max_wait = max_wait
        self.signed = signed
        self._time = ServerClock(clock)
        self._sleep = sleep
        self._opener = new_opener()

    def __repr__(self) -> str:
        return f"Client(url={self.url + self._prefix!r}, key_id={self.key_id!r})"

    @property
    def clock_offset(self) -> float | None:
        """Seconds the service's clock is ahead of this host's (negative: behind), as learned
        from its last answer; None before any answer."""
        return self._time.offset

    def code(self, account: str, min_validity: int | None = None, wait: bool = True) -> Code:
        """The account's current code (GET /accounts/{account}/otp; "default" is OTP_SECRET).

        With `min_validity`, a code that stays valid at least that many more seconds: the
        service waits for the next window if need be. So it does for an exclusive account whose
        current code another caller got. With `wait=False` it answers 409 instead, raised as
        OTPServiceError whose `retry_after` says when the next code is out.
        """
        query = {}
        if min_validity is not None:
            if isinstance(min_validity, bool) or not isinstance(min_validity, int):
                raise TypeError("min_validity must be whole seconds (an int)")
            query["min_validity"] = str(min_validity)
        if not wait:
            query["wait"] = "false"
        # While the service holds the answer back, the connection is silent: the read timeout
        # allows for that wait (under min_validity; under two periods for an exclusive account).
        held = max(min_validity or 0, self.max_wait) if wait else 0
        answer = self._call("GET", _account_path(account, "otp"), query, held_for=held)
        try:
            return Code(
                otp=_text(answer["otp"]),
                valid_for_seconds=int(answer["valid_for_seconds"]),
                timestamp=int(answer["timestamp"]),
            )
        except (KeyError, TypeError, ValueError):
            raise _unexpected(http.client.OK) from None

    def verify(self, account: str, code: str) -> bool:
        """Whether `code` is valid for the account now (POST /accounts/{account}/otp/verify).
        Each code is accepted once: the service refuses a replay."""
        if not isinstance(code, str):
            # An int would lose a leading zero: 012345 is not 12345.
            raise TypeError("code must be a string of digits")
        answer = self._call("POST", _account_path(account, "otp/verify"), payload={"otp": code})
        valid = answer.get("valid")
        if not isinstance(valid, bool):
            raise _unexpected(http.client.OK)
        return valid

    def accounts(self) -> list[Account]:
        """The accounts this key may use (GET /accounts), "default" first; never a secret."""
        answer = self._call("GET", "/accounts")
        try:
            return [
                Account(
                    name=_text(item["name"]),
                    issuer=str(item.get("issuer", "")),
                    algorithm=str(item.get("algorithm", "SHA1")),
                    digits=int(item.get("digits", 6)),
                    period=int(item.get("period", 30)),
                    exclusive=bool(item.get("exclusive", False)),
                )
                for item in answer["accounts"]
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _unexpected(http.client.OK) from None

    # --- One call: send, learn the service's time, sign again or wait and retry as needed.

    def _call(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        payload: dict | None = None,
        held_for: float = 0,
    ) -> dict:
        target = self._prefix + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        body = None if payload is None else json.dumps(payload).encode()
        deadline = self._time.local() + self.max_wait
        backoff = FIRST_BACKOFF
        signed_again = False
        while True:
            try:
                reply, stamp = self._send(method, target, body, self.timeout + held_for)
            except OTPNetworkError as error:
                # Nothing reached the service: safe to send again, after a pause.
                if not (is_refused(error) and self._pause(backoff, deadline, method, path)):
                    raise
                backoff = min(2 * backoff, MAX_BACKOFF)
                continue
            answer = _json_object(reply.body)
            self._time.learn(reply.headers, answer.get("timestamp"), self._time.local())
            if 200 <= reply.status < 300:
                if not answer:
                    raise _unexpected(reply.status)
                return answer
            error = _service_error(reply, answer, self._time.now())
            if (
                reply.status == http.client.UNAUTHORIZED
                and stamp is not None
                and not signed_again
                and abs(self._time.now() - stamp) > REFUSED_SKEW
            ):
                # The first request with this host's clock was out of the service's window:
                # sign once more with the service's time, now known from the refusal.
                signed_again = True
                logger.info(
                    "otp-service's clock is %+.0f s from this host's: signing with its time",
                    self._time.offset,
                )
                continue
            if reply.status in RETRIED_STATUSES:
                pause = backoff if error.retry_after is None else error.retry_after
                if self._pause(pause, deadline, method, path, reply.status):
                    backoff = min(2 * backoff, MAX_BACKOFF)
                    continue
            raise error

    def _send(
        self, method: str, target: str, body: bytes | None, timeout: float
    ) -> tuple[Reply, int | None]:
        """One attempt; the reply and the X-Timestamp it was signed with (None unsigned)."""
        headers = {
            "Accept": "application/json",
            "User-Agent": f"otp-service-client/{__version__}",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        stamp = None
        if self.signed:
            stamp = int(self._time.now())
            headers |= signed_headers(self._key, method, target, body or b"", stamp)
        else:
            headers["X-API-Key"] = self._key
        return send(self._opener, self.url + target, method, headers, body, timeout), stamp

    def _pause(
        self, seconds: float, deadline: float, method: str, path: str, status: int | None = None
    ) -> bool:
        """Sleep `seconds` (at least MIN_PAUSE) if that ends before `deadline`; whether it did."""
        seconds = max(seconds, MIN_PAUSE)
        if self._time.local() + seconds > deadline:
            return False
        reason = "connection refused" if status is None else f"answered {status}"
        logger.info("%s %s: %s, asking again in %.1f s", method, path, reason, seconds)
        self._sleep(seconds)
        return True


def _account_path(account: str, action: str) -> str:
    if not isinstance(account, str) or not account:
        raise ValueError("account must be a non-empty name")
    return f"/accounts/{urllib.parse.quote(account, safe='')}/{action}"


def _json_object(body: bytes) -> dict:
    """The body as a JSON object, or {} when it is not one (a proxy's HTML page, say)."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _service_error(reply: Reply, answer: dict, service_now: float) -> OTPServiceError:
    message = answer.get("error")
    if not isinstance(message, str) or not message:
        # Not the service's own error body: something in between answered.
        message = http.client.responses.get(reply.status, "HTTP error")
    return OTPServiceError(
        reply.status,
        message,
        retry_after=_retry_after(reply.headers.get("Retry-After"), service_now),
        request_id=reply.headers.get("X-Request-ID"),
    )


def _retry_after(value: str | None, service_now: float) -> float | None:
    """Retry-After in seconds: delta-seconds, or an HTTP date on the service's clock."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    moment = parse_http_date(value)
    return None if moment is None else max(0.0, moment - service_now)


def _unexpected(status: int) -> OTPServiceError:
    return OTPServiceError(status, "the answer is not what otp-service sends")
