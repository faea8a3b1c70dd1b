"""The service's one source of the current time, replaced in tests instead of sleeping."""

import time


def now() -> int:
    """Whole unix seconds: every value in a response is derived from one such reading."""
    return int(time.time())
