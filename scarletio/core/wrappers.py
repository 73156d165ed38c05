"""Cross-thread views of a future: `sync_wrap()` for plain threads, `async_wrap(loop)` for other loops.

Part of the core layer (futures create them). A future belongs to its loop's thread; these wrappers are
how other threads and other loops wait for it and change its state. Every state change is carried out
on the owning loop's thread (the call waits for it there), so no race with the loop is possible.
"""

from __future__ import annotations

import concurrent.futures
from _thread import get_ident
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from .thread_signal import ThreadSignal
from .abc import EventLoop
from .exceptions import CancelledError

if TYPE_CHECKING:
    from .futures import Future

__all__ = ("FutureWrapperAsync", "FutureWrapperSync", "call_on_owner", "copy_outcome")

T = TypeVar("T")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

CANCELLATION_GRACE_SECONDS = 0.1
"""How long a timed-out `wait(..., propagate_cancellation=True)` waits for the cancellation to land."""


def _runs_here(loop: EventLoop) -> bool:
    """Return whether this thread may touch `loop`'s objects: it is the loop thread, or the loop is idle."""
    return loop._loop_thread_id == get_ident() or not loop._loop_thread_id or loop.is_closed()


def call_on_owner(loop: EventLoop, function: Callable[[Unpack[Ts]], R], *args: Unpack[Ts]) -> R:
    """Call `function(*args)` on `loop`'s thread, blocking this thread until it returned there.

    Runs it here at once on the loop thread itself or when the loop is idle (not started, or stopped).
    The function's exception is raised here.
    """
    if _runs_here(loop):
        return function(*args)
    outcome: concurrent.futures.Future[R] = concurrent.futures.Future()

    def call() -> None:
        try:
            outcome.set_result(function(*args))
        except BaseException as error:
            outcome.set_exception(error)

    loop.call_soon(call)
    return outcome.result()


class _WrapperBase(Generic[T]):
    """The state methods both wrappers forward to the wrapped future."""

    __slots__ = ("future",)

    def __init__(self, future: Future[T]) -> None:
        self.future: Future[T] = future

    def _on_owner(self, function: Callable[[Unpack[Ts]], R], *args: Unpack[Ts]) -> R:
        """Call `function(*args)` on the future's loop thread and return its result here."""
        return call_on_owner(self.future._loop, function, *args)

    def is_pending(self) -> bool:
        """Return whether the wrapped future is pending."""
        return self.future.is_pending()

    def is_done(self) -> bool:
        """Return whether the wrapped future is done."""
        return self.future.is_done()

    def is_cancelled(self) -> bool:
        """Return whether the wrapped future was cancelled."""
        return self.future.is_cancelled()

    def is_cancelling(self) -> bool:
        """Return whether a cancellation of the wrapped future is on its way."""
        return self.future.is_cancelling()

    def is_silenced(self) -> bool:
        """Return whether the wrapped future's exception would go unreported."""
        return self.future.is_silenced()

    def get_result(self) -> T:
        """Return the wrapped future's result or raise its exception (see `Future.get_result`)."""
        return self.future.get_result()

    def get_exception(self) -> BaseException | None:
        """Return the wrapped future's exception (see `Future.get_exception`)."""
        return self.future.get_exception()

    def get_cancellation_exception(self) -> BaseException | None:
        """Return what the wrapped future raises because it was cancelled, if it was."""
        return self.future.get_cancellation_exception()

    def silence(self) -> None:
        """Never report the wrapped future's exception as unretrieved."""
        self._on_owner(self.future.silence)

    def cancel(self, msg: object = None) -> int:
        """Cancel the wrapped future on its loop; return 1 if it was pending, else 0."""
        return self._on_owner(self.future.cancel)

    def cancel_with(self, exception: BaseException | type[BaseException]) -> int:
        """Cancel the wrapped future with `exception` on its loop; return 1 if it was pending."""
        return self._on_owner(self.future.cancel_with, exception)

    def set_result(self, result: T) -> None:
        """Set the wrapped future's result on its loop (raises as `Future.set_result` would)."""
        self._on_owner(self.future.set_result, result)

    def set_result_if_pending(self, result: T) -> int:
        """Set the wrapped future's result on its loop unless it is done; return 1 if set."""
        return self._on_owner(self.future.set_result_if_pending, result)

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Set the wrapped future's exception on its loop (raises as `Future.set_exception` would)."""
        self._on_owner(self.future.set_exception, exception)

    def set_exception_if_pending(self, exception: BaseException | type[BaseException]) -> int:
        """Set the wrapped future's exception on its loop unless it is done; return 1 if set."""
        return self._on_owner(self.future.set_exception_if_pending, exception)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.future!r}>"


