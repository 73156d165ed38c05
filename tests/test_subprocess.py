"""Child processes: `subprocess_exec`, `subprocess_shell` and `AsyncProcess` (`scarletio.processes`).

Every test runs on the epoll and the poll backend, each with both ways of reaping children (pidfds
and a waiting thread), and fails if it leaks a descriptor or a non-daemon thread.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _fixtures import LATE, loop, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.processes import DEVNULL, AsyncProcess, child_watch, subprocess_exec, subprocess_shell
from scarletio.processes.popen_options import EXTRA_INFO_NAMES
from scarletio.core.suspension import sleep

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
        await process.wait(timeout=LATE)
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


def test_communicate_with_input_but_no_stdin_pipe_raises(clean: None, loop: EventThread) -> None:
    async def main() -> None:
        process = await subprocess_exec(loop, "true", stdin=DEVNULL)
        try:
            with pytest.raises(ValueError, match=r"^communicate\(\) got input_value but the child's stdin is not a pipe"):
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
    # The child ends after 0.2 s; something must reap it without the loop. Watch with a null signal,
    # which reaches a running child or an unreaped zombie and never reaps: polling with `waitpid`
    # would race the waiting thread for the child and could reap it itself.
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    assert_reaped(pid)


# ---- get_extra_info ---------------------------------------------------------------------------------


def test_get_extra_info_answers_the_pid_the_child_prints_the_popen_object_and_the_pipes(
    clean: None, loop: EventThread
) -> None:
    missing = object()

    async def main() -> tuple[bytes, AsyncProcess, dict[str, object]]:
        process = await subprocess_exec(loop, "sh", "-c", "echo $$", stdin=DEVNULL, extra={"purpose": "testing"})
        assert process.stdout is not None and process.stderr is not None
        info = {name: process.get_extra_info(name, missing) for name in (*EXTRA_INFO_NAMES, "purpose", "unknown")}
        assert info["stdout"] is process.stdout.get_transport()
        assert info["stderr"] is process.stderr.get_transport()
        assert process.get_extra_info("unknown") is None
        output, _ = await process.communicate()
        return output, process, info

    output, process, info = run(loop, main())
    assert info["pid"] == process.process_id == int(output)
    assert info["subprocess"] is info["popen"] is process.process
    assert info["stdin"] is missing  # not a pipe
    assert info["stdout"] is not None and info["stderr"] is not None
    assert (info["purpose"], info["unknown"]) == ("testing", missing)


def test_extra_using_a_reserved_name_is_refused(no_leaks: None, loop: EventThread) -> None:
    async def main() -> None:
        await subprocess_exec(loop, "true", extra={"pid": 1})

    message = (
        "extra uses the reserved name 'pid'; reserved: pid, popen, stderr, stdin, stdout, subprocess; rename the entry"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        run(loop, main())


# ---- the keywords of the original scarletio, mapped onto Popen ---------------------------------------


def test_preexecution_function_runs_in_the_child_just_before_the_program(clean: None, loop: EventThread) -> None:
    def mark_the_environment() -> None:
        os.environ["SCARLETIO_PREEXEC_PID"] = str(os.getpid())

    async def main() -> tuple[bytes, int]:
        process = await subprocess_shell(
            loop, "echo $SCARLETIO_PREEXEC_PID $$", stdin=DEVNULL, preexecution_function=mark_the_environment
        )
        output, _ = await process.communicate()
        return output, process.process_id

    output, pid = run(loop, main())
    assert output.split() == [str(pid).encode()] * 2  # ran in the child, which then became the shell
    assert "SCARLETIO_PREEXEC_PID" not in os.environ


def test_cwd_and_env_reach_the_child(clean: None, loop: EventThread, tmp_path: Path) -> None:
    env_program = shutil.which("env")
    assert env_program is not None

    async def main() -> tuple[bytes, bytes]:
        in_directory = await subprocess_exec(loop, "pwd", "-P", stdin=DEVNULL, cwd=tmp_path)
        with_environment = await subprocess_exec(loop, env_program, stdin=DEVNULL, env={"ONLY": "this one"})
        return (await in_directory.communicate())[0], (await with_environment.communicate())[0]

    directory, environment = run(loop, main())
    assert directory == os.fsencode(os.path.realpath(tmp_path)) + b"\n"
    assert environment == b"ONLY=this one\n"


def test_start_new_session_makes_the_child_a_session_leader(clean: None, loop: EventThread) -> None:
    script = "import os; print(os.getsid(0) == os.getpid())"

    async def main() -> tuple[bytes, bytes]:
        leader = await subprocess_exec(loop, sys.executable, "-c", script, stdin=DEVNULL, start_new_session=True)
        member = await subprocess_exec(loop, sys.executable, "-c", script, stdin=DEVNULL)
        return (await leader.communicate())[0], (await member.communicate())[0]

    assert run(loop, main()) == (b"True\n", b"False\n")


WRITE_TO_FD = "import os, sys; os.write(int(sys.argv[1]), b'through')"


def test_close_fds_and_pass_fds_decide_which_descriptors_the_child_inherits(clean: None, loop: EventThread) -> None:
    async def attempt(fd: int, **options: Any) -> int:
        process = await subprocess_exec(
            loop, sys.executable, "-c", WRITE_TO_FD, str(fd), stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, **options
        )
        return await process.wait()

    read_end, write_end = os.pipe()
    try:
        os.set_inheritable(write_end, True)
        closed = run(loop, attempt(write_end))
        inherited = run(loop, attempt(write_end, close_fds=False))
        passed = run(loop, attempt(write_end, pass_fds=(write_end,)))
    finally:
        os.close(write_end)
    try:
        received = os.read(read_end, 100)
    finally:
        os.close(read_end)
    assert closed != 0  # the descriptor was closed in the child: os.write failed
    assert (inherited, passed, received) == (0, 0, b"throughthrough")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_restore_signals_decides_whether_the_child_still_ignores_sigpipe(clean: None, loop: EventThread) -> None:
    async def ignored_signals(**options: Any) -> int:
        process = await subprocess_exec(loop, "grep", "SigIgn", "/proc/self/status", stdin=DEVNULL, **options)
        output, _ = await process.communicate()
        return int(output.split()[1], 16)

    sigpipe = 1 << (signal.SIGPIPE - 1)
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # Python ignores it; the child inherits that
    assert run(loop, ignored_signals()) & sigpipe == 0
    assert run(loop, ignored_signals(restore_signals=False)) & sigpipe == sigpipe


def test_further_popen_keywords_pass_through_and_harmless_values_are_accepted(clean: None, loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes]:
        masked = await subprocess_shell(loop, "umask", stdin=DEVNULL, umask=0o077, shell=True)
        plain = await subprocess_exec(
            loop, "echo", "bytes", stdin=DEVNULL, shell=False, text=False, universal_newlines=None,
            encoding=None, errors=None, bufsize=0,
        )
        return (await masked.communicate())[0], (await plain.communicate())[0]

    assert run(loop, main()) == (b"0077\n", b"bytes\n")


REFUSALS = [
    (
        "subprocess_exec", {"shell": True},
        "subprocess_exec does not take shell=True; call subprocess_shell to run a command line through the shell",
    ),
    (
        "subprocess_shell", {"shell": False},
        "subprocess_shell does not take shell=False; "
        "call subprocess_exec(program, *args) to run a program without a shell",
    ),
    (
        "subprocess_exec", {"text": True},
        "text=True is not supported: the pipes of an AsyncProcess carry bytes; decode what you read instead",
    ),
    (
        "subprocess_shell", {"universal_newlines": True},
        "universal_newlines=True is not supported: the pipes of an AsyncProcess carry bytes; "
        "decode what you read instead",
    ),
    (
        "subprocess_exec", {"encoding": "utf-8"},
        "encoding='utf-8' is not supported: the pipes of an AsyncProcess carry bytes; decode what you read instead",
    ),
    (
        "subprocess_exec", {"bufsize": -1},
        "bufsize=-1 is not supported: the pipes of an AsyncProcess are unbuffered; leave bufsize out",
    ),
    (
        "subprocess_exec", {"preexec_fn": print},
        "preexec_fn= is not a keyword of subprocess_exec; pass preexecution_function= instead",
    ),
    (
        "subprocess_shell", {"creationflags": 0},
        "creationflags= is not a keyword of subprocess_shell; pass creation_flags= instead",
    ),
    (
        "subprocess_exec", {"startupinfo": None},
        "startupinfo= is not a keyword of subprocess_exec; pass startup_info= instead",
    ),
    (
        "subprocess_exec", {"pass_fds": [0], "close_fds": False},
        "pass_fds=(0,) needs close_fds=True: the child keeps exactly the descriptors listed; drop close_fds=False",
    ),
    (
        "subprocess_exec", {"startup_info": object()},
        f"startup_info= is for Windows only; leave it out on {sys.platform}",
    ),
    (
        "subprocess_shell", {"creation_flags": 16},
        f"creation_flags=16 is for Windows only; leave it out on {sys.platform}",
    ),
]


@pytest.mark.parametrize(("function", "options", "message"), REFUSALS, ids=[str(case[1]) for case in REFUSALS])
def test_keywords_that_cannot_work_are_refused_before_a_child_starts(
    no_leaks: None, loop: EventThread, function: str, options: dict[str, Any], message: str
) -> None:
    async def main() -> None:
        if function == "subprocess_exec":
            await subprocess_exec(loop, "true", **options)
        else:
            await subprocess_shell(loop, "true", **options)

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        run(loop, main())
