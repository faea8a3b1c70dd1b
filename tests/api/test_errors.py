"""Every error is {"error": ...} JSON, including those Django raises before DRF runs."""

import logging

import pytest
from rest_framework import status

from otp.core import totp


@pytest.mark.parametrize("path", ["/nowhere", "/otp/", "/health/", "/docs", "/openapi.json"])
def test_unknown_paths_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE", "TRACE", "BREW"])
@pytest.mark.parametrize("path", ["/nowhere", "/otp/", "/docs"])
def test_unknown_paths_are_404_json_whatever_the_method(client, method, path):
    # A path's methods are judged only once the path is known (otp.api.methods).
    response = client.generic(method, path)
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize("host", ["otp.test.example", "localhost:8000", "127.0.0.1", "[::1]:80"])
def test_configured_and_loopback_hosts_are_allowed(client, host):
    # pyproject's test env sets ALLOWED_HOSTS=otp.test.example; loopback is always allowed so the
    # container healthcheck works whatever the operator lists.
    assert client.get("/health", HTTP_HOST=host).status_code == status.HTTP_200_OK


def test_a_host_not_allowed_is_400_json(client):
    response = client.get("/health", HTTP_HOST="attacker.example")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"error": "Bad request"}


def test_a_crashs_log_lines_keep_the_path_but_not_the_query(authed, monkeypatch, log_output):
    def explode(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(totp, "code_at", explode)
    authed.get("/otp?token=client-secret-value")
    assert "/otp" in log_output.getvalue()
    assert "client-secret-value" not in log_output.getvalue()


def test_a_crash_is_500_with_a_generic_body_and_a_logged_traceback(authed, monkeypatch, caplog):
    def explode(*args):
        raise RuntimeError("boom in code_at")

    monkeypatch.setattr(totp, "code_at", explode)
    caplog.set_level(logging.INFO)
    response = authed.get("/otp")
    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert response.json() == {"error": "Internal server error"}
    assert b"boom" not in response.content
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "boom in code_at" in error.exc_text or "boom in code_at" in str(error.exc_info)
    assert response["Cache-Control"] == "no-store"


def test_oversized_bodies_rejected_by_django_are_413_json(rf):
    from django.core.exceptions import RequestDataTooBig

    from otp.api.errors import bad_request

    response = bad_request(rf.get("/"), RequestDataTooBig())
    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"] == "application/json"
