"""Django's error views (handler400/404/500...), answering in the API's {"error": ...} shape.

They catch what happens before or outside DRF: an unknown path, a method a path does not answer,
a bad Host header, a crash.
"""

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import JsonResponse
from rest_framework import status

from otp.exceptions import PayloadTooLarge


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            {"error": PayloadTooLarge.default_detail}, status=PayloadTooLarge.status_code
        )
    if isinstance(exception, DisallowedHost):
        # For the access log line (otp.api.middleware); Django's own message quotes the header.
        request.refusal_reason = "host not allowed"
    return JsonResponse({"error": "Bad request"}, status=status.HTTP_400_BAD_REQUEST)


def permission_denied(request, exception=None):
    return JsonResponse({"error": "Forbidden"}, status=status.HTTP_403_FORBIDDEN)


def not_found(request, exception=None):
    return JsonResponse({"error": "Not found"}, status=status.HTTP_404_NOT_FOUND)


def method_not_allowed(request, allowed: tuple[str, ...]):
    """405 with the methods the path answers (otp.api.methods), in the words DRF's 405 uses too."""
    response = JsonResponse(
        {"error": "Method not allowed"}, status=status.HTTP_405_METHOD_NOT_ALLOWED
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


def server_error(request):
    return JsonResponse(
        {"error": "Internal server error"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
    )
