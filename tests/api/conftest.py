"""Fixtures of the API tests."""

import pytest

from otp import waiting


@pytest.fixture
def waits(monkeypatch, frozen_clock):
    """Each wait moves the frozen clock to its end instead of sleeping; the list of ends."""
    ends = []

    def pause_until(target):
        ends.append(target)
        frozen_clock.at = target
        return False

    monkeypatch.setattr(waiting, "pause_until", pause_until)
    return ends
