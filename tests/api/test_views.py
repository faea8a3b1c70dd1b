"""The four endpoints and their exact JSON shapes, with the clock frozen by injection."""

import pytest
from rest_framework import status

from otp.api.serializers import HealthSerializer, OtpSerializer, VerifyResultSerializer
from otp.core import totp
from otp.models import AuditRecord
from tests.conftest import FROZEN_AT

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # OTP_SECRET in pyproject's test env


def verify(client, code):
    return client.post("/otp/verify", {"otp": code}, format="json")


def test_health_is_public_and_exact(client, frozen_clock):
    response = client.get("/health")
    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "timestamp": FROZEN_AT}


def test_ready_when_database_and_cache_answer(client, frozen_clock):
    response = client.get("/ready")
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"status": "ready", "timestamp": FROZEN_AT}


def test_otp_returns_the_code_for_the_clock_reading(authed, frozen_clock):
    response = authed.get("/otp")
    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "otp": totp.code_at(SECRET, FROZEN_AT),
        "valid_for_seconds": 10,
        "timestamp": FROZEN_AT,
    }


@pytest.mark.parametrize(("at", "left"), [(1_700_000_009, 1), (1_700_000_010, 30)])
def test_code_time_left_and_timestamp_agree_across_a_window_boundary(
    authed, frozen_clock, at, left
):
    frozen_clock.at = at
    body = authed.get("/otp").json()
    assert body["timestamp"] == at
    assert body["valid_for_seconds"] == left
    assert body["otp"] == totp.code_at(SECRET, at)


def test_last_second_of_a_window_and_first_of_the_next_give_different_codes(authed, frozen_clock):
    frozen_clock.at = 1_700_000_009
    before = authed.get("/otp").json()["otp"]
    frozen_clock.at = 1_700_000_010
    after = authed.get("/otp").json()["otp"]
    assert before != after


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_verify_accepts_previous_current_and_next_window(authed, frozen_clock, offset):
    code = totp.code_at(SECRET, FROZEN_AT + offset)
    response = verify(authed, code)
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"valid": True, "timestamp": FROZEN_AT}


@pytest.mark.parametrize("offset", [-60, 60])
def test_verify_refuses_codes_two_windows_away(authed, frozen_clock, offset):
    code = totp.code_at(SECRET, FROZEN_AT + offset)
    assert verify(authed, code).json() == {"valid": False, "timestamp": FROZEN_AT}


def test_a_code_expires_when_the_clock_moves_past_the_next_window(authed, frozen_clock):
    code = authed.get("/otp").json()["otp"]
    frozen_clock.at += 30
    assert verify(authed, code).json()["valid"] is True
    frozen_clock.at += 30
    assert verify(authed, code).json()["valid"] is False


@pytest.mark.parametrize(
    "junk", ["", "12345", "1234567", "abcdef", " 123456", "१२३४५६", "12345\u0000", "9" * 500]
)
def test_verify_answers_malformed_strings_with_valid_false(authed, frozen_clock, junk):
    response = verify(authed, junk)
    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {"valid": False, "timestamp": FROZEN_AT}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b'{"otp": "12', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"{}", "application/json"),
        (b'{"otp": 123456}', "application/json"),
        (b'{"otp": null}', "application/json"),
        (b'{"otp": ["123456"]}', "application/json"),
        (b'{"otp": true}', "application/json"),
        (b'["123456"]', "application/json"),
        (b'"123456"', "application/json"),
        (b"", "application/json"),
    ],
)
def test_verify_rejects_bodies_without_a_string_otp_with_400(authed, body, content_type):
    response = authed.generic("POST", "/otp/verify", body, content_type=content_type)
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert set(response.json()) == {"error"}


def test_verify_rejects_a_form_body_with_415(authed):
    response = authed.generic(
        "POST", "/otp/verify", b"otp=123456", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert set(response.json()) == {"error"}


def test_verify_rejects_a_huge_body_with_413(authed):
    body = b'{"otp": "' + b"1" * 100_000 + b'"}'
    response = authed.generic("POST", "/otp/verify", body, content_type="application/json")
    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"error": "Request body too large"}


def test_verify_reads_no_further_than_the_content_length(authed):
    body = b'{"otp": "' + b"1" * 5_000 + b'"}'
    response = authed.generic(
        "POST", "/otp/verify", body, content_type="application/json", CONTENT_LENGTH="10"
    )
    # Django's stream stops at the claimed length, so this is a truncated (bad) JSON body.
    assert response.status_code == status.HTTP_400_BAD_REQUEST


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/otp"), ("delete", "/otp"), ("get", "/otp/verify"), ("put", "/health")],
)
def test_wrong_method_is_405_json(authed, method, path):
    response = getattr(authed, method)(path)
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    ("path", "serializer"),
    [("/health", HealthSerializer), ("/otp", OtpSerializer)],
)
def test_bodies_match_their_documented_serializers(authed, frozen_clock, path, serializer):
    assert set(authed.get(path).json()) == set(serializer().fields)


def test_verify_body_matches_its_documented_serializer(authed, frozen_clock):
    assert set(verify(authed, "000000").json()) == set(VerifyResultSerializer().fields)


def test_a_deeply_nested_body_is_400_not_500(authed):
    response = authed.generic("POST", "/otp/verify", b"[" * 1024, content_type="application/json")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert set(response.json()) == {"error"}


def test_error_messages_do_not_echo_the_request(authed):
    method = authed.generic("BREW", "/otp")
    media = authed.generic("POST", "/otp/verify", b"x", content_type="text/evil<script>")
    assert method.json() == {"error": "Method not allowed"}
    assert media.json() == {"error": "Unsupported media type: send application/json"}


@pytest.mark.parametrize("path", ["/otp", "/accounts/default/otp", "/accounts"])
def test_head_is_not_allowed_where_it_would_hand_out_a_code(authed, path):
    response = authed.head(path)
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert AuditRecord.objects.filter(action="issue").count() == 0
