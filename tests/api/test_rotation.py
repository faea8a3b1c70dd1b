"""Several configured keys, for rotation without downtime."""

from django.test import override_settings
from rest_framework import status

from otp.core import credentials

OLD, NEW = "old-key-0123456789abcdef", "new-key-0123456789abcdef"


@override_settings(API_KEYS=[OLD, NEW])
def test_every_configured_key_is_accepted(client):
    for key in (OLD, NEW):
        assert client.get("/otp", HTTP_X_API_KEY=key).status_code == status.HTTP_200_OK


@override_settings(API_KEYS=[NEW])
def test_a_key_taken_out_of_the_list_stops_working(client):
    assert client.get("/otp", HTTP_X_API_KEY=OLD).status_code == status.HTTP_401_UNAUTHORIZED


def test_every_key_is_compared_even_after_a_match(monkeypatch):
    compared = []
    real = credentials.constant_time_equal

    def counting(presented, expected):
        compared.append(expected)
        return real(presented, expected)

    monkeypatch.setattr(credentials, "constant_time_equal", counting)
    assert credentials.matching_key(OLD, [OLD, NEW, "third-key-0123456789"]) == OLD
    assert compared == [OLD, NEW, "third-key-0123456789"]
