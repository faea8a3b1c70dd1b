"""The clock check of GET /ready: the offset from one round trip, the decision and its message
from offset and limit, one log line per change. A real instance with a shifted clock is in
tests/servers/test_clock_skew.py."""

import json

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY
from rest_framework import status

from otp import clock_skew, metrics
from tests.conftest import FROZEN_AT


def test_the_offset_is_this_clock_at_the_middle_of_the_round_trip_minus_the_servers():
    assert clock_skew.offset_from(before=1000.0, server=988.0, after=1000.4) == pytest.approx(12.2)
    assert clock_skew.offset_from(before=1000.0, server=1020.0, after=1000.0) == -20.0


@pytest.mark.parametrize(
    ("offset", "limit", "too_far"),
    [
        (0.0, 5, False),
        (5.0, 5, False),
        (-5.0, 5, False),
        (5.001, 5, True),
        (-5.001, 5, True),
        (20.0, 5, True),
        (20.0, 60, False),
    ],
)
def test_clocks_are_too_far_apart_only_beyond_the_limit(offset, limit, too_far):
    assert clock_skew.beyond(offset, limit) is too_far


@pytest.mark.parametrize(
    ("offset", "limit", "message"),
    [
        (12.4, 5, "this instance is 12 s ahead of the database (MAX_CLOCK_SKEW is 5 s)"),
        (-20.6, 5, "this instance is 21 s behind the database (MAX_CLOCK_SKEW is 5 s)"),
        (90.0, 60, "this instance is 90 s ahead of the database (MAX_CLOCK_SKEW is 60 s)"),
        # Rounded to the limit, whole seconds would say it is not beyond: tenths show it is.
        (5.3, 5, "this instance is 5.3 s ahead of the database (MAX_CLOCK_SKEW is 5 s)"),
    ],
)
def test_the_refusal_names_the_skew_in_whole_seconds_its_direction_and_the_limit(
    offset, limit, message
):
    assert clock_skew.refusal(offset, limit) == f"Clock skew: {message}"


def test_only_a_change_across_the_limit_or_from_one_side_to_the_other_is_reported():
    watch = clock_skew.SkewWatch()
    offsets = [0.3, -1.0, 12.0, 13.0, -30.0, -31.0, 2.0, 4.9, 7.0]
    changes = [watch.update(offset, 5) for offset in offsets]
    # -30 after 13: from ahead to behind, beyond the limit both times: a new line.
    assert changes == [None, None, True, None, True, None, False, None, True]


def test_a_higher_limit_turns_the_same_offset_back_within_it():
    watch = clock_skew.SkewWatch()
    assert watch.update(20.0, 5) is True
    assert watch.update(20.0, 60) is False


def clock_lines(log_output) -> list[dict]:
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [line for line in lines if line.get("event", "").startswith("clock_skew")]


def test_the_log_says_once_when_the_clocks_drift_apart_and_once_when_they_agree_again(log_output):
    watch = clock_skew.SkewWatch()
    for offset in (0.5, 12.4, 12.5, 11.9, 0.8, 0.7):
        clock_skew.record(offset, 5, watch)
    lines = clock_lines(log_output)
    assert [
        (line["level"], line["event"], line["offset_seconds"], line["max_clock_skew"])
        for line in lines
    ] == [
        ("WARNING", "clock_skew", 12.4, 5),
        ("INFO", "clock_skew_resolved", 0.8, 5),
    ]
    assert lines[0]["message"].endswith(
        "/ready answers 503: this instance is 12 s ahead of the database"
    )


def test_near_the_limit_the_log_says_what_the_refusal_says(log_output):
    watch = clock_skew.SkewWatch()
    for offset in (5.4, 4.9):
        clock_skew.record(offset, 5, watch)
    messages = [line["message"] for line in clock_lines(log_output)]
    assert messages[0].endswith("this instance is 5.4 s ahead of the database")
    assert messages[1].endswith("this instance is 4.9 s ahead of the database")


def test_each_measurement_is_exported(log_output):
    clock_skew.record(-3.25, 5, clock_skew.SkewWatch())
    assert REGISTRY.get_sample_value("otp_clock_offset_seconds") == -3.25


def test_without_postgresql_nothing_is_measured(client, frozen_clock):
    # The suite's database is SQLite: a file this process's own clock stamps.
    metrics.CLOCK_OFFSET.set(123.0)
    assert clock_skew.check() is None
    assert REGISTRY.get_sample_value("otp_clock_offset_seconds") == 123.0
    assert client.get("/ready").status_code == status.HTTP_200_OK


@pytest.fixture
def measured(monkeypatch):
    """Stands in for the PostgreSQL measurement (the suite runs on SQLite); set .offset."""

    class Measured:
        offset = 0.0

    monkeypatch.setattr(clock_skew, "check", lambda: Measured.offset)
    return Measured


def test_ready_is_503_naming_the_skew_when_the_clocks_are_too_far_apart(client, measured):
    measured.offset = 12.4
    response = client.get("/ready")
    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert response.json() == {
        "error": "Clock skew: this instance is 12 s ahead of the database (MAX_CLOCK_SKEW is 5 s)"
    }


def test_ready_is_200_within_max_clock_skew(client, measured, frozen_clock):
    measured.offset = -4.9
    response = client.get("/ready")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"status": "ready", "timestamp": FROZEN_AT}


@override_settings(MAX_CLOCK_SKEW=60)
def test_max_clock_skew_raises_the_bar(client, measured):
    measured.offset = 20.0
    assert client.get("/ready").status_code == status.HTTP_200_OK
