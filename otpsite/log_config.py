"""Logging set-up: Django's dictConfig, the switches that make each record cheaper, a filter
that keeps what clients sent out of the lines other libraries write, and the stdout handler that
reports a line that must be written (TrailRecord) but was not."""

import logging
import logging.config
import os
import re

_QUERY = re.compile(r"\?\S*")


def configure(config: dict) -> None:
    """Django's LOGGING_CONFIG callable.

    The access line is written on every request; the logging HOWTO's "Optimization" section
    lists these switches for information no line of ours shows (caller frame, thread, process).
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.config.dictConfig(config)


class TrailRecord(logging.LogRecord):
    """A line that is itself the audit record (AUDIT_ISSUED_CODES=log): written at every log
    level, and its writer learns whether it reached the stream. `kept` turns true once a
    TrailStreamHandler has written it; a class attribute, so never a field of the line."""

    kept = False


class TrailStreamHandler(logging.StreamHandler):
    """The stdout handler. A failed write of any other line is reported and dropped, as logging
    does; a failed write of a TrailRecord raises to its writer, which then answers 503."""

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record, TrailRecord):
            super().emit(record)
            return
        self._write_through(self.format(record) + self.terminator)
        record.kept = True

    def _write_through(self, line: str) -> None:
        """Write `line` to the stream's file descriptor, past its buffer: a line whose write
        failed must not stay in the buffer and go out with the next line once the disk has
        room, as the record of a code that never left. The buffered lines before it go first."""
        self.flush()
        try:
            descriptor = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # a stream with no file (io.StringIO)
            self.stream.write(line)
            self.flush()
            return
        data = line.encode(getattr(self.stream, "encoding", None) or "utf-8")
        while data:
            data = data[os.write(descriptor, data) :]


class WithholdClientInput(logging.Filter):
    """Drop the parts of Django's and gunicorn's own lines that quote the client's request.

    gunicorn logs a malformed request with its raw request line or header (which may be an API
    key sent without its colon) and a crash with the full URI; Django attaches the request, whose
    representation holds the query string. Our lines keep the path, never the query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Invalid request from ip="):
            record.msg, record.args = message.partition(": ")[0] + ": malformed request", ()
        elif message.startswith("Error handling request") and record.args:
            record.args = tuple(str(arg).split("?", 1)[0] for arg in record.args)
        elif record.name == "django.server" and record.args:
            # runserver's line for a 5xx starts with the request line: its query goes.
            record.args = (_QUERY.sub("", str(record.args[0])), *record.args[1:])
        if hasattr(record, "request"):
            record.request = getattr(record.request, "path", "")
        return True


class OmitServiceUnavailable(logging.Filter):
    """Drop Django's "Service Unavailable: /path" line: a 503 is a storage failure, which
    otp.outages logs once per request with the store and the error's class."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 503
