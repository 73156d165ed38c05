"""Child processes driven by the loop, and Unix signals (high level).

`subprocess_exec` / `subprocess_shell` (in `process`) start a child and return an `AsyncProcess`;
`SubprocessWriter` (in `pipe_writer`) is its standard input; `child_watch` reaps children without
blocking the loop (pidfds on Linux, a waiting thread elsewhere); `popen_options` checks the keywords
and maps them onto `subprocess.Popen`'s; `signals` runs signal handlers on a loop's thread
(`add_signal_handler` / `remove_signal_handler`).
"""

from .pipe_writer import SubprocessWriter as SubprocessWriter
from . import child_watch as child_watch
from .process import DEVNULL as DEVNULL
from .process import PIPE as PIPE
from .process import STDOUT as STDOUT
from .process import AsyncProcess as AsyncProcess
from .process import ProcessFile as ProcessFile
from .process import subprocess_exec as subprocess_exec
from .process import subprocess_shell as subprocess_shell
from .popen_options import ExecOptions as ExecOptions
from .popen_options import PopenOptions as PopenOptions
from .popen_options import ShellOptions as ShellOptions
from .signals import add_signal_handler as add_signal_handler
from .signals import remove_signal_handler as remove_signal_handler

__all__ = (
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "AsyncProcess",
    "ExecOptions",
    "PopenOptions",
    "ProcessFile",
    "ShellOptions",
    "SubprocessWriter",
    "add_signal_handler",
    "remove_signal_handler",
    "subprocess_exec",
    "subprocess_shell",
)
