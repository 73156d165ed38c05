"""`Future[T]`: a result that will be available later (core layer).

A future belongs to one loop and is used from that loop's thread. Completing it queues its callbacks
on the ready queue in registration order (they never run inside `set_result`). Tasks waiting on a
future sit in the same callback list as the task object itself, so waking a task allocates nothing.

The future knows its loop only through the `EventLoop` protocol of `abc.py`.
"""

from __future__ import annotations

import threading
import types
from contextvars import Context
from _thread import get_ident
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar, final

from typing_extensions import Self

from .reporting import report_error
from .abc import Cancellable, EventLoop, Runnable
from .exceptions import CancelledError, InvalidStateError
from .foreign import ForeignFutureFace, run_in_context
from .handles import Handle
from .unretrieved import remember_failed, report_unretrieved_exceptions

from .wrappers import FutureWrapperAsync, FutureWrapperSync, call_on_owner

__all__ = ("Future", "drive_task_of", "new_future", "report_unretrieved_exceptions")

T = TypeVar("T")

# State bits. A future is done once any of DONE's bits is set; cancel_with sets CANCELLED | RAISE.
PENDING = 0
RETURN = 1
RAISE = 2
RETRIEVED = 4
CANCELLING = 8
CANCELLED = 16
SILENCED = 64
DONE = RETURN | RAISE | CANCELLED
QUIET = RETRIEVED | CANCELLED | SILENCED

def _as_exception(exception: BaseException | type[BaseException], location: str) -> BaseException:
    if isinstance(exception, type):
        exception = exception()
    if isinstance(exception, StopIteration):
        raise TypeError(
            f"{location} cannot take StopIteration; it would silently end the awaiting coroutine, raise another exception"
        )
    return exception


# An executor thread driving a task's coroutine inside `async with enter_executor():` records the
# task's loop here. Resolving or cancelling a future of that loop from such a thread is what the block
# is written for, so those calls are carried out on the loop thread (the executor thread waits for
# them there) instead of being refused. Only the foreign-thread path ever reads this.
_DRIVING = threading.local()


def drive_task_of(loop: EventLoop | None) -> None:
    """Mark this thread as driving a task of `loop` inside `enter_executor()`; `None` clears the mark."""
    _DRIVING.loop = loop


def _hops_to(loop: EventLoop) -> bool:
    """Return whether this (foreign) thread carries its calls on `loop`'s futures over to the loop thread."""
    return getattr(_DRIVING, "loop", None) is loop


def _refuse_foreign_thread(future: Future[Any], location: str) -> None:
    """Raise unless the future's loop is idle (not started or stopped), where any thread may touch it."""
    loop = future._loop
    if loop._loop_thread_id and not loop.is_closed():
        wrapped = "" if location == "add_done_callback" else f"future.sync_wrap().{location}(...) or "
        raise RuntimeError(
            f"{type(future).__name__}.{location} called from a thread that is not its loop's; use "
            f"{wrapped}loop.call_soon_thread_safe(future.{location}, ...)"
        )


@final
class _DoneCallback(Runnable):
    """A done-callback waiting in a future: calls `callback(future)` (no argument tuple to allocate)."""

    __slots__ = ("callback", "future")

    def __init__(self, callback: Callable[[Any], object], future: Future[Any]) -> None:
        self.callback = callback
        self.future = future

    def _run(self) -> None:
        self.callback(self.future)

    def __repr__(self) -> str:
        return f"<done-callback {self.callback!r}>"


