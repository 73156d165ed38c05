"""`ScarletExecutor`: run awaitables side by side, at most `limit` at a time (high level).

The executor is an async context manager used by one task (the owner) on one loop. `add` starts an
awaitable and blocks the owner while `limit` added futures are still running; leaving the block waits
for all of them. The first member that fails with something other than a cancellation cancels the
others at once; the owner's next `add` raises `CancelledError`, and leaving the block re-raises the
member's exception.

It builds on `Future`, `EventThread.ensure_future` and the loop discovery of `toplevel`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, Literal, TypeVar, final

from typing_extensions import Self

from ..loop.event_thread import EventThread
from ..core.exceptions import CancelledError
from ..core.futures import Future
from ..loop.toplevel import get_event_loop

__all__ = ("ScarletExecutor",)

T = TypeVar("T")


@final
class ScarletExecutor:
    """Limit how many added awaitables run at once.

    ```py3
    async with ScarletExecutor(2) as executor:
        for delay in delays:
            await executor.add(sleep(delay))  # waits while 2 of them still run
    # here every added awaitable has finished
    ```

    Args:
        limit: How many added futures may run at once.
        loop: The loop to run them on; by default the loop of the task entering the executor.

    Raises:
        TypeError: If `limit` is not an `int` (a `bool` does not count).
        ValueError: If `limit` is less than 1.
    """

    __slots__ = ("_active", "_exception", "_given_loop", "_limit", "_loop", "_waiters")

    def __init__(self, limit: int = 10, *, loop: EventThread | None = None) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise TypeError(
                f"ScarletExecutor limit must be an int, got {type(limit).__name__} {limit!r}; "
                "pass a whole number of at least 1"
            )
        if limit < 1:
            raise ValueError(
                f"ScarletExecutor limit must be at least 1, got {limit!r}; pass a whole number of at least 1"
            )
        self._limit = int(limit)
        self._given_loop = loop
        self._loop: EventThread | None = None
        self._active: set[Future[Any]] = set()
        self._exception: BaseException | None = None
        self._waiters: deque[Future[None]] = deque()

    @property
    def limit(self) -> int:
        """How many added futures may run at once."""
        return self._limit

    def get_active(self) -> int:
        """Return how many added futures are still running."""
        return len(self._active)

    # ---- members ------------------------------------------------------------------------------

    def _member_done(self, future: Future[Any]) -> None:
        self._active.discard(future)
        exception = future.get_exception()  # also marks it retrieved: the executor reports it
        if exception is not None and not isinstance(exception, CancelledError) and self._exception is None:
            self._exception = exception
            for member in list(self._active):
                member.cancel()
        waiters = self._waiters
        while waiters:
            waiters.popleft().set_result_if_pending(None)

    async def _wait_for_change(self, loop: EventThread) -> None:
        """Wait until a member finishes."""
        waiter: Future[None] = Future(loop)
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass
            raise

    async def add(self, awaitable: Awaitable[T]) -> Future[T]:
        """Start `awaitable` as a member, then wait while `limit` members are running.

        Args:
            awaitable: A coroutine, task, future or other awaitable.

        Returns:
            The member's future (a task for a coroutine).

        Raises:
            RuntimeError: If the executor is not entered with `async with`.
            CancelledError: If a member failed; the awaitable is cancelled (leaving the `async with`
                block then raises the member's exception).
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError(
                f"ScarletExecutor.add called on {self!r}, which is not entered; use it inside `async with executor:`"
            )
        future = loop.ensure_future(awaitable)
        if self._exception is not None:
            future.cancel()
            raise CancelledError()
        self._active.add(future)
        future.add_done_callback(self._member_done)
        while len(self._active) >= self._limit and self._exception is None:
            await self._wait_for_change(loop)
        if self._exception is not None:
            raise CancelledError()
        return future

    # ---- the block ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._loop is not None:
            raise RuntimeError(f"{self!r} is already entered; use a new ScarletExecutor for a nested block")
        loop = self._given_loop
        self._loop = get_event_loop() if loop is None else loop
        self._exception = None
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        """Wait for every member; re-raise the first member failure.

        If the block itself raised (other than the `CancelledError` that `add` raises after a member
        failed), the members are cancelled and the block's exception propagates.
        """
        loop = self._loop
        assert loop is not None
        try:
            if exception is not None and self._exception is None:
                for member in list(self._active):
                    member.cancel()
            while self._active:
                await self._wait_for_change(loop)
        except BaseException:
            for member in list(self._active):
                member.cancel()
            raise
        finally:
            self._loop = None
        failure = self._exception
        self._exception = None
        if failure is not None and (exception is None or isinstance(exception, CancelledError)):
            raise failure
        return False

    def __repr__(self) -> str:
        state = "closed" if self._loop is None else f"active = {len(self._active)}"
        return f"<ScarletExecutor limit = {self._limit}, {state}>"
