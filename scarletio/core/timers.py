"""The timer heap of `EventThread`: collecting due timers and dropping cancelled ones (core layer).

Entries are `(deadline, sequence, handle)` tuples, so equal deadlines keep scheduling order. Cancelled
timers stay in the heap until they come up or the heap is compacted (once most of it is dead).
"""

from __future__ import annotations

from bisect import bisect_right
from heapq import heapify, heappop
from operator import itemgetter

from .handles import TimerEntry
from .states import LoopInternals


__all__ = ("collect_due_timers", "compact_timers")

_BY_SEQUENCE = itemgetter(1)
_BY_DEADLINE = itemgetter(0)
_HANDLE_OF = itemgetter(2)


def _sort_timers(entries: list[tuple[float, int, TimerEntry]]) -> None:
    """Sort timer entries by (deadline, sequence); a sorted list is also a valid heap.

    Two stable sorts on plain number keys are several times faster than comparing the tuples.
    """
    entries.sort(key=_BY_SEQUENCE)
    entries.sort(key=_BY_DEADLINE)


_SAMPLES = 32
"""Heap entries `_looks_like_burst` inspects."""


def _looks_like_burst(timers: list[tuple[float, int, TimerEntry]], current: float) -> bool:
    """Guess from evenly spaced heap entries whether a sixteenth or more of the heap is due.

    Each heap slot holds one entry, so the share of due entries among the sampled slots estimates the
    share in the whole heap. A wrong guess only picks the slower of two ways to the same result.
    """
    count = len(timers)
    if count < 1024:  # small heaps: popping is cheap whatever is due
        return False
    step = count // _SAMPLES
    due = 0
    for index in range(step >> 1, count, step):
        if timers[index][0] <= current:
            due += 1
    return due * 16 >= _SAMPLES


def _split_sorted(timers: list[tuple[float, int, TimerEntry]], current: float) -> list[tuple[float, int, TimerEntry]]:
    """Remove and return the due entries by sorting the whole heap; the sorted rest stays a heap."""
    _sort_timers(timers)
    cut = bisect_right(timers, current, key=_BY_DEADLINE)
    due = timers[:cut]
    del timers[:cut]
    return due


def collect_due_timers(loop: LoopInternals, current: float) -> None:
    """Move the timers due at `current` to the ready queue, in deadline order (FIFO on ties)."""
    timers = loop._timers
    ready = loop._ready
    due: list[tuple[float, int, TimerEntry]]
    if loop._timer_latest <= current:
        due = timers[:]
        timers.clear()
        _sort_timers(due)
        loop._timer_latest = float("-inf")
    elif _looks_like_burst(timers, current):
        # A burst: one sort of the heap costs less than a logarithmic pop per due timer, the more so
        # as the entries lie scattered in memory and every pop follows them down the heap.
        due = _split_sorted(timers, current)
    else:
        # Pop one by one while few are due; should many be due after all (a sixteenth of the heap),
        # fall back to the sort.
        due = []
        limit = 64 + (len(timers) >> 4)
        while timers and timers[0][0] <= current:
            if len(due) == limit:
                due.extend(_split_sorted(timers, current))
                break
            due.append(heappop(timers))
    ready.extend(map(_HANDLE_OF, due))  # cancelled ones do nothing when run


def compact_timers(loop: LoopInternals) -> None:
    """Drop the cancelled timers from the heap."""
    for entry in loop._timers:
        if entry[2]._cancelled:
            entry[2]._owner = None
    timers = [entry for entry in loop._timers if not entry[2]._cancelled]
    heapify(timers)
    loop._timers[:] = timers
    loop._timer_cancelled_count = 0
