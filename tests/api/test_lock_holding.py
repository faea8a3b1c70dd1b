"""A verification is marked as holding its account's locks (otp.lock_holding) from the statement
that takes the first of them to its commit, and at no other time: where the mark is, a gevent
worker on PostgreSQL stays with the request (otpsite/postgres/lock_waits.py)."""

import pytest
from django.db import connection
from django.test import override_settings

from otp import lock_holding
from otp.core import totp
from tests.conftest import FROZEN_AT

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # OTP_SECRET in pyproject's test env


@pytest.fixture
def statements():
    """Every statement of the request, with whether it ran marked as holding locks."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql.split()[0:3], lock_holding.holding()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def verify(authed, code):
    return authed.post("/otp/verify", {"otp": code}, format="json")


def held(statements) -> list[str]:
    return [" ".join(words) for words, holding in statements if holding]


def test_a_wrong_code_holds_from_the_failure_counter_on(authed, frozen_clock, statements):
    assert verify(authed, "000000").json()["valid"] is False
    marked = held(statements)
    assert marked[0] == 'INSERT INTO "otp_verifyfailures"'
    # Everything after it, to the audit record, is marked; nothing before it is.
    first = [" ".join(words) for words, _ in statements].index(marked[0])
    assert all(holding for _, holding in statements[first:])
    assert not any(holding for _, holding in statements[:first])
    assert not lock_holding.holding()


@override_settings(VERIFY_FAILURE_LIMIT=0)
def test_without_the_counter_only_a_matching_code_holds_from_its_mark(
    authed, frozen_clock, statements
):
    assert verify(authed, "000000").json()["valid"] is False
    assert held(statements) == []
    statements.clear()
    assert verify(authed, totp.code_at(SECRET, FROZEN_AT)).json()["valid"] is True
    assert held(statements)[0] == 'INSERT INTO "otp_acceptedstep"'
    assert not lock_holding.holding()
