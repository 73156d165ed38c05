"""`LoopDriver`: one thread runs a loop in steps; the loop runs only while that thread waits (core layer).

asyncio's model is a loop that runs only inside `run_until_complete` / `run_forever` of the thread that
drives it: between two calls nothing runs, and the driving thread may touch the loop's objects freely
(`asyncio.Runner.close()` cancels tasks from there). An `EventThread` has its own thread, so the driver
parks that thread inside a callback between drives: `park()` blocks the loop thread in a ready item
until the next `drive()`. While parked nothing runs (no callback, timer, task or I/O) and, on virtual
time, the clock cannot move. During a drive the driver registers as a waiter of the loop
(`VirtualTimeDriver.outside_waits`), so virtual time moves exactly while it waits, and a deadlock
fails the drive with scarletio's `DeadlockError` instead of hanging it.
"""

from __future__ import annotations

import threading
from _thread import get_ident
from typing import final

from .futures import Future
from .states import LoopInternals

__all__ = ("MAIN_THREAD_TICK", "LoopDriver")

MAIN_THREAD_TICK = 0.05
"""Seconds between two looks at pending signals while the main thread drives a loop."""


@final
class LoopDriver:
    """Drive an `EventThread` in steps from one thread: it runs only inside `drive()`.

    Args:
        loop: The loop to drive. It is parked (started if need be) before this returns.
    """

    __slots__ = ("_driving", "_generation", "_loop", "_parked", "_resume", "_stop_pending")

    def __init__(self, loop: LoopInternals) -> None:
        self._loop = loop
        self._parked = threading.Event()
        self._resume = threading.Event()
        self._driving = False
        self._generation = 0  # counts drives: a request to park belongs to the drive it was made in
        self._stop_pending = False
        loop.call_soon(self._hold)
        self._parked.wait()

    @property
    def loop(self) -> LoopInternals:
        """The loop this driver drives."""
        return self._loop

    def is_driving(self) -> bool:
        """Return whether a `drive()` is under way (the loop is not parked)."""
        return self._driving

    def is_parked(self) -> bool:
        """Return whether the loop thread is held between drives."""
        return self._parked.is_set()

    def _hold(self) -> None:
        """Park the loop thread here until the next drive (a ready item of the loop thread)."""
        self._parked.set()
        self._resume.wait()
        self._resume.clear()

    def _hold_in(self, generation: int) -> None:
        if generation == self._generation and not self._parked.is_set():
            self._hold()

    def park_soon(self) -> None:
        """End the current drive once the work ready now has run (asyncio's `loop.stop()`); any thread.

        Between drives, the next drive runs the work ready then and parks again.
        """
        if self._driving:
            self._loop.call_soon(self._hold_in, self._generation)
        else:
            self._stop_pending = True

    def drive(self) -> None:
        """Let the loop run and block until it parks again (after `park_soon()`).

        Raises:
            RuntimeError: If called on the loop thread, or while another drive is under way.
            DeadlockError: On virtual time, if the loop got stuck with nothing that could wake it.
        """
        loop = self._loop
        if get_ident() == loop._loop_thread_id:
            raise RuntimeError("LoopDriver.drive() cannot be called on the loop thread; it would wait for itself")
        if self._driving:
            raise RuntimeError("LoopDriver.drive() is already under way in another thread")
        self._driving = True
        self._generation = generation = self._generation + 1
        if self._stop_pending:
            self._stop_pending = False
            loop.call_soon(self._hold_in, generation)
        virtual = loop._virtual
        wait: Future[None] | None = None
        if virtual is not None:
            # A stuck loop fails this future; its callback parks the loop and so ends the drive.
            wait = Future(loop)
            wait._subscribe_before_queued(lambda _: self._hold_in(generation))
            virtual.outside_waits.add(wait)
        try:
            self._parked.clear()
            self._resume.set()
            if threading.current_thread() is threading.main_thread():
                # Woken every 50 ms: a signal the kernel handed to another thread reaches Python's
                # handlers only when the main thread runs (as in `LOOP.run`, see `main_thread`).
                while not self._parked.wait(MAIN_THREAD_TICK):
                    pass
            else:
                self._parked.wait()
        finally:
            self._driving = False
            if virtual is not None and wait is not None:
                virtual.outside_waits.discard(wait)
                if not wait.is_done():
                    wait._callbacks = None  # parked: nothing else runs; a pending future nobody waits on is dropped quietly
        if wait is not None and wait.is_done():
            wait.get_result()

    def release(self) -> None:
        """Let the loop thread go for good (before the loop is stopped and joined); from the driver."""
        self._parked.clear()
        self._resume.set()

    def __repr__(self) -> str:
        state = "driving" if self._driving else "parked" if self._parked.is_set() else "released"
        return f"<LoopDriver {state} {self._loop!r}>"
