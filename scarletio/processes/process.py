"""Child processes driven by the loop (high level, processes): `subprocess_exec`, `subprocess_shell`, `AsyncProcess`.

The child is started with `subprocess.Popen` on the loop thread (fork and exec take milliseconds);
its pipes are non-blocking and served by the pipe transports of `net.pipes`: standard input through a
`SubprocessWriter`, standard output and error through `ReadProtocolBase` readers. The exit is seen and
the child reaped by `child_watch` without blocking the loop, so a process that ends never stays a
zombie, whether anybody waits for it or not.

Every method must be called from tasks of the loop the process was started on. Waiting with a timeout
raises `subprocess.TimeoutExpired` (as `Popen` does) and leaves the child running. The keywords of
`subprocess_exec` / `subprocess_shell` are checked and mapped onto `Popen`'s by `popen_options`.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Collection, Mapping
from typing import IO, Any, TypeVar, cast, final

from typing_extensions import Unpack

from ..core.abc import EventLoop
from ..core.futures import Future
from ..net.interfaces import Transport
from ..net.pipes import connect_read_pipe, connect_write_pipe
from ..net.stream_reading import ReadProtocolBase
from ..core.tasks import Task
from .child_watch import watch_child
from .pipe_writer import SubprocessWriter
from .popen_options import ExecOptions, ShellOptions, check_extra, popen_keywords

__all__ = ("DEVNULL", "PIPE", "STDOUT", "AsyncProcess", "subprocess_exec", "subprocess_shell")

T = TypeVar("T")

PIPE = subprocess.PIPE
"""Connect the stream to the parent through a pipe (the default for all three)."""

STDOUT = subprocess.STDOUT
"""For `stderr`: send it where standard output goes."""

DEVNULL = subprocess.DEVNULL
"""Connect the stream to `os.devnull`."""

ProcessFile = int | IO[bytes] | None
"""What `stdin`, `stdout` and `stderr` accept: `PIPE`, `DEVNULL`, `STDOUT`, a descriptor, a file, `None`."""

PathArgument = str | bytes | os.PathLike[str] | os.PathLike[bytes]
"""What `cwd` accepts."""


async def _wait_done(loop: EventLoop, future: Future[T], timeout: float | None) -> bool:
    """Wait until `future` is done or `timeout` seconds passed; return whether it is done.

    Waits on a future of its own, so cancelling the waiting task leaves `future` untouched.
    """
    if future.is_done():
        return True
    waiter: Future[None] = Future(loop)

    def wake(_: Future[T]) -> None:
        waiter.set_result_if_pending(None)

    future.add_done_callback(wake)
    timer = None if timeout is None else loop.call_after(max(timeout, 0.0), waiter.set_result_if_pending, None)
    try:
        await waiter
    finally:
        future.remove_done_callback(wake)
        if timer is not None:
            timer.cancel()
    return future.is_done()


@final
class AsyncProcess:
    """A child process whose pipes and exit the loop watches; made by `subprocess_exec` / `subprocess_shell`.

    Attributes:
        process: The `subprocess.Popen` object (do not wait on it or use its pipes directly).
        process_id: The child's pid.
        return_code: The exit status once the child ended and was reaped (negative: killed by that
            signal); `None` while it runs.
        stdin: A writer to the child's standard input, if it is a `PIPE`.
        stdout: A reader of the child's standard output, if it is a `PIPE`.
        stderr: A reader of the child's standard error, if it is a `PIPE`.
    """

    __slots__ = (
        "_communication",
        "_exit",
        "_extra",
        "_loop",
        "process",
        "process_id",
        "return_code",
        "stderr",
        "stdin",
        "stdout",
    )

    def __init__(self, loop: EventLoop, process: subprocess.Popen[bytes], extra: dict[str, object]) -> None:
        self._loop = loop
        self._extra = extra
        self._exit: Future[int] = Future(loop)
        self._communication: Task[tuple[bytes, bytes]] | None = None
        self.process: subprocess.Popen[bytes] = process
        self.process_id: int = process.pid
        self.return_code: int | None = None
        self.stdin: SubprocessWriter | None = None
        self.stdout: ReadProtocolBase | None = None
        self.stderr: ReadProtocolBase | None = None

    async def _connect(self) -> None:
        loop = self._loop
        process = self.process
        if process.stdin is not None:
            writer = SubprocessWriter(loop)
            await connect_write_pipe(loop, writer, process.stdin)
            self.stdin = writer
        if process.stdout is not None:
            reader = ReadProtocolBase(loop)
            await connect_read_pipe(loop, reader, process.stdout)
            self.stdout = reader
        if process.stderr is not None:
            reader = ReadProtocolBase(loop)
            await connect_read_pipe(loop, reader, process.stderr)
            self.stderr = reader
        watch_child(loop, process, self._exited)

    def _exited(self, return_code: int) -> None:
        self.return_code = return_code
        self._exit.set_result_if_pending(return_code)

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Return information about the child, or `default` if there is none under `name`.

        Besides the entries of the `extra` mapping given to `subprocess_exec` / `subprocess_shell`,
        it answers `'pid'` (the child's pid), `'subprocess'` and `'popen'` (the `subprocess.Popen`
        object), and `'stdin'`, `'stdout'`, `'stderr'` (the pipe transports; `default` for a stream
        that is not a `PIPE`).

        Args:
            name: The name of the information.
            default: What to return when there is no such information.
        """
        if name == "pid":
            return self.process_id
        if name == "subprocess" or name == "popen":
            return self.process
        transport: Transport | None
        if name == "stdin":
            transport = None if self.stdin is None else self.stdin.get_transport()
        elif name == "stdout" or name == "stderr":
            reader = self.stdout if name == "stdout" else self.stderr
            transport = None if reader is None else reader.get_transport()
        else:
            return self._extra.get(name, default)
        return default if transport is None else transport

    def poll(self) -> int | None:
        """Return the return code if the child ended (and was reaped), else `None`."""
        return self.return_code

    async def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end.

        Args:
            timeout: The most seconds to wait; `None` waits for as long as it takes.

        Returns:
            The return code (negative: killed by that signal).

        Raises:
            subprocess.TimeoutExpired: If the child still runs after `timeout` seconds; it is left running.
        """
        exit_future = self._exit
        if not await _wait_done(self._loop, exit_future, timeout):
            raise subprocess.TimeoutExpired(self.process.args, timeout or 0.0)
        return exit_future.get_result()

    async def communicate(self, input_value: bytes | None = None, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Feed `input_value` to the child, read its output until end of file and wait for it to end.

        After a timeout the exchange goes on in the background; calling `communicate` again picks it
        up (its `input_value` is then ignored) and returns all the output.

        Args:
            input_value: Bytes to write to standard input, which is closed afterwards (also without input).
            timeout: The most seconds to wait; `None` waits for as long as it takes.

        Returns:
            Standard output and standard error (empty for streams that are not a `PIPE`).

        Raises:
            subprocess.TimeoutExpired: If the child has not finished after `timeout` seconds.
            ValueError: If `input_value` is given but standard input is not a `PIPE`.
        """
        communication = self._communication
        if communication is None:
            if input_value and self.stdin is None:
                raise ValueError("communicate() got input_value but the child's stdin is not a pipe; pass stdin=PIPE")
            communication = self._communication = self._loop.create_task(self._exchange(input_value))
        if not await _wait_done(self._loop, communication, timeout):
            raise subprocess.TimeoutExpired(self.process.args, timeout or 0.0)
        self._communication = None
        return communication.get_result()

    async def _exchange(self, input: bytes | None) -> tuple[bytes, bytes]:
        loop = self._loop
        feeding = loop.create_task(self._feed(input)) if self.stdin is not None else None
        output = loop.create_task(self._read_all(self.stdout))
        errors = loop.create_task(self._read_all(self.stderr))
        result = (await output, await errors)
        if feeding is not None:
            await feeding
        await _wait_done(loop, self._exit, None)
        return result

    async def _feed(self, input: bytes | None) -> None:
        stdin = self.stdin
        assert stdin is not None
        try:
            if input:
                stdin.write(input)
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child did not read it all: like `Popen.communicate`, that is not an error
        if not stdin.is_closing():
            stdin.close()

    @staticmethod
    async def _read_all(reader: ReadProtocolBase | None) -> bytes:
        return b"" if reader is None else await reader.read()

    def send_signal(self, signal_number: int) -> None:
        """Send `signal_number` to the child; does nothing once it ended.

        Args:
            signal_number: The signal, such as `signal.SIGTERM`.
        """
        if self.return_code is None:
            self.process.send_signal(signal_number)

    def terminate(self) -> None:
        """Ask the child to end (`SIGTERM`)."""
        self.send_signal(signal.SIGTERM)

    async def kill(self) -> int:
        """Kill the child (`SIGKILL`) and wait until it is reaped.

        Returns:
            The return code (`-9` unless the child had ended already).
        """
        self.send_signal(signal.SIGKILL)
        return await self.wait()

    def close(self) -> None:
        """Close the pipes to the child (standard input after flushing it); the child keeps running."""
        if self.stdin is not None:
            self.stdin.close()
        for reader in (self.stdout, self.stderr):
            if reader is not None:
                reader.close_transport()

    def is_closing(self) -> bool:
        """Return whether every pipe to the child is closed or being closed."""
        transports: list[Transport | None] = [self.stdin.get_transport() if self.stdin is not None else None]
        transports.extend(reader.get_transport() for reader in (self.stdout, self.stderr) if reader is not None)
        return all(transport is None or transport.is_closing() for transport in transports)

    def __repr__(self) -> str:
        state = "running" if self.return_code is None else f"return_code={self.return_code}"
        return f"<{type(self).__name__} pid={self.process_id} {state}>"


