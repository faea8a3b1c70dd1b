"""The client's waiting, retrying and failing: Retry-After on 429 and 503 within max_wait,
refused connections, timeouts. Against a scripted stub, with time injected: nothing sleeps."""

import json
import time

import pytest
from otp_client import Client, OTPNetworkError, OTPServiceError
from rest_framework import status

from tests.clients.stub import CODE, KEY, Reply, answer, client_of, http_date
from tests.support.servers import free_port

# --- Retry-After on 429 and 503, within max_wait ---


@pytest.mark.parametrize(
    "refusal", [status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE]
)
def test_a_retry_after_is_waited_for_and_the_request_sent_again(stub, fake_time, refusal):
    server = stub(
        answer(refusal, {"error": "wait"}, Retry_After="2"),
        answer(refusal, {"error": "wait"}, Retry_After="3"),
        answer(status.HTTP_200_OK, CODE),
    )
    code = client_of(server, fake_time, max_wait=10).code("github-bot")
    assert code.otp == CODE["otp"]
    assert fake_time.slept == [2, 3]
    assert len(server.seen) == 3
    # Each attempt is signed afresh: a nonce is accepted once.
    assert len({seen.headers["X-Nonce"] for seen in server.seen}) == 3


def test_retries_stop_before_max_wait_is_passed(stub, fake_time):
    server = stub(
        answer(
            status.HTTP_503_SERVICE_UNAVAILABLE, {"error": "Service unavailable"}, Retry_After="4"
        )
    )
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time, max_wait=10).code("github-bot")
    # 4 + 4 fit in 10 s, a third 4 would not: the error is raised instead.
    assert fake_time.slept == [4, 4]
    assert len(server.seen) == 3
    assert refused.value.status == status.HTTP_503_SERVICE_UNAVAILABLE
    assert refused.value.message == "Service unavailable"
    assert refused.value.retry_after == 4


def test_a_retry_after_beyond_max_wait_is_raised_at_once(stub, fake_time):
    server = stub(
        answer(
            status.HTTP_429_TOO_MANY_REQUESTS,
            {"error": "Too many failed authentications. Expected available in 120 seconds."},
            Retry_After="120",
        )
    )
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time, max_wait=60).verify("github-bot", "123456")
    assert fake_time.slept == []
    assert refused.value.status == status.HTTP_429_TOO_MANY_REQUESTS
    assert refused.value.retry_after == 120
    assert refused.value.message.startswith("Too many failed authentications.")


def test_a_503_without_retry_after_backs_off(stub, fake_time):
    server = stub(
        Reply(status.HTTP_503_SERVICE_UNAVAILABLE, b"<html>proxy</html>"),
        Reply(status.HTTP_503_SERVICE_UNAVAILABLE, b"<html>proxy</html>"),
        answer(status.HTTP_200_OK, CODE),
    )
    assert client_of(server, fake_time).code("github-bot").otp == CODE["otp"]
    assert fake_time.slept == [1, 2]


def test_a_retry_after_given_as_a_date_is_on_the_services_clock(stub, fake_time):
    # The service's clock is 600 s ahead of this host's; its Retry-After date is 5 s after its
    # Date: the wait is 5 s, not 605.
    service_now = fake_time.now + 600
    server = stub(
        answer(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            {"error": "Service unavailable"},
            Date=http_date(service_now),
            Retry_After=http_date(service_now + 5),
        ),
        answer(status.HTTP_200_OK, CODE),
    )
    client_of(server, fake_time).code("github-bot")
    assert fake_time.slept == [pytest.approx(5, abs=1)]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (status.HTTP_400_BAD_REQUEST, "min_validity: whole seconds from 1 to 29"),
        (status.HTTP_404_NOT_FOUND, "Account not found"),
        (status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error"),
    ],
)
def test_other_errors_are_raised_at_once_with_status_and_message(stub, fake_time, code, message):
    server = stub(answer(code, {"error": message}, X_Request_ID="req-1"))
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time).code("github-bot")
    assert (refused.value.status, refused.value.message) == (code, message)
    assert refused.value.request_id == "req-1"
    assert len(server.seen) == 1
    assert fake_time.slept == []


def test_wait_false_gets_the_409_as_an_error_with_retry_after(stub, fake_time):
    message = "The next code is not out yet: try again after Retry-After seconds."
    server = stub(answer(status.HTTP_409_CONFLICT, {"error": message}, Retry_After="7"))
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time).code("github-bot", min_validity=10, wait=False)
    assert (refused.value.status, refused.value.message) == (status.HTTP_409_CONFLICT, message)
    assert refused.value.retry_after == 7
    assert server.seen[0].target == "/accounts/github-bot/otp?min_validity=10&wait=false"
    assert fake_time.slept == []


# --- No answer ---


def test_a_refused_connection_is_a_network_error_after_retries_within_max_wait(fake_time):
    client = Client(
        f"http://127.0.0.1:{free_port()}",
        KEY,
        max_wait=10,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    )
    with pytest.raises(OTPNetworkError) as failed:
        client.code("github-bot")
    assert not isinstance(failed.value, OTPServiceError)
    # The service may be restarting: 1 + 2 + 4 s fit in 10, 8 more would not.
    assert fake_time.slept == [1, 2, 4]
    assert "Connection refused" in str(failed.value)
    assert KEY not in str(failed.value)


def test_a_silent_service_is_a_network_error_after_the_timeout(stub):
    server = stub(Reply(status.HTTP_200_OK, b'{"valid": true}', delay=2))
    started = time.monotonic()
    with pytest.raises(OTPNetworkError, match="timed out"):
        Client(server.url, KEY, timeout=0.3, max_wait=0).verify("github-bot", "123456")
    assert time.monotonic() - started < 1.5


def test_a_code_request_allows_for_the_service_holding_it_back(stub):
    # With min_validity the service is silent until the next window: the read timeout waits
    # for it on top of `timeout`.
    server = stub(Reply(status.HTTP_200_OK, json.dumps(CODE).encode(), delay=0.8))
    code = Client(server.url, KEY, timeout=0.3, max_wait=0).code("github-bot", min_validity=5)
    assert code.otp == CODE["otp"]
