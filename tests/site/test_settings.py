"""Start-up fails fast on bad configuration: one line naming the variable, never its value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def run(command, **overrides):
    """Run a start-up command with the test environment changed by `overrides` (None unsets)."""
    env = {**os.environ, "ENV_FILE": ""}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


MANAGE_CHECK = [sys.executable, "manage.py", "check"]

BAD_SETTINGS = [
    ("API_KEY", None, "API_KEY is missing or blank"),
    ("API_KEY", "   ", "API_KEY is missing or blank"),
    ("API_KEY", "short-key-123", "API_KEY is shorter than 16 characters"),
    ("API_KEY", "$PROXIED_VARIABLE_NAME", "API_KEY starts with '$'"),
    ("API_KEY", " leading-space-key-123", "API_KEY has leading or trailing whitespace"),
    ("OTP_SECRET", None, "OTP_SECRET is missing or blank"),
    ("OTP_SECRET", "NOT!BASE32@SECRET", "OTP_SECRET is not valid base32"),
    ("OTP_SECRET", "JBSWY3DPEHPK3PX", "OTP_SECRET is 72 bits long; at least 80 are needed"),
    ("ENABLE_DOCS", "ture", "ENABLE_DOCS must be one of"),
    ("PORT", "eighty", "PORT must be a whole number"),
    ("PORT", "70000", "PORT must be between 1 and 65535"),
    ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be between 1 and 64"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
    ("AUDIT_ISSUED_CODES", "syslog", "AUDIT_ISSUED_CODES must be one of DATABASE, LOG"),
    ("ALLOWED_HOSTS", "a.example,,b.example", "ALLOWED_HOSTS must be a comma-separated list"),
    ("ENV_FILE", "/nonexistent/otp.env", "ENV_FILE names a file that does not exist"),
    ("API_KEYS", "second-key-0123456789,short", "API_KEYS item 2 is shorter than 16"),
    ("API_KEYS", "second-key-0123456789,,", "API_KEYS item 2 is missing or blank"),
    ("DATABASE_URL", "mysql://otp:hunter2-password@db/otp", "DATABASE_URL must be a sqlite://"),
    ("CACHE_URL", "memcache://127.0.0.1:11211", "CACHE_URL must be"),
    ("REQUIRE_SIGNED_REQUESTS", "maybe", "REQUIRE_SIGNED_REQUESTS must be one of"),
    ("AUTH_FAILURE_LIMIT", "-1", "AUTH_FAILURE_LIMIT must be between 0 and"),
    ("AUTH_FAILURE_WINDOW", "-5", "AUTH_FAILURE_WINDOW must be between 1 and"),
    ("TRUSTED_PROXY_COUNT", "many", "TRUSTED_PROXY_COUNT must be a whole number"),
    ("DATA_DIR", "/proc/otp-service", "DATA_DIR (the SQLite folder) cannot be created"),
    ("DATABASE_URL", "sqlite://", "DATABASE_URL must name a SQLite file"),
    ("TRUSTED_PROXY_NETWORKS", "10.0.0.0/8,proxy.internal", "TRUSTED_PROXY_NETWORKS must be"),
    ("DATABASE_URL", "sqlite://:memory:", "DATABASE_URL must name a SQLite file"),
    ("OTP_ENCRYPTION_KEYS", "not a key", "OTP_ENCRYPTION_KEYS item 1 is not a base64 key of 32"),
    # 16 bytes: AES-128, not the AES-256 the service promises.
    (
        "OTP_ENCRYPTION_KEYS",
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "OTP_ENCRYPTION_KEYS item 1 is not a base64",
    ),
    ("VERIFY_FAILURE_LIMIT", "-1", "VERIFY_FAILURE_LIMIT must be between 0 and"),
    ("AUDIT_RETENTION_DAYS", "-3", "AUDIT_RETENTION_DAYS must be between 1 and"),
    ("DATABASE_POOL_SIZE", "101", "DATABASE_POOL_SIZE must be between 1 and 100"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_SETTINGS)
def test_bad_setting_stops_manage_check_with_one_clear_line(name, value, message):
    result = run(MANAGE_CHECK, **{name: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"otp-service: configuration error: {lines[0].split(': ', 2)[2]}"]
    assert message in lines[0]
    if value and value.strip():
        assert value not in result.stderr + result.stdout


def test_good_settings_pass_manage_check():
    assert run(MANAGE_CHECK).returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "manage.py", "runserver", "127.0.0.1:0"], id="runserver"),
        pytest.param(
            [sys.executable, "-m", "gunicorn", "-c", "otpsite/gunicorn.conf.py"], id="gunicorn"
        ),
    ],
)
@pytest.mark.parametrize(
    ("name", "value"), [("API_KEY", "too-short"), ("OTP_SECRET", "not base32 at all!")]
)
def test_servers_refuse_to_start_with_a_bad_secret(command, name, value):
    result = run(command, **{name: value})
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"otp-service: configuration error: {name}")
    )
    assert value not in result.stderr + result.stdout


def test_the_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "otp.env"
    env_file.write_text("API_KEY=from-the-env-file-0123456789\nOTP_SECRET=tooshort\n")
    printed = [sys.executable, "manage.py", "shell", "--no-imports", "-c"]
    result = run(
        [*printed, "from django.conf import settings; print(settings.API_KEY)"],
        ENV_FILE=str(env_file),
        API_KEY=None,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-the-env-file-0123456789"


def test_gunicorn_stops_with_one_line_when_the_database_cannot_be_reached():
    from tests.support.servers import free_port

    url = f"postgres://otp:not-this-password@127.0.0.1:{free_port()}/otp"
    result = run(
        [sys.executable, "-m", "gunicorn", "-c", "otpsite/gunicorn.conf.py"], DATABASE_URL=url
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("otp-service: the database cannot be prepared: OperationalError")
    assert "not-this-password" not in result.stderr + result.stdout


def django_shell(code, **overrides):
    result = run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], **overrides)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_default_sqlite_database_lives_in_data_dir_in_wal_mode(tmp_path):
    printed = django_shell(
        "from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('PRAGMA journal_mode')\n"
        "print(connection.settings_dict['NAME'], cursor.fetchone()[0])",
        DATA_DIR=str(tmp_path),
        DATABASE_URL="",
    )
    assert printed == f"{tmp_path / 'otp.sqlite3'} wal"


@pytest.mark.parametrize(
    ("cache_url", "backend"),
    [
        ("db", "django.core.cache.backends.db.DatabaseCache"),
        # Django's RedisCache with one connection pool per process (otpsite/redis_cache.py).
        ("redis://127.0.0.1:6379/3", "otpsite.redis_cache.SharedRedisCache"),
    ],
)
def test_cache_url_selects_the_cache_backend(cache_url, backend):
    printed = django_shell(
        "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
        CACHE_URL=cache_url,
    )
    assert printed == backend


@pytest.mark.parametrize(
    "backend",
    ["django.core.cache.backends.db.DatabaseCache", "otpsite.redis_cache.SharedRedisCache"],
)
def test_no_cache_the_service_can_be_given_needs_closing_after_a_request(backend):
    # otpsite/wsgi.py stops Django closing the caches at the end of each request.
    from django.core.cache.backends.base import BaseCache
    from django.utils.module_loading import import_string

    assert import_string(backend).close is BaseCache.close


def test_installed_apps_stay_minimal():
    from django.conf import settings

    assert not [app for app in settings.INSTALLED_APPS if app.startswith("django.contrib.")]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "OTP_SECRET",
            " gezd gnbv gy3t qojq gezd gnbv gy3t qojq ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        ),
        ("HOST", "[::]", "::"),
    ],
)
def test_values_are_taken_as_people_write_them(name, value, expected):
    printed = django_shell(
        f"from django.conf import settings; print(settings.{name})", **{name: value}
    )
    assert printed == expected


def test_a_relative_data_dir_is_taken_from_the_project_root(tmp_path):
    # Relative to the project, yet outside it: a test leaves nothing in the work tree.
    relative = os.path.relpath(tmp_path / "elsewhere", ROOT)
    printed = django_shell(
        "from django.conf import settings; print(settings.DATA_DIR)", DATA_DIR=relative
    )
    assert printed == str((tmp_path / "elsewhere").resolve())


def test_runserver_refuses_keys_that_cannot_open_the_stored_accounts(tmp_path):
    sealing_key, other_key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "Aw" * 21 + "M="
    data = {"DATA_DIR": str(tmp_path), "OTP_ENCRYPTION_KEYS": sealing_key}
    assert run([sys.executable, "manage.py", "migrate", "-v0"], **data).returncode == 0
    add = "from otp import accounts, audit; from otp.core import otpauth; "
    add += "accounts.add_accounts([('bot', "
    add += f"otpauth.parse_secret_or_uri('{GOOD_SECRET}'))], audit.operator(), 1700000000)"
    added = run([sys.executable, "manage.py", "shell", "--no-imports", "-c", add], **data)
    assert added.returncode == 0, added.stderr

    result = run(
        [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:0"],
        **{**data, "OTP_ENCRYPTION_KEYS": other_key},
    )
    assert result.returncode != 0
    assert 'OTP_ENCRYPTION_KEYS: no configured key opens the secret of account "bot"' in (
        result.stderr
    )
    assert GOOD_SECRET not in result.stderr + result.stdout
