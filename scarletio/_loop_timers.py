"""The timer heap of `EventThread`: collecting due timers and dropping cancelled ones (core layer).

Entries are `(deadline, sequence, handle)` tuples, so equal deadlines keep scheduling order. Cancelled
timers stay in the heap until they come up or the heap is compacted (once most of it is dead).
"""

from __future__ import annotations

from heapq import heapify, heappop
from operator import itemgetter
from typing import TYPE_CHECKING

from .handles import TimerEntry

if TYPE_CHECKING:
    from .event_thread import EventThread

__all__ = ("collect_due_timers", "compact_timers")

_BY_SEQUENCE = itemgetter(1)
_BY_DEADLINE = itemgetter(0)
_HANDLE_OF = itemgetter(2)


def _sort_timers(entries: list[tuple[float, int, TimerEntry]]) -> None:
    """Sort timer entries by (deadline, sequence).

    Two stable sorts on plain number keys are several times faster than comparing the tuples.
    """
    entries.sort(key=_BY_SEQUENCE)
    entries.sort(key=_BY_DEADLINE)


def collect_due_timers(loop: EventThread, current: float) -> None:
    """Move the timers due at `current` to the ready queue, in deadline order (FIFO on ties)."""
    timers = loop._timers
    ready = loop._ready
    due: list[tuple[float, int, TimerEntry]]
    if loop._timer_latest <= current:
        due = timers[:]
        timers.clear()
        _sort_timers(due)
        loop._timer_latest = float("-inf")
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
    virtual = loop._virtual
    if virtual is not None:
        virtual.order_ties(due)
    ready.extend(map(_HANDLE_OF, due))  # cancelled ones do nothing when run


def compact_timers(loop: EventThread) -> None:
    """Drop the cancelled timers from the heap."""
    for entry in loop._timers:
        if entry[2]._cancelled:
            entry[2]._owner = None
    timers = [entry for entry in loop._timers if not entry[2]._cancelled]
    heapify(timers)
    loop._timers[:] = timers
    loop._timer_cancelled_count = 0
