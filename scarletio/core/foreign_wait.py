"""A scarletio `Task` suspended on a future of another world (asyncio's), for the task's step (core layer).

A foreign future is any object with `_asyncio_future_blocking` set (asyncio's duck-typing rule) whose
`get_loop()` is the asyncio face of the task's own loop (`scarletio.aio`): only that loop's futures
are sure to complete while the task waits (a plain asyncio loop might never run again). The
task waits on a scarletio relay future that the foreign future's done-callback completes (from
whichever thread runs the foreign loop); cancelling the task cancels the foreign future first, so the
coroutine resumes inside the foreign `await` and gets the foreign `CancelledError`, which, escaping
the task, finishes it cancelled (`as_cancellation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .exceptions import CancelledError
from .foreign import foreign_cancellation
from .futures import CANCELLING, Future

if TYPE_CHECKING:
    from .tasks import Task

__all__ = ("as_cancellation", "wait_on_foreign")


class _ForeignFuture(Protocol):
    _asyncio_future_blocking: bool

    def add_done_callback(self, callback: Any, /) -> None: ...

    def cancel(self) -> bool: ...

    def done(self) -> bool: ...


def wait_on_foreign(task: Task[Any], foreign: object) -> bool:
    """Make `task` wait for a foreign future it yielded; return `False` if `foreign` is not one."""
    if isinstance(foreign, Future) or getattr(foreign, "_asyncio_future_blocking", None) is not True:
        return False  # a scarletio future of another loop is refused by the task with its own message
    get_loop = getattr(foreign, "get_loop", None)
    own = getattr(task._loop, "asyncio_loop", None)
    if own is None or get_loop is None or get_loop() is not own:
        return False  # only futures of this thread's asyncio face: nothing else could ever wake the task

    waited: _ForeignFuture = foreign  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    waited._asyncio_future_blocking = False
    loop = task._loop
    relay: Future[None] = Future(loop)

    def on_relay_done(relay: Future[None]) -> None:
        if relay.is_cancelled() and not waited.done():
            waited.cancel()
            # The coroutine gets the foreign CancelledError from the foreign `await` itself; the
            # task's own flag would throw scarletio's instead (a `cancel_with` exception is kept).
            task._state &= ~CANCELLING

    def on_foreign_done(_: object) -> None:
        try:
            loop.call_soon_thread_safe(relay.set_result_if_pending, None)
        except RuntimeError:  # the loop stopped meanwhile
            pass

    # The relay's first callback cancels the foreign future, so the task resumes after it is done.
    relay.add_done_callback(on_relay_done)
    waited.add_done_callback(on_foreign_done)
    relay._add_runnable(task)
    task._waited_future = relay
    if task.is_cancelling():
        relay.cancel()
    return True


def as_cancellation(exception: BaseException) -> CancelledError | None:
    """Return a scarletio `CancelledError` for a foreign cancellation escaping a task, else `None`."""
    for cls in foreign_cancellation():
        if isinstance(exception, cls):
            cancellation = CancelledError(*exception.args)
            cancellation.__cause__ = exception
            return cancellation
    return None
