"""GET /metrics through DRF's test client: who may read it, and what it counts.

The figures are the process's own here (no PROMETHEUS_MULTIPROC_DIR); tests/servers/
test_metrics_servers.py scrapes a real gunicorn whose workers count into files.
"""

import pytest
from django.test import override_settings
from rest_framework import status
from rest_framework.test import APIClient

from otp.core.credentials import key_id
from otp.models import AuditRecord
from tests.support.factories import add_account, new_client
from tests.support.prometheus import samples, value

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def scrape(client, **credentials) -> dict:
    """{(sample name, sorted labels): value} of one scrape."""
    response = client.get("/metrics", **credentials)
    assert response.status_code == status.HTTP_200_OK, response.content
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


@pytest.fixture
def bearer(api_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}


def test_without_credentials_it_is_the_generic_401(client):
    response = client.get("/metrics")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"error": "Invalid or missing API key"}
    assert response["WWW-Authenticate"] == 'Bearer realm="otp-service"'


def test_an_environment_key_reads_it_as_a_bearer_token_or_as_x_api_key(client, api_key, bearer):
    scrape(client, **bearer)
    scrape(client, HTTP_X_API_KEY=api_key)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong-key-0123456789abcdef", "bearer wrong-key-0123456789abcdef", "Bearer "],
)
def test_a_wrong_bearer_token_is_401_and_counts_toward_the_lockout(
    client, frozen_clock, authorization
):
    with override_settings(AUTH_FAILURE_LIMIT=1):
        response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert client.get("/health").status_code == status.HTTP_200_OK
        assert client.get("/metrics").status_code == status.HTTP_429_TOO_MANY_REQUESTS
    refusal = AuditRecord.objects.get(outcome="failed")
    assert (refusal.action, refusal.count) == ("authenticate", 1)


def test_another_authorization_scheme_is_no_credentials(client, api_key):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {api_key}")
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert AuditRecord.objects.get().outcome == "missing"


def test_a_client_granted_metrics_alone_reads_them_and_nothing_else(client, frozen_clock):
    key, _ = new_client("prometheus", accounts=[], issue=False, verify=False, metrics=True)
    scrape(client, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/otp", HTTP_X_API_KEY=key).status_code == status.HTTP_404_NOT_FOUND
    assert client.get("/accounts", HTTP_X_API_KEY=key).json() == {"accounts": []}


def test_a_client_without_the_grant_is_403_on_the_record(client, frozen_clock):
    key, kid = new_client("ci")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json() == {"error": "This client may not read the metrics"}
    record = AuditRecord.objects.exclude(action="client.create").get()
    assert (record.client, record.key_id, record.action, record.outcome) == (
        "ci",
        kid,
        "metrics",
        "denied",
    )


@override_settings(REQUIRE_SIGNED_REQUESTS=True)
def test_with_signed_requests_required_only_a_metrics_only_key_may_travel(
    client, frozen_clock, bearer
):
    assert client.get("/metrics", **bearer).status_code == status.HTTP_401_UNAUTHORIZED
    everything, _ = new_client("ops", metrics=True)
    travelling = {"HTTP_AUTHORIZATION": f"Bearer {everything}"}
    assert client.get("/metrics", **travelling).status_code == status.HTTP_401_UNAUTHORIZED
    metrics_only, _ = new_client("prometheus", accounts=[], issue=False, verify=False, metrics=True)
    scrape(client, HTTP_AUTHORIZATION=f"Bearer {metrics_only}")


def test_codes_verifications_and_refusals_are_counted_by_what_was_resolved(
    authed, api_key, bearer, frozen_clock, django_capture_on_commit_callbacks
):
    add_account("github-bot", SECRET)
    before = scrape(authed, **bearer)
    with django_capture_on_commit_callbacks(execute=True):
        otp = authed.get("/accounts/github-bot/otp").json()["otp"]
        authed.get("/otp")
        authed.post("/accounts/github-bot/otp/verify", {"otp": otp})
        authed.post("/accounts/github-bot/otp/verify", {"otp": otp})  # replayed
        authed.post("/accounts/no-such-bot/otp/verify", {"otp": otp})  # 404, no label
        # DRF's client would send its own credentials over these.
        APIClient().get("/accounts/github-bot/otp", HTTP_X_API_KEY="wrong-key-0123456789abcdef")
    after = scrape(authed, **bearer)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    client = f"env:{key_id(api_key)}"
    assert delta("otp_codes_issued_total", account="github-bot", client=client) == 1
    assert delta("otp_codes_issued_total", account="default", client=client) == 1
    assert delta("otp_verifications_total", account="github-bot", outcome="valid") == 1
    assert delta("otp_verifications_total", account="github-bot", outcome="replayed") == 1
    assert delta("otp_refused_authentications_total", outcome="failed") == 1
    assert delta("otp_audit_write_seconds_count") == 6
    route = "/accounts/{name}/otp/verify"
    assert delta("otp_http_requests_total", endpoint=route, method="POST", status="200") == 2
    assert delta("otp_http_requests_total", endpoint=route, method="POST", status="404") == 1
    assert delta("otp_http_request_duration_seconds_count", endpoint=route) == 3
    assert value(after, "otp_storage_up", store="database") == 1
    label_values = {value for _, labels in after for _, value in labels}
    assert "no-such-bot" not in label_values


def test_a_path_or_method_the_client_made_up_is_never_a_label(authed, bearer):
    authed.get("/secret-looking-path-0123")
    authed.generic("BREW", "/otp")
    text = authed.get("/metrics", **bearer).content.decode()
    assert "secret-looking-path" not in text
    assert "BREW" not in text
    figures = samples(text)
    assert value(
        figures, "otp_http_requests_total", endpoint="unmatched", method="GET", status="404"
    )
    assert value(figures, "otp_http_requests_total", endpoint="/otp", method="other", status="405")


def test_no_key_secret_or_code_is_ever_in_it(authed, bearer, api_key, frozen_clock):
    add_account("github-bot", SECRET)
    otp = authed.get("/accounts/github-bot/otp").json()["otp"]
    text = authed.get("/metrics", **bearer).content.decode()
    assert api_key not in text
    assert SECRET not in text
    # A code's six digits could turn up inside a latency's decimals: labels are what could leak.
    assert otp not in {value for _, labels in samples(text) for _, value in labels}


def test_a_request_refused_before_its_view_is_counted_under_its_route(authed, bearer):
    before = scrape(authed, **bearer)
    assert authed.get("/metrics", HTTP_HOST="attacker.example").status_code == 400
    after = scrape(authed, **bearer)
    labels = {"endpoint": "/metrics", "method": "GET", "status": "400"}
    assert (
        value(after, "otp_http_requests_total", **labels)
        - value(before, "otp_http_requests_total", **labels)
        == 1
    )
