"""`Scheduler`: the event loop machinery, a thread of its own (core layer).

`Scheduler` is everything of `scarletio.EventThread` but the backend registry and the networking,
process and signal methods, which the public class adds on top (`scarletio.loop.event_thread`). Users
never see this name: annotations name `EventThread` or the `EventLoop` protocol it satisfies.

One iteration moves due timers to the ready queue, drains the ready queue, polls the reactor (not
blocking when something is ready, until the next deadline otherwise) and queues the handles of ready
file descriptors. A drain runs everything that was ready when it began plus whatever gets queued
meanwhile, up to a budget, so `skip_ready_cycle` interleaves tasks round-robin before the next poll,
while a task that yields forever still cannot starve timers and I/O.

Other threads talk to the loop by appending to the ready queue (a deque: appends are atomic) and
waking the reactor. The foreign-thread check costs one `get_ident()` call per scheduling call.

The scheduler is given its backend; picking one by name is the public class's job.
"""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from _thread import get_ident
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from heapq import heappop, heappush
from itertools import repeat
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Self, TypeVarTuple, Unpack

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

from .arguments import checked_deadline, not_a_delay, refuse_callback
from .timers import collect_due_timers, compact_timers
from .virtual_time import VirtualTimeDriver, export_chrome_trace
from .virtual_trace import TraceEvent
from .watching import READ, WRITE, add_reader, add_writer, remove_reader, remove_writer
from .outside import LoopPause, await_any, get_executor, run_from_outside, run_in_executor
from .forking import track_loop
from .shutdown import close_async_generators, finalize_async_generator, leave_behind, note_async_generator
from .shutdown import route_async_generators, run_close_callbacks, shut_down
from .states import CLOSED, CREATED, RUNNING, STATE_NAMES, STOPPING
from .recovery import FailureStreak
from .reporting import report_error
from .abc import AsyncGeneratorRouter, Backend, Executor, Runnable, VirtualTime
from .futures import Future
from .handles import Handle, TimerEntry, TimerHandle
from .tasks import Task, _new_task, check_coroutine

__all__ = ("DRAIN_BUDGET", "LOOP_THREAD_HOOKS", "Scheduler")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_CREATED = CREATED
_RUNNING = RUNNING
_STOPPING = STOPPING
_CLOSED = CLOSED

DRAIN_BUDGET = 4096
"""Handles one drain may run beyond those ready when it began, before timers and I/O get a turn."""

_BOOTING = object()

LOOP_THREAD_HOOKS: list[Callable[[Scheduler], object]] = []
"""Called on each loop thread as it starts, before any work (`scarletio.aio` gives the thread its asyncio face)."""

_READ = READ
_WRITE = WRITE


