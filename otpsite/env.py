"""Validating readers over django-environ: a bad value stops start-up with a message naming it."""

import base64
import binascii
import ipaddress

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


class StrictEnv(environ.Env):
    """django-environ reads values but accepts typos ("ture" is False) and `$`-proxies: not here.

    Every error names the variable and the problem, never the value: a secret must not reach a log.
    """

    def secret(self, name: str, min_length: int = 1, spaces_allowed: bool = False) -> str:
        # Read raw: django-environ would treat a leading "$" as a reference to another variable.
        value = self.ENVIRON.get(name, "")
        if spaces_allowed:
            value = value.strip()
        return self._checked_secret(name, value, min_length)

    def secret_list(self, name: str, min_length: int) -> list[str]:
        """Comma-separated secrets, each held to the same rules as a single one; may be empty."""
        value = self.ENVIRON.get(name, "")
        if value.strip() == "":
            return []
        return [
            self._checked_secret(f"{name} item {position}", item.strip(), min_length)
            for position, item in enumerate(value.split(","), start=1)
        ]

    def encryption_keys(self, name: str) -> list[bytes]:
        """Comma-separated base64 (standard or URL-safe) keys of exactly 32 bytes; may be empty."""
        keys = []
        for position, item in enumerate(self.secret_list(name, min_length=1), start=1):
            try:
                key = base64.b64decode(item.replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise ImproperlyConfigured(
                    f"{name} item {position} is not a base64 key of 32 bytes "
                    "(make one with: openssl rand -base64 32)"
                )
            keys.append(key)
        return keys

    @staticmethod
    def _checked_secret(name: str, value: str, min_length: int) -> str:
        if value.strip() == "":
            raise ImproperlyConfigured(f"{name} is missing or blank")
        if value.startswith("$"):
            raise ImproperlyConfigured(
                f"{name} starts with '$': an unexpanded variable? Set the secret itself"
            )
        if value != value.strip():
            raise ImproperlyConfigured(f"{name} has leading or trailing whitespace")
        if len(value) < min_length:
            raise ImproperlyConfigured(f"{name} is shorter than {min_length} characters")
        return value

    def strict_bool(self, name: str, default: bool) -> bool:
        value = self.ENVIRON.get(name, "").strip().lower()
        if value == "":
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be one of true/false, yes/no, on/off, 1/0")

    def bounded_int(self, name: str, default: int, low: int, high: int) -> int:
        value = self.ENVIRON.get(name, "").strip()
        if value == "":
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number") from None
        if not low <= number <= high:
            raise ImproperlyConfigured(f"{name} must be between {low} and {high}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.ENVIRON.get(name, "").strip().upper() or default
        if value not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}")
        return value

    def strict_list(self, name: str, default: list[str]) -> list[str]:
        value = self.ENVIRON.get(name, "").strip()
        if value == "":
            return default
        items = [item.strip() for item in value.split(",")]
        if "" in items:
            raise ImproperlyConfigured(f"{name} must be a comma-separated list with no empty item")
        return items

    def database(self, name: str, default: str) -> dict:
        """A sqlite:// or postgres:// URL as Django DATABASES entry. Errors never quote the URL:
        it may hold a password."""
        url = self.ENVIRON.get(name, "").strip() or default
        scheme = url.partition("://")[0]
        if scheme not in _DATABASE_SCHEMES:
            raise ImproperlyConfigured(f"{name} must be a sqlite:// or postgres:// URL")
        try:
            config = self.db_url_config(url)
        except Exception:  # django-environ raises several kinds on a malformed URL
            raise ImproperlyConfigured(f"{name} is not a valid database URL") from None
        if config["ENGINE"].endswith("sqlite3") and config["NAME"] in ("", ":memory:"):
            raise ImproperlyConfigured(
                f"{name} must name a SQLite file: an in-memory database is not shared by workers"
            )
        return config

    def cache(self, name: str, default: str) -> dict:
        """ "db" (Django's database cache) or a redis:// / rediss:// URL (Django's Redis cache)."""
        url = self.ENVIRON.get(name, "").strip() or default
        if url == "db":
            return {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "otp_cache",
            }
        if url.partition("://")[0] not in ("redis", "rediss"):
            raise ImproperlyConfigured(f'{name} must be "db" or a redis:// or rediss:// URL')
        try:
            return self.cache_url_config(url, backend="django.core.cache.backends.redis.RedisCache")
        except Exception:
            raise ImproperlyConfigured(f"{name} is not a valid cache URL") from None

    def networks(self, name: str, default: str) -> list:
        """Comma-separated IP networks (CIDR or single addresses)."""
        value = self.ENVIRON.get(name, "").strip() or default
        try:
            return [ipaddress.ip_network(item.strip()) for item in value.split(",")]
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be comma-separated IP networks") from None

    def text(self, name: str, default: str) -> str:
        return self.ENVIRON.get(name, "").strip() or default
