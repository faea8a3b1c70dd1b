"""Content negotiation for a JSON-only API."""

from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """Always answer with the view's first renderer.

    Every endpoint speaks only JSON, so parsing the Accept header on each request (DRF's default)
    costs time and can only end in 406 for a client that asked for something else. Request bodies
    are still matched to a parser by Content-Type (415 otherwise).
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
