"""Root URLconf: the API, the docs when ENABLE_DOCS is on, and JSON error handlers."""

from django.conf import settings
from django.urls import include, path

from otp.methods import answering_only_its_methods as only

urlpatterns = [path("", include("otp.urls"))]

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

handler400 = "otp.error_views.bad_request"
handler403 = "otp.error_views.permission_denied"
handler404 = "otp.error_views.not_found"
handler500 = "otp.error_views.server_error"
