"""`EventThread`: the scheduler, an event loop that is a thread of its own (core layer).

One iteration moves due timers to the ready queue, drains the ready queue, polls the reactor (not
blocking when something is ready, until the next deadline otherwise) and queues the handles of ready
file descriptors. A drain runs everything that was ready when it began plus whatever gets queued
meanwhile, up to a budget, so `skip_ready_cycle` interleaves tasks round-robin before the next poll,
while a task that yields forever still cannot starve timers and I/O.

Other threads talk to the loop by appending to the ready queue (a deque: appends are atomic) and
waking the reactor. The foreign-thread check costs one `get_ident()` call per scheduling call.

The loop reaches its backend only through the registry (`resolve_backend`).
"""

from __future__ import annotations

import sys
import threading
import weakref
from _thread import get_ident
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from heapq import heapify, heappop, heappush
from operator import itemgetter
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from ._reporting import report_error
from .abc import Backend, EventMask, Executor, Runnable
from .backends import resolve_backend
from .futures import Future, report_unretrieved_exceptions
from .handles import Handle, TimerHandle
from .tasks import Task, _new_task

__all__ = ("EventThread",)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_CREATED = 0
_RUNNING = 1
_STOPPING = 2
_CLOSED = 3
_STATE_NAMES = ("created", "running", "stopping", "stopped")

DRAIN_BUDGET = 4096
"""Handles one drain may run beyond those ready when it began, before timers and I/O get a turn."""

STOP_GRACE_SECONDS = 2.0
"""How long `stop()` lets cancelled tasks run their `finally` blocks before giving up on them."""

_BOOTING = object()

_READ = EventMask.READ
_WRITE = EventMask.WRITE
_BOTH = EventMask.READ | EventMask.WRITE


def _fileno(file: int | Any) -> int:
    fd = file if isinstance(file, int) else file.fileno()
    if not isinstance(fd, int) or fd < 0:
        raise ValueError(f"invalid file descriptor {fd!r}; pass an open file, socket or non-negative integer")
    return fd


_BY_SEQUENCE = itemgetter(1)
_BY_DEADLINE = itemgetter(0)
_HANDLE_OF = itemgetter(2)


def _sort_timers(entries: list[tuple[float, int, TimerHandle]]) -> None:
    """Sort timer entries by (deadline, sequence).

    Two stable sorts on plain number keys are several times faster than comparing the tuples.
    """
    entries.sort(key=_BY_SEQUENCE)
    entries.sort(key=_BY_DEADLINE)


def _check_coroutine(value: object) -> None:
    if not isinstance(value, (Coroutine, GeneratorType)):
        hint = "; call the async function to get one: f() rather than f" if callable(value) else ""
        raise TypeError(f"create_task needs a coroutine, got {value!r}{hint}")