async def _start(
    loop: EventLoop,
    arguments: str | bytes | list[str | bytes],
    shell: bool,
    stdin: ProcessFile,
    stdout: ProcessFile,
    stderr: ProcessFile,
    extra: dict[str, object],
    keywords: dict[str, object],
) -> AsyncProcess:
    # Binary: `popen_keywords` took every text-mode keyword out, and checked the others' values.
    options: dict[str, Any] = keywords
    process = cast(
        "subprocess.Popen[bytes]",
        subprocess.Popen(arguments, stdin=stdin, stdout=stdout, stderr=stderr, shell=shell, bufsize=0, **options),
    )
    wrapper = AsyncProcess(loop, process, extra)
    try:
        await wrapper._connect()
    except BaseException:
        process.kill()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()
        raise
    return wrapper


async def subprocess_exec(
    loop: EventLoop,
    program: str | bytes | os.PathLike[str],
    *args: str | bytes | os.PathLike[str],
    stdin: ProcessFile = PIPE,
    stdout: ProcessFile = PIPE,
    stderr: ProcessFile = PIPE,
    extra: Mapping[str, object] | None = None,
    preexecution_function: Callable[[], object] | None = None,
    close_fds: bool = True,
    cwd: PathArgument | None = None,
    env: Mapping[str, str] | None = None,
    startup_info: object | None = None,
    creation_flags: int = 0,
    restore_signals: bool = True,
    start_new_session: bool = False,
    pass_fds: Collection[int] = (),
    **popen_kw: Unpack[ExecOptions],
) -> AsyncProcess:
    """Start `program` with `args` as a child process driven by `loop`.

    Args:
        loop: The loop the calling task runs on.
        program: The program (looked up on `PATH` unless it contains a slash).
        *args: Its arguments.
        stdin: `PIPE` (the default: write through `.stdin`), `DEVNULL`, a descriptor, a file or `None`
            (inherit).
        stdout: The same for standard output (read through `.stdout`).
        stderr: The same for standard error, or `STDOUT`.
        extra: Further information `AsyncProcess.get_extra_info` answers, by name.
        preexecution_function: Called in the child after the fork, just before the program is executed
            (`Popen`'s `preexec_fn`). The loop runs in a thread of its own, so this is the fork with
            threads that the `subprocess` documentation warns about: keep it small (no locks, no logging).
        close_fds: Close every descriptor but 0, 1, 2 and `pass_fds` in the child; with False the child
            inherits the inheritable ones.
        cwd: The child's working directory.
        env: The child's environment; the parent's by default.
        startup_info: Windows only (`Popen`'s `startupinfo`).
        creation_flags: Windows only (`Popen`'s `creationflags`).
        restore_signals: Reset the signals Python ignores (`SIGPIPE`, `SIGXFSZ`) to their default in
            the child.
        start_new_session: Run the child in a new session (`setsid`).
        pass_fds: Descriptors the child inherits although `close_fds` is set.
        **popen_kw: Further keywords for `subprocess.Popen`, as `ExecOptions` lists them (`umask`,
            `user`, `executable`, ...).

    Returns:
        The process.

    Raises:
        OSError: If the program cannot be started (`FileNotFoundError`, `PermissionError`, ...).
        ValueError: For a text-mode or buffering keyword (`text=True`, `encoding`, ...), `shell=True`,
            Popen's spelling of a renamed keyword (`preexec_fn`, ...), `pass_fds` with
            `close_fds=False`, a Windows-only keyword elsewhere, or `extra` using a reserved name.
    """
    keywords = popen_keywords(
        "subprocess_exec",
        False,
        preexecution_function=preexecution_function,
        close_fds=close_fds,
        cwd=cwd,
        env=env,
        startup_info=startup_info,
        creation_flags=creation_flags,
        restore_signals=restore_signals,
        start_new_session=start_new_session,
        pass_fds=pass_fds,
        popen_kw=popen_kw,
    )
    arguments = [os.fspath(part) for part in (program, *args)]
    return await _start(loop, arguments, False, stdin, stdout, stderr, check_extra(extra), keywords)


