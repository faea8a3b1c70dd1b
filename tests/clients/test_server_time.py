"""otp_client.server_time: the service's clock learned from its Date header or timestamp."""

import pytest
from otp_client.server_time import ServerClock, parse_http_date

AT = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT


def test_an_http_date_is_read_as_gmt():
    assert parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT") == AT
    assert parse_http_date("Tue, 14 Nov 2023 22:13:20 -0000") == AT


@pytest.mark.parametrize("value", [None, "", "yesterday", "Tue, 99 Nov 2023 99:13:20 GMT"])
def test_what_is_not_an_http_date_is_none(value):
    assert parse_http_date(value) is None


def test_the_offset_comes_from_the_date_header_first():
    clock = ServerClock(lambda: AT + 600)
    assert clock.offset is None
    assert clock.now() == AT + 600
    assert clock.learn({"Date": "Tue, 14 Nov 2023 22:13:20 GMT"}, AT + 5, received_at=AT + 600)
    assert clock.offset == pytest.approx(-600, abs=1)
    assert clock.now() == pytest.approx(AT, abs=1)


def test_without_a_date_header_the_json_timestamp_tells_the_time():
    clock = ServerClock(lambda: AT)
    assert clock.learn({}, AT - 120, received_at=AT)
    assert clock.offset == pytest.approx(-120, abs=1)


@pytest.mark.parametrize("timestamp", [None, "1700000000", True, 1.5])
def test_an_answer_that_tells_no_time_changes_nothing(timestamp):
    clock = ServerClock(lambda: AT)
    clock.offset = 30.0
    assert not clock.learn({"Date": "garbage"}, timestamp, received_at=AT)
    assert clock.offset == 30.0
