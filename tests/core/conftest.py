"""The pure tests: no database (pytest-django refuses any access), no Django request."""

import pytest


@pytest.fixture(autouse=True)
def _database():
    """Overrides the suite's: tests of otp/core need no database."""
