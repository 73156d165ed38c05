"""Links of the virtual network: their conditions, and in-order delivery of a stream's segments.

Everything is counted in whole nanoseconds of the loop's `VirtualClock`, so a latency of 0.1 s makes
a round trip of exactly 0.2 s. A `Link` is one direction between two hosts: its conditions, when its
bandwidth is free again, and whether a partition cuts it. A `Channel` is one direction of one stream
connection: a FIFO of segments, delivered by one loop timer at a time, so segments arrive in the
order they were sent even when the loop shuffles timers that fall due together (`perturb`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from .network import VirtualHost, VirtualNetwork

__all__ = ("Channel", "Link", "LinkConditions")


@final
@dataclass(frozen=True)
class LinkConditions:
    """How a link between two virtual hosts behaves; every random draw comes from the loop's seed.

    Attributes:
        latency: Seconds a packet takes from one host to the other (one way).
        jitter: Up to this many seconds more, drawn uniformly for each packet. Stream segments still
            arrive in order (a late segment holds back the ones after it), datagrams may overtake.
        bandwidth: Bytes per second the link carries, or `None` for no limit; a packet occupies the
            link for `size / bandwidth` seconds before its latency starts.
        loss: The probability that a datagram is dropped (0 to 1). Stream connections are reliable,
            as TCP is: their segments are never dropped, only delayed.
    """

    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: float | None = None
    loss: float = 0.0

    def __post_init__(self) -> None:
        for name in ("latency", "jitter"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value < math.inf):  # a caller may pass anything
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        bandwidth = self.bandwidth
        if bandwidth is not None and not 0.0 < bandwidth < math.inf:
            raise ValueError(f"bandwidth must be a finite number of bytes per second > 0, or None, got {bandwidth!r}")
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be a probability from 0 to 1, got {self.loss!r}")


@final
class Link:
    """One direction between two distinct hosts: conditions, bandwidth use, and partition state.

    Args:
        network: The network the link belongs to.
        conditions: Its conditions.
    """

    __slots__ = ("_bandwidth", "_jitter", "_latency", "_network", "conditions", "cut", "free_at", "held")

    def __init__(self, network: VirtualNetwork, conditions: LinkConditions) -> None:
        self._network = network
        self.free_at: int = 0
        self.cut: bool = False
        self.held: list[Channel] = []
        self.set_conditions(conditions)

    def set_conditions(self, conditions: LinkConditions) -> None:
        """Use `conditions` for every packet sent from now on."""
        self.conditions: LinkConditions = conditions
        self._latency = round(conditions.latency * 1e9)
        self._jitter = round(conditions.jitter * 1e9)
        self._bandwidth = conditions.bandwidth

    def arrival(self, now: int, size: int) -> int:
        """Return when a packet of `size` bytes sent at `now` arrives (nanoseconds); uses the link.

        Draws the jitter (if any) from the network's random generator.
        """
        start = now
        if self._bandwidth is not None:
            if self.free_at > start:
                start = self.free_at
            start += math.ceil(size * 1e9 / self._bandwidth)
            self.free_at = start
        arrival = start + self._latency
        if self._jitter:
            arrival += self._network.random.randint(0, self._jitter)
        return arrival

    def drops(self) -> bool:
        """Draw whether a datagram is lost on this link (partitions aside)."""
        loss = self.conditions.loss
        return loss > 0.0 and (loss >= 1.0 or self._network.random.random() < loss)


@final
class Channel:
    """One direction of one stream connection: segments delivered in order, held while cut off.

    A segment is an action (a bound method of the receiving socket) and its size in bytes. On one
    host (loopback) segments arrive at the instant they were sent; between hosts they follow the
    link's conditions, and while a partition cuts the link they wait and go on after `heal`.

    Args:
        network: The network.
        source: The sending host.
        target: The receiving host.
    """

    __slots__ = ("_link", "_network", "_queue", "_timer_at", "last", "source", "target")

    def __init__(self, network: VirtualNetwork, source: VirtualHost, target: VirtualHost) -> None:
        self._network = network
        self.source: VirtualHost = source
        self.target: VirtualHost = target
        self._link = network.link(source, target)
        # (arrival, size, action); arrival -1: not scheduled yet (the link was cut when it was sent)
        self._queue: deque[tuple[int, int, Callable[[], object]]] = deque()
        self._timer_at = -1
        self.last: int = 0

    def send(self, size: int, action: Callable[[], object]) -> None:
        """Queue a segment: `action` runs on arrival, after every segment sent before it."""
        link = self._link
        if link is not None and link.cut:
            self._queue.append((-1, size, action))
            self._hold(link)
            return
        now = self._network.now()
        arrival = now if link is None else link.arrival(now, size)
        if arrival < self.last:
            arrival = self.last
        self.last = arrival
        self._queue.append((arrival, size, action))
        if self._timer_at < 0:
            self._schedule(arrival)

    def _hold(self, link: Link) -> None:
        if self not in link.held:
            link.held.append(self)

    def _schedule(self, arrival: int) -> None:
        self._timer_at = arrival
        self._network.call_at(arrival, self._deliver)

    def _deliver(self) -> None:
        self._timer_at = -1
        link = self._link
        if link is not None and link.cut:
            self._hold(link)  # what is on the wire waits for the partition to heal (TCP retransmits)
            return
        queue = self._queue
        now = self._network.now()
        while queue:
            arrival, _, action = queue[0]
            if arrival < 0 or arrival > now:
                break
            queue.popleft()
            action()
        if queue and queue[0][0] >= 0:
            self._schedule(queue[0][0])

    def resume(self) -> None:
        """Send everything held back again, from now on, after the link healed."""
        link = self._link
        if link is None or link.cut:
            return
        now = self._network.now()
        last = now
        pending = list(self._queue)
        self._queue.clear()
        for arrival, size, action in pending:
            if arrival < now:  # held back: sent again now
                arrival = link.arrival(now, size)
            if arrival < last:
                arrival = last
            last = arrival
            self._queue.append((arrival, size, action))
        self.last = last
        if self._queue and (self._timer_at < 0 or self._timer_at > self._queue[0][0]):
            self._schedule(self._queue[0][0])
