"""Type tests for `scarletio.processes`: checked by mypy and pyright, never run (no function here is a
test; see `core_types` for how the wrong calls are pinned)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from typing_extensions import assert_type

from scarletio import EventThread
from scarletio.net import ReadProtocolBase
from scarletio.processes import DEVNULL, PIPE, AsyncProcess, SubprocessWriter, subprocess_exec, subprocess_shell


def setup() -> None:
    pass


async def uses_processes(loop: EventThread) -> None:
    process = await subprocess_exec(
        loop,
        "program",
        Path("argument"),
        stdin=DEVNULL,
        extra={"purpose": 1},
        preexecution_function=setup,
        close_fds=False,
        cwd=Path("."),
        env={"NAME": "value"},
        creation_flags=0,
        restore_signals=False,
        start_new_session=True,
        pass_fds=[3],
        umask=0o077,
        user="nobody",
        executable="/bin/true",
        text=False,
        bufsize=0,
        shell=False,
    )
    assert_type(process, AsyncProcess)
    assert_type(process.get_extra_info("pid"), object)
    assert_type(process.get_extra_info("purpose", 0), object)
    assert_type(process.process, subprocess.Popen[bytes])
    assert_type(process.stdin, SubprocessWriter | None)
    assert_type(process.stdout, ReadProtocolBase | None)
    assert_type(await process.communicate(b"input"), tuple[bytes, bytes])
    assert_type(await process.wait(), int)
    assert_type(await process.kill(), int)
    shell = await subprocess_shell(loop, "echo $HOME", cwd=b"/", startup_info=None, preexecution_function=print)
    assert_type(shell, AsyncProcess)


async def wrong_calls(loop: EventThread) -> None:
    await subprocess_exec(loop, "program", preexecution_function=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_exec(loop, "program", creation_flags="0")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_exec(loop, "program", extra={1: 2})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
    await subprocess_shell(loop, ["echo", "x"])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_exec(loop, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_exec(loop, "program", stdinn=PIPE)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await subprocess_exec(loop, "program", text=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_exec(loop, "program", preexec_fn=setup)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await subprocess_exec(loop, "program", bufsize=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_exec(loop, "program", shell=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_shell(loop, "echo", shell=False)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_shell(loop, "echo", encoding="utf-8")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await subprocess_shell(loop, "echo", creationflags=0)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await subprocess_shell(loop, "echo", umask="077")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
