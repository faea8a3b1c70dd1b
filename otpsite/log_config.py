"""Logging set-up: Django's dictConfig, plus the switches that make each record cheaper."""

import logging
import logging.config


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
