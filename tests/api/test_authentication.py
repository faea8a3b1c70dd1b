"""Both authentication schemes, every way they fail, and that failures all look alike."""

import pytest
from rest_framework import status

from tests.conftest import FROZEN_AT
from tests.support.signing import v1_headers, wsgi

API_KEY_FAILURE = {"error": "Invalid or missing API key"}
SIGNATURE_FAILURE = {"error": "Invalid or missing request signature"}


@pytest.mark.parametrize("path", ["/otp", "/otp/verify"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_API_KEY": ""},
        {"HTTP_X_API_KEY": "wrong-key-0123456789abcdef"},
        {"HTTP_X_API_KEY": "test-api-key-0123456789abcde"},  # one character short
        {"HTTP_X_API_KEY": "test-api-key-0123456789abcdeF"},  # one character off
        {"HTTP_X_API_KEY": "test-api-key-0123456789abcdef "},
        {"HTTP_X_API_KEY": "ключ-ключ-ключ-ключ"},
        {"HTTP_X_API_KEY": "k" * 8192},
        {"HTTP_AUTHORIZATION": "Bearer test-api-key-0123456789abcdef"},
    ],
)
def test_api_key_failures_are_401_with_one_message(client, path, headers):
    method = client.post if path == "/otp/verify" else client.get
    response = method(path, {"otp": "123456"}, format="json", **headers)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == API_KEY_FAILURE
    assert response["WWW-Authenticate"] == 'ApiKey realm="otp-service"'


def test_secure_accepts_a_fresh_signature(client, api_key, frozen_clock):
    response = client.get("/otp/secure", **wsgi(v1_headers(api_key)))
    assert response.status_code == status.HTTP_200_OK
    assert set(response.json()) == {"otp", "valid_for_seconds", "timestamp"}


@pytest.mark.parametrize("skew", [-30, -1, 1, 30])
def test_secure_accepts_timestamps_within_30_seconds_either_way(
    client, api_key, frozen_clock, skew
):
    response = client.get("/otp/secure", **wsgi(v1_headers(api_key, FROZEN_AT + skew)))
    assert response.status_code == status.HTTP_200_OK


@pytest.mark.parametrize("skew", [-31, 31, -3600, 10**9])
def test_secure_refuses_stale_and_future_timestamps(client, api_key, frozen_clock, skew):
    response = client.get("/otp/secure", **wsgi(v1_headers(api_key, FROZEN_AT + skew)))
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == SIGNATURE_FAILURE


def _without(headers, name):
    return {k: v for k, v in headers.items() if k != name}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: {}, id="no headers"),
        pytest.param(lambda h: _without(h, "HTTP_X_API_KEY"), id="no key"),
        pytest.param(lambda h: _without(h, "HTTP_X_TIMESTAMP"), id="no timestamp"),
        pytest.param(lambda h: _without(h, "HTTP_X_SIGNATURE"), id="no signature"),
        pytest.param(lambda h: {**h, "HTTP_X_API_KEY": "wrong-key-0123456789abcdef"}, id="bad key"),
        pytest.param(lambda h: {**h, "HTTP_X_SIGNATURE": "0" * 64}, id="bad signature"),
        pytest.param(
            lambda h: {**h, "HTTP_X_SIGNATURE": h["HTTP_X_SIGNATURE"].upper()}, id="upper hex"
        ),
        pytest.param(
            lambda h: {**h, "HTTP_X_TIMESTAMP": str(FROZEN_AT + 1)}, id="signature of other time"
        ),
        pytest.param(lambda h: {**h, "HTTP_X_TIMESTAMP": f"{FROZEN_AT}.0"}, id="not an integer"),
        pytest.param(lambda h: {**h, "HTTP_X_TIMESTAMP": f"+{FROZEN_AT}"}, id="signed integer"),
        pytest.param(lambda h: {**h, "HTTP_X_TIMESTAMP": "9" * 8000}, id="huge timestamp"),
        pytest.param(lambda h: {**h, "HTTP_X_SIGNATURE": "é" * 64}, id="unicode signature"),
    ],
)
def test_secure_failures_are_401_with_one_message(client, api_key, frozen_clock, tamper):
    headers = tamper(wsgi(v1_headers(api_key)))
    response = client.get("/otp/secure", **headers)
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == SIGNATURE_FAILURE
    assert response["WWW-Authenticate"] == 'HmacSignature realm="otp-service"'


def test_a_key_alone_does_not_open_the_secure_endpoint(authed):
    assert authed.get("/otp/secure").status_code == status.HTTP_401_UNAUTHORIZED


def test_auth_failures_do_not_say_which_part_failed(client, api_key, frozen_clock):
    good = wsgi(v1_headers(api_key))
    wrong_key = client.get("/otp/secure", **{**good, "HTTP_X_API_KEY": "x" * 26})
    wrong_sig = client.get("/otp/secure", **{**good, "HTTP_X_SIGNATURE": "0" * 64})
    stale = client.get("/otp/secure", **wsgi(v1_headers(api_key, FROZEN_AT - 100)))
    assert wrong_key.content == wrong_sig.content == stale.content
