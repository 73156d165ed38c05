"""Virtual time in the scheduler: when the clock may jump, stuck loops, and the decision trace (core).

A loop whose clock implements `VirtualTime` gets a `VirtualTimeDriver`. The scheduler asks it how long
to wait whenever nothing is ready, and lets it run the drains (to record them):

- **Time moves only while someone waits.** The clock may move only while a thread waits on the loop
  (`LOOP.run`, `future.sync_wrap().wait()`, a test; each registers in `outside_waits`) or the loop is
  stopping. When nobody waits the loop parks: ready work still runs, but nothing that needs time to
  move, so a program that drives the loop in steps sees the same virtual instant between two calls.
- **Exact autojump.** The clock jumps to the next deadline only when the loop is idle: nothing ready,
  no executor job running (a job blocked on the loop itself, inside `enter_executor`, does not count),
  no real file descriptor watched, and no call from another thread being queued (checked under the
  loop's state lock). Never because some real time passed.
- **In-memory descriptors.** The sockets of the virtual network live in the reactor
  (`VirtualDescriptors`): a ready one is ready work (no jump), a waiting one holds nothing back (its
  data arrives by a loop timer).
- **Real file descriptors.** While real descriptors are watched and nothing else can run, time flows
  at real speed: the loop waits for real readiness at most until the next deadline, then advances
  the clock by the real time that passed. A peer in another thread or process that answers within
  the timeout is therefore never cut off by a false timeout.
- **Deadlock.** Idle with no deadline and nothing outside the loop that could wake it: the futures
  other threads wait for are cancelled with a `DeadlockError` that names every pending task, what it
  waits for and where (see `task_report`). Without such a waiter the loop just waits.
- **Livelock.** Work at one virtual instant is counted, from the instant (or the latest wait) on:
  after `livelock_steps` steps and `livelock_seconds` of real time spent working (not waiting) there
  while a timer waits for the clock to move on, with no executor job or real descriptor that could
  end the work, the waiters get a `LivelockError` naming the busiest tasks and callbacks and their
  lines. Long work that needs no deadline is just work.
- **Time limit.** A jump past the clock's `time_limit` fails the waiters with a `TimeLimitError`
  listing every pending task instead.
- **Timeouts with a hint.** A timeout (`future.apply_timeout`) that fires because the loop was idle,
  while a plain thread unknown to the loop is alive, gets a message saying so and naming the way out:
  such a thread may be about to call back, which the loop cannot know.
- **Determinism.** One `random.Random(seed)` makes every choice that is not fixed. With `perturb` it
  makes each wakeup late by up to `lateness` (a timer fires no earlier than its deadline, and a real
  loop is often a little late); the order of ready work is never changed (see the README for which
  orders are promised).
"""

from __future__ import annotations

import random
import sys
import threading
import time
from _thread import get_ident
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from itertools import count
from types import FrameType
from typing import Any, Protocol, cast

from .abc import Executor, Reactor, Runnable, VirtualDescriptors, VirtualTime
from .exceptions import DeadlockError, LivelockError, TimeLimitError
from .futures import Future
from .handles import Handle, TimerEntry, TimerHandle
from .reporting import report_error
from .task_report import PACKAGE_DIRECTORY, describe_tasks, task_label
from .tasks import Task
from .virtual_trace import TraceEvent, chrome_trace

__all__ = ("DrivenLoop", "OutsideWaits", "VirtualTimeDriver", "export_chrome_trace")

_STOPPING = 2  # states.STOPPING (states imports this module)


class DrivenLoop(Protocol):
    """The parts of the scheduler the driver reads to tell whether the loop is idle."""

    _executor: Executor | None
    _reactor: Reactor
    _readers: dict[int, Handle]
    _writers: dict[int, Handle]
    _state_lock: threading.Lock
    _ready: deque[Runnable]
    _timers: list[tuple[float, int, TimerEntry]]
    _tasks: dict[Task[object], None]
    _loop_state: int
    _loop_thread_id: int
    current_task: Task[object] | None


