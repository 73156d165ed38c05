"""`Task[T]`: a future driven by a coroutine (core layer).

The loop runs a task one step at a time: a step sends into (or throws into) the coroutine until it
suspends. A bare `yield` (what `skip_ready_cycle` does) puts the task back at the tail of the ready
queue; a yielded scarletio `Future` makes the task wait: the task object itself goes into the future's
callback list and is queued again when the future completes.

`Task(loop, coroutine)` creates the task and queues its first step, as `loop.create_task(coroutine)`
does (and as in the original scarletio and asyncio); the loop builds its own tasks through `_new_task`,
which fills the slots without the constructor's checks.

Cancellation follows the original scarletio: cancelling a task that waits on a future cancels that
future, so the `await` raises `CancelledError`; otherwise a flag makes the next step throw
`CancelledError` into the coroutine. `cancel_with` always sets the flag too, so it is never lost.
"""

from __future__ import annotations

import sys
from _thread import get_ident
from collections.abc import Callable, Coroutine
from contextvars import Context, copy_context
from types import CodeType, CoroutineType, FrameType, GeneratorType
from typing import Any, Generic, NoReturn, TextIO, TypeVar

from .abc import EventLoop
from .exceptions import CancelledError
from .futures import (
    CANCELLED,
    CANCELLING,
    DONE,
    RAISE,
    RETURN,
    SILENCED,
    Future,
    _as_exception,
    _hops_to,
    _refuse_foreign_thread,
)
from .wrappers import call_on_owner
from .foreign import _cancellation_classes as _foreign_cancellation_classes
from .foreign_wait import as_cancellation, wait_on_foreign
from .handles import Handle

__all__ = ("Task",)

T = TypeVar("T")


def _is_coroutine(value: object) -> bool:
    return type(value) is CoroutineType or isinstance(value, (Coroutine, GeneratorType))


def check_coroutine(value: object, what: str) -> None:
    """Raise `TypeError` unless `value` is a coroutine (or a generator-based one) a task can drive."""
    if not _is_coroutine(value):
        hint = "; call the async function to get one: f() rather than f" if callable(value) else ""
        raise TypeError(f"{what} needs a coroutine, got {value!r}{hint}")


