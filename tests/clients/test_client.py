"""otp_client.Client against a live gunicorn: codes, verification, accounts, errors, and a host
clock minutes off."""

import time

import pytest
from otp_client import Account, Client, OTPConfigError, OTPServiceError
from rest_framework import status

from tests.clients.conftest import EXCLUSIVE, PARAMS, code_at, mid_window_account, seconds_left

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("clean_log")]

WRONG_KEY = "wrong-key-0123456789abcdef"
TEN_MINUTES = 600


def test_code_is_the_accounts_code_of_its_timestamp(service):
    code = Client(service.url, service.signer).code("github-bot")
    assert code.otp == code_at("github-bot", code.timestamp)
    assert code.valid_for_seconds == seconds_left("github-bot", code.timestamp)
    assert code.expires_at % PARAMS["github-bot"].period == 0


def test_default_is_the_services_otp_secret(service):
    code = Client(service.url, service.signer).code("default")
    assert code.otp == code_at("default", code.timestamp)


def test_repr_of_a_code_or_client_shows_neither_code_nor_key(service):
    client = Client(service.url, service.signer)
    code = client.code("github-bot")
    assert code.otp not in repr(code)
    assert service.signer not in repr(client)


def test_verify_is_true_once_for_the_current_code_and_false_for_a_wrong_one(service):
    client = Client(service.url, service.signer)
    code = client.code("quick").otp
    assert client.verify("quick", code) is True
    # Each code is accepted once (RFC 6238 section 5.2).
    assert client.verify("quick", code) is False
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert client.verify("quick", wrong) is False


def test_accounts_are_those_the_key_may_see(service):
    names = [account.name for account in Client(service.url, service.admin).accounts()]
    assert names[0] == "default"
    assert sorted(names[1:]) == ["github-bot", "quick", "slow", "slower", "solo", "solo-b"]
    assert Client(service.url, service.fetcher).accounts() == [
        Account(name="github-bot", issuer="Test", algorithm="SHA1", digits=6, period=30)
    ]


def test_a_key_that_must_sign_is_refused_when_sent_unsigned(service):
    # The signer's key works only in signed requests: so the client's default never sends it.
    with pytest.raises(OTPServiceError) as refused:
        Client(service.url, service.signer, signed=False).code("github-bot")
    assert refused.value.status == status.HTTP_401_UNAUTHORIZED
    assert Client(service.url, service.admin, signed=False).code("github-bot").otp


def test_an_account_the_key_may_not_see_is_a_404_with_the_services_message(service):
    with pytest.raises(OTPServiceError) as refused:
        Client(service.url, service.fetcher).code("quick")
    assert refused.value.status == status.HTTP_404_NOT_FOUND
    assert refused.value.message == "Account not found"
    assert refused.value.request_id
    assert "Account not found" in str(refused.value)


def test_verifying_with_a_fetch_only_key_is_a_403(service):
    with pytest.raises(OTPServiceError) as refused:
        Client(service.url, service.fetcher).verify("github-bot", "123456")
    assert refused.value.status == status.HTTP_403_FORBIDDEN
    assert refused.value.message == "This client may not do that on this account"


def test_a_wrong_key_is_a_401_whose_error_does_not_hold_the_key(service):
    with pytest.raises(OTPServiceError) as refused:
        Client(service.url, WRONG_KEY).code("github-bot")
    assert refused.value.status == status.HTTP_401_UNAUTHORIZED
    assert refused.value.message == "Invalid or missing request signature"
    assert WRONG_KEY not in str(refused.value)
    assert WRONG_KEY not in repr(refused.value.args)


def test_url_and_key_come_from_the_environment(service, monkeypatch):
    monkeypatch.setenv("OTP_SERVICE_URL", service.url)
    monkeypatch.setenv("OTP_SERVICE_KEY", service.signer)
    code = Client().code("github-bot")
    assert code.otp == code_at("github-bot", code.timestamp)


@pytest.mark.parametrize("missing", ["OTP_SERVICE_URL", "OTP_SERVICE_KEY"])
def test_without_url_or_key_the_error_names_the_variable(service, monkeypatch, missing):
    monkeypatch.setenv("OTP_SERVICE_URL", service.url)
    monkeypatch.setenv("OTP_SERVICE_KEY", service.signer)
    monkeypatch.delenv(missing)
    with pytest.raises(OTPConfigError, match=missing):
        Client()


