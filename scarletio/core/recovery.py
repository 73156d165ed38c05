"""What the loop does when its own machinery fails: report it, slow down if it repeats, go on (core).

An exception from a callback or a task step is the callback's problem: the drain reports it and runs
the next item. An exception from the iteration itself (collecting timers, computing the timeout, the
reactor's `poll`, the virtual-time driver) used to end the loop thread, which cancelled every task and
made every later call fail with "stopped". Now the iteration is reported and the loop simply runs the
next one. A fault that repeats (a reactor whose descriptor was closed behind its back fails every
`poll`) would turn that into a busy loop filling the log, so failures that come close together form a
streak: only the 1st, 2nd, 4th, 8th, ... of a streak are reported, and from the second on the loop
waits a little before it goes on (at most `LONGEST_PAUSE` seconds), leaving the CPU to everyone else.
"""

from __future__ import annotations

import time
from typing import final

from .reporting import report_error

__all__ = ("FailureStreak", "LONGEST_PAUSE")

STREAK_GAP = 1.0
"""Seconds between two failures of the iteration after which the second starts a new streak."""

LONGEST_PAUSE = 0.1
"""The longest wait, in seconds, after a failure that repeats."""


@final
class FailureStreak:
    """The failures of one loop's iterations that came close together."""

    __slots__ = ("count", "last")

    def __init__(self) -> None:
        self.count: int = 0
        self.last: float = float("-inf")

    def survive(self, loop_name: str, error: BaseException) -> None:
        """Report a failed iteration of loop `loop_name` (see the module docstring) and return."""
        now = time.monotonic()
        if now - self.last > STREAK_GAP:
            self.count = 0
        self.last = now
        self.count = count = self.count + 1
        if count & (count - 1) == 0:  # 1, 2, 4, 8, ...
            repeated = "" if count == 1 else f" ({count} failures in a row; a repeating failure slows the loop)"
            report_error(f"event loop {loop_name!r} failed in its own iteration{repeated}; the loop goes on", error)
        if count > 1:
            time.sleep(min(0.001 * count, LONGEST_PAUSE))
