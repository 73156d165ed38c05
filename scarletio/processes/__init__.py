"""Child processes driven by the loop (high level): start them, talk to their pipes, reap them.

`subprocess_exec` / `subprocess_shell` (in `process`) start a child and return an `AsyncProcess`;
`SubprocessWriter` (in `pipe_writer`) is its standard input; `child_watch` reaps children without
blocking the loop (pidfds on Linux, a waiting thread elsewhere); `popen_options` checks the keywords
and maps them onto `subprocess.Popen`'s.
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

__all__ = (
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "AsyncProcess",
    "ProcessFile",
    "SubprocessWriter",
    "subprocess_exec",
    "subprocess_shell",
)
