"""Lockout of key guessing per client address, and which address that is behind proxies."""

import pytest
from django.test import RequestFactory, override_settings
from rest_framework import status

from otp.api.addresses import client_address
from tests.conftest import FROZEN_AT

WRONG = {"HTTP_X_API_KEY": "wrong-key-0123456789abcdef"}


def fail(client, times, **extra):
    for _ in range(times):
        assert client.get("/otp", **WRONG, **extra).status_code == status.HTTP_401_UNAUTHORIZED


@override_settings(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW=300)
def test_the_limit_locks_the_address_out_even_with_the_right_key(client, api_key, frozen_clock):
    fail(client, 3)
    response = client.get("/otp", HTTP_X_API_KEY=api_key)
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert response["Retry-After"] == "300"
    assert set(response.json()) == {"error"}


@override_settings(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW=300)
def test_the_lock_ends_when_the_window_has_passed(client, api_key, frozen_clock):
    fail(client, 3)
    frozen_clock.at = FROZEN_AT + 299
    locked = client.get("/otp", HTTP_X_API_KEY=api_key)
    assert locked.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert locked["Retry-After"] == "1"
    frozen_clock.at = FROZEN_AT + 300
    assert client.get("/otp", HTTP_X_API_KEY=api_key).status_code == status.HTTP_200_OK


@override_settings(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW=300)
def test_failures_outside_one_window_do_not_add_up(client, api_key, frozen_clock):
    fail(client, 2)
    frozen_clock.at = FROZEN_AT + 300
    fail(client, 2)
    assert client.get("/otp", HTTP_X_API_KEY=api_key).status_code == status.HTTP_200_OK


@override_settings(AUTH_FAILURE_LIMIT=2)
def test_bad_signatures_count_like_wrong_keys(client, api_key, frozen_clock):
    assert client.get("/otp", HTTP_X_KEY_ID="0" * 16).status_code == status.HTTP_401_UNAUTHORIZED
    unsigned = client.get("/otp/secure", HTTP_X_API_KEY=api_key)
    assert unsigned.status_code == status.HTTP_401_UNAUTHORIZED
    locked = client.get("/otp", HTTP_X_API_KEY=api_key)
    assert locked.status_code == status.HTTP_429_TOO_MANY_REQUESTS


@override_settings(AUTH_FAILURE_LIMIT=2)
def test_requests_without_credentials_do_not_count(client, api_key, frozen_clock):
    for _ in range(5):
        assert client.get("/otp").status_code == status.HTTP_401_UNAUTHORIZED
        # OPTIONS is 405 before any credentials are looked at (README: Troubleshooting).
        assert client.options("/otp").status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert client.get("/otp", HTTP_X_API_KEY=api_key).status_code == status.HTTP_200_OK


@override_settings(AUTH_FAILURE_LIMIT=2)
def test_other_addresses_are_not_affected(client, api_key, frozen_clock):
    fail(client, 2, REMOTE_ADDR="203.0.113.9")
    other = client.get("/otp", HTTP_X_API_KEY=api_key, REMOTE_ADDR="203.0.113.10")
    assert other.status_code == status.HTTP_200_OK
    assert client.get("/health", REMOTE_ADDR="203.0.113.9").status_code == status.HTTP_200_OK


@override_settings(AUTH_FAILURE_LIMIT=0)
def test_a_limit_of_zero_never_locks(client, api_key, frozen_clock):
    fail(client, 50)
    assert client.get("/otp", HTTP_X_API_KEY=api_key).status_code == status.HTTP_200_OK


@override_settings(AUTH_FAILURE_LIMIT=2, TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_a_forged_forwarded_for_does_not_escape_the_count(
    client, api_key, frozen_clock
):
    # The proxy appends the address it saw (198.51.100.7); the rest is whatever the client sent.
    fail(client, 1, HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7")
    fail(client, 1, HTTP_X_FORWARDED_FOR="2.2.2.2, 198.51.100.7")
    locked = client.get("/otp", HTTP_X_API_KEY=api_key, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert locked.status_code == status.HTTP_429_TOO_MANY_REQUESTS


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_counts_trusted_proxies_from_the_right(hops, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_COUNT=hops):
        assert client_address(request) == expected


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_forwarded_for_from_a_peer_outside_the_proxy_networks_is_ignored():
    direct = RequestFactory().get("/", REMOTE_ADDR="203.0.113.77", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert client_address(direct) == "203.0.113.77"


def test_an_ipv6_zone_id_is_not_a_new_client():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="fe80::1%" + "a" * 80
    )
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_address(request) == "fe80::1"


@override_settings(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW=300)
def test_ended_windows_are_deleted_as_new_failures_arrive(client, frozen_clock):
    from otp.models import AuthFailureWindow

    fail(client, 1, REMOTE_ADDR="203.0.113.1")
    frozen_clock.at = FROZEN_AT + 300
    fail(client, 1, REMOTE_ADDR="203.0.113.2")
    assert list(AuthFailureWindow.objects.values_list("address", flat=True)) == ["203.0.113.2"]
