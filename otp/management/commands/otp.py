"""`python manage.py otp ...`: the service's operator commands."""

from django.conf import settings
from django.core.management.base import BaseCommand

from otp.credentials import key_id


class Command(BaseCommand):
    help = "otp-service operator commands."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        commands.add_parser(
            "keyid",
            help="Print the v2 key id (X-Key-Id) of each configured API key; never the key.",
        )

    def handle(self, *args, command, **options):
        if command == "keyid":
            self.print_key_ids()

    def print_key_ids(self):
        for position, api_key in enumerate(settings.API_KEYS):
            source = "API_KEY" if position == 0 else f"API_KEYS item {position}"
            self.stdout.write(f"{key_id(api_key)}  {source}")
