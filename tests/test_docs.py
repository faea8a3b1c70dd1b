"""Swagger UI and the OpenAPI schema: off by default, complete and self-hosted when enabled."""

import json
import os
import re
import subprocess
import sys

import pytest
from rest_framework import status

from tests.servers import ROOT, start_gunicorn, start_runserver


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_docs_are_404_by_default(client, path):
    assert client.get(path).status_code == status.HTTP_404_NOT_FOUND


@pytest.fixture(
    scope="module", params=[start_gunicorn, start_runserver], ids=["gunicorn", "runserver"]
)
def docs_server(request, tmp_path_factory):
    server = request.param(tmp_path_factory.mktemp("docs"), ENABLE_DOCS="true")
    yield server
    server.stop()


def test_swagger_ui_and_its_assets_are_served_by_the_app_itself(docs_server):
    code, headers, body = docs_server.request("GET", "/docs")
    assert code == status.HTTP_200_OK
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    # Every script and stylesheet comes from this server: the docs work with no internet access.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert docs_server.request("GET", asset)[0] == status.HTTP_200_OK, asset


def test_the_schema_is_json_and_documents_every_endpoint(docs_server):
    code, headers, body = docs_server.request("GET", "/openapi.json")
    assert code == status.HTTP_200_OK
    assert headers["Content-Type"] == "application/json"
    schema = json.loads(body)
    assert set(schema["paths"]) == {
        "/health",
        "/ready",
        "/otp",
        "/otp/verify",
        "/otp/secure",
        "/accounts",
        "/accounts/{name}/otp",
        "/accounts/{name}/otp/verify",
    }
    schemes = schema["components"]["securitySchemes"]
    assert {scheme["name"] for scheme in schemes.values()} == {
        "X-API-Key",
        "X-Timestamp",
        "X-Signature",
        "X-Key-Id",
        "X-Nonce",
    }
    verify = schema["paths"]["/otp/verify"]["post"]
    assert {"200", "400", "401", "413"} <= set(verify["responses"])
    assert verify["responses"]["401"]["content"]["application/json"]["examples"]
    secure = schema["paths"]["/otp/secure"]["get"]
    assert secure["security"] == [
        {"SignedApiKey": [], "SignedTimestamp": [], "Signature": []},
        {"KeyId": [], "V2Timestamp": [], "Nonce": [], "V2Signature": []},
    ]


def test_the_schema_validates_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=ROOT,
        env={**os.environ, "ENABLE_DOCS": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
