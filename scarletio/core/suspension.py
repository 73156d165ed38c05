"""Suspending a task: `sleep`, `skip_ready_cycle`, `skip_poll_cycle`, and `shield` (core layer)."""

from __future__ import annotations

import types
from collections.abc import Awaitable, Generator
from typing import TypeVar, final

from .abc import EventLoop
from .arguments import checked_deadline, not_a_delay
from .discovery import current_loop
from .futures import DONE, RETURN, Future
from .handles import TimerOwner
from .wrappers import copy_outcome

__all__ = ("shield", "skip_poll_cycle", "skip_ready_cycle", "sleep")

T = TypeVar("T")


def sleep(delay: float, loop: EventLoop | None = None) -> Future[None]:
    """Return a future that resolves to `None` after `delay` seconds.

    The future can be awaited, cancelled (which disarms its timer) or added to a task group. A delay
    of zero or less gives an already resolved future, so awaiting it does not yield to other tasks.

    Args:
        delay: Seconds to wait.
        loop: The loop to wait on; the current context's loop by default.

    Raises:
        TypeError: If `delay` is not a number.
        ValueError: If `delay` is NaN.
        RuntimeError: If there is no loop, or it is stopped.
    """
    if loop is None:
        loop = current_loop()
    try:
        if delay <= 0.0:
            future: Future[None] = Future(loop)
            future._result = None
            future._state = RETURN
            return future
        when = loop.time() + delay
    except TypeError:
        raise not_a_delay(delay, "sleep") from None
    if when.__class__ is not float or when != when:
        when = checked_deadline(when, delay, "sleep", "delay")
    sleeper = SleepFuture(loop, when)
    loop._add_timer(sleeper)
    return sleeper


@final
class SleepFuture(Future[None]):
    """The future `sleep` returns: it sits in the loop's timer heap itself (no separate timer handle).

    A sleeping task costs a coroutine, a task and this future; cancelling the future leaves a dead
    heap entry that the loop counts (and compacts away once most of the heap is dead).
    """

    __slots__ = ("_owner", "when")

    def __init__(self, loop: EventLoop, when: float) -> None:
        Future.__init__(self, loop)  # pyright: ignore[reportUnknownMemberType]
        self.when: float = when
        self._owner: TimerOwner | None = loop

    @property
    def _cancelled(self) -> bool:
        return bool(self._state & DONE)

    def _run(self) -> None:  # pyright: ignore[reportUnusedFunction]  # the deadline came: the loop calls it
        owner = self._owner
        self._owner = None
        if not self._state & DONE:
            self.set_result(None)
        elif owner is not None and owner._timer_cancelled_count > 0:
            owner._timer_cancelled_count -= 1

    def _count_dead_entry(self, changed: int) -> int:
        owner = self._owner
        if changed and owner is not None:
            owner._timer_cancelled_count += 1
        return changed

    def cancel(self, msg: object = None) -> int:
        """Cancel the sleep (its heap entry goes dead); see `Future.cancel`."""
        return self._count_dead_entry(super().cancel())

    def cancel_with(self, exception: BaseException | type[BaseException]) -> int:
        """Cancel the sleep with `exception`; see `Future.cancel_with`."""
        return self._count_dead_entry(super().cancel_with(exception))


@types.coroutine
def skip_ready_cycle() -> Generator[None, None, None]:
    """Let every other ready task run once before this one continues (round-robin).

    The task goes to the tail of the ready queue; the loop does not poll for I/O in between.
    """
    yield


def skip_poll_cycle(loop: EventLoop | None = None) -> Future[None]:
    """Return a future that resolves after the loop's next I/O poll.

    Args:
        loop: The loop; the current context's loop by default.
    """
    if loop is None:
        loop = current_loop()
    future: Future[None] = Future(loop)
    future._timer = loop.call_at(0.0, future.set_result_if_pending, None)
    return future


def shield(awaitable: Awaitable[T], loop: EventLoop | None = None) -> Future[T]:
    """Protect `awaitable` from cancellation: cancelling the returned future leaves it running.

    Args:
        awaitable: A coroutine, task, future or other awaitable.
        loop: The loop; the current context's loop by default.

    Returns:
        A new future that follows the outcome of `awaitable`, or the inner future itself if it is
        already done.
    """
    if loop is None:
        loop = current_loop()
    inner = loop.ensure_future(awaitable)
    if inner.is_done():
        return inner
    outer: Future[T] = Future(loop)
    inner.add_done_callback(lambda finished: copy_outcome(finished, outer))
    return outer
