"""How other threads use an `EventThread`: `LOOP.run(...)`, `LOOP.enter()`, the executor (core layer).

A foreign thread never touches the loop's state directly: it queues work (which wakes the loop) and
waits on a `threading.Event` that a done-callback sets on the loop thread.
"""

from __future__ import annotations

import os
import threading
from _thread import get_ident
import concurrent.futures
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, final

from typing_extensions import TypeVarTuple, Unpack

from .abc import Executor
from .futures import Future
from .states import STOPPING, LoopInternals
from .tasks import _new_task
from .main_thread import MainThreadWait
from .thread_signal import ThreadSignal


__all__ = ("LoopPause", "get_executor", "run_from_outside", "run_in_executor", "submit_to_executor")

T = TypeVar("T")
L = TypeVar("L", bound=LoopInternals)
Ts = TypeVarTuple("Ts")

CANCELLATION_GRACE_SECONDS = 0.1
"""How long `LOOP.run` waits for a cancelled task to finish, to chain its exception as the cause."""


class Finished(Protocol):
    """What a thread in `LOOP.run` waits on: a `ThreadSignal`, or on the main thread a `MainThreadWait`."""

    def set(self, _: object = None) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


async def await_any(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` (wraps objects with `__await__` into a coroutine)."""
    return await awaitable


def run_from_outside(loop: LoopInternals, awaitable: Awaitable[T], timeout: float | None) -> T:
    """Run `awaitable` on `loop` and block the calling thread until it finishes (see `EventThread.run`)."""
    if get_ident() == loop._loop_thread_id:
        raise RuntimeError("EventThread.run() should not be called from itself (the loop thread); await it instead")
    if loop._loop_state >= STOPPING:
        if isinstance(awaitable, Coroutine):
            awaitable.close()
        raise loop._refuse_stopped("run")
    if threading.current_thread() is threading.main_thread():
        # The main thread also runs errands while it waits (installing a signal handler a task asked
        # for); it is ready for them before the task is queued, so the task's first step can ask.
        with MainThreadWait() as waiting:
            return _wait_from_outside(loop, awaitable, timeout, waiting)
    return _wait_from_outside(loop, awaitable, timeout, ThreadSignal())


def _wait_from_outside(loop: LoopInternals, awaitable: Awaitable[T], timeout: float | None, finished: Finished) -> T:
    future: Future[T]
    virtual = loop._virtual
    if isinstance(awaitable, Future) or not hasattr(awaitable, "__await__"):
        future = loop.ensure_future(awaitable)
        if virtual is not None:  # registered before the loop can look: see below
            virtual.outside_waits.add(future)
        loop.call_soon(future.add_done_callback, finished.set)
    else:
        # Subscribe before the task is queued: once queued, the loop may finish it, or stop (the
        # coroutine may call `stop()`), before a callback scheduled from here would get in.
        coroutine: Coroutine[Any, Any, T] = awaitable if isinstance(awaitable, Coroutine) else await_any(awaitable)  # pyright: ignore[reportUnknownVariableType]
        task = _new_task(loop, coroutine)
        task._subscribe_before_queued(finished.set)
        # On virtual time a deadlock fails this wait instead of hanging it; the wait is registered
        # before the task is queued, or the loop could find itself idle before it knows of us.
        if virtual is not None:
            virtual.outside_waits.add(task)
        loop._queue_foreign_task(task, coroutine, "run")
        future = task
    try:
        if finished.wait(timeout):
            return future.get_result()
    except BaseException as interrupt:
        if not finished.is_set():
            cause = cancel_from_outside(loop, future, finished)
            if cause is not None and isinstance(interrupt, KeyboardInterrupt):
                cause.__traceback__ = users_frames(cause.__traceback__)
            interrupt.__cause__ = cause
        raise
    finally:
        if virtual is not None:
            virtual.outside_waits.discard(future)
    error = TimeoutError(f"EventThread.run() timed out after {timeout} seconds; the task was cancelled")
    raise error from cancel_from_outside(loop, future, finished)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def users_frames(traceback: TracebackType | None) -> TracebackType | None:
    """Return `traceback` without the frames of scarletio itself: what a Ctrl-C shows the user.

    The cancellation of an interrupted `LOOP.run` task says where the task was; the futures and the
    scheduler it passed through on the way there are the same for every program.
    """
    kept: list[TracebackType] = []
    while traceback is not None:
        if not traceback.tb_frame.f_code.co_filename.startswith(_PACKAGE):
            kept.append(traceback)
        traceback = traceback.tb_next
    rebuilt: TracebackType | None = None
    for entry in reversed(kept):
        rebuilt = TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


def cancel_from_outside(loop: LoopInternals, future: Future[Any], finished: Finished) -> BaseException | None:
    """Cancel `future` from a foreign thread and briefly wait; return its exception if it finished."""
    try:
        loop.call_soon(future.cancel)
    except RuntimeError:
        pass
    if finished.wait(CANCELLATION_GRACE_SECONDS):
        return future.get_exception()
    return None


@final
class LoopPause(Generic[L]):
    """`with LOOP.enter():` parks the loop thread inside a callback for the duration of the block.

    Nothing runs on the loop meanwhile (no callbacks, timers or tasks), so the block may touch the
    loop's objects as if it were the loop thread.
    """

    __slots__ = ("_loop", "_parked", "_release")

    def __init__(self, loop: L) -> None:
        self._loop = loop
        self._parked = threading.Event()
        self._release = threading.Event()

    def _park(self) -> None:
        self._parked.set()
        self._release.wait()

    def __enter__(self) -> L:
        if get_ident() == self._loop._loop_thread_id:
            raise RuntimeError("loop.enter() cannot be used on the loop thread itself; it would wait for itself")
        self._loop.call_soon(self._park)
        self._parked.wait()
        return self._loop

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release.set()


def get_executor(loop: LoopInternals) -> Executor:
    """Return the loop's executor, creating it on first use (this is `loop.get_executor()`)."""
    executor = loop._executor
    if executor is None:
        executor = loop._executor = loop.backend.executor_factory()
        if loop._virtual is not None:
            # Time may stand still only while a job runs: the loop must hear when one ends.
            executor.on_job_finished(loop._reactor.wakeup)
    return executor


def run_in_executor(loop: LoopInternals, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> Future[T]:
    """Run a blocking `function(*args)` on an executor thread.

    Args:
        loop: The loop (this is the method `loop.run_in_executor`).
        function: The blocking function.
        *args: Its positional arguments.

    Returns:
        A future of this loop resolved with the function's result or exception. Cancelling it
        withdraws the job if it has not started.

    Raises:
        RuntimeError: If called from a thread other than the loop's.
    """
    if get_ident() != loop._loop_thread_id:
        raise RuntimeError(
            "run_in_executor must be called on the loop thread; from other threads use "
            "loop.call_soon_thread_safe(...) or run the function yourself"
        )
    return submit_to_executor(loop, function, *args)


def submit_to_executor(loop: LoopInternals, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> Future[T]:
    """Run `function(*args)` on `loop`'s executor; return a future of `loop` for its outcome.

    Cancelling the future withdraws the job if it has not started yet.
    """
    future: Future[T] = Future(loop)
    job = loop.get_executor().submit(function, *args)
    job.add_done_callback(lambda done: _deliver_job(loop, done, future))
    future.add_done_callback(lambda finished: job.cancel() if finished.is_cancelled() else None)
    return future


def _deliver_job(loop: LoopInternals, job: concurrent.futures.Future[T], future: Future[T]) -> None:
    """Hand a finished job's outcome to the loop thread (called on the worker thread)."""
    if not loop.is_closed():
        try:
            loop.call_soon(_copy_job_outcome, job, future)
        except RuntimeError:  # the loop stopped meanwhile; its pending futures were cancelled
            pass


def _copy_job_outcome(job: concurrent.futures.Future[T], target: Future[T]) -> None:
    """Copy a finished job into its scarletio future (on the loop thread)."""
    if target.is_done():
        return
    if job.cancelled():
        target.cancel()
        return
    exception = job.exception()
    if exception is None:
        target.set_result(job.result())
    elif isinstance(exception, StopIteration):
        target.set_exception(RuntimeError(f"executor function raised {exception!r}"))
    else:
        target.set_exception(exception)
