"""Links of the virtual network: their conditions, and in-order delivery of a stream's segments.

Everything is counted in whole nanoseconds of the loop's `VirtualClock`, so a latency of 0.1 s makes
a round trip of exactly 0.2 s. A `Link` is one direction between two hosts: its conditions, when its
bandwidth is free again, and whether a partition cuts it. A `Channel` is one direction of one stream
connection: a FIFO of segments, delivered by one loop timer at a time, so segments arrive in the
order they were sent even when jitter or the loop's perturbation would have a later segment overtake.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from .hosts import VirtualHost
    from .network import VirtualNetwork

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
        duplicate: The probability that a datagram arrives twice (0 to 1); the copy takes its own
            time (with jitter it may come first). Streams never duplicate.
    """

    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: float | None = None
    loss: float = 0.0
    duplicate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("latency", "jitter"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value < math.inf):  # a caller may pass anything
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        bandwidth = self.bandwidth
        if bandwidth is not None and not 0.0 < bandwidth < math.inf:
            raise ValueError(f"bandwidth must be a finite number of bytes per second > 0, or None, got {bandwidth!r}")
        for name in ("loss", "duplicate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a probability from 0 to 1, got {value!r}")


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
        lateness = self._network.lateness
        if lateness:  # with perturbation: a packet takes at least its latency, sometimes a little more
            arrival += self._network.random.randint(0, lateness)
        return arrival

    def drops(self) -> bool:
        """Draw whether a datagram is lost on this link (partitions aside)."""
        loss = self.conditions.loss
        return loss > 0.0 and (loss >= 1.0 or self._network.random.random() < loss)

    def duplicates(self) -> bool:
        """Draw whether a datagram arrives twice on this link."""
        duplicate = self.conditions.duplicate
        return duplicate > 0.0 and (duplicate >= 1.0 or self._network.random.random() < duplicate)


@final
class Channel:
    """One direction of one stream connection: segments delivered in order, held while cut off.

    A segment is an action (a bound method of the receiving socket) and its size in bytes. On one
    host (loopback) segments arrive at the instant they were sent; between hosts they follow the
    link's conditions, and while a partition cuts the link, or the channel is `stalled`, they wait
    and go on after `heal` / `resume`.

    Args:
        network: The network.
        source: The sending host.
        target: The receiving host.
    """

    __slots__ = ("_link", "_network", "_queue", "_timer_at", "last", "source", "stalled", "target")

    def __init__(self, network: VirtualNetwork, source: VirtualHost, target: VirtualHost) -> None:
        self._network = network
        self.source: VirtualHost = source
        self.target: VirtualHost = target
        self._link = network.link(source, target)
        # (arrival, size, action, flow); arrival -1: not scheduled yet (held when it was sent); flow:
        # the trace's flow id from the send to the delivery (0 when the loop records no trace)
        self._queue: deque[tuple[int, int, Callable[[], object], int]] = deque()
        self._timer_at = -1
        self.last: int = 0
        self.stalled: bool = False

    def send(self, size: int, action: Callable[[], object]) -> None:
        """Queue a segment: `action` runs on arrival, after every segment sent before it."""
        link = self._link
        flow = self._network.trace_send(self.source, self.target, size, action)
        if self.stalled or (link is not None and link.cut):
            self._queue.append((-1, size, action, flow))
            if link is not None and link.cut:
                self._hold(link)
            return
        now = self._network.now()
        arrival = now if link is None else link.arrival(now, size)
        if arrival < self.last:
            arrival = self.last
        self.last = arrival
        self._queue.append((arrival, size, action, flow))
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
        if self.stalled:
            return  # `resume` sends it all again
        link = self._link
        if link is not None and link.cut:
            self._hold(link)  # what is on the wire waits for the partition to heal (TCP retransmits)
            return
        queue = self._queue
        network = self._network
        now = network.now()
        while queue:
            arrival, _, action, flow = queue[0]
            if arrival < 0 or arrival > now:
                break
            queue.popleft()
            if flow:
                network.trace_delivery(self.target, flow, action)
            action()
        if queue and queue[0][0] >= 0:
            self._schedule(queue[0][0])

    def resume(self) -> None:
        """Send everything held back again, from now on, after the link healed or the channel resumed."""
        link = self._link
        if self.stalled or (link is not None and link.cut):
            return
        now = self._network.now()
        last = now
        pending = list(self._queue)
        self._queue.clear()
        for arrival, size, action, flow in pending:
            if arrival < now:  # held back: sent again now
                arrival = now if link is None else link.arrival(now, size)
            if arrival < last:
                arrival = last
            last = arrival
            self._queue.append((arrival, size, action, flow))
        self.last = last
        if self._queue and (self._timer_at < 0 or self._timer_at > self._queue[0][0]):
            self._schedule(self._queue[0][0])
