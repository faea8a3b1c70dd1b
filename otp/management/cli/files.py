"""Opening a file an operator names: a regular file only, each failure one line."""

import os
import stat
from typing import BinaryIO

from django.core.management.base import CommandError


def open_regular(path: str) -> BinaryIO:
    """`path` opened for reading in binary; CommandError if it cannot be, or is not a regular
    file (a device such as /dev/zero never ends, and a FIFO would block the read)."""
    try:
        # Not blocking: opening a FIFO to read would wait for a writer. A regular file's reads
        # are not changed by it.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise CommandError(unreadable(path, error)) from None
    try:
        # Asked of the descriptor opened, not of the path again: it cannot change in between.
        regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError as error:
        os.close(descriptor)
        raise CommandError(unreadable(path, error)) from None
    if not regular:
        os.close(descriptor)
        raise CommandError(f"{path} is not a file")
    return os.fdopen(descriptor, "rb")


def unreadable(source: str, error: OSError) -> str:
    return f"cannot read {source}: {error.strerror or type(error).__name__}"
