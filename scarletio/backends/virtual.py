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
import os
import random
import socket
import sys
from typing import final

from ..core.abc import Backend, EventMask, VirtualDescriptors, VirtualTime
from ._executor import ThreadExecutor
from .poll import PollReactor

__all__ = ("BACKEND", "VirtualClock", "VirtualReactor", "virtual_backend")

_READ = EventMask.READ
_WRITE = EventMask.WRITE
_BOTH = EventMask.READ | EventMask.WRITE
# Readiness travels as plain ints between in-memory sockets and the reactor: flag arithmetic on the
# enum costs a Python-level call per operation, and sockets report their readiness on every change.
_READ_BIT = int(EventMask.READ)
_WRITE_BIT = int(EventMask.WRITE)

EPOCH_NANOSECONDS = 0
"""Where every virtual clock starts."""


DEFAULT_LIVELOCK_STEPS = 50_000
"""Steps at one virtual instant after which a livelock may be reported ..."""

DEFAULT_LIVELOCK_SECONDS = 1.0
"""... once the loop also worked this many seconds of real time at that instant."""

DEFAULT_LATENESS = 0.001
"""With perturbation, the most seconds a wakeup is late (a real loop is often a little late)."""


@final
class VirtualClock(VirtualTime):
    """A clock that stands still until moved; readings are integer nanoseconds inside.

    The settings are the loop's (see `VirtualTime`); `time_limit` may be changed at any time.

    Args:
        seed: Seeds the loop's random generator.
        perturb: Explore what a real loop leaves open: late wakeups, the order of descriptors ready
            at once, the virtual network's exact delivery times.
        tracing: Record a trace of the loop's decisions.
        lateness: With `perturb`, the most seconds a wakeup is late.
        livelock_steps: Steps at one instant before a livelock may be reported ...
        livelock_seconds: ... once the loop also worked this long (real seconds) at that instant.
        time_limit: The virtual time the clock may not pass, or `None`.
        buggify: Whether `scarletio.testing.buggify()` may fire on this loop.
    """

    __slots__ = (
        "_nanoseconds",
        "buggify",
        "lateness",
        "livelock_seconds",
        "livelock_steps",
        "perturb",
        "seed",
        "time_limit",
        "tracing",
    )

    def __init__(
        self,
        seed: int = 0,
        perturb: bool = False,
        tracing: bool = False,
        *,
        lateness: float = DEFAULT_LATENESS,
        livelock_steps: int = DEFAULT_LIVELOCK_STEPS,
        livelock_seconds: float = DEFAULT_LIVELOCK_SECONDS,
        time_limit: float | None = None,
        buggify: bool = False,
    ) -> None:
        if not 0.0 <= lateness < math.inf:
            raise ValueError(f"lateness must be a finite number of seconds >= 0, got {lateness!r}")
        if livelock_steps < 0 or not 0.0 <= livelock_seconds < math.inf:
            raise ValueError(
                f"livelock_steps and livelock_seconds must not be negative, got {livelock_steps!r} and {livelock_seconds!r}"
            )
        self._nanoseconds = EPOCH_NANOSECONDS
        self.seed: int = seed
        self.perturb: bool = perturb
        self.tracing: bool = tracing
        self.lateness: float = lateness
        self.livelock_steps: int = livelock_steps
        self.livelock_seconds: float = livelock_seconds
        self.time_limit: float | None = time_limit
        self.buggify: bool = buggify

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
        """Move the clock to the whole nanosecond nearest `deadline`, unless it is already later.

        A deadline computed in floating point (`loop.time() + delay`) lies within a fraction of a
        nanosecond of the instant meant, on either side; the scheduler counts a timer as due once the
        clock is within half a nanosecond of it, so the nearest nanosecond is both exact and enough.

        Args:
            deadline: An absolute reading in seconds.
        """
        target = round(deadline * 1e9)
        if target > self._nanoseconds:
            self._nanoseconds = target


