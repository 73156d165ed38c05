"""Unix signals delivered to callbacks on a loop's thread (high level): `add_signal_handler` / `remove_signal_handler`.

Some facts about signals in Python, and the design they lead to:

- Only the main thread may call `signal.signal`, and Python runs a signal's handler in the main
  thread, between two bytecodes of whatever the main thread is doing at that moment.
- So a handler must not take a lock the main thread might hold at that moment: it would wait for
  itself forever. `loop.call_soon` from another thread takes the loop's state lock, and the main
  thread takes that lock too whenever it talks to a loop (`LOOP.run(...)`), so calling it from the
  handler could deadlock.

Hence: one process-wide *dispatcher* per signal number, installed from the main thread with
`signal.signal`, does nothing but write the signal number as one byte to a pipe of every loop that
registered a callback for it (`os.write` on a non-blocking pipe takes no Python-level lock). Each such
loop watches its pipe's read end with `add_reader` and, on its own thread, runs the callbacks of the
numbers it reads. The table the dispatcher reads is replaced, never mutated, so it reads a consistent
snapshot without locking.

Installing a dispatcher needs the main thread. Called from another thread, typically a task on the
loop thread while the main thread waits in `LOOP.run(main())` (where asyncio users write
`loop.add_signal_handler(SIGTERM, ...)`), the installation is an errand the waiting main thread runs
(`scarletio.core.main_thread`). When the main thread is not waiting in `LOOP.run`, the call fails
with the recipe: register from the main thread, or from a task while it waits. Once a dispatcher is
installed, any thread may register for that signal too.

When the last registration is removed, the handler that was there before is put back, from another
thread again as an errand of a waiting main thread. If none is waiting, the dispatcher stays until
the signal next arrives; then, running in the main thread, it puts the previous handler back and
passes the signal on to it (re-raising it for the default action), so the signal is never swallowed.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import final

from typing_extensions import TypeVarTuple, Unpack

from ..core.forking import on_fork_in_child
from ..core.main_thread import MainThreadUnavailable, call_on_main_thread
from ..core.reporting import report_error
from ..core.abc import EventLoop

__all__ = ("add_signal_handler", "remove_signal_handler")

Ts = TypeVarTuple("Ts")

_PreviousHandler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None

_lock = threading.Lock()  # guards everything below except `_targets`, which the dispatcher reads
_ports: dict[EventLoop, _SignalPort] = {}
_previous: dict[int, _PreviousHandler] = {}
_targets: dict[int, tuple[int, ...]] = {}  # signal number -> write ends of the registered loops' pipes


@final
class _SignalPort:
    """One loop's pipe from the dispatcher and the callbacks it runs on the loop's thread."""

    __slots__ = ("callbacks", "loop", "read_fd", "write_fd")

    def __init__(self, loop: EventLoop) -> None:
        self.loop = loop
        self.callbacks: dict[int, tuple[Callable[..., object], tuple[object, ...]]] = {}
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)  # a full pipe drops the byte: one pending delivery is enough

    def watch(self) -> None:
        self.loop.add_reader(self.read_fd, self._read_ready)

    def _read_ready(self) -> None:
        try:
            numbers = os.read(self.read_fd, 512)
        except (BlockingIOError, InterruptedError):
            return
        for number in numbers:
            entry = self.callbacks.get(number)
            if entry is not None:
                callback, args = entry
                try:
                    callback(*args)
                except Exception as error:
                    report_error(f"exception in the handler of signal {_name(number)}: {callback!r}", error)

    def close(self) -> None:
        """Stop watching and close the pipe; on the loop thread, or once the loop stopped."""
        if not self.loop.is_closed():
            try:
                self.loop.remove_reader(self.read_fd)
            except RuntimeError:
                pass  # stopping, seen from another thread: its reactor is closed with it
        os.close(self.read_fd)
        os.close(self.write_fd)


def _reset_after_fork() -> None:
    """In a child process: forget the parent's loops and close the child's copies of their pipes.

    The dispatcher then finds no loop to wake, so a signal sent to the child meets the handler that
    was there before (for SIGTERM, the default: the child ends), never the parent's callbacks.
    """
    global _lock
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    _targets.clear()
    ports = list(_ports.values())
    _ports.clear()
    for port in ports:
        for fd in (port.read_fd, port.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


on_fork_in_child(_reset_after_fork)


def _name(signal_number: int) -> str:
    try:
        return signal.Signals(signal_number).name
    except ValueError:
        return str(signal_number)


def _dispatch(signal_number: int, frame: FrameType | None) -> None:
    """The Python-level handler: wake every registered loop; runs in the main thread."""
    write_fds = _targets.get(signal_number)
    if not write_fds:
        _pass_on(signal_number, frame)
        return
    byte = bytes((signal_number,))
    for fd in write_fds:
        try:
            os.write(fd, byte)
        except OSError:
            pass  # full (a delivery is pending anyway) or closed by a removal racing with us


def _pass_on(signal_number: int, frame: FrameType | None) -> None:
    """Put the previous handler back (the registrations went away off the main thread) and give it the signal."""
    # The main thread may have been interrupted while holding `_lock`: never wait for it here.
    locked = _lock.acquire(blocking=False)
    try:
        if _targets.get(signal_number):
            return
        previous = _previous.pop(signal_number, signal.SIG_DFL)
    finally:
        if locked:
            _lock.release()
    _restore(signal_number, previous)
    if callable(previous):
        previous(signal_number, frame)
    elif previous in (signal.SIG_DFL, None):
        os.kill(os.getpid(), signal_number)  # again, now meeting the default action


def _restore(signal_number: int, previous: _PreviousHandler) -> None:
    signal.signal(signal_number, signal.SIG_DFL if previous is None else previous)


def _publish(signal_number: int) -> None:
    """Rebuild the dispatcher's view of `signal_number` (under `_lock`)."""
    fds = tuple(port.write_fd for port in _ports.values() if signal_number in port.callbacks)
    if fds:
        _targets[signal_number] = fds
    else:
        _targets.pop(signal_number, None)


