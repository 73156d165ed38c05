"""The entry points of the asyncio face: `new_event_loop`, `get_asyncio_loop`, `run`, `EventLoopPolicy` (aio layer)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..backends import BackendName
from ..core.abc import Backend
from ..core.foreign import register_foreign_cancellation
from ..core.scheduler import LOOP_THREAD_HOOKS, Scheduler
from ..loop.event_thread import EventThread
from .event_loop import EventLoop

__all__ = ("EventLoopPolicy", "get_asyncio_loop", "new_event_loop", "run")

T = TypeVar("T")

register_foreign_cancellation(asyncio.CancelledError)

_creating = threading.Lock()


def new_event_loop(backend: Backend | BackendName | None = None) -> EventLoop:
    """Return an asyncio loop on a fresh `EventThread` of `backend`, driven as asyncio loops are.

    Its thread runs only inside `run_forever` / `run_until_complete`; `close()` stops and joins it.
    Works as `asyncio.Runner(loop_factory=new_event_loop)`.

    Args:
        backend: A `Backend`, a backend name (`"epoll"`, `"poll"`, `"virtual"`), or `None` for the default.

    Raises:
        ValueError: If the backend name is unknown or unavailable here.
    """
    thread = EventThread(backend, daemon=True, name="scarletio.aio")
    return EventLoop(thread, driven=True)


def get_asyncio_loop(thread: EventThread) -> EventLoop:
    """Return the asyncio loop of `thread` (the same object on every call), creating it on first use.

    A loop got this way runs whenever its thread runs; it does not own the thread.

    Args:
        thread: The event thread.
    """
    existing = thread.asyncio_loop
    if existing is None:
        with _creating:
            existing = thread.asyncio_loop
            if existing is None:
                return EventLoop(thread, driven=False)
    if not isinstance(existing, EventLoop):
        raise TypeError(f"event thread {thread.name!r} has a foreign asyncio loop {existing!r}")
    return existing


def _give_face(thread: Scheduler) -> None:
    """Give a starting loop thread its asyncio loop: `asyncio.get_running_loop()` works in its tasks."""
    if isinstance(thread, EventThread):
        get_asyncio_loop(thread)


LOOP_THREAD_HOOKS.append(_give_face)


def run(main: Coroutine[Any, Any, T], *, backend: Backend | BackendName | None = None) -> T:
    """Run `main` as `asyncio.run` does, on a fresh loop of `backend`, and close the loop.

    Args:
        main: The coroutine.
        backend: The backend of the loop's thread.

    Returns:
        The coroutine's result.

    Raises:
        RuntimeError: If called from a running asyncio loop's thread.
    """
    if asyncio.events._get_running_loop() is not None:
        raise RuntimeError("scarletio.aio.run() cannot be called from a running event loop")
    if not asyncio.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")
    loop = new_event_loop(backend)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _cancel_all_tasks(loop: EventLoop) -> None:
    pending = asyncio.all_tasks(loop)
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for task in pending:
        if task.cancelled():
            continue
        exception = task.exception()
        if exception is not None:
            loop.call_exception_handler(
                {"message": "unhandled exception during scarletio.aio.run() shutdown", "exception": exception, "task": task}
            )


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An asyncio event loop policy whose loops are `new_event_loop(backend)`.

    For `asyncio.set_event_loop_policy(EventLoopPolicy("virtual"))` (pytest-asyncio,
    `unittest.IsolatedAsyncioTestCase`, `asyncio.run`).

    Args:
        backend: The backend of every loop the policy makes.
    """

    def __init__(self, backend: Backend | BackendName | None = None) -> None:
        super().__init__()
        self.backend: Backend | BackendName | None = backend

    def new_event_loop(self) -> EventLoop:
        """Return `new_event_loop(self.backend)`."""
        return new_event_loop(self.backend)
