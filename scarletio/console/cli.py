"""The command line of `python -m scarletio`: options, the console's loop, and the exit status.

Part of the console (high level). Exit statuses: 0 at end of input or `exit()`, what `exit(code)`
asks for, 2 for a wrong command line (including a backend that is not available here).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..backends import available_backends, parse_backend_name, resolve_backend
from .banner import render_banner
from .execution import InputRunner, start_console_loop
from .line_editing import default_history_path, enable_line_editing
from .namespace import build_namespace, load_facade
from .repl import InteractiveConsole

__all__ = ("PROG", "build_parser", "main")

PROG = "python -m scarletio"

BACKEND_VARIABLE = "SCARLETIO_BACKEND"
"""The environment variable naming the default backend (read by `resolve_backend`)."""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the console's command line."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Start scarletio's interactive console: a Python prompt where \"await\" works directly. "
            "Each input runs as a task on an event loop in its own thread."
        ),
        epilog="Ctrl-C cancels the running input; Ctrl-D or exit() leaves the console.",
    )
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help=(
            f"the event loop backend; available here: {', '.join(available_backends())} "
            f"(default: ${BACKEND_VARIABLE} if set, else the best available)"
        ),
    )
    parser.add_argument("--no-banner", action="store_true", help="start at the first prompt, without the banner")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console as `python -m scarletio` does.

    Args:
        argv: The arguments after the program name; `sys.argv[1:]` by default.

    Returns:
        The process exit status.
    """
    arguments = build_parser().parse_args(argv)
    backend_name: str | None = arguments.backend
    try:
        backend = resolve_backend(None if backend_name is None else parse_backend_name(backend_name))
    except (ValueError, RuntimeError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    package = load_facade()
    namespace = build_namespace(package)
    loop = start_console_loop(backend)
    save_history: Callable[[], None] | None = None
    try:
        if sys.stdin.isatty():
            save_history = enable_line_editing(namespace, default_history_path())
        console = InteractiveConsole(InputRunner(loop, namespace))
        banner = None if arguments.no_banner else render_banner(str(package.__version__))
        return console.interact(banner)
    finally:
        if save_history is not None:
            save_history()
        loop.stop()
        loop.join()
