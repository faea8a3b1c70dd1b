"""Root URLconf: the API, the docs when ENABLE_DOCS is on, and JSON error handlers."""

from django.conf import settings
from django.urls import include, path

from otp.api.methods import answering_only_its_methods as only

urlpatterns = [path("", include("otp.api.urls"))]

if settings.ENABLE_DOCS:
    from drf_spectacular.renderers import OpenApiJsonRenderer2
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

    class OpenApiJsonView(SpectacularAPIView):
        # Served as plain application/json, like every other response.
        renderer_classes = [OpenApiJsonRenderer2]

    # Their other methods would be answered with Swagger's HTML template, OPTIONS with a crash.
    urlpatterns += [
        path("openapi.json", only(OpenApiJsonView.as_view()), name="openapi-schema"),
        path(
            "docs",
            only(SpectacularSwaggerView.as_view(url_name="openapi-schema")),
            name="docs",
        ),
    ]

handler400 = "otp.api.errors.bad_request"
handler403 = "otp.api.errors.permission_denied"
handler404 = "otp.api.errors.not_found"
handler500 = "otp.api.errors.server_error"
