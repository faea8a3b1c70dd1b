"""The access log line, the request id and the headers every response carries."""

import json
import logging

import pytest
from django.conf import settings
from rest_framework import status

from tests.support.signing import v1_headers, wsgi

ACCESS_FIELDS = {"method", "path", "status", "latency_ms", "client", "request_id"}


def access_records(caplog):
    return [r for r in caplog.records if r.name == "otp.access"]


def test_one_access_line_per_request_with_its_fields(authed, caplog):
    caplog.set_level(logging.INFO)
    authed.get("/otp?debug=1", HTTP_X_REQUEST_ID="req-42")
    (record,) = access_records(caplog)
    assert set(vars(record)) >= ACCESS_FIELDS
    assert (record.method, record.path, record.status) == ("GET", "/otp", 200)
    assert record.client == "127.0.0.1"
    assert record.request_id == "req-42"
    assert isinstance(record.latency_ms, float)


def test_access_line_is_one_json_object(authed, log_output):
    authed.get("/otp")
    (line,) = log_output.getvalue().splitlines()
    assert ACCESS_FIELDS | {"time", "level", "logger"} <= set(json.loads(line))


def test_errors_are_logged_with_their_status(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/otp")
    client.get("/nowhere")
    assert [r.status for r in access_records(caplog)] == [401, 404]


def test_nothing_secret_reaches_the_log(client, api_key, frozen_clock, log_output):
    code = client.get("/otp", HTTP_X_API_KEY=api_key).json()["otp"]
    client.post("/otp/verify", {"otp": code}, format="json", HTTP_X_API_KEY=api_key)
    client.post(
        "/otp/verify", {"otp": "999999"}, format="json", HTTP_X_API_KEY="wrong-key-123456789"
    )
    signed = v1_headers(api_key)
    signature = signed["X-Signature"]
    client.get("/otp/secure", **wsgi(signed))
    client.get("/health", HTTP_HOST="attacker.example")
    out = log_output.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["status"] for line in lines if line["logger"] == "otp.access"] == [
        200,
        200,
        401,
        200,
        400,
    ]
    for secret in (api_key, settings.OTP_SECRET, code, "999999", "wrong-key-123456789", signature):
        assert secret not in out
    assert "attacker.example" not in out


@pytest.mark.parametrize(
    "offered",
    ["", "a" * 129, "id with spaces", 'x"}\n{"forged": 1', "ид"],
)
def test_unsafe_request_ids_are_replaced(client, caplog, offered):
    caplog.set_level(logging.INFO)
    response = client.get("/health", HTTP_X_REQUEST_ID=offered)
    (record,) = access_records(caplog)
    assert response["X-Request-ID"] == record.request_id != offered
    assert len(record.request_id) == 32


def test_a_sane_request_id_is_echoed(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="4f1c2a9e-7b3d-4e21-9c55-0a1b2c3d4e5f")
    assert response["X-Request-ID"] == "4f1c2a9e-7b3d-4e21-9c55-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/otp"), ("get", "/otp/secure"), ("post", "/otp/verify"), ("get", "/otp/nothing")],
)
@pytest.mark.parametrize("with_key", [True, False])
def test_every_otp_response_is_no_store(client, api_key, method, path, with_key):
    headers = {"HTTP_X_API_KEY": api_key} if with_key else {}
    response = getattr(client, method)(path, {"otp": "123456"}, format="json", **headers)
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/health", "/otp", "/nowhere"])
def test_every_response_is_nosniff(client, path):
    assert client.get(path)["X-Content-Type-Options"] == "nosniff"


def test_health_may_be_cached_by_nobody_in_particular(client):
    assert "Cache-Control" not in client.get("/health")


def test_a_host_not_allowed_is_logged_with_a_reason_not_the_name(client, log_output):
    response = client.get("/health", HTTP_HOST="attacker.example", HTTP_X_REQUEST_ID="host-1")
    assert response.status_code == status.HTTP_400_BAD_REQUEST
    (line,) = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert (line["logger"], line["request_id"]) == ("otp.access", "host-1")
    assert line["reason"] == "host not allowed"
    assert "attacker.example" not in log_output.getvalue()


def test_an_allowed_request_has_no_reason(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/health")
    (record,) = access_records(caplog)
    assert not hasattr(record, "reason")
