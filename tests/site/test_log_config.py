"""The filter that keeps what clients sent out of the lines Django and gunicorn write."""

import logging

from otpsite.log_config import WithholdClientInput


def filtered(name: str, msg: str, *args) -> str:
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)
    assert WithholdClientInput().filter(record)
    return record.getMessage()


def test_runservers_request_line_keeps_the_path_not_the_query():
    line = filtered("django.server", '"%s" %s %s', "GET /otp?otp=123456&k=v HTTP/1.1", "503", "31")
    assert line == '"GET /otp HTTP/1.1" 503 31'


def test_gunicorns_malformed_request_line_is_not_quoted():
    line = filtered("gunicorn.error", "Invalid request from ip=127.0.0.1: X-API-Key secret-value")
    assert line == "Invalid request from ip=127.0.0.1: malformed request"


def test_other_lines_pass_unchanged():
    assert filtered("otp.access", "request") == "request"
