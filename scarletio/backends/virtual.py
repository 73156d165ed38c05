"""The virtual-time backend: a clock that jumps instead of waiting, for fast deterministic tests.

Backends layer. `VirtualClock` counts integer nanoseconds from a fixed epoch, so readings are exact and
identical on every run; it moves only when told to (`advance`, `jump_to`). `VirtualReactor` watches real
file descriptors through a poll reactor and tells the scheduler whether any are registered. Jobs run on
the ordinary `ThreadExecutor`, whose exact `in_flight` count lets the scheduler hold time still while a
job runs.

When the clock may jump is the scheduler's decision (it alone knows whether anything is ready); see
`EventThread` and the README's section on virtual time.
"""

from __future__ import annotations

import math
from typing import final

from ..abc import Backend, EventMask, Reactor, VirtualTime
from ._executor import ThreadExecutor
from .poll import PollReactor

__all__ = ("BACKEND", "VirtualClock", "VirtualReactor", "virtual_backend")

EPOCH_NANOSECONDS = 0
"""Where every virtual clock starts."""


DEFAULT_LIVELOCK_ITERATIONS = 200_000
"""Loop iterations at one virtual instant after which the loop reports a livelock."""


@final
class VirtualClock(VirtualTime):
    """A clock that stands still until moved; readings are integer nanoseconds inside.

    Args:
        seed: Seeds the loop's random generator (see `VirtualTime`).
        perturb: Shuffle ready work and timer ties, from the seed.
        tracing: Record a trace of the loop's decisions.
        livelock_iterations: Iterations at one instant before a livelock is reported.
    """

    __slots__ = ("_nanoseconds", "livelock_iterations", "perturb", "seed", "tracing")

    def __init__(
        self,
        seed: int = 0,
        perturb: bool = False,
        tracing: bool = False,
        livelock_iterations: int = DEFAULT_LIVELOCK_ITERATIONS,
    ) -> None:
        self._nanoseconds = EPOCH_NANOSECONDS
        self.seed = seed
        self.perturb = perturb
        self.tracing = tracing
        self.livelock_iterations = livelock_iterations

    @property
    def resolution(self) -> float:
        """One nanosecond."""
        return 1e-9

    def now(self) -> float:
        """Return the current reading in seconds."""
        return self._nanoseconds / 1e9

    def now_nanoseconds(self) -> int:
        """Return the current reading in whole nanoseconds."""
        return self._nanoseconds

    def advance(self, seconds: float) -> None:
        """Move the clock forward.

        Args:
            seconds: How far; rounded to the nanosecond.

        Raises:
            ValueError: If `seconds` is negative or not finite (clocks never go backwards).
        """
        if not seconds >= 0.0 or math.isinf(seconds):
            raise ValueError(f"a virtual clock only moves forward by a finite amount, got {seconds!r} seconds")
        self._nanoseconds += round(seconds * 1e9)

    def jump_to(self, deadline: float) -> None:
        """Move the clock to `deadline` (rounded up to the nanosecond), unless it is already later.

        Args:
            deadline: An absolute reading in seconds.
        """
        target = math.ceil(deadline * 1e9)
        # `deadline * 1e9` may round down: make sure the reading really reaches the deadline, or a
        # timer at it would never count as due.
        while target / 1e9 < deadline:
            target += 1
        if target > self._nanoseconds:
            self._nanoseconds = target


@final
class VirtualReactor(Reactor):
    """Watches real file descriptors for the virtual backend (through a poll reactor).

    The scheduler asks `watched()` to decide how time may move: with no real descriptor registered
    nothing outside the process can make progress, so an idle loop may jump its clock.
    """

    __slots__ = ("_inner", "_watched")

    def __init__(self) -> None:
        self._inner = PollReactor()
        self._watched = 0

    def watched(self) -> int:
        """Return how many real file descriptors are registered."""
        return self._watched

    def register(self, fd: int, events: EventMask) -> None:
        """Start watching a real file descriptor (see `Reactor.register`)."""
        self._inner.register(fd, events)
        self._watched += 1

    def modify(self, fd: int, events: EventMask) -> None:
        """Change what a registered descriptor is watched for (see `Reactor.modify`)."""
        self._inner.modify(fd, events)

    def unregister(self, fd: int) -> None:
        """Stop watching a descriptor (see `Reactor.unregister`)."""
        self._inner.unregister(fd)
        self._watched -= 1

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        """Wait for real readiness or a wakeup, for at most `timeout` seconds of real time."""
        return self._inner.poll(timeout)

    def wakeup(self) -> None:
        """Make a blocked `poll` return; safe from any thread."""
        self._inner.wakeup()

    def close(self) -> None:
        """Release the reactor's descriptors; idempotent."""
        self._inner.close()


BACKEND = Backend(
    name="virtual",
    reactor_factory=VirtualReactor,
    clock_factory=VirtualClock,
    executor_factory=ThreadExecutor,
)


def virtual_backend(
    seed: int = 0,
    *,
    perturb: bool = False,
    tracing: bool = False,
    livelock_iterations: int = DEFAULT_LIVELOCK_ITERATIONS,
) -> Backend:
    """Return a virtual-time backend with its own settings (`"virtual"` by name gives the defaults).

    Args:
        seed: Seeds every choice the loop makes that is not fixed.
        perturb: Shuffle ready work and timer ties, to explore other interleavings.
        tracing: Record a trace of the loop's decisions (`loop.get_trace()`).
        livelock_iterations: Iterations at one instant before a livelock is reported.
    """
    return Backend(
        name="virtual",
        reactor_factory=VirtualReactor,
        clock_factory=lambda: VirtualClock(seed, perturb, tracing, livelock_iterations),
        executor_factory=ThreadExecutor,
    )
