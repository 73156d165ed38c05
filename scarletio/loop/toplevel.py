"""Finding, creating and running event loops from anywhere (high level).

Loop discovery (`scarletio.core.discovery`): inside a loop thread the loop is that thread; elsewhere
it is the loop linked to the current thread (by `get_or_create_event_loop`, `create_event_loop` or
`set_event_loop`), else the first running non-daemon `EventThread`. Daemon loops, like the one `run()`
makes, are never found by that scan.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from ..backends import BackendName
from ..core.abc import Backend
from ..core.discovery import current_loop_thread, find_loop, link, no_loop_error
from ..core.futures import Future
from ..core.tasks import Task
from ..core.wrappers import FutureWrapperAsync
from .event_thread import EventThread

__all__ = (
    "LOOP_TIME",
    "LOOP_TIME_RESOLUTION",
    "create_event_loop",
    "create_future",
    "create_task",
    "get_current_task",
    "get_event_loop",
    "get_or_create_event_loop",
    "get_tasks",
    "run",
    "run_coroutine",
    "set_event_loop",
)

T = TypeVar("T")

LOOP_TIME = time.monotonic
"""The clock of the real backends (`time.monotonic`), as the original's `LOOP_TIME`.

A loop's own clock is `loop.time()`: on the virtual backend that is virtual time, which `LOOP_TIME`
is not.
"""

LOOP_TIME_RESOLUTION: float = time.get_clock_info("monotonic").resolution
"""The resolution of `LOOP_TIME` in seconds."""


def get_event_loop() -> EventThread:
    """Return the event loop of the current context.

    Returns:
        The loop running this code, the loop linked to this thread, or the first running non-daemon
        loop.

    Raises:
        RuntimeError: If there is none; `get_or_create_event_loop()` makes one.
    """
    loop = find_loop(EventThread)
    if loop is None:
        raise no_loop_error()
    return loop


def get_or_create_event_loop(
    backend: Backend | BackendName | None = None,
    *,
    daemon: bool = False,
    name: str | None = None,
    start_later: bool = True,
) -> EventThread:
    """Return the event loop of the current context, creating one if there is none.

    A created loop is linked to the current thread; the arguments are used only then.

    Args:
        backend: The backend of a new loop (see `EventThread`).
        daemon: Whether a new loop's thread is a daemon thread.
        name: A new loop's thread name.
        start_later: Start a new loop on first use instead of now.
    """
    loop = find_loop(EventThread)
    if loop is None:
        loop = EventThread(backend, daemon=daemon, name=name, start_later=start_later)
        link(loop)
    return loop


def create_event_loop(
    backend: Backend | BackendName | None = None,
    *,
    daemon: bool = False,
    name: str | None = None,
    start_later: bool = True,
) -> EventThread:
    """Create a new event loop, linking it to the current thread if that has no loop yet.

    Args:
        backend: The backend (see `EventThread`).
        daemon: Whether the loop's thread is a daemon thread.
        name: The thread's name.
        start_later: Start the loop on first use instead of now.
    """
    loop = EventThread(backend, daemon=daemon, name=name, start_later=start_later)
    link(loop, only_if_unlinked=True)
    return loop


def set_event_loop(loop: EventThread) -> None:
    """Link `loop` to the current thread, so `get_event_loop()` finds it here.

    Raises:
        RuntimeError: If called on a loop thread (its loop is always itself).
    """
    link(loop)


def run(awaitable: Awaitable[T], timeout: float | None = None, *, backend: Backend | BackendName | None = None) -> T:
    """Run `awaitable` to completion and return its result.

    An existing non-daemon loop is used and left running; otherwise a daemon loop named
    `scarletio.run` is created and stopped (and joined) afterwards.

    Args:
        awaitable: The coroutine (or other awaitable) to run.
        timeout: Seconds to wait at most; on expiry the task is cancelled and `TimeoutError` raised.
        backend: The backend of the loop created for the run.

    Raises:
        RuntimeError: If called on an event loop thread; await the awaitable there instead.
    """
    if current_loop_thread() is not None:
        raise RuntimeError("run() cannot be called on an event loop thread; await the awaitable instead")
    loop = find_loop(EventThread)
    try:
        if loop is not None and not loop.daemon:
            return loop.run(awaitable, timeout)
        loop = EventThread(backend, daemon=True, name="scarletio.run", start_later=False)
        try:
            return loop.run(awaitable, timeout)
        finally:
            loop.stop()
            loop.join()
    except KeyboardInterrupt as interrupt:
        raise interrupt.with_traceback(None)  # shown from the caller's line (see `EventThread.run`)


def create_task(coroutine: Coroutine[Any, Any, T], loop: EventThread | None = None) -> Task[T]:
    """Schedule `coroutine` as a task on `loop` (the current context's loop by default)."""
    return (get_event_loop() if loop is None else loop).create_task(coroutine)


def create_future(loop: EventThread | None = None) -> Future[T]:
    """Return a new pending future of `loop` (the current context's loop by default)."""
    return Future(get_event_loop() if loop is None else loop)


def get_current_task(loop: EventThread | None = None) -> Task[object] | None:
    """Return the task being stepped on `loop` (the current context's loop by default), if any."""
    return (get_event_loop() if loop is None else loop).current_task


def get_tasks(loop: EventThread | None = None) -> list[Task[object]]:
    """Return the unfinished tasks of `loop` (the current context's loop by default), oldest first."""
    return (get_event_loop() if loop is None else loop).get_tasks()


def run_coroutine(
    coroutine: Coroutine[Any, Any, T], loop: EventThread | None = None
) -> Task[T] | FutureWrapperAsync[T] | T:
    """Run `coroutine` as a task of `loop` (the current context's loop by default), as the original does.

    What it returns depends on the calling thread:

    - on that loop's own thread: the task (await it);
    - on another loop's thread: the task wrapped for that loop (`task.async_wrap(current_loop)`; await it);
    - on a plain thread: the coroutine's result, after blocking until the task finished (its
      exception is raised here).

    Raises:
        RuntimeError: If no loop is given and none can be found.
    """
    target = get_event_loop() if loop is None else loop
    task = target.create_task(coroutine)
    current = current_loop_thread()
    if current is target:
        return task
    if current is not None:
        return task.async_wrap(current)
    return task.sync_wrap().wait()
