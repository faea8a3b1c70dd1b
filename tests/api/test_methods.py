"""The methods each route answers: 405 JSON with Allow for the others, OPTIONS included, before
credentials are looked at."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import get_resolver
from rest_framework import status

from otp.api.methods import JsonMethodNotAllowedMiddleware, allowed_methods
from otp.models import AuditRecord

SERVED = {
    "/health": "GET, HEAD",
    "/ready": "GET, HEAD",
    "/otp": "GET",
    "/otp/verify": "POST",
    "/otp/secure": "GET",
    "/accounts": "GET",
    "/accounts/default/otp": "GET",
    "/accounts/default/otp/verify": "POST",
}


def test_every_route_is_wrapped():
    # A route added without answering_only_its_methods would answer OPTIONS through DRF.
    routes = get_resolver().url_patterns[0].url_patterns
    assert {f"/{route.pattern}" for route in routes} >= {"/health", "/otp", "/accounts"}
    for route in routes:
        assert route.callback.allowed_methods, route


@pytest.mark.parametrize(("path", "allow"), SERVED.items())
@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH", "DELETE", "TRACE", "BREW"])
def test_other_methods_are_405_json_with_allow(client, path, allow, method):
    response = client.generic(method, path)
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response.json() == {"error": "Method not allowed"}
    assert response["Allow"] == allow


def test_a_refused_method_is_not_an_authentication(client, api_key):
    for _ in range(3):
        assert client.options("/otp", HTTP_X_API_KEY="wrong-key-0123456789").status_code == (
            status.HTTP_405_METHOD_NOT_ALLOWED
        )
    assert not AuditRecord.objects.exists()


def test_allow_on_an_answer_says_what_is_served(client, api_key):
    assert client.get("/health")["Allow"] == "GET, HEAD"
    assert client.get("/otp")["Allow"] == "GET"


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "GET"])
def test_unknown_paths_stay_404(client, method):
    response = client.generic(method, "/nowhere")
    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"error": "Not found"}


def test_allowed_methods_follow_the_view_class():
    from otp.api.views import HealthView, OtpVerifyView, OtpView

    assert allowed_methods(HealthView) == ("GET", "HEAD")
    # ProtectedView refuses HEAD: it would hand out a code nobody receives.
    assert allowed_methods(OtpView) == ("GET",)
    assert allowed_methods(OtpVerifyView) == ("POST",)


def test_a_405_without_a_json_body_gets_one():
    def whitenoise(request):
        response = HttpResponse(status=status.HTTP_405_METHOD_NOT_ALLOWED)
        response["Allow"] = "GET, HEAD"
        return response

    response = JsonMethodNotAllowedMiddleware(whitenoise)(RequestFactory().put("/static/x.js"))
    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD"


def test_other_answers_pass_untouched():
    answer = HttpResponse(b"x", status=status.HTTP_200_OK)
    middleware = JsonMethodNotAllowedMiddleware(lambda request: answer)
    assert middleware(RequestFactory().get("/static/x.js")) is answer
