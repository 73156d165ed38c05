"""Showing an input's exception the way the stock REPL does: the user's frames, not the console's.

Part of the console (high level). An exception raised by an input passes through the task machinery
and the console before it is caught, so its traceback starts with their frames. Those are dropped
before printing (as `code.InteractiveConsole` drops its own first frame), and `sys.last_exc` and
friends are set so `pdb.pm()` works after a failure.
"""

from __future__ import annotations

import os
import sys
import traceback
from functools import lru_cache
from types import TracebackType

__all__ = ("print_input_exception", "user_traceback")

_CONSOLE_DIRECTORY = os.path.dirname(os.path.realpath(__file__))
_PACKAGE_DIRECTORY = os.path.dirname(_CONSOLE_DIRECTORY)
_MAIN_MODULE = os.path.join(_PACKAGE_DIRECTORY, "__main__.py")


@lru_cache(maxsize=256)
def _location(filename: str) -> str:
    """Return where a frame's file is: "console", "package" (the rest of scarletio) or "user"."""
    if filename.startswith("<"):
        return "user"  # typed at the console, or other generated code
    path = os.path.realpath(filename)
    if path == _MAIN_MODULE or path.startswith(_CONSOLE_DIRECTORY + os.sep):
        return "console"
    if path.startswith(_PACKAGE_DIRECTORY + os.sep):
        return "package"
    return "user"


def user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """Return the traceback without the frames that only carried the input to where it ran.

    The frames before the first frame of user code (the task's step, the console's runner) go, and
    so does any other frame of the console. Frames of scarletio called by the user stay: they show
    where the library refused the call.

    Args:
        tb: The traceback as caught.

    Returns:
        The same frames minus the console's, newly linked; `None` if none is left.
    """
    frames: list[TracebackType] = []
    started = False
    while tb is not None:
        location = _location(tb.tb_frame.f_code.co_filename)
        if location == "user":
            started = True
        if started and location != "console":
            frames.append(tb)
        tb = tb.tb_next
    linked: TracebackType | None = None
    for entry in reversed(frames):
        linked = TracebackType(linked, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return linked


def print_input_exception(exception: BaseException) -> None:
    """Print an input's exception to `sys.stderr` with the console's frames left out.

    Args:
        exception: What the input raised (or why it did not compile).
    """
    exception.__traceback__ = user_traceback(exception.__traceback__)
    sys.last_type = type(exception)
    sys.last_value = exception
    sys.last_traceback = exception.__traceback__
    if sys.version_info >= (3, 12):
        sys.last_exc = exception
    sys.stdout.flush()
    traceback.print_exception(type(exception), exception, exception.__traceback__)
    sys.stderr.flush()
