"""`manage.py runserver` with no address binds HOST:PORT, as gunicorn does (and so `make dev`);
it passes on the request target as sent (RAW_URI), as gunicorn does."""

from django.conf import settings
from django.core.management.commands import runserver
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer


class RawTargetRequestHandler(WSGIRequestHandler):
    """Adds RAW_URI: wsgiref keeps only the percent-decoded path (PATH_INFO), and a v2 signature
    covers the target exactly as the client sent it (otp.api.authentication.request_target)."""

    def get_environ(self):
        environ = super().get_environ()
        # http.server has already reduced a leading "//" to "/"; no such path is routed here.
        environ["RAW_URI"] = self.path
        return environ


class RawTargetWSGIServer(WSGIServer):
    def __init__(self, server_address, handler_class, *args, **kwargs):
        # django.core.servers.basehttp.run() names its handler itself; only the server class
        # can be chosen (Command.server_cls).
        super().__init__(server_address, RawTargetRequestHandler, *args, **kwargs)


class Command(runserver.Command):
    """Django's development server, its default address taken from the settings.

    It replaces django.contrib.staticfiles' runserver when the docs are on: that one serves
    static files only with DEBUG or --insecure, and WhiteNoise serves the docs' assets here.
    """

    help = "Starts Django's development server on HOST:PORT, or on the address given."
    server_cls = RawTargetWSGIServer

    def handle(self, *args, **options):
        if not options["addrport"]:
            host, port = settings.HOST, settings.PORT
            options["addrport"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        super().handle(*args, **options)
