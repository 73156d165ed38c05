"""Type tests for `scarletio.processes`: checked by mypy, never run (no function here is a test).

Wrong calls carry `# type: ignore[code]`; `warn_unused_ignores` (part of strict) fails the build if one
of them starts to type-check.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from typing_extensions import assert_type

from scarletio import EventThread
from scarletio.net import ReadProtocolBase
from scarletio.processes import DEVNULL, AsyncProcess, SubprocessWriter, subprocess_exec, subprocess_shell


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
    await subprocess_exec(loop, "program", preexecution_function=1)  # type: ignore[arg-type]
    await subprocess_exec(loop, "program", creation_flags="0")  # type: ignore[arg-type]
    await subprocess_exec(loop, "program", extra={1: 2})  # type: ignore[dict-item]
    await subprocess_shell(loop, ["echo", "x"])  # type: ignore[arg-type]
    await subprocess_exec(loop, 1)  # type: ignore[arg-type]