class FutureWrapperSync(_WrapperBase[T]):
    """Waits for a future from a thread that is not an event loop (blocking that thread).

    Args:
        future: The future to wait for.
    """

    __slots__ = ()

    def _wait_done(self, timeout: float | None, propagate_cancellation: bool) -> bool:
        future = self.future
        if future.is_done():
            return True
        loop = future._loop
        if loop._loop_thread_id == get_ident():
            raise RuntimeError(
                "sync_wrap().wait() called on the future's own loop thread, which would deadlock; await the future"
            )
        if loop.is_closed():
            raise RuntimeError(f"{future!r} can never finish: its event loop is stopped")
        finished = ThreadSignal()
        release = finished.set
        virtual = getattr(loop, "_virtual", None)
        if virtual is not None:  # on virtual time, a deadlock fails this wait instead of hanging it
            virtual.outside_waits.add(future)
        loop.call_soon(future.add_done_callback, release)
        try:
            if finished.wait(timeout):
                return True
        except BaseException as interrupt:
            if not finished.is_set():
                if propagate_cancellation:
                    interrupt.__cause__ = self._cancel_and_collect(finished)
                self._unsubscribe(release)
            raise
        finally:
            if virtual is not None:
                virtual.outside_waits.discard(future)
        if propagate_cancellation:
            cause = self._cancel_and_collect(finished)
            self._unsubscribe(release)
            raise TimeoutError(f"waiting for {future!r} timed out after {timeout} seconds") from cause
        self._unsubscribe(release)
        return False

    def _unsubscribe(self, release: Callable[[object], object]) -> None:
        """Take the wait's done-callback off the future, on its loop thread, and wait until it is off.

        The wait lasts at most `CANCELLATION_GRACE_SECONDS`, so a busy loop cannot hold up a timed-out
        or interrupted wait; the callback then comes off as soon as the loop runs again.
        """
        future = self.future
        loop = future._loop
        if _runs_here(loop):
            future.remove_done_callback(release)
            return
        removed = ThreadSignal()

        def remove() -> None:
            future.remove_done_callback(release)
            removed.set()

        try:
            loop.call_soon(remove)
        except RuntimeError:  # the loop is stopping: it runs no callback any more
            return
        removed.wait(CANCELLATION_GRACE_SECONDS)

    def _cancel_and_collect(self, finished: ThreadSignal) -> BaseException | None:
        future = self.future
        try:
            future._loop.call_soon(future.cancel)
        except RuntimeError:
            return None
        if finished.wait(CANCELLATION_GRACE_SECONDS):
            return future.get_exception()
        return None

    def wait(self, timeout: float | None = None, propagate_cancellation: bool = False) -> T:
        """Block until the future is done and return its result (or raise its exception).

        Args:
            timeout: Seconds to wait at most.
            propagate_cancellation: On timeout or interruption, also cancel the future.

        Returns:
            The result.

        Raises:
            TimeoutError: If the timeout passed (its cause is the future's exception when
                `propagate_cancellation` cancelled it).
            RuntimeError: If called on the future's own loop thread, or the loop is stopped.
        """
        if not self._wait_done(timeout, propagate_cancellation):
            raise TimeoutError(f"waiting for {self.future!r} timed out after {timeout} seconds")
        return self.future.get_result()

    def wait_for_completion(self, timeout: float | None = None, propagate_cancellation: bool = False) -> bool:
        """Block until the future is done, without retrieving its result.

        Args:
            timeout: Seconds to wait at most.
            propagate_cancellation: On timeout or interruption, also cancel the future.

        Returns:
            Whether the future finished in time.
        """
        try:
            return self._wait_done(timeout, propagate_cancellation)
        except TimeoutError:
            return False