async def subprocess_shell(
    loop: EventLoop,
    command: str | bytes,
    *,
    stdin: ProcessFile = PIPE,
    stdout: ProcessFile = PIPE,
    stderr: ProcessFile = PIPE,
    extra: Mapping[str, object] | None = None,
    preexecution_function: Callable[[], object] | None = None,
    close_fds: bool = True,
    cwd: PathArgument | None = None,
    env: Mapping[str, str] | None = None,
    startup_info: object | None = None,
    creation_flags: int = 0,
    restore_signals: bool = True,
    start_new_session: bool = False,
    pass_fds: Collection[int] = (),
    **popen_kw: Unpack[ShellOptions],
) -> AsyncProcess:
    """Run `command` through `/bin/sh -c` as a child process driven by `loop`.

    Quote what goes into `command` (`shlex.quote`): the shell interprets it.

    Args:
        loop: The loop the calling task runs on.
        command: The shell command line.
        stdin: `PIPE` (the default), `DEVNULL`, a descriptor, a file or `None` (inherit).
        stdout: The same for standard output.
        stderr: The same for standard error, or `STDOUT`.
        extra: Further information `AsyncProcess.get_extra_info` answers, by name.
        preexecution_function: Called in the child after the fork, just before the program is executed
            (`Popen`'s `preexec_fn`). The loop runs in a thread of its own, so this is the fork with
            threads that the `subprocess` documentation warns about: keep it small (no locks, no logging).
        close_fds: Close every descriptor but 0, 1, 2 and `pass_fds` in the child; with False the child
            inherits the inheritable ones.
        cwd: The child's working directory.
        env: The child's environment; the parent's by default.
        startup_info: Windows only (`Popen`'s `startupinfo`).
        creation_flags: Windows only (`Popen`'s `creationflags`).
        restore_signals: Reset the signals Python ignores (`SIGPIPE`, `SIGXFSZ`) to their default in
            the child.
        start_new_session: Run the child in a new session (`setsid`).
        pass_fds: Descriptors the child inherits although `close_fds` is set.
        **popen_kw: Further keywords for `subprocess.Popen`, as `ShellOptions` lists them (`umask`,
            `user`, `executable`, ...).

    Returns:
        The process.

    Raises:
        OSError: If the shell cannot be started.
        ValueError: For a text-mode or buffering keyword (`text=True`, `encoding`, ...), `shell=False`,
            Popen's spelling of a renamed keyword (`preexec_fn`, ...), `pass_fds` with
            `close_fds=False`, a Windows-only keyword elsewhere, or `extra` using a reserved name.
    """
    keywords = popen_keywords(
        "subprocess_shell",
        True,
        preexecution_function=preexecution_function,
        close_fds=close_fds,
        cwd=cwd,
        env=env,
        startup_info=startup_info,
        creation_flags=creation_flags,
        restore_signals=restore_signals,
        start_new_session=start_new_session,
        pass_fds=pass_fds,
        popen_kw=popen_kw,
    )
    return await _start(loop, command, True, stdin, stdout, stderr, check_extra(extra), keywords)
