"""The real-time clock shared by the epoll and poll backends.

Backends layer: `MonotonicClock` implements the `Clock` contract with `time.monotonic`, which never
goes backwards and is unaffected by changes of the wall clock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, final

from ..core.abc import Clock

__all__ = ("MonotonicClock",)


@final
class MonotonicClock(Clock):
    """Reads `time.monotonic`: seconds since an unspecified point, never decreasing."""

    __slots__ = ("_resolution",)

    def __init__(self) -> None:
        self._resolution = time.get_clock_info("monotonic").resolution

    @property
    def resolution(self) -> float:
        """The smallest difference between two readings, in seconds, as the platform reports it."""
        return self._resolution

    # The builtin itself, not a method calling it: the scheduler reads the clock for every timer.
    if TYPE_CHECKING:

        def now(self) -> float:
            """Return `time.monotonic()`."""
            ...

    else:
        now = staticmethod(time.monotonic)
