"""Child processes: `subprocess_exec`, `subprocess_shell` and `AsyncProcess` (`scarletio.processes`).

Every test runs on the epoll and the poll backend, each with both ways of reaping children (pidfds
and a waiting thread), and fails if it leaks a descriptor or a non-daemon thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from _fixtures import loop, run  # noqa: F401 - fixtures are used by name

from scarletio.event_thread import EventThread
from scarletio.processes import DEVNULL, AsyncProcess, child_watch, subprocess_exec, subprocess_shell
from scarletio.suspension import sleep

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX only")

SHELL_SCRIPT = "read x; echo got:$x; echo err >&2; exit 3"


@pytest.fixture(params=["pidfd", "thread"])
def watcher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Reap children through pidfds (skipped where the kernel lacks them) or through a waiting thread."""
    if request.param == "pidfd":
        if not child_watch.pidfd_supported():
            pytest.skip("pidfds are not available here")
    else:
        monkeypatch.setattr(child_watch, "_pidfd_probe", False)
    return str(request.param)


@pytest.fixture
def clean(no_leaks: None, watcher: str) -> Iterator[None]:
    """`no_leaks` plus both reapers; requested before `loop`, so it checks after the loop ended."""
    yield


def assert_reaped(pid: int) -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert not os.path.exists(f"/proc/{pid}") or sys.platform != "linux"


def test_shell_child_fed_hello_returns_its_output_and_return_code(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[tuple[bytes, bytes], int | None, int]:
        process = await subprocess_exec(loop, "/bin/sh", "-c", SHELL_SCRIPT)
        result = await process.communicate(b"hello\n")
        return result, process.return_code, process.process_id

    result, return_code, pid = run(loop, main())
    assert result == (b"got:hello\n", b"err\n")
    assert return_code == 3
    assert_reaped(pid)


def test_subprocess_shell_runs_the_command_through_the_shell(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[tuple[bytes, bytes], int]:
        process = await subprocess_shell(loop, SHELL_SCRIPT)
        return await process.communicate(b"hello\n"), await process.wait()

    assert run(loop, main()) == ((b"got:hello\n", b"err\n"), 3)


def test_communicate_timeout_raises_timeout_expired_and_kill_reaps_the_child(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[int | None, int, int, int]:
        process = await subprocess_exec(loop, "sleep", "10")
        with pytest.raises(subprocess.TimeoutExpired):
            await process.communicate(timeout=0.1)
        still_running = process.poll()
        killed = await process.kill()
        output = await process.communicate()  # picks up the exchange the timeout left running
        assert output == (b"", b"")
        return still_running, killed, await process.wait(), process.process_id

    still_running, killed, waited, pid = run(loop, main())
    assert still_running is None
    assert killed == waited == -signal.SIGKILL
    assert_reaped(pid)


def test_output_of_two_mebibytes_is_read_completely(clean: None, loop: EventThread) -> None:
    size = 2 * 1024 * 1024

    async def main() -> tuple[bytes, bytes, int]:
        process = await subprocess_exec(loop, "head", "-c", str(size), "/dev/urandom", stdin=DEVNULL)
        output, errors = await process.communicate()
        return output, errors, await process.wait()

    output, errors, return_code = run(loop, main())
    assert len(output) == size
    assert (errors, return_code) == (b"", 0)


def test_wait_with_a_timeout_on_a_sleeping_child_raises_timeout_expired(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[float, int | None, int]:
        process = await subprocess_exec(loop, "sleep", "10", stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        with pytest.raises(subprocess.TimeoutExpired) as caught:
            await process.wait(timeout=0.1)
        running = process.return_code
        return caught.value.timeout, running, await process.kill()

    timeout, running, return_code = run(loop, main())
    assert (timeout, running, return_code) == (0.1, None, -signal.SIGKILL)


def test_a_child_nobody_waits_for_is_reaped_all_the_same(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[int, int | None]:
        process = await subprocess_exec(loop, "true", stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        for _ in range(200):
            if process.return_code is not None:
                break
            await sleep(0.01)
        return process.process_id, process.poll()

    pid, return_code = run(loop, main())
    assert return_code == 0
    assert_reaped(pid)


def test_stdin_writer_and_stdout_reader_talk_to_the_child_line_by_line(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes, bytes, int]:
        process = await subprocess_exec(loop, "cat")
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        stdin.writelines([b"first\n", b"second"])
        await stdin.drain()
        first = await stdout.read_line()
        stdin.write(b" half\n")
        stdin.write_eof()
        second = await stdout.read_until(b"\n")
        rest = await stdout.read()
        process.close()
        return first, second, rest, await process.wait()

    assert run(loop, main()) == (b"first\n", b"second half", b"", 0)


def test_terminate_ends_the_child_with_sigterm(clean: None, loop: EventThread) -> None:
    async def main() -> AsyncProcess:
        process = await subprocess_exec(loop, "sleep", "10", stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        process.terminate()
        await process.wait(timeout=1.5)
        process.send_signal(signal.SIGKILL)  # ended already: does nothing
        return process

    process = run(loop, main())
    assert process.return_code == -signal.SIGTERM
    assert repr(process) == f"<AsyncProcess pid={process.process_id} return_code={-signal.SIGTERM}>"


def test_communicate_ignores_a_child_that_does_not_read_its_input(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[tuple[bytes, bytes], int | None]:
        process = await subprocess_shell(loop, "exec 0<&-; echo done")
        return await process.communicate(b"x" * (1024 * 1024)), process.return_code

    assert run(loop, main()) == ((b"done\n", b""), 0)


def test_drain_after_the_child_closed_stdin_raises_broken_pipe(clean: None, loop: EventThread) -> None:
    async def main() -> None:
        process = await subprocess_exec(loop, "true", stdout=DEVNULL, stderr=DEVNULL)
        assert process.stdin is not None
        await process.wait()
        process.stdin.write(b"x" * (1024 * 1024))
        with pytest.raises(BrokenPipeError):
            await process.stdin.drain()
        for _ in range(3):
            await sleep(0)  # let the transport close its pipe

    run(loop, main())


def test_a_missing_program_raises_file_not_found(clean: None, loop: EventThread) -> None:
    async def main() -> None:
        await subprocess_exec(loop, "/nonexistent/program")

    with pytest.raises(FileNotFoundError):
        run(loop, main())


def test_text_mode_keywords_are_refused(clean: None, loop: EventThread) -> None:
    async def main() -> None:
        await subprocess_exec(loop, "true", text=True)

    with pytest.raises(ValueError, match=r"^text= is not supported: the pipes of an AsyncProcess carry bytes$"):
        run(loop, main())


def test_communicate_with_input_but_no_stdin_pipe_raises(clean: None, loop: EventThread) -> None:
    async def main() -> None:
        process = await subprocess_exec(loop, "true", stdin=DEVNULL)
        try:
            with pytest.raises(ValueError, match=r"^communicate\(\) got input but the child's stdin is not a pipe"):
                await process.communicate(b"data")
        finally:
            await process.communicate()

    run(loop, main())


def test_a_loop_stopping_while_a_child_runs_releases_its_watch_and_the_child_is_still_reaped(
    clean: None, loop: EventThread
) -> None:
    async def main() -> int:
        process = await subprocess_exec(loop, "sleep", "0.2", stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        return process.process_id

    pid = run(loop, main())
    loop.stop()
    loop.join(5)
    for _ in range(100):  # the child ends after 0.2 s; something must reap it without the loop
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                raise AssertionError("the test itself reaped the child: nobody else did")
        except ChildProcessError:
            break
        time.sleep(0.01)
    assert_reaped(pid)
