"""Whether the storage the service needs answers right now (GET /ready)."""

from django.core.cache import cache
from django.db import connection


def check_storage() -> None:
    """Raise the database's or the cache's own error if either cannot be reached."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.get("otp:readiness-probe")