class _Mirror:
    """A real descriptor that does nothing but be readable exactly when an in-memory socket is.

    Code outside the loop may look at a socket's `fileno()` with `select` or `poll` (httpcore does,
    to see whether an idle keep-alive connection was closed by its peer), so an in-memory socket's
    number must be a real descriptor whose readiness tells the truth. On Linux it is an eventfd
    (readable while its counter is above zero); elsewhere one end of a socket pair (readable while a
    byte waits in it). Both are always writable: only readability is mirrored.
    """

    __slots__ = ("_feeder", "_visible", "fd")

    def __init__(self) -> None:
        self._feeder: socket.socket | None = None
        self._visible: socket.socket | None = None
        if sys.platform == "linux":
            self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:
            self._visible, self._feeder = socket.socketpair()
            self._visible.setblocking(False)
            self._feeder.setblocking(False)
            self.fd = self._visible.fileno()

    def set_readable(self, readable: bool) -> None:
        """Make the descriptor readable or not."""
        if sys.platform == "linux":
            if readable:
                os.eventfd_write(self.fd, 1)
            else:
                try:
                    os.eventfd_read(self.fd)  # resets the counter to zero
                except BlockingIOError:
                    pass
        elif readable:
            assert self._feeder is not None
            self._feeder.send(b"\0")
        else:
            assert self._visible is not None
            try:
                self._visible.recv(16)
            except BlockingIOError:
                pass

    def close(self) -> None:
        """Close the descriptor(s)."""
        if sys.platform == "linux":
            os.close(self.fd)
        else:
            assert self._visible is not None and self._feeder is not None
            self._visible.close()
            self._feeder.close()


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

    In-memory descriptors are the numbers `allocate()` hands out to an object that simulates a socket,
    such as the sockets of `scarletio.net.virtual`. Each is a real but inert descriptor (see `_Mirror`)
    whose readability follows the socket's, so the number is unique among the process's descriptors
    and code that polls it sees the truth; the loop itself never asks the kernel about it. Their owner
    tells the reactor their readiness (`set_readiness`), level-triggered like poll(2): a descriptor
    stays ready until its owner says otherwise. `poll` reports them together with the real ones, in
    the order they were allocated (descriptor numbers differ from process to process), without
    waiting when one is ready (`has_virtual_events`), and they never hold the virtual clock back.

    The kernel promises no order among descriptors that are ready at once; given an `order_seed`
    (the loop's seed, with perturbation on) the reactor reports them in an order drawn from it.

    Args:
        order_seed: Seeds the order of descriptors ready at once; `None` keeps allocation order.
    """

    __slots__ = (
        "_allocated",
        "_inner",
        "_mirrors",
        "_order",
        "_readable",
        "_reading",
        "_released",
        "_watched",
        "_writable",
        "_writing",
    )

    def __init__(self, order_seed: int | None = None) -> None:
        self._inner = PollReactor()
        self._order = None if order_seed is None else random.Random(f"scarletio.io-order:{order_seed}")
        self._watched = 0
        self._allocated = 0
        # In-memory descriptor -> (its allocation number, its mirror).
        self._mirrors: dict[int, tuple[int, _Mirror]] = {}
        self._released: set[int] = set()  # closed by their socket, still registered by the loop
        self._readable: set[int] = set()
        self._writable: set[int] = set()
        self._reading: set[int] = set()
        self._writing: set[int] = set()

    def watched(self) -> int:
        """Return how many real file descriptors are registered."""
        return self._watched

    # ---- in-memory descriptors -----------------------------------------------------------------

    def allocate(self) -> int:
        """Return the descriptor of a new in-memory socket, not readable yet; `release` closes it."""
        mirror = _Mirror()
        self._allocated += 1
        self._mirrors[mirror.fd] = (self._allocated, mirror)
        return mirror.fd

    def set_readiness(self, fd: int, events: int) -> None:
        """Set what an in-memory descriptor is ready for now (0: nothing).

        Args:
            fd: A number from `allocate()`.
            events: Its readiness, `EventMask` bits (a plain int will do); it stays reported, while
                registered, until changed.
        """
        readable = self._readable
        was_readable = fd in readable
        _mark(fd, events, readable, self._writable)
        if (fd in readable) != was_readable:
            self._mirrors[fd][1].set_readable(not was_readable)

    def release(self, fd: int) -> None:
        """Close an in-memory descriptor whose socket was closed.

        It is never reported again. While the loop still has it registered, its number stays taken
        (the descriptor is closed when the loop unregisters it), so a later `unregister` cannot hit a
        new descriptor that got the same number.
        """
        self._readable.discard(fd)
        self._writable.discard(fd)
        if fd in self._reading or fd in self._writing:
            self._released.add(fd)
        else:
            self._close_mirror(fd)

    def _close_mirror(self, fd: int) -> None:
        self._released.discard(fd)
        entry = self._mirrors.pop(fd, None)
        if entry is not None:
            entry[1].close()

    def allocation_order(self, fd: int) -> int:
        """Return how many in-memory descriptors were allocated before `fd`, plus one.

        Descriptor numbers differ from process to process; this order does not, so whatever walks
        in-memory descriptors deterministically sorts by it.
        """
        return self._mirrors[fd][0]

    def has_virtual_events(self) -> bool:
        """Return whether a registered in-memory descriptor is ready (then `poll` does not wait)."""
        return bool(self._readable & self._reading or self._writable & self._writing)

    def _virtual_events(self) -> list[tuple[int, EventMask]]:
        reading = self._readable & self._reading
        writing = self._writable & self._writing
        order = self.allocation_order
        events: list[tuple[int, EventMask]]
        if not writing:
            events = [(fd, _READ) for fd in sorted(reading, key=order)]
        else:
            events = [
                (fd, (_BOTH if fd in writing else _READ) if fd in reading else _WRITE)
                for fd in sorted(reading | writing, key=order)
            ]
        if self._order is not None and len(events) > 1:
            self._order.shuffle(events)
        return events

    def _set_interest(self, fd: int, events: EventMask) -> None:
        _mark(fd, int(events), self._reading, self._writing)

    # ---- the reactor protocol ------------------------------------------------------------------

    def register(self, fd: int, events: EventMask) -> None:
        """Start watching a descriptor, real or in-memory (see `Reactor.register`)."""
        if fd in self._mirrors:
            self._set_interest(fd, events)
            return
        self._inner.register(fd, events)
        self._watched += 1

    def modify(self, fd: int, events: EventMask) -> None:
        """Change what a registered descriptor is watched for (see `Reactor.modify`)."""
        if fd in self._mirrors:
            self._set_interest(fd, events)
            return
        self._inner.modify(fd, events)

    def unregister(self, fd: int) -> None:
        """Stop watching a descriptor (see `Reactor.unregister`)."""
        if fd in self._mirrors:
            self._reading.discard(fd)
            self._writing.discard(fd)
            if fd in self._released:
                self._close_mirror(fd)
            return
        self._inner.unregister(fd)
        self._watched -= 1

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        """Wait for real readiness or a wakeup, for at most `timeout` seconds of real time.

        Ready in-memory descriptors are reported first, in allocation order (or the seeded order), and
        make the wait zero.
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
        """Release the reactor's descriptors, the in-memory ones included; idempotent."""
        for fd in list(self._mirrors):
            self._close_mirror(fd)
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
    lateness: float = DEFAULT_LATENESS,
    livelock_steps: int = DEFAULT_LIVELOCK_STEPS,
    livelock_seconds: float = DEFAULT_LIVELOCK_SECONDS,
    time_limit: float | None = None,
    buggify: bool = False,
) -> Backend:
    """Return a virtual-time backend with its own settings (`"virtual"` by name gives the defaults).

    Args:
        seed: Seeds every choice the loop makes that is not fixed.
        perturb: Explore what a real loop leaves open (late wakeups, the order of descriptors ready
            at once, exact network delivery times); never the orders a real loop promises.
        tracing: Record a trace of the loop's decisions (`loop.get_trace()`).
        lateness: With `perturb`, the most seconds a wakeup is late.
        livelock_steps: Steps at one instant before a livelock may be reported ...
        livelock_seconds: ... once the loop also worked this many real seconds at that instant.
        time_limit: The virtual time the clock may not pass (`TimeLimitError`), or `None`.
        buggify: Let `scarletio.testing.buggify()` fire on this loop.
    """
    # Built once here to check the settings now, not when a loop is made from the backend.
    VirtualClock(seed, perturb, tracing, lateness=lateness, livelock_steps=livelock_steps, livelock_seconds=livelock_seconds)
    return Backend(
        name="virtual",
        reactor_factory=lambda: VirtualReactor(order_seed=seed if perturb else None),
        clock_factory=lambda: VirtualClock(
            seed,
            perturb,
            tracing,
            lateness=lateness,
            livelock_steps=livelock_steps,
            livelock_seconds=livelock_seconds,
            time_limit=time_limit,
            buggify=buggify,
        ),
        executor_factory=ThreadExecutor,
    )
