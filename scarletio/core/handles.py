"""Handles: the items of the loop's ready queue and timer heap (core layer).

A handle is a callback with its positional arguments, run once on the loop thread by `_run`. Tasks
are ready-queue items too (their `_run` is one step), which is why the queue holds `Runnable`s and
not handles only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, final

from typing_extensions import Unpack, TypeVarTuple

from .abc import Cancellable, Runnable

__all__ = ("Handle", "TimerEntry", "TimerHandle", "TimerOwner", "WatchHandle")

Ts = TypeVarTuple("Ts")


class Handle(Runnable, Cancellable):
    """A callback queued to run once on the loop thread; `cancel` withdraws it."""

    __slots__ = ("_args", "_callback", "_cancelled")

    def __init__(self, callback: Callable[[Unpack[Ts]], object], args: tuple[Unpack[Ts]]) -> None:
        self._callback: Callable[..., object] = callback
        self._args: tuple[object, ...] = args
        self._cancelled = False

    def _run(self) -> None:
        if not self._cancelled:
            self._callback(*self._args)

    def cancel(self) -> None:
        """Withdraw the callback; harmless if it already ran."""
        self._cancelled = True

    def is_cancelled(self) -> bool:
        """Return whether `cancel` was called."""
        return self._cancelled

    @property
    def callback(self) -> Callable[..., object]:
        """The function this handle calls."""
        return self._callback

    def __repr__(self) -> str:
        state = ", cancelled" if self._cancelled else ""
        return f"<{type(self).__name__} {self._callback!r}{state}>"


def _skip() -> None:
    """What a cancelled `WatchHandle` runs: nothing."""


@final
class WatchHandle(Handle):
    """The handle of a descriptor watcher without arguments: its `_run` is the callback itself.

    The loop runs a watcher on every readiness event of its descriptor, the hottest path of a busy
    connection; here no frame of the handle's sits between the loop and the callback (`_run` is an
    instance slot, found before the class's method). `cancel` turns it into a call that does nothing.
    """

    __slots__ = ("_run",)

    def __init__(self, callback: Callable[[], object]) -> None:
        Handle.__init__(self, callback, ())
        self._run: Callable[[], object] = callback  # type: ignore[assignment]  # pyright: ignore[reportIncompatibleMethodOverride]

    def cancel(self) -> None:
        """Withdraw the callback; harmless if it already ran."""
        self._cancelled = True
        self._run = _skip


class TimerOwner(Protocol):
    _timer_cancelled_count: int


class TimerEntry(Runnable, Protocol):
    """What the loop's timer heap holds: a `TimerHandle`, or a future that is its own timer.

    `_cancelled` tells that running it would do nothing; `_owner` is the loop while the entry is in the
    heap (it counts cancelled entries to know when to compact the heap) and `None` afterwards.
    """

    when: float
    _owner: TimerOwner | None

    @property
    def _cancelled(self) -> bool: ...


@final
class TimerHandle(Handle):
    """A handle waiting in the loop's timer heap until its deadline.

    Cancelled timers stay in the heap (removing from the middle of a heap is linear); the owner counts
    them and compacts the heap once most of it is dead. `_owner` is cleared once the timer leaves the
    heap (when it runs, or is dropped), so a late `cancel` does not count a timer that is not there.
    """

    __slots__ = ("_owner", "when")

    def __init__(
        self, when: float, callback: Callable[[Unpack[Ts]], object], args: tuple[Unpack[Ts]], owner: TimerOwner
    ) -> None:
        self._callback = callback
        self._args = args
        self._cancelled = False
        self.when: float = when
        self._owner: TimerOwner | None = owner

    def _run(self) -> None:
        owner = self._owner
        self._owner = None  # off the heap now: a later cancel must not be counted
        if not self._cancelled:
            self._callback(*self._args)
        elif owner is not None:
            owner._timer_cancelled_count -= 1

    def cancel(self) -> None:
        """Withdraw the callback; harmless if it already ran or was cancelled."""
        if not self._cancelled:
            self._cancelled = True
            owner = self._owner
            if owner is not None:  # still in the heap
                owner._timer_cancelled_count += 1
