"""Line editing for a console on a terminal: history and tab completion through `readline`.

Part of the console (high level). Completion uses `rlcompleter` bound to the console's namespace, so
it completes the names of scarletio and of everything defined at the console. History lives in
`~/.scarletio_history` (kept apart from Python's own), read at start and written when the console
ends. Without `readline` (some builds lack it) the console works as before, only without editing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ("HISTORY_LENGTH", "default_history_path", "enable_line_editing")

HISTORY_LENGTH = 1000
"""How many lines of history are kept in the history file."""


def default_history_path() -> str:
    """Return the history file's path: `~/.scarletio_history`."""
    return os.path.join(os.path.expanduser("~"), ".scarletio_history")


def enable_line_editing(namespace: dict[str, object], history_path: str | None) -> Callable[[], None] | None:
    """Turn on completion and history for `input()`, if `readline` is available.

    Args:
        namespace: The globals completion looks names up in.
        history_path: The history file, or `None` to keep history only for this session.

    Returns:
        A function saving the history (call it when the console ends), or `None` if there is no
        `readline`.
    """
    try:
        import readline
        import rlcompleter
    except ImportError:
        return None
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    # macOS may ship libedit in readline's place; it spells the binding differently.
    if "libedit" in (readline.__doc__ or "") or getattr(readline, "backend", "readline") == "editline":
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    if history_path is None:
        return lambda: None
    try:
        readline.read_history_file(history_path)
    except OSError:  # no file yet, or one we cannot read: start afresh
        pass

    def save_history() -> None:
        readline.set_history_length(HISTORY_LENGTH)
        try:
            readline.write_history_file(history_path)
        except OSError:
            pass  # a read-only home must not turn leaving the console into an error

    return save_history
