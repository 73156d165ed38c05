"""`enter_executor()`: move a task's coroutine onto an executor thread for a block (high level).

Inside `async with enter_executor():` the task's coroutine is driven by an executor thread, so blocking
calls there do not stall the loop. Awaits inside the block still work: the executor thread blocks until
the awaited future of the loop is done. Leaving the block hands the coroutine back to the loop thread.

Resolving, failing or cancelling a future of the loop inside the block works as on the loop thread:
the driving thread is marked (`drive_task_of`), and those calls are carried out on the loop thread
while the executor thread waits for them, so they cannot race with the loop and their return values
and errors are the usual ones.

The hand-over uses the task's divert hook: the coroutine yields an object with a
`_scarletio_divert_(task)` method, and the task leaves its coroutine to that object until it is queued
again.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from types import TracebackType
from typing import Any, final

from ..core.thread_signal import ThreadSignal
from ..loop.event_thread import EventThread
from ..core.exceptions import CancelledError
from ..core.futures import CANCELLING, RAISE, Future, drive_task_of
from ..core.tasks import Task

__all__ = ("enter_executor",)


@final
class _Leave:
    """Yielded by the coroutine (on the executor thread) to go back to the loop thread."""

    __slots__ = ()


_LEAVE = _Leave()


@final
class _Enter:
    """Yielded by the coroutine (on the loop thread) to continue on an executor thread."""

    __slots__ = ()

    def _scarletio_divert_(self, task: Task[Any]) -> None:  # pyright: ignore[reportUnusedFunction]  # the task's step finds it by name
        # The task's step is still running (inside the task's context): hand over once it has ended.
        task._loop.call_soon(_start_driving, task)

    def __await__(self) -> Generator[object, None, None]:
        yield self


def _start_driving(task: Task[Any]) -> None:
    loop = task._loop
    assert isinstance(loop, EventThread)
    loop.get_executor().submit(_drive, task)


def _drive(task: Task[Any]) -> None:
    """Step the task's coroutine on this executor thread until it asks to leave or finishes."""
    loop = task._loop
    assert isinstance(loop, EventThread)
    drive_task_of(loop)
    try:
        _drive_steps(loop, task)
    finally:
        drive_task_of(None)


def _drive_steps(loop: EventThread, task: Task[Any]) -> None:
    coroutine = task._coroutine
    context = task._context
    error: BaseException | None = None
    while True:
        try:
            if error is not None:
                yielded = context.run(coroutine.throw, error)
            elif task._state & CANCELLING:
                task._state &= ~CANCELLING
                yielded = context.run(coroutine.throw, CancelledError())
            else:
                yielded = context.run(coroutine.send, None)
        except StopIteration as stop:
            loop.call_soon(task._finish_returned, stop.value)
            return
        except CancelledError as cancellation:
            loop.call_soon(task._finish_cancelled, cancellation)
            return
        except BaseException as exception:
            loop.call_soon(_finish_raised, task, exception)
            return
        error = None
        if yielded is _LEAVE:
            loop.call_soon(_resume_on_loop, task)
            return
        if yielded is None:
            continue
        if isinstance(yielded, Future) and yielded._loop is loop:
            task._waited_future = yielded
            _wait_on_loop(loop, yielded)  # pyright: ignore[reportUnknownArgumentType]
            task._waited_future = None
            continue
        error = RuntimeError(f"inside enter_executor() the task yielded {yielded!r}, which is not a scarletio Future")


def _wait_on_loop(loop: EventThread, future: Future[Any]) -> None:
    """Block this executor thread until `future` (of `loop`) is done.

    On virtual time the job counts as blocked meanwhile, so it does not hold the clock still; it
    counts as running again from the moment the loop thread completes the future (not from when this
    thread wakes up, which would leave a gap in which the loop looks idle).
    """
    virtual = loop._virtual
    signal = ThreadSignal()

    def wake(_: Future[Any]) -> None:
        if virtual is not None:
            virtual.blocked_jobs -= 1
        signal.set()

    if virtual is not None:
        virtual.blocked_jobs += 1
    loop.call_soon(future.add_done_callback, wake)
    signal.wait()


def _finish_raised(task: Task[Any], exception: BaseException) -> None:
    task._store_exception(exception)
    task._finish(RAISE)


def _resume_on_loop(task: Task[Any]) -> None:
    task._loop._ready.append(task)


class enter_executor:  # noqa: N801 - used like a function: `async with enter_executor():`
    """Run the body of an `async with` block on an executor thread, then come back to the loop.

    Raises:
        RuntimeError: If not used inside a task on an event loop thread.
    """

    __slots__ = ("_task",)

    def __init__(self) -> None:
        self._task: Task[Any] | None = None

    async def __aenter__(self) -> None:
        loop = threading.current_thread()
        if not isinstance(loop, EventThread) or loop.current_task is None:
            raise RuntimeError("enter_executor() must be used inside a task on an event loop thread")
        self._task = loop.current_task
        await _Enter()

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await _LeaveAwaitable()


@final
class _LeaveAwaitable:
    __slots__ = ()

    def __await__(self) -> Generator[object, None, None]:
        yield _LEAVE