class OutsideWaits:
    """The futures other threads wait for, each with the thread waiting: virtual time moves for them.

    Whatever blocks a thread until a future of a virtual-time loop is done registers it here first
    (`add`), then queues the work that ends the wait (a task, a done-callback: queueing wakes the
    loop, which may have parked because nobody waited), and removes it afterwards (`discard`):
    `LOOP.run`, `sync_wrap().wait()`, and any other driver of the loop. Registering alone does not
    wake the loop, so the loop takes the wait up together with that work and makes the same
    decisions in every run. Thread-safe.
    """

    __slots__ = ("_waits", "generation")

    def __init__(self) -> None:
        self._waits: dict[Future[object], int] = {}
        self.generation: int = 0  # counts registrations: a new wait starts counting work at an instant anew

    def add(self, future: Future[Any]) -> None:
        """Register that the calling thread waits for `future` (then queue what ends the wait)."""
        self._waits[future] = get_ident()
        self.generation += 1

    def discard(self, future: Future[Any]) -> None:
        """Unregister `future` (harmless if it was not registered)."""
        self._waits.pop(future, None)

    def pending(self) -> list[Future[object]]:
        """Return the registered futures that are not done yet."""
        return [future for future in list(self._waits) if not future.is_done()]

    def threads(self) -> set[int]:
        """Return the idents of the threads waiting now."""
        return set(list(self._waits.values()))

    def __iter__(self) -> Iterator[Future[object]]:
        return iter(list(self._waits))

    def __len__(self) -> int:
        return len(self._waits)


def _label(item: Runnable) -> tuple[str, int]:
    """A stable name for a ready item and its task id: `task #3 worker`, or a callback's qualified name."""
    if isinstance(item, Task):
        task = cast("Task[object]", item)
        origin: tuple[int, object, int] | None = getattr(task, "_origin", None)  # set on virtual loops only
        return task_label(task), 0 if origin is None else origin[0]
    callback = getattr(item, "_callback", None) or getattr(item, "callback", None) or item
    return f"call {getattr(callback, '__qualname__', type(callback).__name__)}", 0


def _where(item: Runnable) -> str:
    """Return the code location of a callback, for a livelock report."""
    callback = getattr(item, "_callback", None) or item
    function = getattr(callback, "__func__", callback)
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    return f" ({code.co_filename}:{code.co_firstlineno})"


