"""JSON bodies for the errors gunicorn answers itself, before a request ever reaches Django."""

import json

from gunicorn import util


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for gunicorn.util.write_error, which answers with an HTML page.

    Only the reason phrase goes into the body: gunicorn's detail message can quote the malformed
    request line or header the client sent.
    """
    body = json.dumps({"error": reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    # gunicorn's workers look write_error up on the module at each call; there is no setting.
    util.write_error = write_json_error
