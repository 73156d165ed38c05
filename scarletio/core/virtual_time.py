"""Virtual time in the scheduler: when the clock may jump, deadlocks, and the decision trace (core).

A loop whose clock implements `VirtualTime` gets a `VirtualTimeDriver`. The scheduler asks it how long
to wait whenever nothing is ready, and lets it run the drains (to shuffle and record them):

- **Exact autojump.** The clock jumps to the next deadline only when the loop is idle: nothing ready,
  no executor job running (a job blocked on the loop itself, inside `enter_executor`, does not count),
  no real file descriptor watched, and no call from another thread being queued (checked under the
  loop's state lock). Never because some real time passed.
- **In-memory descriptors.** The sockets of the virtual network live in the reactor (`VirtualDescriptors`): a ready
  one is ready work (no jump), a waiting one holds nothing back (its data arrives by a loop timer).
- **Real file descriptors.** While real descriptors are watched and nothing else can run, time flows
  at real speed: the loop waits for real readiness at most until the next deadline, then advances
  the clock by the real time that passed. A peer in another thread or process that answers within
  the timeout is therefore never cut off by a false timeout.
- **Deadlock.** Idle with no deadline and nothing outside the loop that could wake it: the futures
  other threads wait for (`LOOP.run`, `sync_wrap().wait()`) are cancelled with a `DeadlockError`
  listing every pending task and its await stack. Without such a waiter the loop just waits for
  another thread.
- **Livelock.** More than `livelock_iterations` iterations at one instant are reported the same way,
  as a `LivelockError`.
- **Determinism.** One `random.Random(seed)` makes every choice that is not fixed; with `perturb` the
  order of each drain's ready work and of equal-deadline timers is shuffled from it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from .abc import Executor, Reactor, Runnable, VirtualDescriptors, VirtualTime
from .exceptions import DeadlockError, LivelockError
from .futures import Future
from .handles import Handle, TimerEntry
from .reporting import report_error
from .tasks import Task

__all__ = ("DrivenLoop", "Traced", "VirtualTimeDriver", "export_chrome_trace", "get_trace")


class DrivenLoop(Protocol):
    """The parts of the scheduler the driver reads to tell whether the loop is idle."""

    _executor: Executor | None
    _reactor: Reactor
    _readers: dict[int, Handle]
    _writers: dict[int, Handle]
    _state_lock: threading.Lock
    _ready: deque[Runnable]
    _timers: list[tuple[float, int, TimerEntry]]
    _tasks: dict[Task[Any], None]


def _label(item: Runnable) -> str:
    """A stable name for a ready item: a task's coroutine name, or a callback's qualified name."""
    coroutine = getattr(item, "_coroutine", None)
    if coroutine is not None:
        return f"task {getattr(coroutine, '__qualname__', type(coroutine).__name__)}"
    callback = getattr(item, "_callback", None) or getattr(item, "callback", None) or item
    return f"call {getattr(callback, '__qualname__', type(callback).__name__)}"


class VirtualTimeDriver:
    """The virtual-time side of one loop (see the module docstring)."""

    __slots__ = (
        "_clock",
        "_iterations_at_instant",
        "_last_instant",
        "_loop",
        "_reactor",
        "_real_wait",
        "_step",
        "blocked_jobs",
        "_outside_waits",
        "random",
        "trace",
    )

    def __init__(self, loop: DrivenLoop, clock: VirtualTime) -> None:
        self._loop = loop
        self._clock = clock
        reactor = loop._reactor
        # In-memory descriptors (the virtual network) never hold time back; real ones do.
        self._reactor = reactor if isinstance(reactor, VirtualDescriptors) else None
        self.random: random.Random = random.Random(clock.seed)
        self.trace: list[tuple[str, float, str]] | None = [] if clock.tracing else None
        self._outside_waits: set[Future[Any]] = set()
        self.blocked_jobs: int = 0
        self._real_wait: tuple[float, float] | None = None
        self._last_instant = clock.now()
        self._iterations_at_instant = 0
        self._step = 0

    # ---- the drain -------------------------------------------------------------------------------

    def drain(self, ready: deque[Runnable], budget: int) -> None:
        """Run ready work like the real drain does, recorded when asked to.

        With `perturb`, each next item is drawn at random from everything ready (instead of the
        oldest), so every interleaving of ready tasks can come up.
        """
        trace = self.trace
        now = self._clock.now
        popleft = ready.popleft
        choose = self.random.randrange if self._clock.perturb else None
        while budget and ready:
            budget -= 1
            if choose is not None and len(ready) > 1:
                index = choose(len(ready))
                item = ready[index]
                del ready[index]
            else:
                item = popleft()
            if trace is not None:
                trace.append(("step", now(), _label(item)))
            try:
                item._run()
            except BaseException as error:
                report_error(f"exception in callback {item!r}; the loop goes on", error)
            del item  # a failed task's traceback may link to this frame (see `tasks._forget_step_frame`)

    def order_ties(self, due: list[tuple[float, int, Any]]) -> None:
        """Shuffle runs of equal deadlines in an already sorted list of due timers (with `perturb`)."""
        if not self._clock.perturb:
            return
        start = 0
        for index in range(1, len(due) + 1):
            if index == len(due) or due[index][0] != due[start][0]:
                if index - start > 1:
                    group = due[start:index]
                    self.random.shuffle(group)
                    due[start:index] = group
                start = index

    # ---- waiting -------------------------------------------------------------------------------

    def _busy_outside(self) -> bool:
        executor = self._loop._executor
        return executor is not None and executor.in_flight > self.blocked_jobs

    def wait_time(self, timeout: float | None) -> float | None:
        """Decide how long the loop really waits after a drain, jumping the clock when it may.

        Args:
            timeout: What the real scheduler would wait: 0 when work is ready or due, the seconds
                until the next deadline, or `None` without a deadline.

        Returns:
            The real timeout to poll with.
        """
        self._note_iteration()
        if timeout == 0.0:
            return 0.0
        loop = self._loop
        clock = self._clock
        if self._busy_outside():
            return None  # the job's completion wakes the loop; time holds still meanwhile
        reactor = self._reactor
        if reactor is not None:
            if reactor.has_virtual_events():
                return 0.0
            real_watched = reactor.watched() != 0
        else:
            real_watched = bool(loop._readers or loop._writers)
        if real_watched:
            if timeout is not None:
                self._real_wait = (timeout, time.monotonic())
            return timeout
        with loop._state_lock:
            if loop._ready:  # another thread queued work since the drain: no jump
                return 0.0
            if timeout is not None:
                deadline = loop._timers[0][0]
                clock.jump_to(deadline)
                if self.trace is not None:
                    self.trace.append(("jump", clock.now(), f"+{timeout:.9f}s"))
                return 0.0
        self._deadlock(DeadlockError, "deadlock: nothing can ever wake the loop")
        return 0.0 if loop._ready else None

    def after_poll(self) -> None:
        """Advance the clock by the real time a wait on real descriptors took."""
        real_wait = self._real_wait
        if real_wait is not None:
            self._real_wait = None
            longest, started = real_wait
            elapsed = time.monotonic() - started
            self._clock.advance(min(elapsed, longest))

    def _note_iteration(self) -> None:
        instant = self._clock.now()
        if instant != self._last_instant:
            self._last_instant = instant
            self._iterations_at_instant = 0
            return
        self._iterations_at_instant += 1
        if self._iterations_at_instant > self._clock.livelock_iterations:
            self._iterations_at_instant = 0
            self._deadlock(LivelockError, f"livelock: the loop ran {self._clock.livelock_iterations} iterations at one instant")

    # ---- deadlock ------------------------------------------------------------------------------

    def describe(self, headline: str) -> str:
        """Return `headline` followed by every pending task's await stack."""
        tasks: Iterable[Task[Any]] = sorted(self._loop._tasks, key=lambda task: task.qualname)
        lines = [f"{headline} at virtual time {self._clock.now():.9f}"]
        for task in tasks:
            lines.append(task.format_stack())
        if len(lines) == 1:
            lines.append("(no task is pending)")
        return "\n".join(lines)

    def _deadlock(self, kind: type[DeadlockError], headline: str) -> None:
        waits = [future for future in self._outside_waits if not future.is_done()]
        if not waits:
            return
        tasks = self._loop._tasks
        if any(isinstance(future, Task) and future not in tasks for future in waits):
            return  # another thread is still queuing that task: a call in flight, not a deadlock
        message = self.describe(headline)
        if self.trace is not None:
            self.trace.append(("deadlock", self._clock.now(), headline))
        for future in waits:
            future.cancel_with(kind(message))

    # ---- trace ---------------------------------------------------------------------------------

    def chrome_trace(self) -> str:
        """Return the trace as Chrome trace-event JSON (Perfetto, chrome://tracing).

        One row per task or callback, one span per step; a step is drawn one microsecond wide after
        the previous one (steps take no virtual time), clock jumps are instant markers, and the
        virtual time is in each event's arguments.
        """
        events: list[dict[str, object]] = []
        rows: dict[str, int] = {}
        for position, (kind, instant, what) in enumerate(self.trace or ()):
            if kind == "step":
                row = rows.setdefault(what, len(rows) + 1)
                events.append(
                    {"name": what, "ph": "X", "ts": position, "dur": 1, "pid": 1, "tid": row, "args": {"virtual_time": instant}}
                )
            else:
                events.append({"name": f"{kind} {what}", "ph": "i", "s": "g", "ts": position, "pid": 1, "tid": 0, "args": {"virtual_time": instant}})
        for name, row in rows.items():
            events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": row, "args": {"name": name}})
        events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "clock"}})
        return json.dumps({"traceEvents": events, "displayTimeUnit": "ns"})


class Traced(Protocol):
    """A loop as the trace functions see it."""

    _virtual: VirtualTimeDriver | None


def get_trace(loop: Traced) -> list[tuple[str, float, str]]:
    """Return the decisions a virtual-time loop recorded: `(kind, virtual time, what)` tuples.

    Kinds are `"step"` (a task step or callback ran), `"jump"` (the clock jumped) and `"deadlock"`.
    Empty unless the loop runs on a virtual backend with tracing on. This is `loop.get_trace()`.
    """
    virtual = loop._virtual
    return list(virtual.trace) if virtual is not None and virtual.trace is not None else []


def export_chrome_trace(loop: Traced) -> str:
    """Return the recorded trace as Chrome trace-event JSON (see `get_trace`); `loop.export_chrome_trace()`."""
    virtual = loop._virtual
    if virtual is None or virtual.trace is None:
        raise RuntimeError("no trace was recorded; use virtual_backend(tracing=True)")
    return virtual.chrome_trace()
