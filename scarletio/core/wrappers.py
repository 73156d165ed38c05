"""Cross-thread views of a future: `sync_wrap()` for plain threads, `async_wrap(loop)` for other loops.

Part of the core layer (futures create them). A future belongs to its loop's thread; these wrappers are
how other threads and other loops wait for it and change its state. Every state change is carried out
on the owning loop's thread (the call waits for it there), so no race with the loop is possible.
"""

from __future__ import annotations

import concurrent.futures
from _thread import get_ident
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Generic, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from .thread_signal import ThreadSignal
from .abc import EventLoop
from .exceptions import CancelledError

if TYPE_CHECKING:
    from .futures import Future

__all__ = ("FutureWrapperAsync", "FutureWrapperSync", "copy_outcome")

T = TypeVar("T")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

CANCELLATION_GRACE_SECONDS = 0.1
"""How long a timed-out `wait(..., propagate_cancellation=True)` waits for the cancellation to land."""


class _WrapperBase(Generic[T]):
    """The state methods both wrappers forward to the wrapped future."""

    __slots__ = ("future",)

    def __init__(self, future: Future[T]) -> None:
        self.future: Future[T] = future

    def _on_owner(self, function: Callable[[Unpack[Ts]], R], *args: Unpack[Ts]) -> R:
        """Call `function(*args)` on the future's loop thread and return its result here."""
        loop = self.future._loop
        if loop._loop_thread_id == get_ident() or not loop._loop_thread_id or loop.is_closed():
            return function(*args)
        outcome: concurrent.futures.Future[R] = concurrent.futures.Future()

        def call() -> None:
            try:
                outcome.set_result(function(*args))
            except BaseException as error:
                outcome.set_exception(error)

        loop.call_soon(call)
        return outcome.result()

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

    def cancel(self) -> int:
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
            virtual._outside_waits.add(future)
        loop.call_soon(future.add_done_callback, release)
        try:
            if finished.wait(timeout):
                return True
        except BaseException as interrupt:
            if propagate_cancellation and not finished.is_set():
                interrupt.__cause__ = self._cancel_and_collect(finished)
            raise
        finally:
            if virtual is not None:
                virtual._outside_waits.discard(future)
        if propagate_cancellation:
            cause = self._cancel_and_collect(finished)
            raise TimeoutError(f"waiting for {future!r} timed out after {timeout} seconds") from cause
        try:
            loop.call_soon(future.remove_done_callback, release)
        except RuntimeError:
            pass
        return False

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

    Args:
        future: The future to wait for.
        loop: The loop whose tasks will await the wrapper.
    """

    __slots__ = ("loop",)

    def __init__(self, future: Future[T], loop: EventLoop) -> None:
        super().__init__(future)
        self.loop: EventLoop = loop

    def _mirror(self) -> Future[T]:
        """Return a future of `self.loop` that completes like the wrapped one."""
        return self.future._mirror_on(self.loop)

    def __await__(self) -> Generator[Future[T], None, T]:
        return self._mirror().__await__()

    async def wait(self, timeout: float | None = None, propagate_cancellation: bool = False) -> T:
        """Wait for the future and return its result (or raise its exception).

        Args:
            timeout: Seconds to wait at most.
            propagate_cancellation: On timeout, also cancel the wrapped future.

        Raises:
            TimeoutError: If the timeout passed.
        """
        mirror = self._mirror()
        if timeout is not None:
            mirror.apply_timeout(timeout)
        try:
            return await mirror
        except TimeoutError:
            if propagate_cancellation and not self.future.is_done():
                self.cancel()
            raise

    async def wait_for_completion(self, timeout: float | None = None, propagate_cancellation: bool = False) -> bool:
        """Wait until the future is done, without retrieving its result.

        Args:
            timeout: Seconds to wait at most.
            propagate_cancellation: On timeout, also cancel the wrapped future.

        Returns:
            Whether the future finished in time.
        """
        mirror = self._mirror()
        if timeout is not None:
            mirror.apply_timeout(timeout)
        await mirror.wait_for_completion()
        if mirror.is_cancelled() and not self.future.is_done():
            if propagate_cancellation:
                self.cancel()
            return False
        mirror.silence()
        return True


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
