"""Per-host clocks of the virtual network: each host's view of time, skewed and drifting.

A real network's machines disagree about the time: their clocks are offset from each other (skew)
and run a little fast or slow (drift). Leases, timeouts and caches that compare timestamps across
machines break there; `host.clock` makes that testable. A host's clock reads

    local(t) = anchor_local + (t - anchor) * (1 + drift)

where `t` is the loop's virtual time. `drift` is a rate error (`0.001`: a millisecond fast per
second); setting it re-anchors the clock at the present, so it never jumps. Setting `skew` steps
the clock by the difference at once (as setting a wall clock does; a negative step goes back).

Inside a host's tasks (`host.create_task`, `with host.use():`) the loop's time functions speak the
host's time: `loop.time()` reads the host's clock, `sleep(d)` and `call_after(d, ...)` wait `d` seconds
of the host's clock, `call_at(when, ...)` takes a reading of it, and timer callbacks scheduled there run
on the host too. The loop's timers stay in its own time: a host's deadlines are converted when they are
scheduled (a timer scheduled before a later change of drift keeps its instant).

This is done by giving the loop host-aware versions of those four methods, once a clock differs from
the loop's; until then nothing changes and nothing costs more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, final

from ...backends.virtual import VirtualClock
from ...core.handles import TimerEntry, TimerHandle

if TYPE_CHECKING:
    from .hosts import VirtualHost
    from .network import VirtualNetwork

__all__ = ("HostClock", "install_host_time")


@final
class HostClock:
    """The clock of one virtual host (see the module docstring); `host.clock`.

    Args:
        host: The host.
        loop_clock: The loop's virtual clock.
    """

    __slots__ = ("_anchor", "_anchor_local", "_drift", "_host", "_loop_clock", "_skew")

    def __init__(self, host: VirtualHost, loop_clock: VirtualClock) -> None:
        self._host = host
        self._loop_clock = loop_clock
        self._skew = 0.0
        self._drift = 0.0
        self._anchor = 0.0
        self._anchor_local = 0.0

    @property
    def skew(self) -> float:
        """Seconds this clock is ahead of the loop's (behind, if negative), drift aside; assignable."""
        return self._skew

    @skew.setter
    def skew(self, seconds: float) -> None:
        if not math.isfinite(seconds):
            raise ValueError(f"skew must be a finite number of seconds, got {seconds!r}")
        now = self._loop_clock.now()
        local = self.local(now) + (seconds - self._skew)
        self._anchor, self._anchor_local, self._skew = now, local, float(seconds)
        self._changed()

    @property
    def drift(self) -> float:
        """How much faster than the loop's clock this one runs (`1e-4`: 100 µs a second); assignable."""
        return self._drift

    @drift.setter
    def drift(self, rate: float) -> None:
        if not -1.0 < rate < math.inf:
            raise ValueError(f"drift must be a rate above -1 (a clock cannot run backwards), got {rate!r}")
        now = self._loop_clock.now()
        self._anchor_local = self.local(now)
        self._anchor = now
        self._drift = float(rate)
        self._changed()

    def _changed(self) -> None:
        if self._skew or self._drift:
            install_host_time(self._host.network)

    @property
    def is_exact(self) -> bool:
        """Whether this clock reads exactly the loop's time."""
        return self._anchor_local == self._anchor and not self._drift

    def now(self) -> float:
        """Return this clock's reading now."""
        return self.local(self._loop_clock.now())

    def local(self, loop_time: float) -> float:
        """Return what this clock reads at the loop's time `loop_time`."""
        return self._anchor_local + (loop_time - self._anchor) * (1.0 + self._drift)

    def loop_time(self, local: float) -> float:
        """Return the loop's time at which this clock reads `local`."""
        return self._anchor + (local - self._anchor_local) / (1.0 + self._drift)

    def loop_delay(self, seconds: float) -> float:
        """Return how long `seconds` of this clock last on the loop's clock."""
        return seconds / (1.0 + self._drift)

    def __repr__(self) -> str:
        return f"<HostClock of {self._host.name!r} skew={self._skew!r} drift={self._drift!r}>"


def install_host_time(network: VirtualNetwork) -> None:
    """Give the network's loop host-aware `time`, `call_at`, `call_after` and `_add_timer` (once)."""
    loop: Any = network.loop
    if getattr(loop, "_scarletio_host_time", None) is network:
        return
    plain_time: Callable[[], float] = loop.time
    plain_call_at: Callable[..., TimerHandle] = loop.call_at
    plain_call_after: Callable[..., TimerHandle] = loop.call_after
    plain_add_timer: Callable[[TimerEntry], None] = loop._add_timer
    current: ContextVar[VirtualHost | None] = network.host_variable

    def skewed() -> VirtualHost | None:
        host = current.get()
        if host is None or host.network is not network or host.clock.is_exact:
            return None
        return host

    def on_host(host: VirtualHost, callback: Callable[..., object]) -> Callable[..., object]:
        def run_on_host(*arguments: object) -> object:
            token = current.set(host)
            try:
                return callback(*arguments)
            finally:
                current.reset(token)

        run_on_host.__qualname__ = getattr(callback, "__qualname__", "callback")
        return run_on_host

    def time() -> float:
        host = skewed()
        return plain_time() if host is None else host.clock.local(plain_time())

    def call_at(when: float, callback: Callable[..., object], *arguments: object) -> TimerHandle:
        host = skewed()
        if host is None:
            return plain_call_at(when, callback, *arguments)
        return plain_call_at(host.clock.loop_time(when), on_host(host, callback), *arguments)

    def call_after(delay: float, callback: Callable[..., object], *arguments: object) -> TimerHandle:
        host = skewed()
        if host is None:
            return plain_call_after(delay, callback, *arguments)
        return plain_call_after(host.clock.loop_delay(delay), on_host(host, callback), *arguments)

    def add_timer(entry: TimerEntry) -> None:
        host = skewed()
        if host is not None:
            entry.when = host.clock.loop_time(entry.when)
        plain_add_timer(entry)

    # Instance attributes shadow the class's methods for this loop only.
    for name, function in (
        ("time", time),
        ("call_at", call_at),
        ("call_at_thread_safe", call_at),
        ("call_after", call_after),
        ("call_after_thread_safe", call_after),
        ("_add_timer", add_timer),
    ):
        setattr(loop, name, function)
    loop._scarletio_host_time = network
