"""Client(): where the URL and key come from, and what is refused before any request."""

import pytest
from otp_client import Client, OTPConfigError

KEY = "config-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_service_variables(monkeypatch):
    monkeypatch.delenv("OTP_SERVICE_URL", raising=False)
    monkeypatch.delenv("OTP_SERVICE_KEY", raising=False)


def test_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("OTP_SERVICE_URL", "http://from-env.example")
    monkeypatch.setenv("OTP_SERVICE_KEY", "from-env-key")
    client = Client("https://given.example:8443/", KEY)
    assert client.url == "https://given.example:8443"
    assert client.key_id != Client().key_id


@pytest.mark.parametrize(("url", "key"), [(None, KEY), ("http://127.0.0.1:8000", None)])
def test_without_url_or_key_nothing_is_guessed(url, key):
    with pytest.raises(OTPConfigError, match="is not set"):
        Client(url, key)


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8000",
        "ftp://otp.example",
        "file:///etc/passwd",
        "http://:8000",
        "https://user:secret@otp.example",
        "https://otp.example/?x=1",
    ],
)
def test_a_url_that_is_not_http_to_a_host_is_refused_without_being_quoted(url):
    with pytest.raises(OTPConfigError) as refused:
        Client(url, KEY)
    assert url not in str(refused.value)


@pytest.mark.parametrize(("timeout", "max_wait"), [(0, 10), (-1, 10), (5, -1)])
def test_timeouts_must_be_positive(timeout, max_wait):
    with pytest.raises(OTPConfigError):
        Client("http://127.0.0.1:8000", KEY, timeout=timeout, max_wait=max_wait)


def test_the_key_is_in_no_repr_or_attribute_meant_to_be_read():
    client = Client("http://127.0.0.1:8000", KEY)
    public = {name: value for name, value in vars(client).items() if not name.startswith("_")}
    assert KEY not in repr(client)
    assert KEY not in repr(public)
