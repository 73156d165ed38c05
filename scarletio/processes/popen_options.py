"""The keywords of `subprocess_exec` / `subprocess_shell`, checked and mapped onto `Popen` (high level, processes).

The names are the original scarletio's: `preexecution_function`, `creation_flags` and `startup_info`
stand for Popen's `preexec_fn`, `creationflags` and `startupinfo`. Popen's spellings of these three
are refused, so one option never arrives under two names. Everything else Popen takes (`umask`,
`user`, `group`, `executable`, ...) passes through unchanged, except what cannot work here: text
mode (the pipes carry bytes), buffering (the pipes are unbuffered) and a `shell=` that contradicts
the function called. Every refusal happens before a child is started.

`ExecOptions` and `ShellOptions` name, for the type checkers, every further keyword the two functions
accept (`**popen_kw: Unpack[ExecOptions]`): a misspelt or refused keyword is a type error before it is
a `ValueError` or `TypeError` at run time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Literal

from typing_extensions import TypedDict

__all__ = ("EXTRA_INFO_NAMES", "ExecOptions", "PopenOptions", "ShellOptions", "check_extra", "popen_keywords")


class PopenOptions(TypedDict, total=False):
    """The `subprocess.Popen` keywords both functions pass through unchanged, or accept as no-ops.

    Text mode and buffering are accepted only with the values that leave the pipes binary and
    unbuffered (what an `AsyncProcess` needs); Popen's own spellings of `preexecution_function`,
    `creation_flags` and `startup_info` are not keywords at all.
    """

    executable: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None
    user: str | int | None
    group: str | int | None
    extra_groups: Iterable[str | int] | None
    umask: int
    pipesize: int
    process_group: int | None  # Python 3.11 or newer
    text: Literal[False] | None
    universal_newlines: Literal[False] | None
    encoding: None
    errors: None
    bufsize: Literal[0]


class ExecOptions(PopenOptions, total=False):
    """The further keywords of `subprocess_exec`: `PopenOptions` and `shell=False`."""

    shell: Literal[False]


class ShellOptions(PopenOptions, total=False):
    """The further keywords of `subprocess_shell`: `PopenOptions` and `shell=True`."""

    shell: Literal[True]


EXTRA_INFO_NAMES = ("pid", "popen", "stderr", "stdin", "stdout", "subprocess")
"""The names `AsyncProcess.get_extra_info` answers itself; an `extra` mapping cannot use them."""

_RENAMED = {"preexec_fn": "preexecution_function", "creationflags": "creation_flags", "startupinfo": "startup_info"}

# Text-mode options and the values that leave the pipes binary (so they are accepted and dropped).
_TEXT_MODE_DEFAULTS: dict[str, tuple[object, ...]] = {
    "text": (None, False),
    "universal_newlines": (None, False),
    "encoding": (None,),
    "errors": (None,),
}


def check_extra(extra: Mapping[str, object] | None) -> dict[str, object]:
    """Return a copy of the `extra` mapping of a process.

    Raises:
        ValueError: If it uses one of `EXTRA_INFO_NAMES`.
    """
    if extra is None:
        return {}
    for name in extra:
        if name in EXTRA_INFO_NAMES:
            raise ValueError(
                f"extra uses the reserved name {name!r}; reserved: {', '.join(EXTRA_INFO_NAMES)}; rename the entry"
            )
    return dict(extra)


def popen_keywords(
    function: str,
    shell: bool,
    *,
    preexecution_function: Callable[[], object] | None,
    close_fds: bool,
    cwd: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None,
    env: Mapping[str, str] | None,
    startup_info: object | None,
    creation_flags: int,
    restore_signals: bool,
    start_new_session: bool,
    pass_fds: Collection[int],
    popen_kw: Mapping[str, object],
) -> dict[str, object]:
    """Return the keywords for `subprocess.Popen` (without the arguments, the pipes and `shell`).

    Args:
        function: The public function called, named in error messages.
        shell: Whether that function runs a command line through the shell.
        preexecution_function: Becomes `preexec_fn`.
        close_fds: Passed on.
        cwd: Passed on.
        env: Passed on.
        startup_info: Becomes `startupinfo` (Windows).
        creation_flags: Becomes `creationflags` (Windows).
        restore_signals: Passed on.
        start_new_session: Passed on.
        pass_fds: Passed on.
        popen_kw: The further keywords the caller gave.

    Raises:
        ValueError: For an option that cannot work with an `AsyncProcess`, or that contradicts another.
    """
    keywords = dict(popen_kw)
    for popen_name, own_name in _RENAMED.items():
        if popen_name in keywords:
            raise ValueError(f"{popen_name}= is not a keyword of {function}; pass {own_name}= instead")
    for name, harmless in _TEXT_MODE_DEFAULTS.items():
        if name in keywords:
            value = keywords.pop(name)
            if value not in harmless:
                raise ValueError(
                    f"{name}={value!r} is not supported: the pipes of an AsyncProcess carry bytes; "
                    "decode what you read instead"
                )
    if "bufsize" in keywords:
        value = keywords.pop("bufsize")
        if value != 0:
            raise ValueError(
                f"bufsize={value!r} is not supported: the pipes of an AsyncProcess are unbuffered; leave bufsize out"
            )
    if "shell" in keywords:
        value = keywords.pop("shell")
        if bool(value) != shell:
            if shell:
                way_out = "call subprocess_exec(program, *args) to run a program without a shell"
            else:
                way_out = "call subprocess_shell to run a command line through the shell"
            raise ValueError(f"{function} does not take shell={value!r}; {way_out}")
    if pass_fds and not close_fds:
        raise ValueError(
            f"pass_fds={tuple(pass_fds)!r} needs close_fds=True: the child keeps exactly the descriptors listed; "
            "drop close_fds=False"
        )
    keywords.update(
        preexec_fn=preexecution_function,
        close_fds=close_fds,
        cwd=cwd,
        env=env,
        restore_signals=restore_signals,
        start_new_session=start_new_session,
        pass_fds=pass_fds,
    )
    # Popen refuses these two off Windows with a message naming its own spelling: refuse them first.
    if startup_info is not None:
        if os.name != "nt":
            raise ValueError(f"startup_info= is for Windows only; leave it out on {sys.platform}")
        keywords["startupinfo"] = startup_info
    if creation_flags:
        if os.name != "nt":
            raise ValueError(f"creation_flags={creation_flags!r} is for Windows only; leave it out on {sys.platform}")
        keywords["creationflags"] = creation_flags
    return keywords
