"""Errands for the main thread: work only it may do, asked for by a loop thread while it waits (core).

Python lets only the main thread install a signal handler (`signal.signal`). A program's main thread
usually sits in `LOOP.run(main())`, waiting, while the program's code runs on the loop thread, and
`main()` is where a user naturally writes `loop.add_signal_handler(SIGTERM, ...)`. So while the main
thread waits in `LOOP.run` it also runs errands: a loop thread hands it a function
(`call_on_main_thread`), wakes it and waits for the result, which takes microseconds.

The waiting main thread is woken by a one-shot `ThreadSignal`, its *bell*: the loop's done-callback
rings it (the wait is over), and so does a thread that queues an errand. After running errands the
main thread takes a fresh bell. Both the queue and the bell swap are guarded by one lock, so an
errand queued at any moment is either taken by the round under way or rings the fresh bell; and the
done flag is set before the bell is read, so a completion is never missed either. When the wait ends
(the awaitable finished, a timeout, Ctrl-C), the errands still queued are run on the way out: a loop
thread is never left waiting for a main thread that went away.

When the main thread is not waiting in `LOOP.run` (it is busy elsewhere, waiting in some other way,
or gone), nobody can run the errand and `call_on_main_thread` raises `MainThreadUnavailable`.

One more fact about signals shapes the wait. The kernel hands a process's signal to any of its
threads, and Python then only flags it for the main thread, which runs the Python-level handler the
next time it executes Python code. A main thread blocked on a lock wakes up (the lock wait is
interrupted) only if the signal reached that thread itself; one that reached a loop thread would wait
until something else woke the main thread: a SIGTERM handler, even the KeyboardInterrupt of Ctrl-C,
would hang. So the wait wakes up at least every `SIGNAL_CHECK_SECONDS`, which bounds that delay.
"""

from __future__ import annotations

import threading
import time
from _thread import allocate_lock
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar, final

from typing_extensions import Self

from .forking import on_fork_in_child
from .thread_signal import ThreadSignal

__all__ = ("SIGNAL_CHECK_SECONDS", "MainThreadUnavailable", "MainThreadWait", "call_on_main_thread")

T = TypeVar("T")

SIGNAL_CHECK_SECONDS = 0.05
"""The longest the main thread waits in `LOOP.run` without looking at the signals it was sent."""


class MainThreadUnavailable(RuntimeError):
    """No main thread is waiting in `LOOP.run` to run an errand."""


@final
class _Errand(Generic[T]):
    """One function for the main thread to run, and its outcome."""

    __slots__ = ("done", "error", "function", "result")

    def __init__(self, function: Callable[[], T]) -> None:
        self.function = function
        self.done = ThreadSignal()
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.function()
        except BaseException as error:
            self.error = error if isinstance(error, Exception) else RuntimeError(f"the main thread was interrupted: {error!r}")
            if not isinstance(error, Exception):
                self.done.set()
                raise
        self.done.set()


_lock = allocate_lock()
_errands: list[_Errand[Any]] = []
_waiting: MainThreadWait | None = None


def _reset_after_fork() -> None:
    global _lock, _waiting
    _lock = allocate_lock()  # the parent's loop thread may have held it at the fork
    _errands.clear()
    _waiting = None


on_fork_in_child(_reset_after_fork)


def call_on_main_thread(function: Callable[[], T]) -> T:
    """Run `function()` on the main thread and return its result (or raise its exception).

    From the main thread itself it is simply called.

    Raises:
        MainThreadUnavailable: If the main thread is not waiting in `LOOP.run` now.
    """
    if threading.current_thread() is threading.main_thread():
        return function()
    errand = _Errand(function)
    with _lock:
        waiting = _waiting
        if waiting is None:
            raise MainThreadUnavailable("the main thread is not waiting in LOOP.run(), so it cannot run an errand now")
        _errands.append(errand)
        waiting._bell.set()
    errand.done.wait()
    if errand.error is not None:
        raise errand.error
    return errand.result  # type: ignore[return-value]  # pyright: ignore[reportReturnType]  # `run` set it: there was no error


def _take_errands() -> list[_Errand[Any]]:
    taken = _errands[:]
    _errands.clear()
    return taken


@final
class MainThreadWait:
    """What the main thread waits on in `LOOP.run`: like `ThreadSignal`, and it runs errands meanwhile."""

    __slots__ = ("_bell", "_done", "_previous")

    def __init__(self) -> None:
        self._bell = ThreadSignal()
        self._done = False
        self._previous: MainThreadWait | None = None

    def set(self, _: object = None) -> None:
        """End the wait; from any thread, usable as a done-callback."""
        self._done = True  # before the bell is read: see the module docstring
        self._bell.set()

    def is_set(self) -> bool:
        """Return whether the wait is over."""
        return self._done

    def __enter__(self) -> Self:
        """Take errands from now on (on the main thread), until the `with` block ends."""
        global _waiting
        with _lock:
            self._previous, _waiting = _waiting, self
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _waiting
        with _lock:
            _waiting = self._previous
            errands = _take_errands()
        for errand in errands:  # queued before the lock was taken: run, never left waiting
            errand.run()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `set` or `timeout` seconds pass, running errands meanwhile; return whether set.

        Must be called on the main thread, inside the `with` block.
        """
        if self._done:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with _lock:
                errands = _take_errands()
            for errand in errands:
                errand.run()
            if self.is_set():  # (a method: another thread sets it)
                return True
            remaining = SIGNAL_CHECK_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0.0:
                return False
            if self._bell.wait(min(remaining, SIGNAL_CHECK_SECONDS)):
                with _lock:
                    if not self._done:
                        self._bell = ThreadSignal()
