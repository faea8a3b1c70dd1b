"""Wrong codes per account: after VERIFY_FAILURE_LIMIT (5 in the test env) in a row the account's
verifications answer 429, the wait doubling per further wrong code up to 15 minutes."""

import pytest
from rest_framework import status
from rest_framework.test import APIClient

from otp import audit
from otp.accounts import add_accounts, remove_account
from otp.core import totp
from otp.core.otpauth import parse_secret_or_uri
from otp.models import AcceptedStep, VerifyFailures
from tests.conftest import FROZEN_AT
from tests.support.factories import new_client

ALPHA_SECRET = "MFWHA2DBFVQWGY3POVXHILLTMVRXEZLU"
BETA_SECRET = "MJSXIYJNMFRWG33VNZ2C243FMNZGK5BB"
DEFAULT_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
LIMIT = 5  # VERIFY_FAILURE_LIMIT in pyproject's test env


@pytest.fixture(autouse=True)
def accounts():
    add_accounts(
        [("alpha", parse_secret_or_uri(ALPHA_SECRET)), ("beta", parse_secret_or_uri(BETA_SECRET))],
        audit.operator(),
        FROZEN_AT,
    )


def right_code(at, secret=ALPHA_SECRET):
    return totp.code_at(secret, at)


def wrong_code(at, secret=ALPHA_SECRET):
    """A well-formed code that matches none of the three accepted windows at `at`."""
    taken = {totp.code_at(secret, at + offset) for offset in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in taken)


def verify(client, code, name="alpha"):
    return client.post(f"/accounts/{name}/otp/verify", {"otp": code}, format="json")


def fail(client, times, at, name="alpha", secret=ALPHA_SECRET):
    for _ in range(times):
        response = verify(client, wrong_code(at, secret), name)
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == {"valid": False, "timestamp": at}


def failures(name="alpha"):
    counter = VerifyFailures.objects.filter(account=name).first()
    return counter.failures if counter else 0


def test_fewer_wrong_codes_than_the_limit_do_not_block(authed, frozen_clock):
    fail(authed, LIMIT - 1, FROZEN_AT)
    response = verify(authed, right_code(FROZEN_AT))
    assert response.json() == {"valid": True, "timestamp": FROZEN_AT}


def test_the_limit_of_wrong_codes_blocks_the_account_for_30_seconds(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)  # the LIMIT-th wrong code itself is still answered
    response = verify(authed, right_code(FROZEN_AT))
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert response["Retry-After"] == "30"
    assert set(response.json()) == {"error"}


