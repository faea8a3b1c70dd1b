"""v2 signed requests: the key never travels, every part of the request is signed, and each
nonce works once."""

import json

import pytest
from django.test import override_settings
from rest_framework import status

from otp.core.credentials import key_id
from tests.conftest import FROZEN_AT
from tests.support.commands import call_otp
from tests.support.signing import v1_headers, v2_headers, wsgi

FAILURE = {"error": "Invalid or missing request signature"}


def send(client, method, path, headers, body=b""):
    return client.generic(method, path, body, content_type="application/json", **headers)


@pytest.mark.parametrize("path", ["/otp", "/otp/secure", "/otp?for=bot-7"])
def test_signed_get_is_accepted_without_the_key(client, api_key, frozen_clock, path):
    response = send(client, "GET", path, wsgi(v2_headers(api_key, "GET", path)))
    assert response.status_code == status.HTTP_200_OK
    assert set(response.json()) == {"otp", "valid_for_seconds", "timestamp"}


def test_signed_verify_covers_the_body(client, api_key, frozen_clock):
    body = json.dumps({"otp": "123456"}).encode()
    response = send(
        client, "POST", "/otp/verify", wsgi(v2_headers(api_key, "POST", "/otp/verify", body)), body
    )
    assert response.status_code == status.HTTP_200_OK
    assert set(response.json()) == {"valid", "timestamp"}


def _tampered(api_key):
    good = wsgi(v2_headers(api_key, "GET", "/otp", nonce="n" * 20))
    return {
        "unknown key id": {**good, "HTTP_X_KEY_ID": "0" * 16},
        "other path": wsgi(v2_headers(api_key, "GET", "/otp/secure")),
        "other query": wsgi(v2_headers(api_key, "GET", "/otp?x=1")),
        "other method": wsgi(v2_headers(api_key, "POST", "/otp")),
        "body signed, none sent": wsgi(v2_headers(api_key, "GET", "/otp", body=b"{}")),
        "stale": wsgi(v2_headers(api_key, "GET", "/otp", timestamp=FROZEN_AT - 31)),
        "future": wsgi(v2_headers(api_key, "GET", "/otp", timestamp=FROZEN_AT + 31)),
        "short nonce": wsgi(v2_headers(api_key, "GET", "/otp", nonce="n" * 15)),
        "long nonce": wsgi(v2_headers(api_key, "GET", "/otp", nonce="n" * 65)),
        "nonce with a dot": wsgi(v2_headers(api_key, "GET", "/otp", nonce="n" * 16 + ".")),
        "no nonce": {k: v for k, v in good.items() if k != "HTTP_X_NONCE"},
        "no signature": {k: v for k, v in good.items() if k != "HTTP_X_SIGNATURE"},
        "uppercase signature": {**good, "HTTP_X_SIGNATURE": good["HTTP_X_SIGNATURE"].upper()},
        "signed with another key": wsgi(v2_headers("another-key-0123456789", "GET", "/otp"))
        | {"HTTP_X_KEY_ID": key_id(api_key)},
        "v1 signature": {
            **good,
            "HTTP_X_SIGNATURE": v1_headers(api_key)["X-Signature"],
        },
    }


@pytest.mark.parametrize(
    "case", list(_tampered("test-api-key-0123456789abcdef")), ids=lambda case: case
)
def test_every_tampering_is_401_with_one_message(client, api_key, frozen_clock, case):
    response = send(client, "GET", "/otp", _tampered(api_key)[case])
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == FAILURE


def test_a_nonce_is_accepted_once(client, api_key, frozen_clock):
    headers = wsgi(v2_headers(api_key, "GET", "/otp"))
    assert send(client, "GET", "/otp", headers).status_code == status.HTTP_200_OK
    again = send(client, "GET", "/otp", headers)
    assert again.status_code == status.HTTP_401_UNAUTHORIZED
    assert again.json() == FAILURE


def test_a_nonce_cannot_be_reused_with_a_new_timestamp(client, api_key, frozen_clock):
    nonce = "reused-nonce-0123456789"
    first = wsgi(v2_headers(api_key, "GET", "/otp", nonce=nonce))
    assert send(client, "GET", "/otp", first).status_code == status.HTTP_200_OK
    frozen_clock.at += 5
    second = wsgi(v2_headers(api_key, "GET", "/otp", timestamp=frozen_clock.at, nonce=nonce))
    assert send(client, "GET", "/otp", second).status_code == status.HTTP_401_UNAUTHORIZED


def test_a_badly_signed_request_does_not_use_up_the_nonce(client, api_key, frozen_clock):
    nonce = "victim-nonce-0123456789"
    forged = {**wsgi(v2_headers(api_key, "GET", "/otp", nonce=nonce)), "HTTP_X_SIGNATURE": "0" * 64}
    assert send(client, "GET", "/otp", forged).status_code == status.HTTP_401_UNAUTHORIZED
    genuine = wsgi(v2_headers(api_key, "GET", "/otp", nonce=nonce))
    assert send(client, "GET", "/otp", genuine).status_code == status.HTTP_200_OK


@override_settings(REQUIRE_SIGNED_REQUESTS=True)
def test_when_signing_is_required_only_v2_gets_in(client, api_key, frozen_clock):
    v1_key = client.get("/otp", HTTP_X_API_KEY=api_key)
    v1_secure = client.get("/otp/secure", **wsgi(v1_headers(api_key)))
    v2_with_key = send(
        client,
        "GET",
        "/otp",
        {**wsgi(v2_headers(api_key, "GET", "/otp")), "HTTP_X_API_KEY": api_key},
    )
    v2 = send(client, "GET", "/otp", wsgi(v2_headers(api_key, "GET", "/otp")))
    assert v1_key.status_code == v1_secure.status_code == status.HTTP_401_UNAUTHORIZED
    assert v2_with_key.status_code == status.HTTP_401_UNAUTHORIZED
    assert v1_key["WWW-Authenticate"] == 'OTP-HMAC-SHA256 realm="otp-service"'
    assert v2.status_code == status.HTTP_200_OK


def test_keyid_command_prints_ids_and_no_key(api_key):
    with override_settings(API_KEYS=[api_key, "second-key-0123456789"]):
        out = call_otp("keyid").out
    assert key_id(api_key) in out
    assert key_id("second-key-0123456789") in out
    assert api_key not in out
    assert "second-key-0123456789" not in out


def test_the_signature_covers_the_target_the_server_was_sent(client, api_key, frozen_clock):
    # gunicorn (and this project's runserver) pass the request line's target as RAW_URI; Django's
    # own path is already decoded: "/ot%70" arrives as "/otp".
    as_sent = send(
        client, "GET", "/otp", wsgi(v2_headers(api_key, "GET", "/ot%70")) | {"RAW_URI": "/ot%70"}
    )
    as_decoded = send(
        client, "GET", "/otp", wsgi(v2_headers(api_key, "GET", "/otp")) | {"RAW_URI": "/ot%70"}
    )
    assert as_sent.status_code == status.HTTP_200_OK
    assert as_decoded.status_code == status.HTTP_401_UNAUTHORIZED
    assert as_decoded.json() == FAILURE