def add_signal_handler(
    loop: EventLoop, signal_number: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]
) -> None:
    """Call `callback(*args)` on `loop`'s thread whenever the process receives `signal_number`.

    Replaces an earlier handler of `loop` for the same signal; other loops keep theirs, and all of
    them run. Signals that arrive close together may be merged into one call.

    Args:
        loop: The loop to run the callback on.
        signal_number: The signal, such as `signal.SIGTERM`; not `SIGKILL` or `SIGSTOP`.
        callback: The function to call.
        *args: Its positional arguments.

    May be called from any thread. The first handler of a signal is installed by the main thread:
    from another thread (a task on the loop thread, say) that works while the main thread waits in
    `LOOP.run(...)`, as it does in `LOOP.run(main())`.

    Raises:
        RuntimeError: If called from a thread other than the main one while no handler for this
            signal is registered and the main thread is not waiting in `LOOP.run` (Python lets only
            the main thread install signal handlers).
        ValueError: If the signal number is invalid or cannot be caught.
    """
    if signal_number in (signal.SIGKILL, signal.SIGSTOP) or not 0 < signal_number < signal.NSIG:
        raise ValueError(f"signal {_name(signal_number)} cannot be caught; pass a catchable signal such as SIGTERM")
    with _lock:
        # Somebody may have replaced the dispatcher with `signal.signal` since: then it is reinstalled.
        installed = signal_number in _previous and signal.getsignal(signal_number) is _dispatch
        if not installed:
            try:
                # From the loop thread this is an errand for the main thread, waiting in `LOOP.run`.
                previous = call_on_main_thread(lambda: signal.signal(signal_number, _dispatch))
            except MainThreadUnavailable:
                name = _name(signal_number)
                raise RuntimeError(
                    f"the first handler of signal {name} needs the main thread, which only Python lets install "
                    f"signal handlers, and it is not waiting in LOOP.run() now; call add_signal_handler(loop, "
                    f"{name}, ...) from the main thread, or from a task while the main thread waits in "
                    "LOOP.run(main())"
                ) from None
            _previous[signal_number] = previous
        port = _ports.get(loop)
        if port is None:
            port = _ports[loop] = _SignalPort(loop)
            loop.add_close_callback(lambda: _forget_loop(loop))
            if threading.get_ident() == loop._loop_thread_id or not loop.is_started():
                port.watch()
            else:
                loop.call_soon(port.watch)
        port.callbacks[signal_number] = (callback, args)
        _publish(signal_number)


def _forget_loop(loop: EventLoop) -> None:
    """The loop stops with handlers still registered: drop them and close its pipe (on its thread)."""
    with _lock:
        port = _ports.pop(loop, None)
        if port is None:
            return
        numbers = list(port.callbacks)
        port.callbacks.clear()
        for number in numbers:
            _publish(number)
        if loop.is_started():  # an unstarted loop's reactor is closed with it, and refuses calls
            loop.remove_reader(port.read_fd)
        os.close(port.read_fd)
        os.close(port.write_fd)


def remove_signal_handler(loop: EventLoop, signal_number: int) -> bool:
    """Stop running `loop`'s handler of `signal_number`.

    When no loop handles the signal any more, the handler that was installed before the first
    `add_signal_handler` is put back (at once from the main thread; from another thread, when the
    signal next arrives).

    Args:
        loop: The loop whose handler to remove.
        signal_number: The signal.

    Returns:
        Whether `loop` had a handler for it.
    """
    with _lock:
        port = _ports.get(loop)
        if port is None or port.callbacks.pop(signal_number, None) is None:
            return False
        _publish(signal_number)
        if signal_number not in _targets:
            previous = _previous[signal_number]
            try:
                call_on_main_thread(lambda: _restore(signal_number, previous))
            except MainThreadUnavailable:
                pass  # the dispatcher puts it back when the signal next arrives (see the module docstring)
            else:
                del _previous[signal_number]
        if not port.callbacks:
            del _ports[loop]
            if loop.is_closed() or threading.get_ident() == loop._loop_thread_id or not loop.is_started():
                port.close()
            else:
                try:
                    loop.call_soon(port.close)
                except RuntimeError:  # stopped meanwhile
                    port.close()
    return True