class FutureWrapperAsync(_WrapperBase[T]):
    """Lets tasks of another event loop await a future.

    Every wait (`await wrapper`, `wait`, `wait_for_completion`) registers a done-callback on the
    wrapped future and takes it off again before it returns, whatever the outcome (result, timeout,
    cancellation of the waiting task); the callback is added and removed on the future's own loop
    thread, and the waiting task waits for the removal to have happened there.

    Args:
        future: The future to wait for.
        loop: The loop whose tasks will await the wrapper.
    """

    __slots__ = ("loop",)

    def __init__(self, future: Future[T], loop: EventLoop) -> None:
        super().__init__(future)
        self.loop: EventLoop = loop

    # ---- hops to the future's loop --------------------------------------------------------------

    def _queue_on_owner(self, function: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> bool:
        """Run `function(*args)` on the future's loop: now if possible, else queued there.

        Returns:
            False if the future's loop is stopping and runs nothing any more.
        """
        owner = self.future._loop
        if _runs_here(owner):
            function(*args)
            return True
        try:
            owner.call_soon(function, *args)
        except RuntimeError:
            return False
        return True

    async def _on_owner_async(self, function: Callable[[Unpack[Ts]], R], *args: Unpack[Ts]) -> R | None:
        """Run `function(*args)` on the future's loop thread and wait here, without blocking this loop.

        A cancellation of the waiting task meanwhile is held back until the call has run, then raised.
        A busy loop holds this wait up for at most `CANCELLATION_GRACE_SECONDS`; the call still runs
        there later.

        Returns:
            The function's result, or `None` if the future's loop is stopping, or did not get to it in
            time.
        """
        owner = self.future._loop
        if _runs_here(owner):
            return function(*args)
        loop = self.loop
        outcome: Future[R] = self.future._new_on(loop)

        def call() -> None:
            try:
                value = function(*args)
            except BaseException as error:
                _deliver(loop, outcome.set_exception_if_pending, error)
            else:
                _deliver(loop, outcome.set_result_if_pending, value)

        try:
            owner.call_soon(call)
        except RuntimeError:
            return None
        await _wait_uncancellable(loop, outcome, CANCELLATION_GRACE_SECONDS)
        return outcome.get_result() if outcome.is_done() else None

    # ---- waiting ----------------------------------------------------------------------------------

    async def _settle(self, timeout: float | None, propagate_cancellation: bool) -> tuple[bool, BaseException | None]:
        """Wait until the future is done or `timeout` passed; leave no callback behind.

        Returns:
            Whether the future is done, and (when a timeout cancelled it) the exception it ended with.
        """
        source = self.future
        if source.is_done():
            return True, None
        loop = self.loop
        waiter: Future[bool] = source._new_on(loop)

        def forward(_: Future[T]) -> None:
            _deliver(loop, waiter.set_result_if_pending, True)

        if not self._queue_on_owner(source.add_done_callback, forward):
            raise RuntimeError(f"{source!r} can never finish: its event loop is stopping")
        timer = None if timeout is None else loop.call_after(timeout, waiter.set_result_if_pending, False)
        try:
            finished = await waiter
        except GeneratorExit:  # the waiting coroutine is being closed: no await possible any more
            self._queue_on_owner(source.remove_done_callback, forward)
            if propagate_cancellation:
                self._queue_on_owner(source.cancel)
            raise
        except BaseException as interrupt:
            if timer is not None:
                timer.cancel()
            await self._on_owner_async(source.remove_done_callback, forward)
            if propagate_cancellation and not source.is_done():
                interrupt.__cause__ = await self._propagate_cancellation()
            raise
        if timer is not None:
            timer.cancel()
        if finished:
            return True, None
        await self._on_owner_async(source.remove_done_callback, forward)
        if source.is_done():  # it finished while the timeout fired: its outcome is not lost
            return True, None
        if propagate_cancellation:
            return False, await self._propagate_cancellation()
        return False, None

    async def _propagate_cancellation(self) -> BaseException | None:
        """Cancel the future on its loop and give the cancellation a moment to land (a task has to
        run once to see it); return the exception the future ended with, if it did."""
        source = self.future
        await self._on_owner_async(source.cancel)
        if not source.is_done():
            await self._settle(CANCELLATION_GRACE_SECONDS, False)
        return source.get_exception() if source.is_done() else None

    def __await__(self) -> Generator[object, None, T]:
        return self.wait().__await__()

    __iter__ = __await__

    async def wait(self, timeout: float | None = None, propagate_cancellation: bool = False) -> T:
        """Wait for the future and return its result (or raise its exception).

        Args:
            timeout: Seconds to wait at most.
            propagate_cancellation: On timeout or when the waiting task is cancelled, also cancel the
                wrapped future (and wait briefly for that to land).

        Raises:
            TimeoutError: If the timeout passed; its cause is the future's exception when
                `propagate_cancellation` cancelled it.
        """
        finished, cause = await self._settle(timeout, propagate_cancellation)
        if not finished:
            raise TimeoutError(f"waiting for {self.future!r} timed out after {timeout} seconds") from cause
        return self.future.get_result()

    async def wait_for_completion(self, timeout: float | None = None, propagate_cancellation: bool = False) -> bool:
        """Wait until the future is done, without retrieving its result.

        Args:
            timeout: Seconds to wait at most.
            propagate_cancellation: On timeout or when the waiting task is cancelled, also cancel the
                wrapped future.

        Returns:
            Whether the future finished in time.
        """
        finished, _ = await self._settle(timeout, propagate_cancellation)
        return finished


def _deliver(loop: EventLoop, setter: Callable[[R], object], value: R) -> None:
    """Call `setter(value)` on `loop`'s thread (from any thread); nothing happens once it stopped."""
    if loop._loop_thread_id == get_ident():
        setter(value)
        return
    try:
        loop.call_soon(setter, value)
    except RuntimeError:  # the waiting loop stopped; its waiting task was cancelled
        pass


class _Release:
    """A done-callback resolving another future of the same loop."""

    __slots__ = ("guard",)

    def __init__(self, guard: Future[None]) -> None:
        self.guard = guard

    def __call__(self, _: Future[Any]) -> None:
        self.guard.set_result_if_pending(None)


async def _wait_uncancellable(loop: EventLoop, future: Future[Any], limit: float) -> None:
    """Wait until `future` is done or `limit` seconds passed; a cancellation of the waiting task
    meanwhile is raised afterwards.

    The waiting task never waits on `future` itself, so cancelling the task cannot cancel it.
    """
    cancellation: BaseException | None = None
    end = loop.time() + limit
    while not future.is_done() and loop.time() < end:
        guard: Future[None] = future._new_on(loop)
        release = _Release(guard)
        future.add_done_callback(release)
        timer = loop.call_at(end, guard.set_result_if_pending, None)
        try:
            await guard
        except CancelledError as error:
            cancellation = error
        finally:
            timer.cancel()
            future.remove_done_callback(release)
    if cancellation is not None:
        raise cancellation


def copy_outcome(source: Future[T], target: Future[T]) -> None:
    """Make `target` finish like the done future `source`, unless `target` is done already.

    A cancellation is copied as one (with its `cancel_with` exception, if any); call it on `target`'s
    loop thread.
    """
    if target.is_done():
        return
    if source.is_cancelled():
        exception = source.get_cancellation_exception()
        if exception is None or isinstance(exception, CancelledError):
            target.cancel()
        else:
            target.cancel_with(exception)
        return
    exception = source.get_exception()
    if exception is None:
        target.set_result(source.get_result())
    else:
        target.set_exception(exception)
