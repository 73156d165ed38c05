"""The interactive console of `python -m scarletio`: Python with top-level `await` on a scarletio loop.

High level: it may use anything in scarletio. The pieces, one concept per module:

- `banner`: the text shown before the first prompt;
- `namespace`: the globals inputs run in (scarletio's public API preloaded);
- `inputs`: lines to numbered, compiled inputs (incomplete input, blocks ending at an empty line);
- `execution`: running an input as a task on the loop thread, and Ctrl-C while it runs;
- `tracebacks`: printing an input's exception without the console's frames;
- `line_editing`: history and completion through `readline` on a terminal;
- `repl`: the read-run-print loop;
- `cli`: the command line and the exit status.
"""

from __future__ import annotations

from .cli import main as main
from .execution import InputRunner as InputRunner
from .execution import Outcome as Outcome
from .inputs import InputAssembler as InputAssembler
from .inputs import Submission as Submission
from .repl import InteractiveConsole as InteractiveConsole

__all__ = ("InputAssembler", "InputRunner", "InteractiveConsole", "Outcome", "Submission", "main")
