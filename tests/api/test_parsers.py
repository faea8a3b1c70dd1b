"""The JSON body parser: one reading of the bytes, fixed messages, the size limit."""

import io

import pytest
from rest_framework.exceptions import ParseError

from otp.api.http import LimitedJSONParser
from otp.exceptions import PayloadTooLarge

NOT_JSON = "Request body is not valid JSON"


def parse(body: bytes, media_type: str = "application/json"):
    return LimitedJSONParser().parse(io.BytesIO(body), media_type, {})


def refusal(body: bytes) -> str:
    with pytest.raises(ParseError) as refused:
        parse(body)
    return str(refused.value.detail)


def test_a_plain_body_is_read():
    assert parse(b'{"otp": "123456"}') == {"otp": "123456"}


def test_a_byte_order_mark_is_skipped():
    assert parse(b'\xef\xbb\xbf{"otp": "123456"}') == {"otp": "123456"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"otp": "111111", "otp": "222222"}',
        b'{"otp": "111111", "x": [{"a": 1, "a": 1}]}',
        b'{"otp": "111111", "\\u006ftp": "222222"}',
    ],
)
def test_a_duplicate_key_is_refused_wherever_it_is(body):
    assert refusal(body) == "Request body has a duplicate key"


@pytest.mark.parametrize(
    "body",
    [
        b"x",
        b'{"otp": "123456"',
        b'{"otp": NaN}',
        b'{"otp": Infinity}',
        b'{"otp": -Infinity}',
        b'{"otp": "123456"} trailing',
        b'{"otp": "\xc3\x28"}',
        '{"otp": "123456"}'.encode("utf-16"),
        '{"otp": "123456"}'.encode("utf-32"),
    ],
)
def test_what_is_not_json_gets_one_message_quoting_nothing(body):
    assert refusal(body) == NOT_JSON


def test_the_declared_charset_does_not_change_the_reading():
    body = '{"otp": "é"}'.encode()
    assert parse(body, "application/json; charset=iso-8859-1") == {"otp": "é"}


def test_a_deep_body_gets_a_fixed_message():
    assert refusal(b"[" * 1024) == "Request body is nested too deeply"


def test_the_limit_counts_the_bytes_received():
    at_limit = b'{"otp": "' + b"1" * 1013 + b'"}'
    assert len(at_limit) == 1024
    assert parse(at_limit) == {"otp": "1" * 1013}
    with pytest.raises(PayloadTooLarge):
        parse(at_limit + b" ")
