"""Timeouts: `apply_timeout` for one future and `repeat_timeout` for each round of a loop (high level)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from ..loop.event_thread import EventThread
from ..core.exceptions import CancelledError
from ..core.futures import Future
from ..core.handles import TimerHandle
from ..core.tasks import Task

__all__ = ("apply_timeout", "future_or_timeout", "repeat_timeout")


def apply_timeout(future: Future[Any], timeout: float) -> int:
    """Cancel `future` with a `TimeoutError` unless it finishes within `timeout` seconds.

    Args:
        future: The future or task.
        timeout: Seconds from now; zero or less cancels at once.

    Returns:
        1 if the timeout was applied, 0 if the future is already done.
    """
    return future.apply_timeout(timeout)


future_or_timeout = apply_timeout
"""The original scarletio's name for `apply_timeout`."""


class repeat_timeout:  # noqa: N801 - named like a function, as in the original library
    """Limit every round of a loop to `timeout` seconds; a context manager and an endless iterator.

    ```py3
    with repeat_timeout(5) as rounds:
        for _ in rounds:
            await step()  # each round has 5 seconds
    ```

    The check is lazy: when the timer fires, a round that started since the last check re-arms it
    for `timeout` after that round's start; otherwise the task is cancelled and the `with` block
    raises `TimeoutError`. Breaking out of the loop leaves normally.

    Args:
        timeout: Seconds each round may take.

    Raises:
        RuntimeError: If not used inside a task on an event loop thread.
    """

    __slots__ = ("_expired", "_handle", "_iterated", "_last_round", "_loop", "_task", "_timeout")

    def __init__(self, timeout: float) -> None:
        loop = threading.current_thread()
        if not isinstance(loop, EventThread):
            raise RuntimeError("repeat_timeout must be used inside a task on an event loop thread")
        task = loop.current_task
        if task is None:
            raise RuntimeError("repeat_timeout must be used inside a task, not in a plain callback")
        self._loop = loop
        self._task: Task[Any] = task
        self._timeout = timeout
        self._last_round = loop.time()
        self._iterated = False
        self._expired = False
        self._handle: TimerHandle | None = loop.call_after(timeout, self._check)

    def _check(self) -> None:
        if self._iterated:
            self._iterated = False
            self._handle = self._loop.call_at(self._last_round + self._timeout, self._check)
        else:
            self._handle = None
            self._expired = True
            self._task.cancel()

    def __enter__(self) -> repeat_timeout:
        return self

    def __iter__(self) -> repeat_timeout:
        return self

    def __next__(self) -> None:
        self._last_round = self._loop.time()
        self._iterated = True

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        handle = self._handle
        if handle is not None:
            self._handle = None
            handle.cancel()
        if self._expired and isinstance(exception, CancelledError):
            raise TimeoutError(f"a round took longer than the {self._timeout} second repeat_timeout") from None