class Scheduler(threading.Thread):
    """An event loop running in a thread of its own, on the backend it is given.

    Args:
        backend: The backend that builds the loop's reactor, clock and executor.
        daemon: Whether the thread is a daemon thread (it then does not keep the process alive).
        name: The thread's name; `Thread-N` by default.
        start_later: Start the thread on first use instead of now.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        daemon: bool = False,
        name: str | None = None,
        start_later: bool = True,
    ) -> None:
        threading.Thread.__init__(self, daemon=daemon, name=name)
        self.backend = backend
        self._reactor = backend.reactor_factory()
        self._clock = backend.clock_factory()
        self._now = self._clock.now
        self._executor: Executor | None = None
        self._ready: deque[Runnable] = deque()
        self._timers: list[tuple[float, int, TimerEntry]] = []
        self._timer_sequence = 0
        self._timer_cancelled_count = 0
        self._timer_latest = float("-inf")
        self._readers: dict[int, Handle] = {}
        self._writers: dict[int, Handle] = {}
        # A dict used as an ordered set: the pending tasks in creation order, so everything that walks
        # them (stopping, get_tasks, the virtual network's crash) does so the same way on every run.
        self._tasks: dict[Task[Any], None] = {}
        self._asyncgens: weakref.WeakSet[AsyncGenerator[Any, Any]] = weakref.WeakSet()
        # Another face of the loop that closes its own world's generators (`route_async_generators`).
        self._asyncgen_router: AsyncGeneratorRouter | None = None
        # While stopping: the tasks `stop()` must not cancel (again).
        self._stop_spared: set[Task[Any]] = set()
        self._close_callbacks: list[Callable[[], object]] = []
        self._loop_state = _CREATED
        self._loop_thread_id = 0
        self._state_lock = threading.Lock()
        self._booted = False
        self.current_task: Task[object] | None = None
        # The asyncio face of this loop (`scarletio.aio` sets it): what scarletio futures name as
        # their loop to asyncio tasks, and what `asyncio.get_running_loop()` returns on this thread.
        self.asyncio_loop: AbstractEventLoop | None = None
        self._failure_streak = FailureStreak()
        # In a child process that inherited this loop from `os.fork()`: the parent's pid (see `forking`).
        self._left_behind_by = 0
        clock = self._clock
        self._virtual = VirtualTimeDriver(self, clock) if isinstance(clock, VirtualTime) else None
        # A timer is due once the clock is this close to its deadline. A virtual clock counts whole
        # nanoseconds while deadlines are floats (`time() + delay`) a fraction of one off, so half its
        # resolution; real clocks wait until the deadline itself.
        self._due_slack = clock.resolution / 2 if self._virtual is not None else 0.0
        track_loop(self)
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
        return self.ident is not None

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
                self._reactor.wakeup()  # the iteration under way must not block in its poll
            return
        with self._state_lock:
            state = self._loop_state
            if state == _CREATED:  # never started: nothing runs, but resources tied to it are released
                self._loop_state = _CLOSED
                run_close_callbacks(self)
                self._reactor.close()
                return
            if state != _RUNNING:
                return
            self._loop_state = _STOPPING
        self._reactor.wakeup()

    def _refuse_stopped(self, what: str) -> RuntimeError:
        if self._left_behind_by:
            return RuntimeError(
                f"cannot {what}: event loop {self.name!r} belongs to the parent process (pid "
                f"{self._left_behind_by}) this process was forked from; get a loop of this process's own "
                "with get_or_create_event_loop()"
            )
        return RuntimeError(
            f"cannot {what}: event loop {self.name!r} is stopped; create a new one with create_event_loop()"
        )

    def _leave_behind_after_fork(self, parent: int, keep: list[object]) -> None:
        leave_behind(self, parent, keep)

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
            TypeError: If `callback` is not callable (a coroutine, for example).
            RuntimeError: If the loop is stopped.
        """
        if not callable(callback):
            refuse_callback(callback, "call_soon")
        handle = Handle(callback, args)
        if self._loop_thread_id == get_ident():
            self._ready.append(handle)
        else:
            self._enqueue_foreign(handle, "call_soon")
        return handle

    def enqueue(self, item: Runnable) -> None:
        """Queue `item` to run (its `_run()` is called) in the next ready cycle; works from any thread.

        For bridges that bring their own handle objects (`scarletio.aio` queues asyncio's handles).

        Raises:
            RuntimeError: If the loop is stopped.
        """
        if self._loop_thread_id == get_ident():
            self._ready.append(item)
        else:
            self._enqueue_foreign(item, "enqueue")

    # Declared for the type checkers, as pyright does not bind an alias of a method generic in a `TypeVarTuple`.
    if TYPE_CHECKING:
        def call_soon_thread_safe(self, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle: ...
    else:
        call_soon_thread_safe = call_soon  # the method itself: it works from any thread

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
            TypeError: If `when` is not a number, or `callback` is not callable.
            ValueError: If `when` is NaN.
            RuntimeError: If the loop is stopped.
        """
        if when.__class__ is not float or when != when:
            when = checked_deadline(when, when, "call_at", "when")
        if not callable(callback):
            refuse_callback(callback, "call_at")
        handle = TimerHandle(when, callback, args, self)
        if self._loop_thread_id == get_ident():
            self._timer_sequence = sequence = self._timer_sequence + 1
            heappush(self._timers, (when, sequence, handle))
            if when > self._timer_latest:
                self._timer_latest = when
        else:
            self._enqueue_foreign(Handle(self._push_timer, (handle,)), "call_at")
        return handle

    def call_after(self, delay: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> TimerHandle:
        """Run `callback(*args)` on the loop thread after `delay` seconds; works from any thread.

        Args:
            delay: Seconds from now.
            callback: The function to call.
            *args: Its positional arguments.

        Returns:
            A handle whose `cancel()` withdraws the call.

        Raises:
            TypeError: If `delay` is not a number, or `callback` is not callable.
            ValueError: If `delay` is NaN.
            RuntimeError: If the loop is stopped.
        """
        # `call_at` inlined: scheduling timers is a hot path.
        try:
            when = self._now() + delay
        except TypeError:
            raise not_a_delay(delay, "call_after") from None
        if when.__class__ is not float or when != when:
            when = checked_deadline(when, delay, "call_after", "delay")
        if not callable(callback):
            refuse_callback(callback, "call_after")
        handle = TimerHandle(when, callback, args, self)
        if self._loop_thread_id == get_ident():
            self._timer_sequence = sequence = self._timer_sequence + 1
            heappush(self._timers, (when, sequence, handle))
            if when > self._timer_latest:
                self._timer_latest = when
        else:
            self._enqueue_foreign(Handle(self._push_timer, (handle,)), "call_after")
        return handle

    def _add_timer(self, entry: TimerEntry) -> None:
        """Put a timer entry into the heap (from any thread)."""
        if self._loop_thread_id == get_ident():
            self._push_timer(entry)
        else:
            self._enqueue_foreign(Handle(self._push_timer, (entry,)), "sleep")

    def _push_timer(self, handle: TimerEntry) -> None:
        if not handle._cancelled:
            self._timer_sequence = sequence = self._timer_sequence + 1
            heappush(self._timers, (handle.when, sequence, handle))
            if handle.when > self._timer_latest:
                self._timer_latest = handle.when

    # ---- futures and tasks --------------------------------------------------------------------

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
            check_coroutine(coroutine, "create_task")
        # (pyright narrows `coroutine` by the `type()` test to a union with `CoroutineType[Unknown, ...]`.)
        task = _new_task(self, coroutine)  # pyright: ignore[reportUnknownArgumentType]
        if self._loop_thread_id == get_ident():
            if self._virtual is not None:
                self._virtual.adopt(task)
            self._tasks[task] = None
            self._ready.append(task)
        else:
            self._queue_foreign_task(task, coroutine, "create_task")  # pyright: ignore[reportUnknownArgumentType]
        return task

    def _queue_foreign_task(self, task: Task[Any], coroutine: Coroutine[Any, Any, object], what: str) -> None:
        """Queue a new task from a thread that is not the loop's, starting or waking the loop."""
        if self._loop_state == _CREATED:
            self._ensure_started()
        with self._state_lock:
            if self._loop_state != _RUNNING:
                coroutine.close()
                raise self._refuse_stopped(what)
            if self._virtual is not None:
                self._virtual.adopt(task)
            self._tasks[task] = None
            self._ready.append(task)
        self._reactor.wakeup()

    def ensure_future(self, awaitable: Awaitable[T]) -> Future[T]:
        """Return a future for `awaitable`: a future of this loop as it is, anything else as a task.

        A future of another loop gets a task of this loop awaiting `future.async_wrap(self)`.

        Args:
            awaitable: A coroutine, a generator-based coroutine, a future, or an object with `__await__`.

        Returns:
            The future.

        Raises:
            TypeError: If `awaitable` is not awaitable.
        """
        if isinstance(awaitable, Future):
            if awaitable._loop is not self:  # a task of this loop waits for it (as the original wraps it)
                return self.create_task(await_any(awaitable.async_wrap(self)))
            return awaitable
        if isinstance(awaitable, (Coroutine, GeneratorType)):
            return self.create_task(awaitable)  # pyright: ignore[reportUnknownArgumentType]
        if hasattr(awaitable, "__await__"):
            return self.create_task(await_any(awaitable))
        raise TypeError(f"expected a coroutine, a future or an awaitable, got {awaitable!r}")

    create_task_thread_safe = create_task
    ensure_future_thread_safe = ensure_future

    def add_close_callback(self, callback: Callable[[], object]) -> None:
        """Call `callback()` once the loop has stopped, before its reactor closes.

        It runs on the loop thread, or on the thread calling `stop()` if the loop never started.

        For resources tied to the loop (watched descriptors, helper pipes): they are released when
        the loop ends even if nobody asked for it. Callbacks run once, in registration order; an
        exception is reported and the others still run.

        Args:
            callback: The function to call.
        """
        self._close_callbacks.append(callback)

    def add_stuck_report(self, reporter: Callable[[], list[str]]) -> None:
        """Add `reporter()`'s lines to the reports on a stuck virtual-time loop (deadlock, livelock, time limit).

        For work the loop's task list does not show (`scarletio.aio` names its asyncio tasks); a
        loop on real time makes no such reports and ignores it.
        """
        if self._virtual is not None:
            self._virtual.reporters.append(reporter)

    def get_trace(self) -> list[TraceEvent]:
        """Return the decisions a virtual-time loop with tracing on recorded (see `TraceEvent`); else `[]`."""
        return [] if self._virtual is None else self._virtual.get_trace()

    def export_chrome_trace(self) -> str:
        """Return the recorded trace as Chrome trace-event JSON (see `get_trace`)."""
        return export_chrome_trace(self._virtual)

    def get_tasks(self) -> list[Task[object]]:
        """Return the tasks of this loop that have not finished, in the order they were created."""
        return list(self._tasks)

    # ---- executor: functions of `outside` taking the loop first ---------------------------------

    get_executor = get_executor
    run_in_executor = run_in_executor

    # ---- file descriptors: `add_reader`, ... are functions of `watching` taking the loop first ----

    add_reader = add_reader
    add_writer = add_writer
    remove_reader = remove_reader
    remove_writer = remove_writer

    # ---- the loop -----------------------------------------------------------------------------

    def run(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        """Run `awaitable` on the loop and block the calling thread until it finishes.

        Args:
            awaitable: A coroutine, future or other awaitable.
            timeout: Seconds to wait at most; on expiry the task is cancelled.

        Returns:
            The awaitable's result.

        Raises:
            RuntimeError: If called on the loop thread, or the loop is stopped.
            TimeoutError: If the timeout passed; its cause is the task's exception.
            KeyboardInterrupt: If interrupted while waiting; the task is cancelled first, and its
                `CancelledError`, showing where the task was, is the interrupt's cause.
        """
        # What the type checker and `help()` see; at run time the function below takes its place.
        return run_from_outside(self, awaitable, timeout)

    if not TYPE_CHECKING:
        # `threading.Thread` runs the thread's body by calling `run()` without arguments, while users
        # call `LOOP.run(awaitable)` from other threads: one method serves both. It carries the public
        # docstring and signature above (`help(EventThread.run)` must not show `Thread.run`'s).

        @functools.wraps(run)
        def run(self, awaitable=_BOOTING, timeout=None):
            if awaitable is not _BOOTING:
                try:
                    return run_from_outside(self, awaitable, timeout)
                except KeyboardInterrupt as interrupt:
                    # Shown from the caller's `LOOP.run(...)` line: the frames of the wait inside
                    # the loop machinery mean nothing to the user.
                    raise interrupt.with_traceback(None)
            if self._booted or threading.current_thread() is not self:
                raise TypeError("EventThread.run() needs the awaitable to run")
            self._booted = True
            self._main()
            return None

    def enter(self) -> LoopPause[Self]:
        """Pause the loop for a `with` block: `with LOOP.enter(): ...` (from another thread).

        Inside the block the loop thread waits in a callback, so no callback, timer or task runs.

        Raises:
            RuntimeError: If used on the loop thread.
        """
        return LoopPause(self)

    def _main(self) -> None:
        self._loop_thread_id = get_ident()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter, finalizer=self._asyncgen_finalizer)
        for hook in LOOP_THREAD_HOOKS:
            try:
                hook(self)
            except BaseException as error:
                report_error(f"loop thread hook {hook!r} failed; the loop goes on", error)
        try:
            while self._loop_state == _RUNNING:
                try:
                    self._run_iteration(None)
                except BaseException as error:
                    if self._left_behind_by:
                        return  # forked from a callback of this loop: the child runs none of its work
                    self._failure_streak.survive(self.name, error)
        finally:
            if not self._left_behind_by:
                shut_down(self)

    def _run_iteration(self, longest_wait: float | None) -> None:
        ready = self._ready
        timers = self._timers
        now = self._clock.now
        if timers:
            if self._timer_cancelled_count > 256 and self._timer_cancelled_count * 2 > len(timers):
                compact_timers(self)
            current = now() + self._due_slack
            if timers and timers[0][0] <= current:
                collect_due_timers(self, current)
        budget = len(ready)
        virtual = self._virtual
        if virtual is not None and budget:
            virtual.drain(ready, budget if budget > DRAIN_BUDGET else DRAIN_BUDGET)
        elif budget:
            # The iterator hands out the turns, so no counter is updated in Python per item; after an
            # exception is reported, the drain goes on with the turns that are left.
            turns = repeat(None, budget if budget > DRAIN_BUDGET else DRAIN_BUDGET)
            popleft = ready.popleft
            item: Runnable | None = None
            while ready:
                try:
                    for _ in turns:
                        item = popleft()
                        item._run()
                        if not ready:
                            break
                    break
                except BaseException as error:
                    report_error(f"exception in callback {item!r}; the loop goes on", error)
            item = None  # a failed task's traceback may link to this frame (see `tasks._forget_step_frame`)
        timeout: float | None
        if ready:
            timeout = 0.0
            if longest_wait is not None and not self._tasks:
                return  # stopping, and no task is left: no more I/O (see `shutdown.run_down`)
        else:
            while timers and timers[0][2]._cancelled:
                heappop(timers)[2]._owner = None
                self._timer_cancelled_count -= 1
            if timers:
                timeout = timers[0][0] - now()
                if timeout <= self._due_slack:
                    timeout = 0.0
            else:
                timeout = None
            if longest_wait is not None:
                # Stopping: wait boundedly for cancelled tasks, not at all while a task that appeared
                # meanwhile still has to be cancelled, and once none is left, do not poll at all.
                tasks = self._tasks
                if not tasks:
                    return
                if not tasks.keys() <= self._stop_spared:
                    timeout = 0.0
                elif timeout is None or timeout > longest_wait:
                    timeout = longest_wait
        if virtual is not None:
            timeout = virtual.wait_time(timeout)
            events = self._reactor.poll(timeout)
            virtual.after_poll()
        else:
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

    # ---- asynchronous generators ----------------------------------------------------------------

    def route_async_generators(self, router: AsyncGeneratorRouter | None) -> None:
        """Let another face of this loop close the asynchronous generators of its world (see `shutdown.route_async_generators`)."""
        route_async_generators(self, router)

    def _asyncgen_firstiter(self, generator: AsyncGenerator[Any, Any]) -> None:
        note_async_generator(self, generator)

    def _asyncgen_finalizer(self, generator: AsyncGenerator[Any, Any]) -> None:
        finalize_async_generator(self, generator)

    async def shutdown_async_generators(self) -> int:
        """Close every open asynchronous generator first iterated on this loop (`stop()` does it too).

        Returns:
            How many generators were closed (each has run its `aclose()`).
        """
        closing = close_async_generators(self)
        for task in closing:
            await task.wait_for_completion()
        return len(closing)

    def __repr__(self) -> str:
        daemon = ", daemon = True" if self.daemon else ""
        return (
            f"<{type(self).__name__} {self.name}, state = {STATE_NAMES[self._loop_state]}{daemon}, "
            f"backend = {self.backend.name}, ident = {self.ident}>"
        )