async def _await_any(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _copy_outcome(source: Any, target: Future[Any]) -> None:
    """Copy a finished `concurrent.futures.Future` into a scarletio future (on the loop thread)."""
    if target.is_done():
        return
    if source.cancelled():
        target.cancel()
        return
    exception = source.exception()
    if exception is None:
        target.set_result(source.result())
    elif isinstance(exception, StopIteration):
        target.set_exception(RuntimeError(f"executor function raised {exception!r}"))
    else:
        target.set_exception(exception)


class EventThread(threading.Thread):
    """An event loop running in a thread of its own.

    Args:
        backend: A `Backend`, a backend name (`"epoll"`, `"poll"`, ...), or `None` to use the
            `SCARLETIO_BACKEND` environment variable, else the best backend available.
        daemon: Whether the thread is a daemon thread (it then does not keep the process alive).
        name: The thread's name; `Thread-N` by default.
        start_later: Start the thread on first use instead of now.

    Raises:
        ValueError: If the backend name is unknown or unavailable here.
    """

    def __init__(
        self,
        backend: Backend | str | None = None,
        *,
        daemon: bool = False,
        name: str | None = None,
        start_later: bool = True,
    ) -> None:
        threading.Thread.__init__(self, daemon=daemon, name=name)
        resolved = resolve_backend(backend)
        self.backend = resolved
        self._reactor = resolved.reactor_factory()
        self._clock = resolved.clock_factory()
        self._now = self._clock.now
        self._executor: Executor | None = None
        self._ready: deque[Runnable] = deque()
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._timer_sequence = 0
        self._timer_cancelled_count = 0
        self._timer_latest = float("-inf")
        self._readers: dict[int, Handle] = {}
        self._writers: dict[int, Handle] = {}
        self._tasks: set[Task[Any]] = set()
        self._asyncgens: weakref.WeakSet[AsyncGenerator[Any, Any]] = weakref.WeakSet()
        self._loop_state = _CREATED
        self._loop_thread_id = 0
        self._state_lock = threading.Lock()
        self._booted = False
        self.current_task: Task[Any] | None = None
        if not start_later:
            self._ensure_started()

    # ---- lifecycle ----------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        with self._state_lock:
            if self._loop_state == _CREATED:
                self._loop_state = _RUNNING
                self.start()
                ident = self.ident
                assert ident is not None
                self._loop_thread_id = ident

    def is_started(self) -> bool:
        """Return whether the loop thread was started (it may have stopped since)."""
        return self._loop_state != _CREATED or self._booted

    def is_running(self) -> bool:
        """Return whether the loop runs and accepts new work."""
        return self._loop_state == _RUNNING

    def is_stopped(self) -> bool:
        """Return whether `stop()` was called (the thread may still be finishing)."""
        return self._loop_state >= _STOPPING

    def is_closed(self) -> bool:
        """Return whether the loop has finished stopping and runs nothing any more."""
        return self._loop_state == _CLOSED

    def stop(self) -> None:
        """Stop the loop; thread-safe and idempotent.

        The loop finishes its current drain, cancels its pending tasks and lets them run their
        `finally` blocks (for at most `STOP_GRACE_SECONDS`), reports unretrieved exceptions, shuts its
        executor down and closes its reactor. Called from another thread, this returns at once: use
        `join()` to wait for the thread to end.
        """
        if get_ident() == self._loop_thread_id:
            if self._loop_state == _RUNNING:
                self._loop_state = _STOPPING
            return
        with self._state_lock:
            state = self._loop_state
            if state == _CREATED:
                self._loop_state = _CLOSED
                self._reactor.close()
                return
            if state != _RUNNING:
                return
            self._loop_state = _STOPPING
        self._reactor.wakeup()

    def _refuse_stopped(self, what: str) -> RuntimeError:
        return RuntimeError(
            f"cannot {what}: event loop {self.name!r} is stopped; create a new one with create_event_loop()"
        )

    def _enqueue_foreign(self, item: Runnable, what: str) -> None:
        """Queue `item` from a thread that is not the loop's, starting or waking the loop."""
        if self._loop_state == _CREATED:
            self._ensure_started()
        with self._state_lock:
            if self._loop_state != _RUNNING:
                raise self._refuse_stopped(what)
            self._ready.append(item)
        self._reactor.wakeup()

    def wake_up(self) -> None:
        """Make the loop look at its queues soon; starts a loop that was not started yet."""
        if self._loop_state == _CREATED:
            self._ensure_started()
        elif self._loop_state != _CLOSED:
            self._reactor.wakeup()

    # ---- time and scheduling ------------------------------------------------------------------

    def time(self) -> float:
        """Return the loop clock's current reading in seconds."""
        return self._now()

    @property
    def time_resolution(self) -> float:
        """The resolution of the loop's clock in seconds."""
        return self._clock.resolution

    def call_soon(self, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """Run `callback(*args)` on the loop thread in the next ready cycle; works from any thread.

        Args:
            callback: The function to call.
            *args: Its positional arguments.

        Returns:
            A handle whose `cancel()` withdraws the call.

        Raises:
            RuntimeError: If the loop is stopped.
        """
        handle = Handle(callback, args)
        if self._loop_thread_id == get_ident():
            self._ready.append(handle)
        else:
            self._enqueue_foreign(handle, "call_soon")
        return handle

    call_soon_thread_safe = call_soon

    def call_at(self, when: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> TimerHandle:
        """Run `callback(*args)` on the loop thread once the loop clock reaches `when`.

        Timers with equal deadlines run in the order they were scheduled. Works from any thread.

        Args:
            when: An absolute reading of the loop clock (`loop.time()`).
            callback: The function to call.
            *args: Its positional arguments.

        Returns:
            A handle whose `cancel()` withdraws the call.

        Raises:
            RuntimeError: If the loop is stopped.
        """
        handle = TimerHandle(when, callback, args, self)
        if self._loop_thread_id == get_ident():
            self._timer_sequence = sequence = self._timer_sequence + 1
            heappush(self._timers, (when, sequence, handle))
            if when > self._timer_latest:
                self._timer_latest = when
        else:
            self._enqueue_foreign(Handle(self._push_timer, (handle,)), "call_at")
        return handle

    call_at_thread_safe = call_at

    def call_after(self, delay: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> TimerHandle:
        """Run `callback(*args)` on the loop thread after `delay` seconds; works from any thread.

        Args:
            delay: Seconds from now.
            callback: The function to call.
            *args: Its positional arguments.

        Returns:
            A handle whose `cancel()` withdraws the call.

        Raises:
            RuntimeError: If the loop is stopped.
        """
        # `call_at` inlined: scheduling timers is a hot path.
        when = self._now() + delay
        handle = TimerHandle(when, callback, args, self)
        if self._loop_thread_id == get_ident():
            self._timer_sequence = sequence = self._timer_sequence + 1
            heappush(self._timers, (when, sequence, handle))
            if when > self._timer_latest:
                self._timer_latest = when
        else:
            self._enqueue_foreign(Handle(self._push_timer, (handle,)), "call_after")
        return handle

    call_after_thread_safe = call_after

    def _push_timer(self, handle: TimerHandle) -> None:
        if not handle._cancelled:
            self._timer_sequence = sequence = self._timer_sequence + 1
            heappush(self._timers, (handle.when, sequence, handle))
            if handle.when > self._timer_latest:
                self._timer_latest = handle.when

    def _collect_due_timers(self, current: float) -> None:
        """Move the timers due at `current` to the ready queue, in deadline order (FIFO on ties)."""
        timers = self._timers
        ready = self._ready
        due: list[tuple[float, int, TimerHandle]]
        if self._timer_latest <= current:
            due = timers[:]
            timers.clear()
            _sort_timers(due)
            self._timer_latest = float("-inf")
        else:
            # Pop one by one while few are due; once a burst shows (a sixteenth of the heap), one
            # partition and sort is cheaper than a logarithmic pop per timer.
            due = []
            limit = 64 + (len(timers) >> 4)
            while timers and timers[0][0] <= current:
                if len(due) == limit:
                    rest = [entry for entry in timers if entry[0] > current]
                    burst = [entry for entry in timers if entry[0] <= current]
                    _sort_timers(burst)
                    due.extend(burst)
                    heapify(rest)
                    timers[:] = rest
                    break
                due.append(heappop(timers))
        ready.extend(map(_HANDLE_OF, due))  # cancelled ones do nothing when run

    def _compact_timers(self) -> None:
        for entry in self._timers:
            if entry[2]._cancelled:
                entry[2]._owner = None
        timers = [entry for entry in self._timers if not entry[2]._cancelled]
        heapify(timers)
        self._timers[:] = timers
        self._timer_cancelled_count = 0

    # ---- futures and tasks --------------------------------------------------------------------

    def create_future(self) -> Future[T]:
        """Return a new pending future bound to this loop."""
        return Future(self)

    def create_task(self, coroutine: Coroutine[Any, Any, T]) -> Task[T]:
        """Schedule `coroutine` as a task; its first step runs in the next ready cycle.

        Works from any thread (the loop is woken).

        Args:
            coroutine: The coroutine to drive, for example `main()`.

        Returns:
            The task.

        Raises:
            TypeError: If `coroutine` is not a coroutine.
            RuntimeError: If the loop is stopped.
        """
        if type(coroutine) is not CoroutineType:
            _check_coroutine(coroutine)
        task = _new_task(self, coroutine)
        if self._loop_thread_id == get_ident():
            self._tasks.add(task)
            self._ready.append(task)
        else:
            if self._loop_state == _CREATED:
                self._ensure_started()
            with self._state_lock:
                if self._loop_state != _RUNNING:
                    coroutine.close()
                    raise self._refuse_stopped("create_task")
                self._tasks.add(task)
                self._ready.append(task)
            self._reactor.wakeup()
        return task

    create_task_thread_safe = create_task

    def ensure_future(self, awaitable: Awaitable[T]) -> Future[T]:
        """Return a future for `awaitable`: a future of this loop as it is, anything else as a task.

        Args:
            awaitable: A coroutine, a generator-based coroutine, a future, or an object with `__await__`.

        Returns:
            The future.

        Raises:
            TypeError: If `awaitable` is not awaitable.
            ValueError: If it is a future of another loop.
        """
        if isinstance(awaitable, Future):
            if awaitable._loop is not self:
                raise ValueError(
                    f"{awaitable!r} belongs to another event loop; use future.async_wrap(loop) to await it here"
                )
            return awaitable
        if isinstance(awaitable, (Coroutine, GeneratorType)):
            return self.create_task(awaitable)
        if hasattr(awaitable, "__await__"):
            return self.create_task(_await_any(awaitable))
        raise TypeError(f"expected a coroutine, a future or an awaitable, got {awaitable!r}")

    ensure_future_thread_safe = ensure_future

    def get_tasks(self) -> list[Task[Any]]:
        """Return the tasks of this loop that have not finished."""
        return list(self._tasks)

    # ---- executor -----------------------------------------------------------------------------

    def get_executor(self) -> Executor:
        """Return the loop's executor, creating it on first use."""
        executor = self._executor
        if executor is None:
            executor = self._executor = self.backend.executor_factory()
        return executor

    def run_in_executor(self, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> Future[T]:
        """Run a blocking `function(*args)` on an executor thread.

        Args:
            function: The blocking function.
            *args: Its positional arguments.

        Returns:
            A future of this loop resolved with the function's result or exception. Cancelling it
            withdraws the job if it has not started.

        Raises:
            RuntimeError: If called from a thread other than the loop's.
        """
        if get_ident() != self._loop_thread_id:
            raise RuntimeError(
                "run_in_executor must be called on the loop thread; from other threads use "
                "loop.call_soon_thread_safe(...) or run the function yourself"
            )
        future: Future[T] = Future(self)
        job = self.get_executor().submit(function, *args)
        job.add_done_callback(lambda done: self._deliver_job(done, future))
        future.add_done_callback(lambda finished: job.cancel() if finished.is_cancelled() else None)
        return future

    def _deliver_job(self, job: Any, future: Future[Any]) -> None:
        if self._loop_state != _CLOSED:
            try:
                self.call_soon(_copy_outcome, job, future)
            except RuntimeError:  # the loop stopped meanwhile; its pending futures were cancelled
                pass

    # ---- file descriptors ---------------------------------------------------------------------

    def _check_fd_thread(self, what: str) -> None:
        if get_ident() != self._loop_thread_id and self._loop_state != _CREATED:
            raise RuntimeError(
                f"{what} must be called on the loop thread; use loop.call_soon_thread_safe(loop.{what}, ...)"
            )

    def add_reader(self, file: int | Any, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """Call `callback(*args)` whenever `file` is readable (or has an error or hang-up).

        Replaces an earlier reader of the same descriptor. Call it on the loop thread.

        Args:
            file: A file descriptor or an object with `fileno()`.
            callback: The function to call.
            *args: Its positional arguments.

        Returns:
            The handle the loop queues on readiness.
        """
        self._check_fd_thread("add_reader")
        return self._add_watcher(_fileno(file), Handle(callback, args), self._readers, self._writers, _READ)

    def add_writer(self, file: int | Any, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """Call `callback(*args)` whenever `file` is writable (or has an error or hang-up).

        Replaces an earlier writer of the same descriptor. Call it on the loop thread.

        Args:
            file: A file descriptor or an object with `fileno()`.
            callback: The function to call.
            *args: Its positional arguments.

        Returns:
            The handle the loop queues on readiness.
        """
        self._check_fd_thread("add_writer")
        return self._add_watcher(_fileno(file), Handle(callback, args), self._writers, self._readers, _WRITE)

    def remove_reader(self, file: int | Any) -> bool:
        """Stop watching `file` for reading.

        Args:
            file: A file descriptor or an object with `fileno()`.

        Returns:
            Whether a reader was registered.
        """
        self._check_fd_thread("remove_reader")
        return self._remove_watcher(_fileno(file), self._readers, self._writers, _WRITE)

    def remove_writer(self, file: int | Any) -> bool:
        """Stop watching `file` for writing.

        Args:
            file: A file descriptor or an object with `fileno()`.

        Returns:
            Whether a writer was registered.
        """
        self._check_fd_thread("remove_writer")
        return self._remove_watcher(_fileno(file), self._writers, self._readers, _READ)

    def _add_watcher(
        self, fd: int, handle: Handle, same: dict[int, Handle], other: dict[int, Handle], mask: EventMask
    ) -> Handle:
        previous = same.get(fd)
        same[fd] = handle
        if previous is None and fd not in other:
            self._reactor.register(fd, mask)
        else:
            # Always re-arm, even when the mask is unchanged: the descriptor number may belong to a
            # new file by now, which the kernel's epoll set no longer knows about.
            if previous is not None:
                previous.cancel()
            self._reactor.modify(fd, _BOTH if fd in other else mask)
        return handle

    def _remove_watcher(self, fd: int, same: dict[int, Handle], other: dict[int, Handle], other_mask: EventMask) -> bool:
        handle = same.pop(fd, None)
        if handle is None:
            return False
        handle.cancel()
        if fd in other:
            self._reactor.modify(fd, other_mask)
        else:
            self._reactor.unregister(fd)
        return True

    # ---- the loop -----------------------------------------------------------------------------

    if TYPE_CHECKING:

        def run(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:  # type: ignore[override]
            """See `_run_from_outside`."""
            ...

    else:

        def run(self, awaitable=_BOOTING, timeout=None):
            # `threading.Thread` calls `run()` without arguments to run the thread's body; users call
            # `LOOP.run(awaitable)` from other threads to run something on the loop and wait for it.
            if awaitable is _BOOTING:
                if self._booted or threading.current_thread() is not self:
                    raise TypeError("EventThread.run() needs the awaitable to run")
                self._booted = True
                self._main()
                return None
            return self._run_from_outside(awaitable, timeout)

    def _run_from_outside(self, awaitable: Awaitable[T], timeout: float | None) -> T:
        """Run `awaitable` on the loop and block the calling thread until it finishes.

        Args:
            awaitable: A coroutine, future or other awaitable.
            timeout: Seconds to wait at most; on expiry the task is cancelled.

        Returns:
            The awaitable's result.

        Raises:
            RuntimeError: If called on the loop thread, or the loop is stopped.
            TimeoutError: If the timeout passed; its cause is the task's exception.
            KeyboardInterrupt: If interrupted while waiting; the task is cancelled first.
        """
        if get_ident() == self._loop_thread_id:
            raise RuntimeError("EventThread.run() should not be called from itself (the loop thread); await it instead")
        if self._loop_state >= _STOPPING:
            raise self._refuse_stopped("run")
        future = self.ensure_future(awaitable)
        finished = threading.Event()
        self.call_soon(future.add_done_callback, lambda _: finished.set())
        try:
            if finished.wait(timeout):
                return future.get_result()
        except BaseException as interrupt:
            if not finished.is_set():
                interrupt.__cause__ = self._cancel_from_outside(future, finished)
            raise
        error = TimeoutError(f"EventThread.run() timed out after {timeout} seconds; the task was cancelled")
        raise error from self._cancel_from_outside(future, finished)

    def _cancel_from_outside(self, future: Future[Any], finished: threading.Event) -> BaseException | None:
        """Cancel `future` from a foreign thread and briefly wait; return its exception if it finished."""
        try:
            self.call_soon(future.cancel)
        except RuntimeError:
            pass
        if finished.wait(0.1):
            return future.get_exception()
        return None

    def _main(self) -> None:
        self._loop_thread_id = get_ident()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter, finalizer=self._asyncgen_finalizer)
        try:
            while self._loop_state == _RUNNING:
                self._run_iteration(None)
        finally:
            self._shutdown()

    def _run_iteration(self, longest_wait: float | None) -> None:
        ready = self._ready
        timers = self._timers
        now = self._clock.now
        if timers:
            if self._timer_cancelled_count > 256 and self._timer_cancelled_count * 2 > len(timers):
                self._compact_timers()
            current = now()
            if timers[0][0] <= current:
                self._collect_due_timers(current)
        budget = len(ready)
        if budget:
            if budget < DRAIN_BUDGET:
                budget = DRAIN_BUDGET
            popleft = ready.popleft
            while budget and ready:
                budget -= 1
                item = popleft()
                try:
                    item._run()
                except BaseException as error:
                    report_error(f"exception in callback {item!r}; the loop goes on", error)
        timeout: float | None
        if ready:
            timeout = 0.0
        else:
            while timers and timers[0][2]._cancelled:
                heappop(timers)[2]._owner = None
                self._timer_cancelled_count -= 1
            if timers:
                timeout = timers[0][0] - now()
                if timeout < 0.0:
                    timeout = 0.0
            else:
                timeout = None
            if longest_wait is not None and (timeout is None or timeout > longest_wait):
                timeout = longest_wait
        events = self._reactor.poll(timeout)
        if events:
            readers = self._readers
            writers = self._writers
            for fd, mask in events:
                if mask != _WRITE:
                    reader = readers.get(fd)
                    if reader is not None:
                        ready.append(reader)
                if mask != _READ:
                    writer = writers.get(fd)
                    if writer is not None:
                        ready.append(writer)

    # ---- stopping -----------------------------------------------------------------------------

    def _run_down(self, deadline: float) -> None:
        """Iterate until no task is left or `deadline` passes, cancelling tasks that appear."""
        cancelled: set[Task[Any]] = set()
        now = self._clock.now
        while self._tasks or self._ready:
            for task in list(self._tasks):
                if task not in cancelled:
                    cancelled.add(task)
                    task.cancel()
            remaining = deadline - now()
            if remaining <= 0.0:
                break
            self._run_iteration(remaining)

    def _shutdown(self) -> None:
        with self._state_lock:
            self._loop_state = _STOPPING
        try:
            deadline = self._clock.now() + STOP_GRACE_SECONDS
            self._run_down(deadline)
            self.shutdown_async_generators()
            self._run_down(deadline)
            if self._tasks:
                names = ", ".join(repr(task) for task in self._tasks)
                report_error(f"{len(self._tasks)} task(s) ignored cancellation while the loop stopped: {names}")
            report_unretrieved_exceptions(self)
        except BaseException as error:
            report_error(f"event loop {self.name!r} failed while stopping", error)
        finally:
            with self._state_lock:
                self._loop_state = _CLOSED
            executor = self._executor
            if executor is not None:
                executor.shutdown(wait=True)
            self._reactor.close()
            self._ready.clear()
            self._timers.clear()
            self._readers.clear()
            self._writers.clear()
            sys.set_asyncgen_hooks(firstiter=None, finalizer=None)

    # ---- asynchronous generators ----------------------------------------------------------------

    def _asyncgen_firstiter(self, generator: AsyncGenerator[Any, Any]) -> None:
        self._asyncgens.add(generator)

    def _asyncgen_finalizer(self, generator: AsyncGenerator[Any, Any]) -> None:
        self._asyncgens.discard(generator)
        if self._loop_state != _CLOSED:
            try:
                self.create_task(generator.aclose())
            except RuntimeError:
                pass

    def shutdown_async_generators(self) -> int:
        """Close every asynchronous generator first iterated on this loop that is still open.

        Must run on the loop thread; `stop()` calls it.

        Returns:
            How many generators were scheduled for closing.
        """
        generators = list(self._asyncgens)
        self._asyncgens.clear()
        for generator in generators:
            self._create_task_during_stop(generator.aclose())
        return len(generators)

    def _create_task_during_stop(self, coroutine: Coroutine[Any, Any, object]) -> Task[object]:
        task = _new_task(self, coroutine)
        self._tasks.add(task)
        self._ready.append(task)
        return task

    def __repr__(self) -> str:
        daemon = ", daemon = True" if self.daemon else ""
        return (
            f"<{type(self).__name__} {self.name}, state = {_STATE_NAMES[self._loop_state]}{daemon}, "
            f"backend = {self.backend.name}, ident = {self.ident}>"
        )

