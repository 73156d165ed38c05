"""The virtual-time backend: a clock that jumps instead of waiting, for fast deterministic tests.

Backends layer. `VirtualClock` counts integer nanoseconds from a fixed epoch, so readings are exact and
identical on every run; it moves only when told to (`advance`, `jump_to`). `VirtualReactor` watches real
file descriptors through a poll reactor and tells the scheduler whether any are registered; it also
reports the readiness of in-memory descriptors (the sockets of the virtual network). Jobs run on
the ordinary `ThreadExecutor`, whose exact `in_flight` count lets the scheduler hold time still while a
job runs.

When the clock may jump is the scheduler's decision (it alone knows whether anything is ready); see
`EventThread` and the README's section on virtual time.
"""

from __future__ import annotations

import math
from typing import final

from ..core.abc import Backend, EventMask, VirtualDescriptors, VirtualTime
from ._executor import ThreadExecutor
from .poll import PollReactor

__all__ = ("BACKEND", "VIRTUAL_FD_BASE", "VirtualClock", "VirtualReactor", "virtual_backend")

_READ = EventMask.READ
_WRITE = EventMask.WRITE
_BOTH = EventMask.READ | EventMask.WRITE
# Readiness travels as plain ints between in-memory sockets and the reactor: flag arithmetic on the
# enum costs a Python-level call per operation, and sockets report their readiness on every change.
_READ_BIT = int(EventMask.READ)
_WRITE_BIT = int(EventMask.WRITE)

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
        self.seed: int = seed
        self.perturb: bool = perturb
        self.tracing: bool = tracing
        self.livelock_iterations: int = livelock_iterations

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
        # The smallest whole nanosecond whose reading reaches `deadline`: `deadline * 1e9` may round
        # either way, and a reading short of the deadline would never count a timer at it as due, while
        # one a nanosecond late would make a deadline computed in whole nanoseconds inexact.
        target = math.floor(deadline * 1e9) - 1
        while target / 1e9 < deadline:
            target += 1
        if target > self._nanoseconds:
            self._nanoseconds = target


VIRTUAL_FD_BASE = 1 << 30
"""The first descriptor number of an in-memory socket; the kernel never hands out numbers this high."""


def _mark(fd: int, bits: int, reading: set[int], writing: set[int]) -> None:
    """Put `fd` in `reading` / `writing` exactly when `bits` has the read / write bit."""
    if bits & _READ_BIT:
        reading.add(fd)
    else:
        reading.discard(fd)
    if bits & _WRITE_BIT:
        writing.add(fd)
    else:
        writing.discard(fd)


@final
class VirtualReactor(VirtualDescriptors):
    """Watches real file descriptors (through a poll reactor) and in-memory ones, for the virtual backend.

    The scheduler asks `watched()` to decide how time may move: with no real descriptor registered
    nothing outside the process can make progress, so an idle loop may jump its clock.

    In-memory descriptors are the numbers `allocate()` hands out (from `VIRTUAL_FD_BASE` up) to an
    object that simulates a socket, such as the sockets of `scarletio.net.virtual`. Their owner tells
    the reactor their readiness (`set_readiness`), level-triggered like poll(2): a descriptor stays
    ready until its owner says otherwise. `poll` reports them together with the real ones, without
    waiting when one is ready (`has_virtual_events`), and they never hold the virtual clock back.
    """

    __slots__ = ("_inner", "_next_virtual", "_readable", "_reading", "_watched", "_writable", "_writing")

    def __init__(self) -> None:
        self._inner = PollReactor()
        self._watched = 0
        self._next_virtual = VIRTUAL_FD_BASE
        self._readable: set[int] = set()
        self._writable: set[int] = set()
        self._reading: set[int] = set()
        self._writing: set[int] = set()

    def watched(self) -> int:
        """Return how many real file descriptors are registered."""
        return self._watched

    # ---- in-memory descriptors -----------------------------------------------------------------

    def allocate(self) -> int:
        """Return a fresh in-memory descriptor number (never reused while the reactor lives)."""
        fd = self._next_virtual
        self._next_virtual = fd + 1
        return fd

    def set_readiness(self, fd: int, events: int) -> None:
        """Set what an in-memory descriptor is ready for now (0: nothing).

        Args:
            fd: A number from `allocate()`.
            events: Its readiness, `EventMask` bits (a plain int will do); it stays reported, while
                registered, until changed.
        """
        _mark(fd, events, self._readable, self._writable)

    def release(self, fd: int) -> None:
        """Forget an in-memory descriptor that was closed (a registration left behind is dropped too)."""
        self._readable.discard(fd)
        self._writable.discard(fd)
        self._reading.discard(fd)
        self._writing.discard(fd)

    def has_virtual_events(self) -> bool:
        """Return whether a registered in-memory descriptor is ready (then `poll` does not wait)."""
        return bool(self._readable & self._reading or self._writable & self._writing)

    def _virtual_events(self) -> list[tuple[int, EventMask]]:
        reading = self._readable & self._reading
        writing = self._writable & self._writing
        if not writing:
            return [(fd, _READ) for fd in sorted(reading)]
        return [
            (fd, (_BOTH if fd in writing else _READ) if fd in reading else _WRITE) for fd in sorted(reading | writing)
        ]

    def _set_interest(self, fd: int, events: EventMask) -> None:
        _mark(fd, int(events), self._reading, self._writing)

    # ---- the reactor protocol ------------------------------------------------------------------

    def register(self, fd: int, events: EventMask) -> None:
        """Start watching a descriptor, real or in-memory (see `Reactor.register`)."""
        if fd >= VIRTUAL_FD_BASE:
            self._set_interest(fd, events)
            return
        self._inner.register(fd, events)
        self._watched += 1

    def modify(self, fd: int, events: EventMask) -> None:
        """Change what a registered descriptor is watched for (see `Reactor.modify`)."""
        if fd >= VIRTUAL_FD_BASE:
            self._set_interest(fd, events)
            return
        self._inner.modify(fd, events)

    def unregister(self, fd: int) -> None:
        """Stop watching a descriptor (see `Reactor.unregister`)."""
        if fd >= VIRTUAL_FD_BASE:
            self._reading.discard(fd)
            self._writing.discard(fd)
            return
        self._inner.unregister(fd)
        self._watched -= 1

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        """Wait for real readiness or a wakeup, for at most `timeout` seconds of real time.

        Ready in-memory descriptors are reported first, in number order, and make the wait zero.
        """
        if self.has_virtual_events():
            virtual = self._virtual_events()
            virtual.extend(self._inner.poll(0.0))
            return virtual
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
