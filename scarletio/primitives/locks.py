"""Locks and events: `Lock`, `ScarletLock` and `Event` (high level).

All three are bound to one loop and used from its thread; none of them is thread-safe. They build on
`Future` only: every waiting task waits on a future of its own (one shared future would be cancelled for
every waiter as soon as one of them is cancelled), and waiters wake in the order they arrived, because
futures run their callbacks in registration order (D3).

The locks hand off: `release()` passes the lock straight to the first waiter, so a task arriving in
between cannot barge in. A waiter that is cancelled leaves the queue; a waiter that is cancelled after
it was handed the lock but before it got to run passes the lock on to the next one, so a cancellation
never leaks the lock and never breaks the order of the others.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from types import TracebackType
from typing import final

from ..loop.event_thread import EventThread
from ..core.futures import Future
from ..core.tasks import Task

__all__ = ("Event", "Lock", "ScarletLock")


def _discard(waiters: deque[Future[None]], waiter: Future[None]) -> None:
    """Remove `waiter` from `waiters` if it is still there (a waker may have popped it already)."""
    try:
        waiters.remove(waiter)
    except ValueError:
        pass


def _wake_all(waiters: deque[Future[None]]) -> None:
    """Resolve every pending waiter, oldest first, and empty the queue."""
    while waiters:
        waiters.popleft().set_result_if_pending(None)


async def _wait_on(loop: EventThread, waiters: deque[Future[None]]) -> None:
    """Queue a fresh future in `waiters` and wait for it; a cancelled waiter leaves the queue."""
    waiter: Future[None] = Future(loop)
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        _discard(waiters, waiter)
        raise


class _HandOffSemaphore:
    """A FIFO counting semaphore with direct hand-off: the logic `Lock` and `ScarletLock` share.

    Invariant: tasks wait only while every slot is held, so a free slot never coexists with a
    pending waiter.
    """

    __slots__ = ("_holders", "_idle_waiters", "_loop", "_owner", "_size", "_waiters")

    def __init__(self, loop: EventThread, size: int) -> None:
        self._loop = loop
        self._size = size
        self._holders = 0
        # The task that took a slot last, for reports (`DeadlockError` names a lock's holder); one
        # store per acquire and release, never consulted otherwise.
        self._owner: Task[object] | None = None
        self._waiters: deque[Future[None]] = deque()
        self._idle_waiters: deque[Future[None]] = deque()

    def is_locked(self) -> bool:
        """Return whether every slot is held, so `acquire` would wait."""
        return self._holders >= self._size

    def get_waiting(self) -> int:
        """Return how many tasks are queued in `acquire`."""
        return sum(1 for waiter in self._waiters if not waiter.is_done())

    async def acquire(self) -> None:
        """Take a slot, waiting in line (first come, first served) while all of them are held.

        Does not suspend when a slot is free.
        """
        if self._holders < self._size:
            self._holders += 1
            self._owner = self._loop.current_task
            return
        waiter: Future[None] = Future(self._loop)
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.is_done() and not waiter.is_cancelled():
                # Handed the slot, then cancelled before it could run: pass the slot on.
                self.release()
            else:
                _discard(self._waiters, waiter)
            raise
        self._owner = self._loop.current_task

    def release(self) -> None:
        """Give a slot back, handing it to the first waiting task if there is one.

        Raises:
            IndexError: If no slot is held.
        """
        if not self._holders:
            raise IndexError(
                f"{type(self).__name__}.release() called while the lock is not held; "
                "release only after a successful acquire"
            )
        self._owner = None  # a waiter handed the slot names itself when it runs
        waiters = self._waiters
        while waiters:
            if waiters.popleft().set_result_if_pending(None):
                return
        self._holders -= 1
        if not self._holders:
            _wake_all(self._idle_waiters)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    async def _wait_idle(self) -> None:
        if self._holders:
            await _wait_on(self._loop, self._idle_waiters)

    def __await__(self) -> Generator[object, None, None]:
        """Wait until nobody holds or waits for the lock (at once if nobody does)."""
        return self._wait_idle().__await__()


@final
class Lock(_HandOffSemaphore):
    """A mutual exclusion lock for the tasks of one loop; FIFO and not reentrant.

    ```py3
    async with lock:
        ...  # one task at a time
    ```

    `await lock` waits until nobody holds or waits for the lock, without taking it. A second
    `acquire` by the holder waits like any other.

    Args:
        loop: The loop whose tasks use the lock.
    """

    __slots__ = ()

    def __init__(self, loop: EventThread) -> None:
        _HandOffSemaphore.__init__(self, loop, 1)

    def __repr__(self) -> str:
        if not self._holders:
            return "<Lock locked = False>"
        return f"<Lock locked = True, waiting = {self.get_waiting()}>"


@final
class ScarletLock(_HandOffSemaphore):
    """A counting semaphore: at most `size` tasks hold it at once, the others wait in line (FIFO).

    Args:
        loop: The loop whose tasks use the lock.
        size: How many tasks may hold the lock at once.

    Raises:
        TypeError: If `size` is not an `int` (a `bool` does not count).
        ValueError: If `size` is less than 1.
    """

    __slots__ = ()

    def __init__(self, loop: EventThread, size: int = 1) -> None:
        if type(size) is not int:
            if isinstance(size, bool) or not isinstance(size, int):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
                raise TypeError(
                    f"ScarletLock size must be an int, got {type(size).__name__} {size!r}; "
                    "pass a whole number of at least 1"
                )
            size = int(size)
        if size < 1:
            raise ValueError(f"ScarletLock size must be at least 1, got {size!r}; pass a whole number of at least 1")
        _HandOffSemaphore.__init__(self, loop, size)

    def get_size(self) -> int:
        """Return how many tasks may hold the lock at once."""
        return self._size

    def get_acquired(self) -> int:
        """Return how many tasks hold the lock now (never more than the size)."""
        return self._holders

    def __repr__(self) -> str:
        return (
            f"<ScarletLock size = {self._size}, locked = {self._holders >= self._size}, "
            f"waiting = {self.get_waiting()}>"
        )


@final
class Event:
    """A flag tasks can wait for: `set()` wakes every waiter, in the order they started waiting.

    Args:
        loop: The loop whose tasks use the event.
    """

    __slots__ = ("_is_set", "_loop", "_waiters")

    def __init__(self, loop: EventThread) -> None:
        self._loop = loop
        self._is_set = False
        self._waiters: deque[Future[None]] = deque()

    def is_set(self) -> bool:
        """Return whether the event is set."""
        return self._is_set

    def set(self) -> None:
        """Set the event and wake every waiting task, oldest first; harmless when already set."""
        self._is_set = True
        _wake_all(self._waiters)

    def clear(self) -> None:
        """Unset the event, so that waiting blocks again until the next `set()`."""
        self._is_set = False

    async def wait(self) -> None:
        """Wait until the event is set; return at once, without suspending, if it is."""
        if not self._is_set:
            await _wait_on(self._loop, self._waiters)

    def __await__(self) -> Generator[object, None, None]:
        """Wait until the event is set, like `wait()`."""
        return self.wait().__await__()

    def __repr__(self) -> str:
        waiting = sum(1 for waiter in self._waiters if not waiter.is_done())
        return f"<Event set = {self._is_set}, waiting = {waiting}>"
