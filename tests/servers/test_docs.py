"""The docs: Swagger UI and the OpenAPI schema (off by default, complete and self-hosted when
enabled), and the Markdown pages (a short front page, no link to a missing file)."""

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema_rs
import pytest
from django.test import override_settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import APIView

from otp import clock_skew, exceptions
from otp.api import authentication, views
from otp.api.authentication import ApiKeyAuthentication, HmacSignatureAuthentication
from otp.core.names import ACCOUNT_NAME
from tests.conftest import FROZEN_AT
from tests.support.servers import ROOT, start_gunicorn, start_runserver
from tests.support.signing import v2_headers, wsgi


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
        "/metrics",
    }
    verify = schema["paths"]["/otp/verify"]["post"]
    assert verify["responses"]["401"]["content"]["application/json"]["examples"]


def generate_schema(**env) -> subprocess.CompletedProcess:
    """`manage.py spectacular` with the docs on: the schema as JSON, validated, warnings fatal."""
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format",
            "openapi-json",
        ],
        cwd=ROOT,
        env={**os.environ, "ENABLE_DOCS": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def generated():
    return generate_schema()


@pytest.fixture(scope="module")
def schema(generated):
    assert generated.returncode == 0, generated.stderr
    return json.loads(generated.stdout)


def test_the_schema_validates_without_warnings(generated):
    assert generated.returncode == 0, generated.stderr


PROTECTED = {
    status.HTTP_401_UNAUTHORIZED,
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,  # a v2 body is read to check its signature
    status.HTTP_414_REQUEST_URI_TOO_LONG,  # gunicorn's limit on the request line
    status.HTTP_429_TOO_MANY_REQUESTS,  # the address is locked out, whatever the view
    status.HTTP_503_SERVICE_UNAVAILABLE,  # the lockout table and the audit trail are storage
}
ONE_ACCOUNT = PROTECTED | {status.HTTP_403_FORBIDDEN, status.HTTP_404_NOT_FOUND}
WITH_BODY = ONE_ACCOUNT | {
    status.HTTP_400_BAD_REQUEST,
    status.HTTP_408_REQUEST_TIMEOUT,
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}
# The code endpoints also take min_validity: 400 for a bad one, 409 with wait=false.
FRESH_CODE = {status.HTTP_400_BAD_REQUEST, status.HTTP_409_CONFLICT}
STATUSES = {
    ("get", "/health"): {status.HTTP_200_OK},
    ("get", "/ready"): {status.HTTP_200_OK, status.HTTP_503_SERVICE_UNAVAILABLE},
    ("get", "/accounts"): {status.HTTP_200_OK, *PROTECTED},
    ("get", "/metrics"): {status.HTTP_200_OK, status.HTTP_403_FORBIDDEN, *PROTECTED},
    ("get", "/otp"): {status.HTTP_200_OK, *ONE_ACCOUNT, *FRESH_CODE},
    ("get", "/otp/secure"): {status.HTTP_200_OK, *ONE_ACCOUNT, *FRESH_CODE},
    ("get", "/accounts/{name}/otp"): {status.HTTP_200_OK, *ONE_ACCOUNT, *FRESH_CODE},
    ("post", "/otp/verify"): {status.HTTP_200_OK, *WITH_BODY},
    ("post", "/accounts/{name}/otp/verify"): {status.HTTP_200_OK, *WITH_BODY},
}


# The path of each protected operation, with an account this suite's settings have.
PROTECTED_REQUESTS = [
    (method, path.replace("{name}", "default"))
    for (method, path), statuses in STATUSES.items()
    if status.HTTP_401_UNAUTHORIZED in statuses
]


@pytest.mark.parametrize(("method", "path"), PROTECTED_REQUESTS)
@override_settings(AUTH_FAILURE_LIMIT=1)
def test_every_protected_operation_gives_its_declared_429_to_a_locked_out_address(
    client, api_key, frozen_clock, method, path
):
    wrong = client.get("/accounts", HTTP_X_API_KEY="wrong-key-0123456789abcdef")
    assert wrong.status_code == status.HTTP_401_UNAUTHORIZED
    response = client.generic(method.upper(), path, HTTP_X_API_KEY=api_key)
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(("method", "path"), PROTECTED_REQUESTS)
def test_every_protected_operation_gives_its_declared_413_to_a_large_signed_body(
    client, api_key, frozen_clock, method, path
):
    # A v2 signature covers the body, so even a GET's body is read, up to the limit.
    signed = {**wsgi(v2_headers(api_key, method.upper(), path)), "HTTP_X_SIGNATURE": "0" * 64}
    body = b'{"otp": "' + b"1" * 2048 + b'"}'
    response = client.generic(method.upper(), path, body, content_type="application/json", **signed)
    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_operation_declares_each_status_it_can_answer_and_no_other(schema):
    declared = {
        (method, path): {int(code) for code in operation["responses"]}
        for method, path, operation in operations(schema)
    }
    assert declared == STATUSES


def test_refusals_declare_the_headers_that_say_what_to_do(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        if "401" in responses:
            assert responses["401"]["headers"]["WWW-Authenticate"]["required"], (method, path)
        if "429" in responses:
            retry_after = responses["429"]["headers"]["Retry-After"]
            assert retry_after["required"], (method, path)
            assert retry_after["schema"] == {"type": "integer"}


def test_every_error_example_is_a_message_the_service_sends(schema):
    sent = {
        exception.default_detail
        for exception in vars(exceptions).values()
        if isinstance(exception, type) and issubclass(exception, APIException)
    }
    sent |= {ApiKeyAuthentication.failure_message, HmacSignatureAuthentication.failure_message}
    # /ready's clock-skew refusal names the measured skew: its example is the one for 12 s ahead
    # of the database with the default MAX_CLOCK_SKEW.
    sent.add(clock_skew.refusal(12, 5))
    for method, path, operation in operations(schema):
        for code, response in operation["responses"].items():
            if int(code) < status.HTTP_400_BAD_REQUEST:
                continue
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
            for example in response["content"]["application/json"].get("examples", {}).values():
                assert example["value"]["error"] in sent, (method, path, code)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("github-bot", True),
        ("default", True),
        ("0.a_b-c", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("-bot", False),
        ("Bot", False),
        ("bot\n", False),
        ("bot/otp", False),
    ],
)
def test_the_account_name_parameter_matches_exactly_the_names_accounts_can_have(
    schema, name, valid
):
    for path in ("/accounts/{name}/otp", "/accounts/{name}/otp/verify"):
        method = "get" if path.endswith("/otp") else "post"
        (parameter,) = [
            each for each in schema["paths"][path][method]["parameters"] if each["in"] == "path"
        ]
        # JSON Schema's regular expressions are ECMA-262's: checked with an engine that uses them.
        assert jsonschema_rs.validator_for(parameter["schema"]).is_valid(name) is valid
        assert bool(ACCOUNT_NAME.fullmatch(name)) is valid


def test_the_code_string_is_bounded_by_the_body_limit(schema, authed, frozen_clock):
    code = schema["components"]["schemas"]["VerifyRequest"]["properties"]["otp"]
    assert "1 KiB" in code["description"]
    longest = code["maxLength"]

    def verify(code):
        body = json.dumps({"otp": code}, separators=(",", ":"))
        return authed.generic("POST", "/otp/verify", body, content_type="application/json")

    # The longest string the schema allows fits in a body, and is simply not a valid code.
    assert verify("9" * longest).json() == {"valid": False, "timestamp": FROZEN_AT}
    response = verify("9" * (longest + 1))
    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def test_the_authorize_dialog_offers_the_api_key_once_described_for_people(schema):
    schemes = schema["components"]["securitySchemes"]
    assert {name: scheme.get("name", scheme.get("scheme")) for name, scheme in schemes.items()} == {
        "ApiKey": "X-API-Key",
        "MetricsBearer": "bearer",  # what Prometheus sends: GET /metrics only
    }
    internal = [
        inspect.getdoc(kind) for kind in vars(authentication).values() if inspect.isclass(kind)
    ]
    for scheme in schemes.values():
        assert scheme["description"]
        assert not any(scheme["description"] in (doc or "") for doc in internal)
    for method, path, operation in operations(schema):
        public = path in ("/health", "/ready")
        expected = [{}] if public else [{"ApiKey": []}]
        if path == "/metrics":
            expected = [{"MetricsBearer": []}, {"ApiKey": []}]
        assert operation["security"] == expected, (method, path)


def test_the_timestamp_signature_is_entered_with_each_secure_request(schema):
    parameters = schema["paths"]["/otp/secure"]["get"]["parameters"]
    assert {(p["name"], p["in"], p.get("required", False)) for p in parameters} == {
        ("X-Timestamp", "header", True),
        ("X-Signature", "header", True),
        ("min_validity", "query", False),
        ("wait", "query", False),
    }


def test_no_operation_is_described_by_a_view_docstring(schema):
    docstrings = [
        inspect.getdoc(kind)
        for module in (views,)
        for kind in vars(module).values()
        if inspect.isclass(kind) and issubclass(kind, APIView) and inspect.getdoc(kind)
    ]
    assert docstrings  # ProtectedView has one
    for method, path, operation in operations(schema):
        assert operation["description"], (method, path)
        assert operation["description"] not in docstrings, (method, path)


def test_when_only_signed_requests_are_accepted_the_schema_says_so():
    generated = generate_schema(REQUIRE_SIGNED_REQUESTS="true")
    assert generated.returncode == 0, generated.stderr
    signed_only = json.loads(generated.stdout)
    schemes = signed_only["components"]["securitySchemes"]
    assert sorted(schemes) == ["MetricsBearer", "SignedRequest"]
    assert "cannot be made from this page" in schemes["SignedRequest"]["description"]
    for method, path, operation in operations(signed_only):
        if path == "/metrics":
            # A key granted --metrics alone may still travel (Prometheus cannot sign).
            expected = [{"MetricsBearer": []}, {"SignedRequest": []}]
            assert operation["security"] == expected
        elif path not in ("/health", "/ready"):
            assert operation["security"] == [{"SignedRequest": []}], (method, path)


# --- The Markdown pages ---

README_MAX_LINES = 160
MARKDOWN_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Inline links and images, `[text](target)`, and reference definitions, `[label]: target`.
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_FENCED_CODE = re.compile(r"^ *(```|~~~).*?^ *\1", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def relative_links(page: Path) -> list[str]:
    """The targets of the page's links that name a file of this repository (no scheme, not a
    mere #fragment); code is not Markdown, so links inside it do not count."""
    text = _INLINE_CODE.sub("", _FENCED_CODE.sub("", page.read_text()))
    targets = _INLINE_LINK.findall(text) + _REFERENCE_LINK.findall(text)
    return [
        target
        for target in targets
        if not urlsplit(target).scheme and not target.startswith(("#", "//"))
    ]


def test_the_readme_stays_a_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_the_readme_links_to_the_docs_for_each_reader():
    linked = set(relative_links(ROOT / "README.md"))
    assert {"docs/api.md", "docs/operations.md", "docs/security.md"} <= linked


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_an_existing_file(page):
    missing = sorted(
        {
            target
            for target in relative_links(page)
            if not (page.parent / unquote(urlsplit(target).path)).exists()
        }
    )
    assert missing == [], f"{page.relative_to(ROOT)} links to files that do not exist"