class Task(Future[T], Generic[T]):
    """A coroutine scheduled on a loop; awaiting the task gives the coroutine's return value.

    `Task(loop, coroutine)` is the same as `loop.create_task(coroutine)`: it creates the task and
    schedules its first step for the next ready cycle, from any thread.

    Args:
        loop: The loop that runs the task.
        coroutine: The coroutine to drive, for example `main()`.

    Raises:
        TypeError: If `coroutine` is not a coroutine.
        RuntimeError: If the loop is stopped.
    """

    __slots__ = ("_cancel_exception", "_context", "_coroutine", "_origin", "_waited_future")

    # Set by a virtual-time loop only (left unset elsewhere, so creating a task costs nothing more):
    # the task's id on its loop and where it was created, (id, code, instruction offset or -1 for the
    # code's first line), for reports; `core.task_report` turns it into words.
    _origin: tuple[int, CodeType | None, int]

    def __init__(self, loop: EventLoop, coroutine: Coroutine[Any, Any, T]) -> None:
        if not _is_coroutine(coroutine) and _is_coroutine(loop):
            # Early releases of the original took `Task(coroutine, loop)`; code written for them runs too.
            loop, coroutine = coroutine, loop  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        check_coroutine(coroutine, "Task")
        Future.__init__(self, loop)  # pyright: ignore[reportUnknownMemberType]
        self._coroutine = coroutine
        self._context: Context = copy_context()
        self._waited_future: Future[Any] | None = None
        self._cancel_exception: BaseException | None = None
        if loop._loop_thread_id == get_ident():  # queued as `loop.create_task` queues its tasks
            virtual = getattr(loop, "_virtual", None)
            if virtual is not None:
                virtual.adopt(self)
            loop._tasks[self] = None
            loop._ready.append(self)
        else:
            loop._queue_foreign_task(self, coroutine, "create a task")

    @property
    def name(self) -> str:
        """The coroutine's name."""
        return getattr(self._coroutine, "__name__", type(self._coroutine).__name__)

    @property
    def qualname(self) -> str:
        """The coroutine's qualified name."""
        return getattr(self._coroutine, "__qualname__", self.name)

    def get_coroutine(self) -> Coroutine[object, None, T]:
        """Return the coroutine the task drives."""
        return self._coroutine

    def get_waited_future(self) -> Future[object] | None:
        """Return the future the task is suspended on, if any."""
        return self._waited_future

    # ---- the step -----------------------------------------------------------------------------

    def _run(self) -> None:
        # The plain function, not `self._step`: no bound method to allocate on every step.
        self._context.run(_task_step, self)
        del self  # see `_forget_step_frame`

    def _throw_in(self, error: BaseException) -> None:
        self._context.run(self._step, error)
        del self  # see `_forget_step_frame`

    def _step(self, error: BaseException | None = None) -> None:
        loop = self._loop
        # A task of any result type: only reading methods work on a task from outside, so `object` fits.
        loop.current_task = self  # type: ignore[assignment]  # pyright: ignore[reportAttributeAccessIssue]
        self._waited_future = None
        try:
            if error is not None:
                result = self._coroutine.throw(error)
            elif self._state and self._state & CANCELLING:  # `and` first: the state is usually 0
                self._state &= ~CANCELLING
                result = self._coroutine.throw(CancelledError())
            else:
                result = self._coroutine.send(None)
        except StopIteration as stop:
            self._finish_returned(stop.value)
        except CancelledError as cancellation:
            _forget_step_frame(cancellation)
            self._finish_cancelled(cancellation)
            del self  # see `_forget_step_frame`
        except BaseException as exception:
            _forget_step_frame(exception)
            foreign = as_cancellation(exception) if _foreign_cancellation_classes else None
            if foreign is not None:  # asyncio's CancelledError, from an asyncio future it awaited
                self._state &= ~CANCELLING
                self._finish_cancelled(foreign)
            else:
                self._store_exception(exception)
                self._finish(RAISE)
            del self  # see `_forget_step_frame`
        else:
            if result is None:
                loop._ready.append(self)
            elif isinstance(result, Future) and result._loop is loop and result is not self:
                if result._state & DONE:
                    loop._ready.append(self)
                else:
                    callbacks = result._callbacks
                    if callbacks is None:
                        result._callbacks = self
                    elif isinstance(callbacks, list):
                        callbacks.append(self)
                    else:
                        result._callbacks = [callbacks, self]
                    self._waited_future = result
                    if self._state and self._state & CANCELLING and result.cancel():
                        self._state &= ~CANCELLING
            else:
                divert = getattr(result, "_scarletio_divert_", None)  # pyright: ignore[reportUnknownArgumentType]
                if divert is None:
                    if not wait_on_foreign(self, result):  # pyright: ignore[reportUnknownArgumentType]  # an asyncio future: wait for it
                        self._reject_yield(result)  # pyright: ignore[reportUnknownArgumentType]
                else:  # the yielded object takes the coroutine over and queues the task again later
                    divert(self)
        finally:
            loop.current_task = None

    def _reject_yield(self, value: object) -> None:
        """Throw a `RuntimeError` explaining why the coroutine may not suspend on `value`."""
        if value is self:
            reason = "a task cannot await itself"
        elif isinstance(value, Future):
            reason = (
                f"the task awaited {value!r}, which belongs to another event loop; "
                "await future.async_wrap(loop) to wait for it across loops"
            )
        else:
            reason = (
                f"the task yielded {value!r}, which is not a scarletio Future; "
                "only scarletio awaitables can be awaited inside scarletio tasks"
            )
        self._loop._ready.append(Handle(self._throw_in, (RuntimeError(reason),)))

    def _finish(self, state: int) -> None:
        self._loop._tasks.pop(self, None)
        self._complete(state, "step")

    def _finish_returned(self, value: T) -> None:
        if self._state & CANCELLING:  # cancelled during its last step: the value is discarded
            self._state &= ~CANCELLING
            self._finish_cancelled(CancelledError())
            return
        self._result = value
        self._finish(RETURN)

    def _finish_cancelled(self, cancellation: CancelledError) -> None:
        exception: BaseException = cancellation
        custom = self._cancel_exception
        if custom is not None:
            custom.__cause__ = cancellation
            exception = custom
        self._exception = exception
        self._finish(CANCELLED | RAISE)

    # ---- refused operations --------------------------------------------------------------------

    def _refuse(self, location: str) -> NoReturn:
        raise RuntimeError(
            f"Task.{location} is not allowed: a task's outcome comes from its coroutine; cancel it with task.cancel()"
        )

    def set_result(self, result: T) -> None:
        """Refused: a task's outcome comes from its coroutine.

        Raises:
            RuntimeError: Always.
        """
        self._refuse("set_result")

    def set_result_if_pending(self, result: T) -> int:
        """Refused: a task's outcome comes from its coroutine.

        Raises:
            RuntimeError: Always.
        """
        self._refuse("set_result_if_pending")

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Refused: a task's outcome comes from its coroutine.

        Raises:
            RuntimeError: Always.
        """
        self._refuse("set_exception")

    def set_exception_if_pending(self, exception: BaseException | type[BaseException]) -> int:
        """Refused: a task's outcome comes from its coroutine.

        Raises:
            RuntimeError: Always.
        """
        self._refuse("set_exception_if_pending")

    # ---- cancellation -----------------------------------------------------------------------

    def cancel(self, msg: object = None) -> int:
        """Ask the task to stop: `CancelledError` is raised inside it at its suspension point.

        Args:
            msg: Ignored; accepted as asyncio's tasks pass it to the future they wait on.

        Returns:
            1 if the task was pending, 0 if it was already done (it then only gets silenced).
        """
        state = self._state
        if state & DONE:
            self._state = state | SILENCED
            return 0
        if self._loop._loop_thread_id != get_ident():
            if _hops_to(self._loop):
                return call_on_owner(self._loop, self.cancel)
            _refuse_foreign_thread(self, "cancel")
        waited = self._waited_future
        if waited is not None and waited.cancel():
            return 1
        self._state = state | CANCELLING
        return 1

    def cancel_with(self, exception: BaseException | type[BaseException]) -> int:
        """Cancel the task so that it finishes with `exception` (its cause is the `CancelledError`).

        Args:
            exception: The exception or exception class (a class is instantiated).

        Returns:
            1 if the task was pending, 0 if it was already done.

        Raises:
            TypeError: If the exception is a `StopIteration`.
        """
        exception = _as_exception(exception, "cancel_with")
        state = self._state
        if state & DONE:
            self._state = state | SILENCED
            return 0
        if self._loop._loop_thread_id != get_ident():
            if _hops_to(self._loop):
                return call_on_owner(self._loop, self.cancel_with, exception)
            _refuse_foreign_thread(self, "cancel_with")
        self._cancel_exception = exception
        self._state = state | CANCELLING
        waited = self._waited_future
        if waited is not None:
            waited.cancel()
        return 1

    def is_cancelling(self) -> bool:
        """Return whether a cancellation was requested and has not been delivered yet."""
        if self._state & DONE:
            return False
        waited = self._waited_future
        if waited is not None and (waited.is_cancelled() or waited.is_cancelling()):
            return True
        return bool(self._state & CANCELLING)

    # ---- introspection ------------------------------------------------------------------------

    def get_stack(self, limit: int = -1) -> list[FrameType]:
        """Return the frames of the await chain, outermost first.

        Args:
            limit: The most frames to return; negative for all.

        Returns:
            The frames; empty once the task is done.
        """
        frames: list[FrameType] = []
        awaited: object = self._coroutine
        while awaited is not None and len(frames) != limit:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if not isinstance(frame, FrameType):
                break
            frames.append(frame)
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        return frames

    def format_stack(self, limit: int = -1) -> str:
        """Return the await chain as text, one `File ..., line ..., in ...` entry per frame.

        Args:
            limit: The most frames to show; negative for all.
        """
        lines = [f"Stack for {self!r} (most recent call last):"]
        for frame in self.get_stack(limit):
            code = frame.f_code
            lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
        if self._waited_future is not None:
            lines.append(f"  waiting on {self._waited_future!r}")
        return "\n".join(lines)

    def print_stack(self, limit: int = -1, file: TextIO | None = None) -> None:
        """Write `format_stack` to `file` (standard error by default).

        Args:
            limit: The most frames to show; negative for all.
            file: Where to write.
        """
        print(self.format_stack(limit), file=sys.stderr if file is None else file)

    def __repr__(self) -> str:
        text = super().__repr__()
        return f"{text[:-1]}, coroutine = {self.qualname}>"


_task_step: Callable[[Task[Any]], None] = Task._step  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def _forget_step_frame(exception: BaseException) -> None:
    """Drop the task step's own frame from the traceback of an exception that ended the task.

    The step's frame holds the task (`self`), and the task holds the exception, so keeping the frame
    made a reference cycle: a failed task nobody awaited was reported only when the garbage collector
    happened to run, maybe never. Without that frame the task is freed as soon as the loop lets go of
    it, and its unretrieved exception is reported at once. The traceback still starts at the user's
    coroutine; the step is loop machinery the user has no use for.

    From Python 3.12 on, the finished coroutine's frame in the traceback also links to the frames that
    called it (`f_back`), which keep the locals they hold when they return: so `_step`, `_run` and
    `_throw_in` delete `self` before they return, and the drains clear their `item`.
    """
    traceback = exception.__traceback__
    if traceback is not None and traceback.tb_next is not None:
        exception.__traceback__ = traceback.tb_next


_allocate: Callable[[type[Task[Any]]], Task[Any]] = object.__new__


def _new_task(loop: EventLoop, coroutine: Coroutine[Any, Any, T]) -> Task[T]:  # pyright: ignore[reportUnusedFunction]
    """Build a task for `loop` without queueing it; the loop queues its first step.

    The slots are filled here rather than by `__init__` (which also schedules): the loop makes a task
    for every `create_task`, and one Python call less counts there.
    """
    task: Task[T] = _allocate(Task)
    task._loop = loop
    task._state = 0
    task._callbacks = None
    task._timer = None
    task._coroutine = coroutine
    task._context = copy_context()
    task._waited_future = None
    task._cancel_exception = None
    return task

