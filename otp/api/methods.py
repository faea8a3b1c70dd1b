"""The methods each route answers, settled before its view runs: any other is 405 JSON.

OPTIONS is one of the others. No browser calls this service across origins (there is no CORS),
so OPTIONS has nothing to negotiate; answered by DRF it would describe the view from its
docstrings, and on /docs it crashed. Every route answers it like any method it does not serve:
405 with `Allow`, whoever asks, before credentials are looked at.
"""

import functools

from otp.api.errors import method_not_allowed


def allowed_methods(view_class) -> tuple[str, ...]:
    """The methods `view_class` serves, upper case, in Django's order; HEAD wherever GET is and
    the view does not refuse HEAD (Django answers it with the GET handler, body dropped)."""
    names = view_class.http_method_names
    served = {name for name in names if name != "options" and hasattr(view_class, name)}
    if "get" in served and "head" in names:
        served.add("head")
    return tuple(name.upper() for name in names if name in served)


def answering_only_its_methods(view):
    """Wrap a class-based view function (`SomeView.as_view()`) so that a method its class does
    not serve is answered 405 here: no authentication, audit record or lockout count for it."""
    allowed = allowed_methods(view.view_class)

    # wraps() copies the attributes drf-spectacular reads (cls, initkwargs) to the wrapper.
    @functools.wraps(view)
    def only_allowed(request, *args, **kwargs):
        if request.method not in allowed:
            return method_not_allowed(request, allowed)
        response = view(request, *args, **kwargs)
        if "Allow" in response.headers:
            # DRF sends Allow on every response, OPTIONS included: say what is answered.
            response.headers["Allow"] = ", ".join(allowed)
        return response

    only_allowed.allowed_methods = allowed
    return only_allowed


class JsonMethodNotAllowedMiddleware:
    """A 405 answered without a JSON body gets one, its Allow kept.

    WhiteNoise (the docs' assets, ENABLE_DOCS=true) answers any method but GET and HEAD on a file
    it serves with an empty 405, before URLs are resolved; so it goes above WhiteNoise.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and response.get("Content-Type") != "application/json":
            allowed = tuple(m.strip() for m in response.get("Allow", "").split(",") if m.strip())
            return method_not_allowed(request, allowed)
        return response
