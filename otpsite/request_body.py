"""Request bodies read in full before Django runs: chunked ones too, within a limit and a deadline.

Django reads a body only up to its Content-Length, so a chunked body (as .NET, PowerShell and
streaming clients send them) would look empty; and a client that announces a body and stalls
would hold its greenlet for as long as it likes. Here the body is read once, de-chunked by
gunicorn, at most DATA_UPLOAD_MAX_MEMORY_SIZE + 1 bytes (one more than allowed, so that the
parser can still answer 413 without anything more being read), within BODY_SECONDS.
"""

import io
import sys
from contextlib import AbstractContextManager, nullcontext

from django.http import JsonResponse
from rest_framework import status

# After the headers (which gevent's worker allows `keepalive` seconds): the whole body, however
# it trickles in. A verify body is about 20 bytes.
BODY_SECONDS = 10
# Set in the WSGI environ when the body did not arrive in time; RequestBodyMiddleware answers.
INCOMPLETE = "otp.body_incomplete"


class BodyTimeout(Exception):
    pass


class BufferedBodyApplication:
    """WSGI middleware around Django's application: replaces wsgi.input with the body in memory
    and sets CONTENT_LENGTH to what a chunked body turned out to hold."""

    def __init__(self, application, limit: int):
        self.application = application
        self.limit = limit

    def __call__(self, environ, start_response):
        # Only from a server that de-chunks, and says so (gunicorn): runserver hands over the
        # raw socket, chunk sizes and all.
        chunked = (
            environ.get("wsgi.input_terminated", False)
            and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        )
        announced = _content_length(environ)
        if chunked or announced:
            wanted = self.limit + 1 if chunked else min(announced, self.limit + 1)
            stream, timed_out = environ["wsgi.input"], False
            try:
                with _deadline(BODY_SECONDS):
                    body = _read(stream, wanted)
            except BodyTimeout:
                body, timed_out = b"", True
                environ[INCOMPLETE] = True
            if timed_out or len(body) > self.limit:
                _close_after_answer(stream)
            environ["wsgi.input"] = io.BytesIO(body)
            if chunked or timed_out:
                environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)


class RequestBodyMiddleware:
    """408 for a request whose body did not arrive in time, through Django so that the access
    line is written as for any request. gunicorn closes the connection after it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get(INCOMPLETE):
            return JsonResponse(
                {"error": "Request body not received in time"},
                status=status.HTTP_408_REQUEST_TIMEOUT,
            )
        return self.get_response(request)


def _content_length(environ) -> int:
    # gunicorn refuses a malformed or negative Content-Length before the app is called.
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _close_after_answer(stream) -> None:
    """Have gunicorn close the connection after the answer instead of reading the rest of the
    body to find the next request: that read has no limit, and a client streaming a body of
    any size as fast as it can would keep the worker reading, every other client waiting.

    gunicorn marks its body stream `failed` when reading it raised, and then closes the
    connection rather than drain it (gunicorn.http.parser.Parser.finish_body); this sets the
    same mark. A server without it (runserver) reads no further than Django asks.
    """
    if hasattr(stream, "failed"):
        stream.failed = True


def _read(stream, wanted: int) -> bytes:
    parts, received = [], 0
    while received < wanted:
        part = stream.read(wanted - received)
        if not part:
            break
        parts.append(part)
        received += len(part)
    return b"".join(parts)


def _deadline(seconds: float) -> AbstractContextManager:
    """A timer that raises BodyTimeout in this greenlet after `seconds`, under gevent's workers.

    Elsewhere (runserver, the test client) there is no deadline: one slow client blocks only
    its own thread there, and nothing of that kind faces the network in production.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("socket"):
        return nullcontext()
    import gevent

    return gevent.Timeout(seconds, BodyTimeout)
