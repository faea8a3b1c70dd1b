"""Shared fixtures: an API client, the configured credentials and a clock the test sets.

The folders mirror the code: tests/core (pure Python, no database), tests/guards, tests/api
(DRF's APIClient), tests/cli (manage.py otp), tests/site (settings, logging, packaging) and
tests/servers (real gunicorn, PostgreSQL and Redis; marked `server`, so that
`pytest -m "not server"` is the fast inner loop).
"""

import io
import logging
import os
from pathlib import Path

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from otp.core import clock

# 2023-11-14T22:13:20Z, 20 seconds into its 30-second window.
FROZEN_AT = 1_700_000_000


@pytest.fixture(autouse=True, scope="session")
def _children_data_dir(tmp_path_factory):
    """A temporary DATA_DIR for every server and manage.py a test starts without naming one, so
    that nothing is written into the work tree and concurrent runs share no database."""
    previous = os.environ["DATA_DIR"]
    os.environ["DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield
    os.environ["DATA_DIR"] = previous


TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(TESTS / "servers"):
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True)
def _database(db):
    """Every protected request reads the lockout table: give each test the (rolled back) DB.
    tests/core/conftest.py takes it away from the pure tests."""


@pytest.fixture
def client():
    # Unhandled errors become the 500 response a real client sees, not a test exception.
    return APIClient(raise_request_exception=False)


@pytest.fixture
def api_key():
    return settings.API_KEY


@pytest.fixture
def authed(client, api_key):
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


class FrozenClock:
    """Stands in for otp.core.clock.now; a test moves it instead of sleeping."""

    def __init__(self, at: int):
        self.at = at

    def __call__(self) -> int:
        return self.at


@pytest.fixture
def frozen_clock(monkeypatch):
    fake = FrozenClock(FROZEN_AT)
    monkeypatch.setattr(clock, "now", fake)
    return fake


@pytest.fixture
def log_output():
    """What the configured JSON log handler writes during the test, as text.

    caplog is no substitute: it also sees records from loggers the configuration silences.
    """
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)