class Future(ForeignFutureFace[T], Generic[T]):
    """A result of type `T` that will be set later, awaitable from tasks of its loop.

    Args:
        loop: The loop the future belongs to; its callbacks run there.
    """

    __slots__ = ("__weakref__", "_callbacks", "_exception", "_loop", "_result", "_state", "_timer")

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        self._state = PENDING
        # One callback is stored as itself, several as a list: most futures have exactly one waiter.
        self._callbacks: Runnable | list[Runnable] | None = None
        self._timer: Cancellable | None = None
        # `_result` is set with RETURN and `_exception` with RAISE; neither is read in other states.
        self._result: T
        self._exception: BaseException | None
        # `new_future` sets the same fields: keep the two alike.

    # ---- state queries ------------------------------------------------------------------------

    def is_pending(self) -> bool:
        """Return whether the future has neither a result, an exception nor a cancellation."""
        return not self._state & DONE

    def is_done(self) -> bool:
        """Return whether the future is finished (with a result, an exception, or cancelled)."""
        return bool(self._state & DONE)

    def is_cancelled(self) -> bool:
        """Return whether the future was cancelled (`cancel_with` counts too)."""
        return bool(self._state & CANCELLED)

    def is_cancelling(self) -> bool:
        """Return whether a cancellation was requested but has not landed yet."""
        return self._state & (CANCELLING | DONE) == CANCELLING

    def is_silenced(self) -> bool:
        """Return whether an unretrieved exception of this future would go unreported."""
        return bool(self._state & (RETURN | QUIET))

    def silence(self) -> None:
        """Never report this future's exception as unretrieved."""
        self._state |= SILENCED

    @property
    def loop(self) -> EventLoop:
        """The loop the future belongs to."""
        return self._loop

    def get_state_name(self) -> str:
        """Return the state as a short text: `pending`, `cancelled`, `result~return`, ..."""
        state = self._state
        if state & RETURN:
            name = "result~return"
        elif state & CANCELLED:
            name = "cancelled"
        elif state & RAISE:
            name = "result~raise~retrieved" if state & RETRIEVED else "result~raise"
        elif state & CANCELLING:
            name = "pending, cancelling~self"
        else:
            name = "pending"
        if state & SILENCED:
            name += ", silenced"
        return name

    # ---- reading the outcome ------------------------------------------------------------------

    def get_result(self) -> T:
        """Return the result, or raise the exception the future finished with.

        Returns:
            The result.

        Raises:
            CancelledError: If the future was cancelled.
            InvalidStateError: If the future is still pending.
            BaseException: The exception set on the future (it then counts as retrieved).
        """
        state = self._state
        if state & RETURN:
            return self._result
        if state & RAISE:
            self._state = state | RETRIEVED
            exception = self._exception
            assert exception is not None
            raise exception
        if state & CANCELLED:
            raise CancelledError()
        raise InvalidStateError(self, "get_result")

    def get_exception(self) -> BaseException | None:
        """Return the exception the future finished with, marking it retrieved.

        Returns:
            The exception, a new `CancelledError` if the future was cancelled, or `None` after a result.

        Raises:
            InvalidStateError: If the future is still pending.
        """
        state = self._state
        if state & RETURN:
            return None
        if state & RAISE:
            self._state = state | RETRIEVED
            return self._exception
        if state & CANCELLED:
            return CancelledError()
        raise InvalidStateError(self, "get_exception")

    def get_cancellation_exception(self) -> BaseException | None:
        """Return what a cancelled future raises: the `cancel_with` exception or a `CancelledError`.

        Returns:
            `None` if the future was not cancelled.
        """
        state = self._state
        if not state & CANCELLED:
            return None
        if state & RAISE:
            return self._exception
        return CancelledError()

    # ---- completing -------------------------------------------------------------------------

    def _complete(self, state: int, location: str) -> None:
        """Enter a done state and queue the callbacks; the caller checked the future was pending."""
        loop = self._loop
        foreign = loop._loop_thread_id != get_ident()
        if foreign:
            _refuse_foreign_thread(self, location)
        self._state = state | (self._state & SILENCED)
        callbacks = self._callbacks
        if callbacks is not None:
            self._callbacks = None
            if isinstance(callbacks, list):
                loop._ready.extend(callbacks)
            else:
                loop._ready.append(callbacks)
            if foreign:
                loop.wake_up()
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def set_result(self, result: T) -> None:
        """Finish the future with a result.

        Args:
            result: The result.

        Raises:
            InvalidStateError: If the future is already done.
            RuntimeError: If called from another thread while the loop runs.
        """
        state = self._state
        if state & DONE:
            raise InvalidStateError(self, "set_result")
        # `_complete` inlined: this is the hot path of every future resolution.
        loop = self._loop
        if loop._loop_thread_id != get_ident():
            if _hops_to(loop):
                call_on_owner(loop, self.set_result, result)
                return
            self._result = result
            self._complete(RETURN, "set_result")
            return
        self._result = result
        # A pending future's state is almost always 0; `int & int` is not a specialised bytecode.
        self._state = RETURN | (state & SILENCED) if state else RETURN
        callbacks = self._callbacks
        if callbacks is not None:
            self._callbacks = None
            if isinstance(callbacks, list):
                loop._ready.extend(callbacks)
            else:
                loop._ready.append(callbacks)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def set_result_if_pending(self, result: T) -> int:
        """Finish the future with a result unless it is already done.

        Args:
            result: The result.

        Returns:
            1 if the result was set, 0 if the future was already done.
        """
        state = self._state
        if state & DONE:
            return 0
        loop = self._loop
        if loop._loop_thread_id != get_ident():
            if _hops_to(loop):
                return call_on_owner(loop, self.set_result_if_pending, result)
            self._result = result
            self._complete(RETURN, "set_result_if_pending")
            return 1
        self._result = result
        # `_complete` inlined, as in `set_result`: locks and timers resolve futures this way.
        self._state = RETURN | (state & SILENCED) if state else RETURN
        callbacks = self._callbacks
        if callbacks is not None:
            self._callbacks = None
            if isinstance(callbacks, list):
                loop._ready.extend(callbacks)
            else:
                loop._ready.append(callbacks)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return 1

    def _store_exception(self, exception: BaseException) -> None:
        self._exception = exception
        remember_failed(self)

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Finish the future with an exception (a class is instantiated).

        Args:
            exception: The exception or exception class.

        Raises:
            InvalidStateError: If the future is already done.
            TypeError: If the exception is a `StopIteration`.
        """
        if self._state & DONE:
            raise InvalidStateError(self, "set_exception")
        exception = _as_exception(exception, "set_exception")
        if self._loop._loop_thread_id != get_ident() and _hops_to(self._loop):
            call_on_owner(self._loop, self.set_exception, exception)
            return
        self._store_exception(exception)
        self._complete(RAISE, "set_exception")

    def set_exception_if_pending(self, exception: BaseException | type[BaseException]) -> int:
        """Finish the future with an exception unless it is already done.

        Args:
            exception: The exception or exception class.

        Returns:
            1 if the exception was set, 0 if the future was already done.

        Raises:
            TypeError: If the exception is a `StopIteration`.
        """
        exception = _as_exception(exception, "set_exception_if_pending")
        if self._state & DONE:
            return 0
        if self._loop._loop_thread_id != get_ident() and _hops_to(self._loop):
            return call_on_owner(self._loop, self.set_exception_if_pending, exception)
        self._store_exception(exception)
        self._complete(RAISE, "set_exception_if_pending")
        return 1

    def cancel(self, msg: object = None) -> int:
        """Cancel the future; a done future only gets silenced and keeps its outcome.

        Args:
            msg: Ignored; accepted as asyncio's tasks pass it to the future they wait on.

        Returns:
            1 if the future was pending and is now cancelled, 0 otherwise.
        """
        if self._state & DONE:
            self._state |= SILENCED
            return 0
        if self._loop._loop_thread_id != get_ident() and _hops_to(self._loop):
            return call_on_owner(self._loop, self.cancel)
        self._complete(CANCELLED, "cancel")
        return 1

    def cancel_with(self, exception: BaseException | type[BaseException]) -> int:
        """Cancel the future so that awaiting it raises `exception` instead of `CancelledError`.

        Args:
            exception: The exception or exception class (a class is instantiated).

        Returns:
            1 if the future was pending and is now cancelled, 0 otherwise.

        Raises:
            TypeError: If the exception is a `StopIteration`.
        """
        exception = _as_exception(exception, "cancel_with")
        if self._state & DONE:
            self._state |= SILENCED
            return 0
        if self._loop._loop_thread_id != get_ident() and _hops_to(self._loop):
            return call_on_owner(self._loop, self.cancel_with, exception)
        self._exception = exception
        self._complete(CANCELLED | RAISE, "cancel_with")
        return 1

    def apply_timeout(self, timeout: float) -> int:
        """Cancel the future with a `TimeoutError` unless it finishes within `timeout` seconds.

        Several timeouts may be applied; the earliest wins.

        Args:
            timeout: Seconds from now; zero or less cancels at once.

        Returns:
            1 if a timeout was applied, 0 if the future is already done.
        """
        if self._state & DONE:
            return 0
        if timeout <= 0.0:
            self.cancel_with(TimeoutError)
            return 1
        loop = self._loop
        timer = loop.call_at(loop.time() + timeout, self.cancel_with, TimeoutError)
        if self._timer is None:
            self._timer = timer
        else:
            self.add_done_callback(lambda _: timer.cancel())
        return 1

    # ---- callbacks ----------------------------------------------------------------------------

    def _add_runnable(self, item: Runnable) -> None:
        """Queue `item` when the future is done (at once if it already is)."""
        if self._state & DONE:
            loop = self._loop
            loop._ready.append(item)
            if loop._loop_thread_id != get_ident():
                loop.wake_up()
            return
        callbacks = self._callbacks
        if callbacks is None:
            self._callbacks = item
        elif isinstance(callbacks, list):
            callbacks.append(item)
        else:
            self._callbacks = [callbacks, item]

    def add_done_callback(self, callback: Callable[[Self], object], *, context: Context | None = None) -> None:
        """Call `callback(future)` on the loop thread once the future is done.

        Callbacks run in registration order, always from the ready queue (never inside this call or
        inside `set_result`).

        Args:
            callback: The function to call with the future.
            context: The context to run it in (asyncio's argument); by default the loop thread's.

        Raises:
            RuntimeError: If called from another thread while the loop runs (registering would race
                with the loop completing the future; use `loop.call_soon_thread_safe`).
        """
        if self._loop._loop_thread_id != get_ident():
            if _hops_to(self._loop):
                call_on_owner(self._loop, self.add_done_callback, run_in_context(context, callback))
                return
            _refuse_foreign_thread(self, "add_done_callback")
        if context is not None:
            callback = run_in_context(context, callback)
        handle = _DoneCallback(callback, self)
        callbacks = self._callbacks
        if self._state & DONE:
            self._add_runnable(handle)
        elif callbacks is None:
            self._callbacks = handle
        elif isinstance(callbacks, list):
            callbacks.append(handle)
        else:
            self._callbacks = [callbacks, handle]

    def _subscribe_before_queued(self, callback: Callable[[Self], object]) -> None:
        """Register a done-callback from any thread on a task no loop has seen yet (nothing to race)."""
        self._add_runnable(_DoneCallback(callback, self))

    def remove_done_callback(self, callback: Callable[[Self], object]) -> int:
        """Remove every registration of `callback`.

        Args:
            callback: A function passed to `add_done_callback` (compared with `==`).

        Returns:
            How many registrations were removed.
        """
        callbacks = self._callback_list()
        kept = [item for item in callbacks if not (isinstance(item, _DoneCallback) and item.callback == callback)]
        removed = len(callbacks) - len(kept)
        if removed:
            self._callbacks = None if not kept else kept[0] if len(kept) == 1 else kept
        return removed

    def _callback_list(self) -> list[Runnable]:
        callbacks = self._callbacks
        if callbacks is None:
            return []
        if isinstance(callbacks, list):
            return callbacks
        return [callbacks]

    def iter_callbacks(self) -> Iterator[Callable[[], object] | Callable[..., object]]:
        """Iterate over the registered callbacks (a waiting task appears as its step function)."""
        for item in self._callback_list():
            yield item.callback if isinstance(item, (Handle, _DoneCallback)) else item._run

    # ---- awaiting -----------------------------------------------------------------------------

    def __await__(self) -> Generator[Future[T], None, T]:
        # A generator, not a hand-written iterator: resuming a generator stays in C, which measured
        # faster than a Python `__next__` called through the iterator slot.
        if not self._state & DONE:
            yield self
        if self._state & RETURN:  # the common case, without a method call
            return self._result
        return self.get_result()

    __iter__ = __await__

    def sync_wrap(self) -> FutureWrapperSync[T]:
        """Return a view of this future for plain threads: `wait()` blocks until it is done.

        State changes made through the view are carried out on the future's loop thread.
        """
        return FutureWrapperSync(self)

    def async_wrap(self, loop: EventLoop) -> FutureWrapperAsync[T]:
        """Return a view of this future that tasks of another loop can await.

        Args:
            loop: The loop whose tasks will await the view.
        """
        return FutureWrapperAsync(self, loop)

    def _new_on(self, loop: EventLoop) -> Future[Any]:
        """Return a new pending plain future of `loop`: for the wrappers, which cannot import this class.

        (The `EventLoop` protocol has no `create_future`: pyright cannot match a method generic only in
        its result structurally.)
        """
        return new_future(loop)

    def wait_for_completion(self) -> Awaitable[None]:
        """Wait until the future is done without retrieving its result or exception.

        Returns:
            An awaitable resolving to `None`.
        """
        return _wait_done(self)

    # ---- reporting ----------------------------------------------------------------------------

    def __repr__(self) -> str:
        parts = [f"<{type(self).__name__} state = {self.get_state_name()}"]
        state = self._state
        if state & RETURN:
            parts.append(f"result = {self._result!r}")
        elif state & RAISE:
            parts.append(f"{'cancellation_exception' if state & CANCELLED else 'exception'} = {self._exception!r}")
        if self._callbacks is not None:
            parts.append(f"callbacks = {len(self._callback_list())}")
        return ", ".join(parts) + ">"

    def _report_if_unretrieved(self) -> bool:
        """Report an exception nobody retrieved, once; return whether a report was made."""
        state = self._state
        if state & RAISE and not state & QUIET:
            message = f"{type(self).__name__} exception was never retrieved: {self!r}"
            self._state = state | SILENCED  # set before reporting, so each exception is reported once
            report_error(message, self._exception)
            return True
        return False

    def __del__(self) -> None:
        try:
            # Every future passes through here; most finished quietly or were never waited on, so
            # return before any method call (the finalizer was ~150 ns of each future's ~300 ns life).
            state = self._state
            if state & RETURN:
                return
            if state & RAISE:
                if state & QUIET:
                    return
            elif state & DONE or self._callbacks is None:
                return
            if self._loop.is_closed():
                return
            if not self._report_if_unretrieved() and not self._state & DONE and self._callbacks is not None:
                report_error(f"{type(self).__name__} is not finished, but still pending: {self!r}")
        except BaseException:  # never raise from a finalizer, even at interpreter shutdown
            pass


_allocate: Callable[[type[Future[Any]]], Future[Any]] = object.__new__


def new_future(loop: EventLoop) -> Future[T]:
    """Return a new pending future bound to `loop` (this is `EventThread.create_future`).

    The same as `Future(loop)`, but allocating and filling the slots here skips the second Python
    call into `__init__`; futures are made on every hop of every waiting task, so it counts.
    """
    future: Future[T] = _allocate(Future)
    future._loop = loop
    future._state = PENDING
    future._callbacks = None
    future._timer = None
    return future


@types.coroutine
def _wait_done(future: Future[T]) -> Generator[Future[T], None, None]:
    if not future._state & DONE:
        yield future
