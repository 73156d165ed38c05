"""Where problems nobody can be told about directly go: failed callbacks, unretrieved exceptions.

Part of the core layer. By default every report goes to the `scarletio` logger at error level with the
exception attached; `set_error_reporter` replaces that with any callable. Importing scarletio never
touches `sys.excepthook` or `threading.excepthook`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ("ErrorReporter", "get_error_reporter", "report_error", "set_error_reporter")

ErrorReporter = Callable[[str, "BaseException | None"], None]
"""A callable taking the report's message and the exception it is about (if any)."""

LOGGER = logging.getLogger("scarletio")


def _log_error(message: str, exception: BaseException | None) -> None:
    if exception is None:
        LOGGER.error("%s", message)
    else:
        LOGGER.error("%s", message, exc_info=(type(exception), exception, exception.__traceback__))


_reporter: ErrorReporter = _log_error


def set_error_reporter(reporter: ErrorReporter | None) -> None:
    """Send every scarletio error report to `reporter` instead of the `scarletio` logger.

    Args:
        reporter: Called with the message and the exception; `None` restores logging.
    """
    global _reporter
    _reporter = _log_error if reporter is None else reporter


def get_error_reporter() -> ErrorReporter:
    """Return the callable that currently receives error reports."""
    return _reporter


def report_error(message: str, exception: BaseException | None = None) -> None:
    """Hand one report to the current reporter; a failing reporter falls back to logging.

    Args:
        message: What happened, naming the object involved.
        exception: The exception the report is about, if any.
    """
    try:
        _reporter(message, exception)
    except BaseException as error:  # the reporter must never take the loop down
        _log_error(f"error reporter {_reporter!r} failed while reporting: {message}", error)