class VirtualTimeDriver:
    """The virtual-time side of one loop (see the module docstring)."""

    __slots__ = (
        "_blocked_at",
        "_busy_since",
        "_clock",
        "_generation",
        "_instant",
        "_loop",
        "_reactor",
        "_real_wait",
        "_sampling",
        "_steps",
        "_task_hosts",
        "_task_ids",
        "blocked_jobs",
        "host_of",
        "outside_waits",
        "random",
        "reporters",
        "trace",
    )

    def __init__(self, loop: DrivenLoop, clock: VirtualTime) -> None:
        self._loop = loop
        self._clock = clock
        reactor = loop._reactor
        # In-memory descriptors (the virtual network) never hold time back; real ones do.
        self._reactor = reactor if isinstance(reactor, VirtualDescriptors) else None
        self.random: random.Random = random.Random(clock.seed)
        self.trace: list[TraceEvent] | None = [] if clock.tracing else None
        self.outside_waits: OutsideWaits = OutsideWaits()
        self.blocked_jobs: int = 0
        # Lines for the reports on a stuck loop from other worlds on it (the asyncio tasks of `scarletio.aio`).
        self.reporters: list[Callable[[], list[str]]] = []
        # Set by the virtual network: the host a task runs on, for the trace.
        self.host_of: Callable[[Task[object]], str] | None = None
        self._task_ids = count(1)
        self._task_hosts: dict[int, str] = {}
        self._real_wait: tuple[float, float] | None = None
        self._instant = clock.now()
        self._generation = 0
        self._steps = 0
        self._busy_since = time.monotonic()
        self._blocked_at = 0.0
        self._sampling: dict[Runnable, int] | None = None

    # ---- tasks ---------------------------------------------------------------------------------

    def adopt(self, task: Task[Any], _getframe: Callable[[int], FrameType] = sys._getframe) -> None:
        """Give a new task its id on this loop and remember where it was created (the first frame
        outside scarletio), for reports and the trace.

        Only the code and the instruction are kept (the line is found when a report needs it):
        creating a task on a virtual loop stays cheap.
        """
        frame: FrameType | None = _getframe(2)
        while frame is not None:
            code = frame.f_code
            if not code.co_filename.startswith(PACKAGE_DIRECTORY):
                task._origin = (next(self._task_ids), code, frame.f_lasti)
                return
            frame = frame.f_back
        task._origin = (next(self._task_ids), None, -1)

    # ---- the drain -------------------------------------------------------------------------------

    def drain(self, ready: deque[Runnable], budget: int) -> None:
        """Run ready work in order, as the real drain does, counted and recorded when asked to."""
        trace = self.trace
        sampling = self._sampling
        popleft = ready.popleft
        left = budget
        while left and ready:
            left -= 1
            item = popleft()
            if trace is not None:
                self._record_step(trace, item)
            if sampling is not None:
                sampling[item] = sampling.get(item, 0) + 1
            try:
                item._run()
            except BaseException as error:
                report_error(f"exception in callback {item!r}; the loop goes on", error)
            del item  # a failed task's traceback may link to this frame (see `tasks._forget_step_frame`)
        self._steps += budget - left

    def _record_step(self, trace: list[TraceEvent], item: Runnable) -> None:
        label, task_id = _label(item)
        host = ""
        if isinstance(item, Task):
            # The host the task's first step ran on: a task stays on one row of the trace.
            hosts = self._task_hosts
            if task_id in hosts:
                host = hosts[task_id]
            else:
                host_of = self.host_of
                host = hosts[task_id] = "" if host_of is None else host_of(cast("Task[object]", item))
        trace.append(TraceEvent("step", self._clock.now(), label, task_id, host))

    def record(self, kind: str, what: str, *, host: str = "", flow: int = 0) -> None:
        """Add an event to the trace (when the loop records one); for the network and the testing helpers."""
        trace = self.trace
        if trace is not None:
            current = self._loop.current_task
            task_id = 0
            if current is not None:
                origin = getattr(current, "_origin", None)
                task_id = 0 if origin is None else origin[0]
            trace.append(TraceEvent(kind, self._clock.now(), what, task_id, host, flow))

    # ---- waiting -------------------------------------------------------------------------------

    def _busy_outside(self) -> bool:
        executor = self._loop._executor
        return executor is not None and executor.in_flight > self.blocked_jobs

    def _someone_waits(self) -> bool:
        return bool(self.outside_waits.pending()) or self._loop._loop_state >= _STOPPING

    def _block(self, timeout: float | None) -> float | None:
        self._blocked_at = time.monotonic()
        return timeout

    def wait_time(self, timeout: float | None) -> float | None:
        """Decide how long the loop really waits after a drain, jumping the clock when it may.

        Args:
            timeout: What the real scheduler would wait: 0 when work is ready or due, the seconds
                until the next deadline, or `None` without a deadline.

        Returns:
            The real timeout to poll with.
        """
        self._watch_instant()
        if timeout == 0.0:
            return 0.0
        loop = self._loop
        if self._busy_outside():
            return self._block(None)  # the job's completion wakes the loop; time holds still meanwhile
        reactor = self._reactor
        if reactor is not None:
            if reactor.has_virtual_events():
                return 0.0
            real_watched = reactor.watched() != 0
        else:
            real_watched = bool(loop._readers or loop._writers)
        waited = self._someone_waits()
        if real_watched:
            if timeout is not None and waited:
                self._real_wait = (timeout, time.monotonic())
                return self._block(timeout)
            return self._block(None)  # real readiness (or a wakeup) ends the wait; the clock stands
        limit = self._clock.time_limit
        with loop._state_lock:
            if loop._ready:  # another thread queued work since the drain: no jump
                return 0.0
            if not waited:
                return self._block(None)  # nobody waits: time stands still until somebody does
            deadline = None
            if timeout is not None:
                timers = loop._timers
                deadline = timers[0][0] if timers else self._clock.now() + timeout
                if limit is None or deadline <= limit:
                    self._jump(deadline)
                    return 0.0
        if deadline is not None and limit is not None:
            self._report(
                TimeLimitError,
                f"time limit: the loop was about to pass its virtual-time limit of {limit:.9f}s "
                f"(next deadline {deadline:.9f})",
                "time limit",
            )
        else:
            self._report(DeadlockError, "deadlock: nothing can ever wake the loop", "deadlock")
        return 0.0 if loop._ready else self._block(None)

    def _jump(self, deadline: float) -> None:
        clock = self._clock
        before = clock.now()
        clock.jump_to(deadline)
        if clock.perturb and clock.lateness > 0.0:
            # A real loop wakes at its deadline or a little after, never before.
            clock.advance(self.random.randint(0, round(clock.lateness * 1e9)) / 1e9)
        self._hint_timeouts(before)
        if self.trace is not None:
            self.trace.append(TraceEvent("jump", clock.now(), f"+{clock.now() - before:.9f}s"))

    def after_poll(self) -> None:
        """Advance the clock by the real time a wait on real descriptors took."""
        blocked_at = self._blocked_at
        if blocked_at:
            self._blocked_at = 0.0
            self._busy_since += time.monotonic() - blocked_at  # waiting is not work at this instant
        real_wait = self._real_wait
        if real_wait is not None:
            self._real_wait = None
            longest, started = real_wait
            elapsed = time.monotonic() - started
            self._clock.advance(min(elapsed, longest))

    # ---- livelock ------------------------------------------------------------------------------

    def _watch_instant(self) -> None:
        clock = self._clock
        instant = clock.now()
        generation = self.outside_waits.generation
        if instant != self._instant or generation != self._generation:
            self._instant = instant
            self._generation = generation
            self._steps = 0
            self._busy_since = time.monotonic()
            self._sampling = None
            return
        if self._steps < clock.livelock_steps:
            return
        busy = time.monotonic() - self._busy_since
        if busy < clock.livelock_seconds or not self._clock_is_held_back():
            return
        sampling = self._sampling
        if sampling is None:  # sample one more drain to name the busiest work
            self._sampling = {}
            return
        steps = self._steps
        self._steps = 0
        self._busy_since = time.monotonic()
        self._sampling = None
        busiest = sorted(sampling.items(), key=lambda entry: -entry[1])[:5]
        lines = ["the busiest work in the last drain:"]
        for item, times in busiest:
            label, _ = _label(item)
            lines.append(f"  {label}{'' if isinstance(item, Task) else _where(item)}: {times} step(s)")
        self._report(
            LivelockError,
            f"livelock: the loop ran {steps} steps in {busy:.1f}s of real time at one virtual instant, "
            "so its clock could never move on",
            "livelock",
            extra=lines,
        )

    def _clock_is_held_back(self) -> bool:
        """Whether the work at this instant keeps a deadline from coming, and nothing else can end it.

        Long work at one instant is a livelock only while a timer waits for the clock to move on,
        and no executor job or real descriptor (outside the loop, in real time) may end it.
        """
        loop = self._loop
        if self._busy_outside():
            return False
        reactor = self._reactor
        if (reactor.watched() if reactor is not None else len(loop._readers) + len(loop._writers)) != 0:
            return False
        return any(not entry[2]._cancelled for entry in loop._timers)

    # ---- reports -------------------------------------------------------------------------------

    def describe(self, headline: str, extra: list[str] | None = None) -> str:
        """Return a report: `headline` at the virtual time, then every pending task (see `task_report`)."""
        now = self._clock.now()
        lines = list(extra or ())
        for reporter in self.reporters:
            try:
                lines.extend(reporter())
            except Exception as error:  # a report must never fail the loop
                lines.append(f"(a reporter failed: {error!r})")
        return describe_tasks(list(self._loop._tasks), f"{headline} at virtual time {now:.9f}", now, extra=lines)

    def _report(self, kind: type[BaseException], headline: str, trace_kind: str, *, extra: list[str] | None = None) -> None:
        waits = self.outside_waits.pending()
        if not waits:
            return
        tasks = self._loop._tasks
        if any(isinstance(future, Task) and future not in tasks for future in waits):
            return  # another thread is still queuing that task: a call in flight, not a deadlock
        message = self.describe(headline, extra)
        if self.trace is not None:
            self.trace.append(TraceEvent(trace_kind, self._clock.now(), headline))
        for future in waits:
            error = kind(message)
            future.add_done_callback(partial(_lead_with, error))
            future.cancel_with(error)

    def _hint_timeouts(self, idle_since: float) -> None:
        """Give the timeouts falling due now a message, if a thread the loop cannot see is alive."""
        timers = self._loop._timers
        current = self._clock.now() + self._clock.resolution / 2
        due: list[TimerHandle] = []
        stack = [0]
        while stack:  # the heap's entries due now: every node below a due node may be due too
            index = stack.pop()
            if index < len(timers) and timers[index][0] <= current:
                handle = timers[index][2]
                if type(handle) is TimerHandle and handle._args == (TimeoutError,) and _is_cancel_with(handle._callback):
                    due.append(handle)
                stack.extend((2 * index + 1, 2 * index + 2))
        if not due:
            return
        threads = self._unknown_threads()
        if not threads:
            return
        names = ", ".join(repr(thread.name) for thread in threads)
        message = (
            f"timed out at virtual time {self._clock.now():.9f}: the loop was idle since {idle_since:.9f} with no "
            "known outside work (no executor job, watched descriptor or call from another thread), so virtual "
            f"time jumped to this deadline; meanwhile thread(s) {names} ran, which the loop cannot see: if one "
            "is to call back later, run that work with loop.run_in_executor() or inside enter_executor(), "
            "so virtual time waits for it"
        )
        for handle in due:
            handle._args = (TimeoutError(message),)

    def _unknown_threads(self) -> list[threading.Thread]:
        loop = self._loop
        known = self.outside_waits.threads()
        known.add(loop._loop_thread_id)
        return [
            thread
            for thread in threading.enumerate()
            if thread.ident not in known
            and not isinstance(thread, type(loop))
            and not thread.name.startswith("scarletio-")  # executor workers, test watchdogs
            and thread.is_alive()
        ]

    # ---- trace ---------------------------------------------------------------------------------

    def get_trace(self) -> list[TraceEvent]:
        """Return a copy of the trace (empty when the loop records none)."""
        return [] if self.trace is None else list(self.trace)


def export_chrome_trace(driver: VirtualTimeDriver | None) -> str:
    """Return a driver's trace as Chrome trace-event JSON (Perfetto, chrome://tracing); see `virtual_trace`.

    Raises:
        RuntimeError: If the loop records no trace.
    """
    if driver is None or driver.trace is None:
        raise RuntimeError("no trace was recorded; use virtual_backend(tracing=True)")
    return chrome_trace(driver.trace)


def _is_cancel_with(callback: Callable[..., object]) -> bool:
    return getattr(callback, "__name__", None) == "cancel_with" and isinstance(getattr(callback, "__self__", None), Future)


def _lead_with(error: BaseException, future: Future[Any]) -> None:
    """Let a report be the first thing shown: the cancellation that delivered it is not its cause.

    The report lists every stack already; a chained `CancelledError` would only come first.
    """
    error.__cause__ = None
    error.__suppress_context__ = True
