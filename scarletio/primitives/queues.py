"""Asynchronous queues: `AsyncQueue` (FIFO) and `AsyncLifoQueue` (LIFO) (high level).

A queue is bound to one loop and used from its thread; it is not thread-safe. It builds on `Future`
only, and differs from the original library on purpose (D10):

- Every element goes to exactly one getter. Each waiting getter has a future of its own, and getters
  are served in the order they started waiting.
- Any get (`await queue`, `await queue.result()`, `get_result_no_wait()`, `async for`) makes room
  for the oldest putter blocked in `set_result_wait`, whose element then enters the queue at once.
- An element is never dropped silently: `set_result` on a full queue returns 1 and leaves the element
  with the caller, and a getter cancelled after it was handed an element passes the element on.

`set_exception` ends the queue: the exception is raised to getters once the queue is empty, blocked
putters are rejected, and later puts are rejected too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable
from typing import Generic, TypeVar, final

from typing_extensions import Self

from ..loop.event_thread import EventThread
from ..core.exceptions import CancelledError
from ..core.futures import Future, _as_exception

__all__ = ("AsyncLifoQueue", "AsyncQueue")

T = TypeVar("T")


class AsyncQueue(Generic[T]):
    """A first-in, first-out queue whose getters can wait for elements.

    ```py3
    queue: AsyncQueue[int] = AsyncQueue(loop, max_length = 10)
    queue.set_result(1)
    element = await queue
    ```

    Iterating with `async for` gets elements until the queue's exception is raised; an exception that
    is exactly a `CancelledError` (`queue.set_exception(CancelledError())`) ends the loop quietly.

    Args:
        loop: The loop whose tasks use the queue.
        iterable: Elements to start with.
        max_length: How many elements the queue holds at most; `None` for no limit.
        exception: An exception to raise to getters once the queue is empty (a class is instantiated).

    Raises:
        TypeError: If `max_length` is not an `int` or `None`, or `exception` is a `StopIteration`.
        ValueError: If `max_length` is less than 1, or `iterable` has more elements than `max_length`.
    """

    __slots__ = ("_exception", "_getters", "_loop", "_max_length", "_putters", "_results")

    def __init__(
        self,
        loop: EventThread,
        iterable: Iterable[T] | None = None,
        max_length: int | None = None,
        exception: BaseException | type[BaseException] | None = None,
    ) -> None:
        if max_length is not None:
            if isinstance(max_length, bool) or not isinstance(max_length, int):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
                raise TypeError(
                    f"max_length must be an int or None, got {type(max_length).__name__} {max_length!r}; "
                    "pass a whole number of at least 1, or None for no limit"
                )
            if max_length < 1:
                raise ValueError(
                    f"max_length must be at least 1, got {max_length!r}; pass None for a queue without limit"
                )
        results: deque[T] = deque() if iterable is None else deque(iterable)
        if max_length is not None and len(results) > max_length:
            raise ValueError(
                f"iterable has {len(results)} elements, more than max_length = {max_length!r}; "
                "raise max_length or pass fewer elements"
            )
        self._loop = loop
        self._results = results
        self._max_length = max_length
        self._exception = None if exception is None else _as_exception(exception, f"{type(self).__name__}")
        self._getters: deque[Future[T]] = deque()
        self._putters: deque[tuple[Future[bool], T]] = deque()

    # ---- the two ends: overridden by AsyncLifoQueue ---------------------------------------------

    def _take(self) -> T:
        """Remove and return the element the next get receives."""
        return self._results.popleft()

    def _put_back(self, element: T) -> None:
        """Return a taken element to the place it was taken from."""
        self._results.appendleft(element)

    # ---- putting ------------------------------------------------------------------------------

    def _is_full(self) -> bool:
        max_length = self._max_length
        return max_length is not None and len(self._results) >= max_length

    def _hand_to_getter(self, element: T) -> bool:
        """Give `element` to the oldest waiting getter; return whether one took it."""
        getters = self._getters
        while getters:
            if getters.popleft().set_result_if_pending(element):
                return True
        return False

    def _admit_putters(self) -> None:
        """Move the elements of blocked putters into the queue while there is room, oldest first."""
        putters = self._putters
        while putters and not self._is_full():
            putter, element = putters.popleft()
            if putter.set_result_if_pending(True) and not self._hand_to_getter(element):
                self._results.append(element)

    def set_result(self, element: T) -> int:
        """Put `element` on the queue, or hand it to the oldest waiting getter.

        Args:
            element: The element.

        Returns:
            0 if the element was queued or handed to a getter; 1 if it was rejected because the queue
            is full or an exception was set (the element is then not in the queue).
        """
        if self._exception is not None:
            return 1
        if self._hand_to_getter(element):
            return 0
        if self._is_full():
            return 1
        self._results.append(element)
        return 0

    async def set_result_wait(self, element: T) -> int:
        """Put `element` on the queue, waiting in line (FIFO) while the queue is full.

        If the waiting task is cancelled before the element was admitted, the element is not queued.

        Args:
            element: The element.

        Returns:
            0 if the element was queued (or handed to a getter) at once; 1 if it was rejected because
            an exception was set, before or while waiting; 2 if it was queued after waiting.
        """
        if self._exception is not None:
            return 1
        if self._hand_to_getter(element):
            return 0
        if not self._is_full():
            self._results.append(element)
            return 0
        putter: Future[bool] = Future(self._loop)
        putters = self._putters
        putters.append((putter, element))
        try:
            admitted = await putter
        except BaseException:
            for index, (waiting, _) in enumerate(putters):
                if waiting is putter:
                    del putters[index]
                    break
            raise
        return 2 if admitted else 1

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """End the queue: getters get `exception` once the queue is empty, putters are rejected.

        Waiting getters (the queue is empty when there are any) raise it at once; tasks blocked in
        `set_result_wait` return 1; later puts return 1. A later call replaces the exception.

        Args:
            exception: The exception or exception class (a class is instantiated).

        Raises:
            TypeError: If the exception is a `StopIteration`.
        """
        exception = _as_exception(exception, f"{type(self).__name__}.set_exception")
        self._exception = exception
        getters = self._getters
        while getters:
            getters.popleft().set_exception_if_pending(exception)
        putters = self._putters
        while putters:
            putters.popleft()[0].set_result_if_pending(False)

    # ---- getting ------------------------------------------------------------------------------

    def get_result_no_wait(self) -> T:
        """Take the next element without waiting.

        Returns:
            The element.

        Raises:
            IndexError: If the queue is empty and no exception was set.
            BaseException: The exception set on the queue, once the queue is empty.
        """
        if self._results:
            element = self._take()
            self._admit_putters()
            return element
        exception = self._exception
        if exception is not None:
            raise exception
        raise IndexError(
            f"{type(self).__name__} is empty; await the queue to wait for an element, or check len(queue) first"
        )

    result_no_wait = get_result_no_wait

    async def result(self) -> T:
        """Take the next element, waiting in line (FIFO among getters) while the queue is empty.

        Returns:
            The element.

        Raises:
            BaseException: The exception set on the queue, once the queue is empty.
        """
        if self._results or self._exception is not None:
            return self.get_result_no_wait()
        getter: Future[T] = Future(self._loop)
        self._getters.append(getter)
        try:
            return await getter
        except BaseException:
            if not getter.is_done() or getter.is_cancelled():
                try:
                    self._getters.remove(getter)
                except ValueError:
                    pass
            elif getter.get_exception() is None:
                # Handed an element, then cancelled before it could run: the element must not be lost.
                self._give_back(getter.get_result())
            raise

    get_result = result

    def _give_back(self, element: T) -> None:
        if self._exception is not None or not self._hand_to_getter(element):
            self._put_back(element)

    def __await__(self) -> Generator[object, None, T]:
        """Take the next element, like `result()`."""
        return self.result().__await__()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.result()
        except CancelledError as error:
            if error is self._exception and type(error) is CancelledError:
                raise StopAsyncIteration from error
            raise

    # ---- the elements -------------------------------------------------------------------------

    @property
    def max_length(self) -> int | None:
        """How many elements the queue holds at most; `None` for no limit."""
        return self._max_length

    def __len__(self) -> int:
        return len(self._results)

    def clear(self) -> None:
        """Drop every queued element; blocked putters then get room."""
        self._results.clear()
        self._admit_putters()

    def copy(self) -> Self:
        """Return a new queue with the same elements, limit and exception, and nobody waiting."""
        new = type(self)(self._loop, None, self._max_length, self._exception)
        new._results = self._results.copy()
        return new

    def reverse(self) -> None:
        """Reverse the order of the queued elements in place."""
        self._results.reverse()

    def __repr__(self) -> str:
        parts = [f"{type(self).__name__}([{', '.join(repr(element) for element in self._results)}]"]
        if self._max_length is not None:
            parts.append(f"max_length = {self._max_length!r}")
        if self._exception is not None:
            parts.append(f"exception = {self._exception!r}")
        waiting = sum(1 for getter in self._getters if not getter.is_done())
        if waiting:
            parts.append(f"getters = {waiting}")
        waiting = sum(1 for putter, _ in self._putters if not putter.is_done())
        if waiting:
            parts.append(f"putters = {waiting}")
        return ", ".join(parts) + ")"


@final
class AsyncLifoQueue(AsyncQueue[T]):
    """A last-in, first-out queue whose getters can wait for elements; otherwise like `AsyncQueue`.

    Args:
        loop: The loop whose tasks use the queue.
        iterable: Elements to start with (the last one is got first).
        max_length: How many elements the queue holds at most; `None` for no limit.
        exception: An exception to raise to getters once the queue is empty (a class is instantiated).
    """

    __slots__ = ()

    def _take(self) -> T:
        return self._results.pop()

    def _put_back(self, element: T) -> None:
        self._results.append(element)