# Each on an account of its own: a code verified is used up for its whole window.
@pytest.mark.parametrize(
    ("skew", "account"), [(-TEN_MINUTES, "default"), (TEN_MINUTES, "github-bot")]
)
def test_a_host_clock_ten_minutes_off_still_gets_and_verifies_codes(service, skew, account):
    client = Client(service.url, service.signer, clock=lambda: time.time() + skew)
    refused_before = service.refusals()
    code = client.code(account)
    assert code.otp == code_at(account, code.timestamp)
    assert client.clock_offset == pytest.approx(-skew, abs=2)
    # Verification and later requests sign with the service's time from the start.
    assert client.verify(account, client.code(account).otp) is True
    assert [account.name for account in client.accounts()] == ["default", "github-bot", "quick"]
    # Only the very first request was refused for its timestamp, and signed again once.
    assert service.refusals() - refused_before == 1


def test_a_wrong_key_on_a_host_clock_minutes_off_is_signed_again_only_once(service):
    client = Client(service.url, WRONG_KEY, clock=lambda: time.time() - TEN_MINUTES)
    refused_before = service.refusals()
    with pytest.raises(OTPServiceError) as refused:
        client.code("github-bot")
    assert refused.value.status == status.HTTP_401_UNAUTHORIZED
    assert service.refusals() - refused_before == 2


def test_a_host_clock_in_step_is_never_refused(service):
    refused_before = service.refusals()
    client = Client(service.url, service.signer)
    client.code("github-bot")
    assert abs(client.clock_offset) < 2
    assert service.refusals() == refused_before


# --- min_validity (the service's part of issue 10, part 1) ---


def test_min_validity_already_met_answers_at_once(service):
    code = Client(service.url, service.signer).code("github-bot", min_validity=1)
    assert code.valid_for_seconds >= 1
    assert code.otp == code_at("github-bot", code.timestamp)


def test_min_validity_not_met_waits_for_the_next_windows_code(service):
    # A read timeout of 1 s: the client allows for the service's wait on top of it.
    client = Client(service.url, service.signer, timeout=1)
    period = PARAMS["quick"].period
    asked_at = time.time()
    code = client.code("quick", min_validity=period - 1)
    assert code.valid_for_seconds >= period - 1
    assert code.otp == code_at("quick", code.timestamp)
    if seconds_left("quick", asked_at) < period - 2:  # it had to wait, and did
        assert code.timestamp % period == 0
        assert code.timestamp > asked_at


def test_min_validity_without_waiting_raises_409_with_retry_after(service):
    account = mid_window_account(("slow", "slower"), time.time())
    period = PARAMS[account].period
    with pytest.raises(OTPServiceError) as refused:
        Client(service.url, service.admin).code(account, min_validity=period - 1, wait=False)
    assert refused.value.status == status.HTTP_409_CONFLICT
    assert refused.value.retry_after == pytest.approx(seconds_left(account, time.time()), abs=2)
    assert "Retry-After" in str(refused.value)


def test_min_validity_out_of_range_is_the_services_400(service):
    with pytest.raises(OTPServiceError) as refused:
        Client(service.url, service.signer).code("github-bot", min_validity=30)
    assert refused.value.status == status.HTTP_400_BAD_REQUEST
    assert "min_validity" in refused.value.message


# --- Exclusive accounts (the service's part of issue 10, part 2) ---


def test_accounts_say_which_are_exclusive(service):
    exclusive = {
        account.name: account.exclusive for account in Client(service.url, service.admin).accounts()
    }
    assert exclusive["solo"] is exclusive["solo-b"] is True
    assert exclusive["github-bot"] is False


def test_a_second_code_of_an_exclusive_step_without_waiting_is_a_409(service):
    account = mid_window_account(EXCLUSIVE, time.time())
    client = Client(service.url, service.admin)
    first = client.code(account)
    assert first.otp == code_at(account, first.timestamp)
    with pytest.raises(OTPServiceError) as refused:
        client.code(account, wait=False)
    assert refused.value.status == status.HTTP_409_CONFLICT
    assert refused.value.retry_after == pytest.approx(first.valid_for_seconds, abs=2)
