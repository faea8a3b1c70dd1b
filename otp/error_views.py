"""Django's error views (handler400/404/500...), answering in the API's {"error": ...} shape.

They catch what happens before or outside DRF: an unknown path, a bad Host header, a crash.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import status

from otp.exceptions import PayloadTooLarge


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            {"error": PayloadTooLarge.default_detail}, status=PayloadTooLarge.status_code
        )
    return JsonResponse({"error": "Bad request"}, status=status.HTTP_400_BAD_REQUEST)


def permission_denied(request, exception=None):
    return JsonResponse({"error": "Forbidden"}, status=status.HTTP_403_FORBIDDEN)


def not_found(request, exception=None):
    return JsonResponse({"error": "Not found"}, status=status.HTTP_404_NOT_FOUND)


def server_error(request):
    return JsonResponse(
        {"error": "Internal server error"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
    )
