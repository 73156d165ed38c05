"""The scheduler's lifecycle states, and its state as its collaborators see it (core layer).

The scheduler (`scheduler.Scheduler`) keeps its state in private attributes; the modules that do
parts of its work (`timers`, `watching`, `outside`, `shutdown`) take the loop as a parameter typed
`LoopInternals`, so they need not import the class they serve.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol

from .abc import AsyncGeneratorRouter, Clock, EventLoop, Executor
from .recovery import FailureStreak
from .tasks import Task
from .virtual_time import DrivenLoop, VirtualTimeDriver

__all__ = ("CLOSED", "CREATED", "RUNNING", "STATE_NAMES", "STOPPING", "LoopInternals")

CREATED = 0
RUNNING = 1
STOPPING = 2
CLOSED = 3
STATE_NAMES = ("created", "running", "stopping", "stopped")


class LoopInternals(EventLoop, DrivenLoop, Protocol):
    """The scheduler's private state and steps that its collaborator modules use.

    `Scheduler` satisfies it; see its `__init__` for what each attribute holds.
    """

    name: str
    _loop_state: int
    _clock: Clock
    _timer_latest: float
    _timer_cancelled_count: int
    _stop_spared: set[Task[Any]]
    _asyncgens: weakref.WeakSet[AsyncGenerator[Any, Any]]
    _asyncgen_router: AsyncGeneratorRouter | None
    _close_callbacks: list[Callable[[], object]]
    _virtual: VirtualTimeDriver | None
    _failure_streak: FailureStreak
    _left_behind_by: int

    def _run_iteration(self, longest_wait: float | None) -> None: ...

    def _refuse_stopped(self, what: str) -> RuntimeError: ...

    def get_executor(self) -> Executor: ...

