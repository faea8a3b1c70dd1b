"""What the client sends (signed as the service checks, the key never) and what it makes of
answers that are not the service's. Against a scripted stub."""

import json

import pytest
from otp_client import Client, OTPServiceError
from rest_framework import status

from otp.core.credentials import key_id, request_signature
from tests.clients.stub import CODE, KEY, Reply, Seen, answer, client_of, http_date

# --- What the client sends ---


def assert_signed_as_the_service_checks(seen: Seen) -> None:
    headers = {name.lower(): value for name, value in seen.headers.items()}
    assert "x-api-key" not in headers
    assert headers["x-key-id"] == key_id(KEY)
    expected = request_signature(
        KEY, headers["x-timestamp"], headers["x-nonce"], seen.method, seen.target, seen.body
    )
    assert headers["x-signature"] == expected
    assert KEY not in json.dumps(seen.headers) + seen.target + seen.body.decode()


def test_requests_are_signed_over_the_target_and_body_as_sent_without_the_key(stub, fake_time):
    server = stub(
        answer(status.HTTP_200_OK, CODE),
        answer(status.HTTP_200_OK, {"valid": False, "timestamp": CODE["timestamp"]}),
        answer(status.HTTP_200_OK, {"accounts": []}),
    )
    client = client_of(server, fake_time)
    client.code("team/bot x", min_validity=10)
    assert client.verify("team/bot x", "012345") is False
    assert client.accounts() == []
    code, verify, accounts = server.seen
    assert code.target == "/accounts/team%2Fbot%20x/otp?min_validity=10"
    assert (verify.method, verify.target) == ("POST", "/accounts/team%2Fbot%20x/otp/verify")
    assert json.loads(verify.body) == {"otp": "012345"}
    assert accounts.target == "/accounts"
    for seen in server.seen:
        assert_signed_as_the_service_checks(seen)


def test_a_service_under_a_path_is_signed_with_that_path(stub, fake_time):
    server = stub(answer(status.HTTP_200_OK, CODE))
    Client(f"{server.url}/otp-service/", KEY, clock=fake_time.clock).code("default")
    assert server.seen[0].target == "/otp-service/accounts/default/otp"
    assert_signed_as_the_service_checks(server.seen[0])


def test_the_timestamp_follows_the_services_date_header(stub, fake_time):
    service_now = fake_time.now - 600
    server = stub(answer(status.HTTP_200_OK, CODE, Date=http_date(service_now)))
    client = client_of(server, fake_time)
    client.code("github-bot")
    client.code("github-bot")
    first, second = (int(seen.headers["X-Timestamp"]) for seen in server.seen)
    assert first == int(fake_time.now)
    assert second == pytest.approx(service_now, abs=1)
    assert client.clock_offset == pytest.approx(-600, abs=1)


def test_a_code_given_as_an_int_is_refused_before_it_loses_a_leading_zero(stub, fake_time):
    server = stub(answer(status.HTTP_200_OK, {"valid": True}))
    with pytest.raises(TypeError):
        client_of(server, fake_time).verify("github-bot", 12345)
    assert server.seen == []


# --- What does not come from the service ---


def test_an_answer_that_is_not_the_services_json_is_its_status_and_reason(stub, fake_time):
    server = stub(Reply(status.HTTP_502_BAD_GATEWAY, b"<html>Bad Gateway</html>"))
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time).code("github-bot")
    assert (refused.value.status, refused.value.message) == (502, "Bad Gateway")


def test_a_200_that_is_not_the_services_json_is_an_error(stub, fake_time):
    server = stub(Reply(status.HTTP_200_OK, b"<html>login page</html>"))
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time).code("github-bot")
    assert refused.value.status == status.HTTP_200_OK


def test_a_redirect_is_not_followed(stub, fake_time):
    elsewhere = stub(answer(status.HTTP_200_OK, CODE))
    server = stub(Reply(status.HTTP_302_FOUND, headers={"Location": f"{elsewhere.url}/otp"}))
    with pytest.raises(OTPServiceError) as refused:
        client_of(server, fake_time).code("github-bot")
    assert refused.value.status == status.HTTP_302_FOUND
    assert elsewhere.seen == []
