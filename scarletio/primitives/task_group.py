"""`TaskGroup[T]`: shared waiting and cancellation over a set of futures (high level).

A group sorts its members into `done` and `pending`. A member moves from `pending` to `done` in its
done-callback, so one ready cycle after it completes (future callbacks are always queued); adding a
member that is already done is processed at once. Every `wait_*` method returns a plain waiter
future, already resolved if its condition holds, otherwise resolved by a handler that sees every
completion in registration order. A handler of an `*_and_pop` method takes the member it resolves
with, so that member never enters `done`; a member goes to one such handler at most.

"Exception" means the member finished with an exception: `set_exception`, `cancel_with` (timeouts
included) or a task whose coroutine raised. A plain cancellation (`cancel()`, or a task cancelled the
ordinary way) only counts for the `*_or_cancellation` methods. Checking this never marks an exception
retrieved, so waiting on a group does not hide a failure nobody looked at.

A group is used from its loop's thread. It is deliberately not awaitable and has no `async with`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Coroutine, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Optional, Protocol, Union

from typing_extensions import Self, TypeAlias, TypeVar

from ..loop.event_thread import EventThread
from ..core.exceptions import CancelledError
from ..core.futures import RAISE, Future
from ..core.tasks import Task

__all__ = ("TaskGroup", "Waiter")

# No default: an unannotated `TaskGroup(loop)` is an error for the type checkers (name the members'
# result type, `TaskGroup[int](loop)`, or pass the members, `TaskGroup(loop, tasks)`).
T = TypeVar("T")

Waiter: TypeAlias = Union[Future[Future[T]], Future[Optional[Future[T]]], Future[int], Future[None]]
"""A waiter future of a `wait_*` method (or of `exhaust`), by what it resolves to."""


def _failed(member: Future[Any], count_cancellation: bool) -> bool:
    """Return whether a done member counts as failed, without marking its exception retrieved."""
    if member.is_cancelled():
        return count_cancellation or not isinstance(member.get_cancellation_exception(), CancelledError)
    return bool(member._state & RAISE)


class _Handler(Protocol[T]):
    """What a waiter does when a member completes."""

    __slots__ = ()

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        """React to `member` completing (it has left `group.pending`; `available`: no handler took it).

        Returns:
            Whether this handler took the member, keeping it out of `group.done`.
        """
        ...


class _WaitNext(_Handler[T]):
    __slots__ = ("waiter",)

    def __init__(self, waiter: Future[Future[T]]) -> None:
        self.waiter = waiter

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        self.waiter.set_result(member)
        return False


class _WaitFirst(_Handler[T]):
    __slots__ = ("pop", "waiter")

    def __init__(self, waiter: Future[Future[T] | None], pop: bool) -> None:
        self.waiter = waiter
        self.pop = pop

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        if available or not self.pop:
            self.waiter.set_result(member)
            return self.pop
        if not group.pending:
            self.waiter.set_result(None)
        return False


class _WaitFailure(_Handler[T]):
    __slots__ = ("count_cancellation", "pop", "waiter")

    def __init__(self, waiter: Future[Future[T] | None], pop: bool, count_cancellation: bool) -> None:
        self.waiter = waiter
        self.pop = pop
        self.count_cancellation = count_cancellation

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        if (available or not self.pop) and _failed(member, self.count_cancellation):
            self.waiter.set_result(member)
            return self.pop
        if not group.pending:
            self.waiter.set_result(None)
        return False


class _WaitCount(_Handler[T]):
    __slots__ = ("count", "required", "waiter")

    def __init__(self, waiter: Future[int], required: int, count: int) -> None:
        self.waiter = waiter
        self.required = required
        self.count = count

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        self.count += 1
        if self.count >= self.required:
            self.waiter.set_result(self.count)
        return False


class _WaitAll(_Handler[T]):
    __slots__ = ("waiter",)

    def __init__(self, waiter: Future[None]) -> None:
        self.waiter = waiter

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        if not group.pending:
            self.waiter.set_result(None)
        return False


class _Recorder(_Handler[T]):
    """Remembers completions in order for `exhaust`, and wakes it."""

    __slots__ = ("order", "wake")

    def __init__(self) -> None:
        self.order: deque[Future[T]] = deque()
        self.wake: Future[None] | None = None

    def on_done(self, group: TaskGroup[T], member: Future[T], available: bool) -> bool:
        self.order.append(member)
        if self.wake is not None:
            self.wake.set_result_if_pending(None)
        return False


class TaskGroup(Generic[T]):
    """A set of futures (tasks included) with results of type `T`, waited for and cancelled together.

    Args:
        loop: The loop the members belong to.
        futures: Initial members; done ones go into `done`, the others into `pending`.

    Attributes:
        loop: The loop the members belong to.
        done: Members that completed and were not popped.
        pending: Members that have not completed yet.
        waiters: The unresolved waiter futures of `wait_*` calls, each with its handler.
    """

    __slots__ = ("_member_done", "done", "loop", "pending", "waiters")

    def __init__(self, loop: EventThread, futures: Iterable[Future[T]] | None = None) -> None:
        self.loop: EventThread = loop
        self.done: set[Future[T]] = set()
        self.pending: set[Future[T]] = set()
        # Each handler knows its own waiter's type.
        self.waiters: dict[Waiter[T], _Handler[T]] = {}
        self._member_done = self._on_member_done  # bound once: every member gets it as callback
        if futures is not None:
            for future in futures:
                self.add_future(future)

    def __repr__(self) -> str:
        done, pending, waiters = len(self.done), len(self.pending), len(self.waiters)
        return f"<{type(self).__name__} done = {done}, pending = {pending}, waiters = {waiters}>"

    # ---- bookkeeping ----------------------------------------------------------------------------

    def _on_member_done(self, member: Future[T]) -> None:
        pending = self.pending
        if member in pending:  # a member removed from `pending` by hand has left the group
            pending.remove(member)
            if self.waiters:
                self._process(member)
            else:
                self.done.add(member)

    def _process(self, member: Future[T]) -> None:
        """Offer a completed member to every waiting handler, then file it unless one took it."""
        taken = False
        waiters = self.waiters
        if waiters:
            finished: list[Future[Any]] = []
            for waiter, handler in list(waiters.items()):
                if not waiter.is_done():
                    taken |= handler.on_done(self, member, not taken)
                if waiter.is_done():
                    finished.append(waiter)
            for waiter in finished:
                waiters.pop(waiter, None)
        if not taken:
            self.done.add(member)

    def _register(self, waiter: Waiter[T], handler: _Handler[T]) -> None:
        self.waiters[waiter] = handler
        waiter.add_done_callback(self._forget_waiter)

    def _forget_waiter(self, waiter: Waiter[T]) -> None:
        self.waiters.pop(waiter, None)

    # ---- members --------------------------------------------------------------------------------

    def add_future(self, future: Future[T]) -> Future[T]:
        """Add a future or task to the group; a done one counts as completing now.

        Adding a current member again changes nothing.

        Args:
            future: The future to add.

        Returns:
            The future.

        Raises:
            ValueError: If the future belongs to another loop.
        """
        if future._loop is not self.loop:
            raise ValueError(f"{future!r} belongs to another event loop; a task group holds futures of its own loop")
        if future in self.pending or future in self.done:
            return future
        if future.is_done():
            self._process(future)
        else:
            self.pending.add(future)
            future.add_done_callback(self._member_done)
        return future

    add_task = add_future

    def add_awaitable(self, awaitable: Awaitable[T]) -> Future[T]:
        """Add a coroutine (as a new task), a future or another awaitable to the group.

        Args:
            awaitable: What to add.

        Returns:
            The member: the future itself, or the task made for the awaitable.

        Raises:
            TypeError: If `awaitable` is not awaitable.
        """
        return self.add_future(self.loop.ensure_future(awaitable))

    def create_future(self) -> Future[T]:
        """Return a new pending future that is a member of the group."""
        future: Future[T] = self.loop.create_future()
        return self.add_future(future)

    def create_task(self, coroutine: Coroutine[Any, Any, T]) -> Task[T]:
        """Schedule `coroutine` as a task that is a member of the group, and return the task."""
        task = self.loop.create_task(coroutine)
        # A new task is pending, of this loop and not yet a member: `add_future`'s checks are moot.
        self.pending.add(task)
        task.add_done_callback(self._member_done)
        return task

    def pop_done(self) -> Future[T] | None:
        """Remove and return a done member (any of them), or `None` if there is none."""
        done = self.done
        return done.pop() if done else None

    def has_done(self) -> bool:
        """Return whether a member is done."""
        return bool(self.done)

    def has_pending(self) -> bool:
        """Return whether a member is pending."""
        return bool(self.pending)

    def iter_futures(self) -> Iterator[Future[T]]:
        """Iterate over the members: the done ones, then the pending ones."""
        done = list(self.done)
        pending = list(self.pending)
        yield from done
        yield from pending

    def exhaust_done(self) -> Iterator[Future[T]]:
        """Remove and yield the done members, one at a time."""
        done = self.done
        while done:
            yield done.pop()

    async def exhaust(self) -> AsyncGenerator[Future[T], None]:
        """Yield every member as it completes, removing it, until the group is empty.

        Members already done come first; the others follow in completion order.
        """
        recorder: _Recorder[T] = _Recorder()
        token: Future[None] = self.loop.create_future()  # the recorder's key in `waiters`
        self.waiters[token] = recorder
        done = self.done
        order = recorder.order
        try:
            while True:
                while order:
                    member = order.popleft()
                    if member in done:
                        done.discard(member)
                        yield member
                if done:
                    yield done.pop()
                elif self.pending:
                    wake: Future[None] = self.loop.create_future()
                    recorder.wake = wake
                    await wake
                else:
                    return
        finally:
            self.waiters.pop(token, None)

    # ---- cancellation ---------------------------------------------------------------------------

    def cancel_all(self) -> None:
        """Cancel the pending members; done ones keep their outcome and are only silenced."""
        self.cancel_done()
        self.cancel_pending()

    def cancel_done(self) -> None:
        """Silence the done members (cancelling a done future keeps its outcome)."""
        for member in list(self.done):
            member.cancel()

    def cancel_pending(self) -> None:
        """Cancel the pending members."""
        for member in list(self.pending):
            member.cancel()

    @contextmanager
    def cancel_on_exception(self) -> Generator[Self, None, None]:
        """Return a context manager giving the group, which cancels all members if its block raises.

        The exception propagates; leaving the block normally does nothing.
        """
        try:
            yield self
        except BaseException:
            self.cancel_all()
            raise

    # ---- waiting --------------------------------------------------------------------------------

    def wait_next(self) -> Future[Future[T]]:
        """Wait for the next pending member to complete, ignoring those already done.

        Returns:
            A waiter resolved with that member. It stays pending while nothing is pending.
        """
        waiter: Future[Future[T]] = self.loop.create_future()
        self._register(waiter, _WaitNext(waiter))
        return waiter

    def wait_first(self) -> Future[Future[T] | None]:
        """Wait for a done member: one already done, else the first pending one to complete.

        Returns:
            A waiter resolved with the member, or with `None` at once if the group is empty.
        """
        return self._wait_first(False)

    def wait_first_and_pop(self) -> Future[Future[T] | None]:
        """Like `wait_first`, and remove the member it resolves with from the group.

        Returns:
            A waiter resolved with the member, or with `None` if the group is (or becomes) empty.
        """
        return self._wait_first(True)

    def _wait_first(self, pop: bool) -> Future[Future[T] | None]:
        waiter: Future[Future[T] | None] = self.loop.create_future()
        done = self.done
        if done:
            waiter.set_result(done.pop() if pop else next(iter(done)))
        elif self.pending:
            self._register(waiter, _WaitFirst(waiter, pop))
        else:
            waiter.set_result(None)
        return waiter

    def wait_exception(self) -> Future[Future[T] | None]:
        """Wait for a member that finished with an exception (a plain cancellation does not count).

        Returns:
            A waiter resolved with such a member, done or upcoming, or with `None` once nothing is
            pending.
        """
        return self._wait_failure(False, False)

    def wait_exception_and_pop(self) -> Future[Future[T] | None]:
        """Like `wait_exception`, and remove the member it resolves with from the group."""
        return self._wait_failure(True, False)

    def wait_exception_or_cancellation(self) -> Future[Future[T] | None]:
        """Wait for a member that finished with an exception or was cancelled.

        Returns:
            A waiter resolved with such a member, done or upcoming, or with `None` once nothing is
            pending.
        """
        return self._wait_failure(False, True)

    def wait_exception_or_cancellation_and_pop(self) -> Future[Future[T] | None]:
        """Like `wait_exception_or_cancellation`, and remove the member it resolves with from the group."""
        return self._wait_failure(True, True)

    def _wait_failure(self, pop: bool, count_cancellation: bool) -> Future[Future[T] | None]:
        waiter: Future[Future[T] | None] = self.loop.create_future()
        done = self.done
        for member in done:
            if _failed(member, count_cancellation):
                if pop:
                    done.discard(member)
                waiter.set_result(member)
                return waiter
        if self.pending:
            self._register(waiter, _WaitFailure(waiter, pop, count_cancellation))
        else:
            waiter.set_result(None)
        return waiter

    def wait_first_n(self, n: int) -> Future[int]:
        """Wait until `n` members are done, counting those done now plus one per completion.

        Args:
            n: How many; zero or less resolves at once.

        Returns:
            A waiter resolved with the count (which may exceed `n`). It stays pending while too few
            members are left to reach `n`.

        Raises:
            TypeError: If `n` is not an `int`.
        """
        if not isinstance(n, int):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise TypeError(f"wait_first_n() needs an int count, got {n!r} of type {type(n).__name__}")
        waiter: Future[int] = self.loop.create_future()
        count = len(self.done)
        if count >= n:
            waiter.set_result(count)
        else:
            self._register(waiter, _WaitCount(waiter, n, count))
        return waiter

    def wait_all(self) -> Future[None]:
        """Wait until no member is pending; members' exceptions are neither raised nor retrieved.

        Returns:
            A waiter resolved with `None`, at once if nothing is pending.
        """
        waiter: Future[None] = self.loop.create_future()
        if self.pending:
            self._register(waiter, _WaitAll(waiter))
        else:
            waiter.set_result(None)
        return waiter