def test_a_blocked_account_gives_one_answer_for_right_and_wrong_codes(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    right = verify(authed, right_code(FROZEN_AT))
    wrong = verify(authed, wrong_code(FROZEN_AT))
    junk = verify(authed, "not a code")
    assert right.status_code == wrong.status_code == junk.status_code
    assert right.content == wrong.content == junk.content
    assert right["Retry-After"] == wrong["Retry-After"] == junk["Retry-After"]


def test_the_wait_counts_down_with_the_clock(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    frozen_clock.at = FROZEN_AT + 10
    assert verify(authed, right_code(frozen_clock.at))["Retry-After"] == "20"
    frozen_clock.at = FROZEN_AT + 29
    assert verify(authed, right_code(frozen_clock.at))["Retry-After"] == "1"
    frozen_clock.at = FROZEN_AT + 30
    response = verify(authed, right_code(frozen_clock.at))
    assert response.json() == {"valid": True, "timestamp": FROZEN_AT + 30}


def test_a_right_code_sent_while_blocked_is_not_used_up(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    code = right_code(FROZEN_AT)
    assert verify(authed, code).status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert not AcceptedStep.objects.exists()
    frozen_clock.at = FROZEN_AT + 30  # the code's window is now the previous one: still accepted
    assert verify(authed, code).json()["valid"] is True


def test_requests_while_blocked_neither_count_nor_extend_the_wait(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    for _ in range(10):
        assert verify(authed, wrong_code(FROZEN_AT)).status_code == (
            status.HTTP_429_TOO_MANY_REQUESTS
        )
    assert failures() == LIMIT
    frozen_clock.at = FROZEN_AT + 30
    assert verify(authed, right_code(frozen_clock.at)).json()["valid"] is True


def test_each_further_wrong_code_doubles_the_wait_up_to_15_minutes(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    waits = []
    for _ in range(8):
        blocked = verify(authed, wrong_code(frozen_clock.at))
        assert blocked.status_code == status.HTTP_429_TOO_MANY_REQUESTS
        wait = int(blocked["Retry-After"])
        waits.append(wait)
        frozen_clock.at += wait
        fail(authed, 1, frozen_clock.at)
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


def test_a_right_code_resets_the_count(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    frozen_clock.at = FROZEN_AT + 30
    fail(authed, 1, frozen_clock.at)  # the wait is now 60 s
    frozen_clock.at += 60
    assert verify(authed, right_code(frozen_clock.at)).json()["valid"] is True
    assert failures() == 0
    fail(authed, LIMIT - 1, frozen_clock.at)
    assert verify(authed, wrong_code(frozen_clock.at)).status_code == status.HTTP_200_OK
    # Counted afresh: the LIMIT-th wrong code after the reset waits the first delay again.
    assert verify(authed, wrong_code(frozen_clock.at))["Retry-After"] == "30"


def test_the_count_is_consecutive_not_total(authed, frozen_clock):
    fail(authed, LIMIT - 1, FROZEN_AT)
    assert verify(authed, right_code(FROZEN_AT)).json()["valid"] is True
    frozen_clock.at = FROZEN_AT + 30
    fail(authed, LIMIT - 1, frozen_clock.at)
    assert verify(authed, right_code(frozen_clock.at)).json()["valid"] is True


def test_a_replayed_code_does_not_count_as_wrong(authed, frozen_clock):
    code = right_code(FROZEN_AT)
    assert verify(authed, code).json()["valid"] is True
    fail(authed, LIMIT - 1, FROZEN_AT)
    for _ in range(5):
        assert verify(authed, code).json() == {"valid": False, "timestamp": FROZEN_AT}
    assert failures() == LIMIT - 1
    frozen_clock.at = FROZEN_AT + 30
    assert verify(authed, right_code(frozen_clock.at)).json()["valid"] is True


def test_a_replayed_code_does_not_reset_the_count(authed, frozen_clock):
    code = right_code(FROZEN_AT)
    assert verify(authed, code).json()["valid"] is True
    fail(authed, LIMIT - 1, FROZEN_AT)
    assert verify(authed, code).json()["valid"] is False  # replayed
    fail(authed, 1, FROZEN_AT)
    blocked = verify(authed, right_code(FROZEN_AT + 30))
    assert blocked.status_code == status.HTTP_429_TOO_MANY_REQUESTS


def test_junk_codes_count_as_wrong(authed, frozen_clock):
    for junk in ["", "abcdef", "12345", "1234567", "१२३४५६"]:
        assert verify(authed, junk).json()["valid"] is False
    assert verify(authed, right_code(FROZEN_AT)).status_code == status.HTTP_429_TOO_MANY_REQUESTS


def test_a_body_that_is_not_a_verification_does_not_count(authed, frozen_clock):
    for _ in range(LIMIT * 2):
        response = authed.generic(
            "POST", "/accounts/alpha/otp/verify", b"not json", content_type="application/json"
        )
        assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert failures() == 0
    assert verify(authed, right_code(FROZEN_AT)).json()["valid"] is True


def test_a_client_that_may_not_verify_cannot_block_the_account(authed, frozen_clock):
    issuer, _ = new_client("issue-bot", ["alpha"], verify=False)
    for _ in range(LIMIT * 2):
        refused = APIClient().post(
            "/accounts/alpha/otp/verify",
            {"otp": "000000"},
            format="json",
            HTTP_X_API_KEY=issuer,
        )
        assert refused.status_code == status.HTTP_403_FORBIDDEN
    assert failures() == 0
    assert verify(authed, right_code(FROZEN_AT)).json()["valid"] is True


def test_throttling_is_per_account(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    assert verify(authed, right_code(FROZEN_AT)).status_code == status.HTTP_429_TOO_MANY_REQUESTS
    beta = verify(authed, right_code(FROZEN_AT, BETA_SECRET), "beta")
    assert beta.json() == {"valid": True, "timestamp": FROZEN_AT}
    original = authed.post("/otp/verify", {"otp": right_code(FROZEN_AT, DEFAULT_SECRET)})
    assert original.json() == {"valid": True, "timestamp": FROZEN_AT}


def test_wrong_codes_on_other_accounts_do_not_add_up(authed, frozen_clock):
    fail(authed, LIMIT - 1, FROZEN_AT)
    fail(authed, LIMIT - 1, FROZEN_AT, "beta", BETA_SECRET)
    assert verify(authed, right_code(FROZEN_AT)).json()["valid"] is True
    beta = verify(authed, right_code(FROZEN_AT, BETA_SECRET), "beta")
    assert beta.json()["valid"] is True


def test_the_original_verify_endpoint_is_throttled_as_account_default(authed, frozen_clock):
    for _ in range(LIMIT):
        wrong = wrong_code(FROZEN_AT, DEFAULT_SECRET)
        assert authed.post("/otp/verify", {"otp": wrong}).json()["valid"] is False
    right = right_code(FROZEN_AT, DEFAULT_SECRET)
    original = authed.post("/otp/verify", {"otp": right})
    assert original.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert original["Retry-After"] == "30"
    assert verify(authed, right, "default").status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert verify(authed, right_code(FROZEN_AT)).json()["valid"] is True


def test_throttling_holds_for_every_caller_of_the_account(authed, frozen_clock):
    other, _ = new_client("alpha-bot", ["alpha"])
    fail(authed, LIMIT, FROZEN_AT)
    # A client of its own: `authed` would send the environment key whatever is passed here.
    response = APIClient().post(
        "/accounts/alpha/otp/verify",
        {"otp": right_code(FROZEN_AT)},
        format="json",
        HTTP_X_API_KEY=other,
    )
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS


def test_a_lower_limit_blocks_sooner(authed, frozen_clock, settings):
    settings.VERIFY_FAILURE_LIMIT = 2
    fail(authed, 2, FROZEN_AT)
    blocked = verify(authed, right_code(FROZEN_AT))
    assert blocked.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert blocked["Retry-After"] == "30"


def test_a_limit_of_0_disables_throttling(authed, frozen_clock, settings):
    settings.VERIFY_FAILURE_LIMIT = 0
    fail(authed, 50, FROZEN_AT)
    assert verify(authed, right_code(FROZEN_AT)).json() == {"valid": True, "timestamp": FROZEN_AT}


def test_setting_the_limit_to_0_lifts_a_block_in_force(authed, frozen_clock, settings):
    fail(authed, LIMIT, FROZEN_AT)
    assert verify(authed, right_code(FROZEN_AT)).status_code == status.HTTP_429_TOO_MANY_REQUESTS
    settings.VERIFY_FAILURE_LIMIT = 0
    assert verify(authed, right_code(FROZEN_AT)).json()["valid"] is True


def test_the_429_tells_nothing_about_the_code(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    message = verify(authed, right_code(FROZEN_AT)).json()["error"].lower()
    for word in ("valid", "correct", "right", "match"):
        assert word not in message


def test_an_account_added_again_under_a_removed_ones_name_starts_unblocked(authed, frozen_clock):
    fail(authed, LIMIT, FROZEN_AT)
    remove_account("alpha", audit.operator(), FROZEN_AT)
    add_accounts([("alpha", parse_secret_or_uri(BETA_SECRET))], audit.operator(), FROZEN_AT)
    response = verify(authed, right_code(FROZEN_AT, BETA_SECRET))
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"valid": True, "timestamp": FROZEN_AT}


def test_an_account_added_again_with_the_same_secret_still_refuses_a_used_code(
    authed, frozen_clock
):
    # The one-time mark belongs to the secret, so removing the account must not reopen a code.
    code = right_code(FROZEN_AT)
    assert verify(authed, code).json()["valid"] is True
    remove_account("alpha", audit.operator(), FROZEN_AT)
    add_accounts([("alpha", parse_secret_or_uri(ALPHA_SECRET))], audit.operator(), FROZEN_AT)
    assert verify(authed, code).json()["valid"] is False
