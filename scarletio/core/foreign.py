"""Futures of another world inside scarletio tasks, and the face scarletio futures show to it (core layer).

The core does not import asyncio; the bridge (`scarletio.aio`) registers what it needs here:

- `register_foreign_cancellation(cls)`: an exception class that, escaping a scarletio task, means the
  task was cancelled (`asyncio.CancelledError`); awaiting a cancelled scarletio future from the other
  world's tasks raises that class (`ForeignFutureFace.result`), so each side sees its own class.
- A scarletio `Task` may suspend on a foreign future (see `foreign_wait`).
- `ForeignFutureFace` is the protocol of asyncio futures on scarletio's `Future`
  (`_asyncio_future_blocking`, `get_loop`, `done`, `result`, ...), so an asyncio task awaits a
  scarletio future without a wrapper. Its loop is the scheduler's `asyncio_loop` attribute, which
  the bridge sets.
"""

from __future__ import annotations

from contextvars import Context
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from .exceptions import CancelledError

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

__all__ = ("ForeignFutureFace", "foreign_cancellation", "register_foreign_cancellation", "run_in_context")


F = TypeVar("F")
R = TypeVar("R")

_cancellation_classes: list[type[BaseException]] = []


def register_foreign_cancellation(cls: type[BaseException]) -> None:
    """Treat `cls` escaping a scarletio task as a cancellation, and raise it for cancelled futures awaited
    by foreign tasks (the bridge registers `asyncio.CancelledError`).

    Args:
        cls: The other world's cancellation exception class.
    """
    if cls not in _cancellation_classes:
        _cancellation_classes.append(cls)


def foreign_cancellation() -> tuple[type[BaseException], ...]:
    """Return the registered foreign cancellation classes."""
    return tuple(_cancellation_classes)


class ForeignFutureFace(Generic[R]):
    """What an asyncio task needs to await a scarletio future: asyncio's future protocol, mixed into `Future`."""

    __slots__ = ()

    if TYPE_CHECKING:
        def is_done(self) -> bool: ...
        def is_cancelled(self) -> bool: ...
        def get_result(self) -> R: ...
        def get_exception(self) -> BaseException | None: ...

    @property
    def _asyncio_future_blocking(self) -> bool:
        # True while pending: asyncio's task waits for a yielded future only when this is set.
        return not self.is_done()

    @_asyncio_future_blocking.setter
    def _asyncio_future_blocking(self, value: bool) -> None:
        pass

    def get_loop(self) -> AbstractEventLoop | None:
        """Return the asyncio loop of this future's loop (set by `scarletio.aio`), or `None`."""
        loop: AbstractEventLoop | None = getattr(getattr(self, "_loop", None), "asyncio_loop", None)
        return loop

    def done(self) -> bool:
        """Return whether the future is done (asyncio's name for `is_done`)."""
        return self.is_done()

    def cancelled(self) -> bool:
        """Return whether the future was cancelled (asyncio's name for `is_cancelled`)."""
        return self.is_cancelled()

    def result(self) -> R:
        """Return the result as asyncio does: a cancelled future raises the foreign `CancelledError`."""
        if self.is_cancelled() and _cancellation_classes:
            exception = self.get_exception()
            if exception is None or isinstance(exception, CancelledError):
                raise _cancellation_classes[0]()
        return self.get_result()

    def exception(self) -> BaseException | None:
        """Return the exception as asyncio does: a cancelled future raises the foreign `CancelledError`."""
        if self.is_cancelled() and _cancellation_classes:
            exception = self.get_exception()
            if exception is None or isinstance(exception, CancelledError):
                raise _cancellation_classes[0]()
        return self.get_exception()


def run_in_context(context: Context | None, callback: Callable[[F], object]) -> Callable[[F], object]:
    """Return `callback`, run inside `context` when one is given (asyncio's `context=` argument)."""
    if context is None:
        return callback

    def in_context(future: F) -> object:
        return context.run(callback, future)

    return in_context
