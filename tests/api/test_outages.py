"""The storage-outage log: a traceback when a store starts failing, then one line per 503, until
that store (not another) answers again."""

import json

from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from otp import outages


def storage_lines(log_output) -> list[dict]:
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [line for line in lines if line.get("event") == "storage_unavailable"]


def test_an_outage_logs_one_traceback_then_one_line_per_failure(log_output):
    outages.served("database")
    for _ in range(3):
        outages.failed(OperationalError("connection refused"))
    lines = storage_lines(log_output)
    assert [("exc_info" in line, line["store"], line["error"]) for line in lines] == [
        (True, "database", "OperationalError"),
        (False, "database", "OperationalError"),
        (False, "database", "OperationalError"),
    ]
    # The error's text is not a field of its own (it can quote SQL parameters).
    assert all("connection refused" not in json.dumps(line) for line in lines[1:])


def test_another_store_answering_does_not_end_an_outage(log_output):
    outages.served("cache")
    outages.failed(RedisConnectionError("down"))
    outages.served("database")  # a request the database answered: Redis is still down
    outages.failed(RedisConnectionError("down"))
    outages.served("cache")  # now Redis answered: a new failure is a new outage
    outages.failed(RedisConnectionError("down"))
    lines = storage_lines(log_output)
    assert [("exc_info" in line, line["store"]) for line in lines] == [
        (True, "cache"),
        (False, "cache"),
        (True, "cache"),
    ]
