"""The virtual network: hosts, addresses, names, link conditions and faults on virtual time.

A `VirtualNetwork` attaches itself to a loop on the `virtual` backend. From then on the loop's
networking functions (`create_server_to`, `create_connection_to`, `create_datagram_connection_to`,
the socket helpers, name resolution) get in-memory sockets between `VirtualHost`s instead of real
ones. The transports and protocols are the production ones; only the sockets under them differ.

Which host a socket belongs to is decided when it is created: the host entered with `with
host.use():` (a context variable, so tasks created inside inherit it) or a task started with
`host.create_task()`; without either, the network's `default_host`. Every host reaches itself as
`127.0.0.1` / `localhost` and the other hosts by name or address (`10.0.0.N` by default). Each host
has a clock of its own (`host.clock`, see `clocks`), the loop's time unless given skew or drift.

Time: packets travel by loop timers at virtual instants computed in whole nanoseconds, so a 100 ms
latency makes a round trip of exactly 0.2 s. Random draws (jitter, loss, duplicates, the pick among
listeners sharing a port) come from one generator seeded from the loop's seed: a run repeats
exactly. With the loop's perturbation on, each packet may also take up to the loop's `lateness`
longer than its latency (never less), as real packets do.

Faults (partitions, stalled connections, resets, crashes) are in `faults`. With tracing on, the
network's events are in the loop's trace, on the row of their host, with a flow from each send to
its delivery.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
from collections.abc import Callable
from functools import partial
from itertools import count
from typing import Any, TypeVar, final

from typing_extensions import TypeVarTuple, Unpack

from ...backends.virtual import VirtualClock, VirtualReactor
from ...core.abc import EventLoop
from ...core.handles import TimerHandle
from ...core.scheduler import Scheduler
from ...core.tasks import Task
from .._socket_factory import AddressInfo, SocketProvider, attach_provider, detach_provider
from ._links import Channel, Link, LinkConditions
from .faults import HostGroup, NetworkFaults
from .hosts import CURRENT_HOST, VirtualHost, is_loopback
from .names import name_info, resolve
from .sockets import VirtualSocket

__all__ = ("HostGroup", "VirtualHost", "VirtualNetwork")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DEFAULT_BUFFER_SIZE = 64 * 1024
"""Bytes a stream connection holds per direction, unread or in flight (send plus receive buffer)."""

_SEGMENT_KINDS = {
    "_data_arrived": "data",
    "_acknowledged": "ack",
    "_peer_acknowledge": "ack",
    "_fin_arrived": "fin",
    "_reset_arrived": "rst",
    "_established": "syn-ack",
    "_refused": "rst (refused)",
    "_syn_arrived": "syn",
}
"""What a stream segment is, by the method it calls on arrival (for the trace)."""


def _segment_kind(action: Callable[..., object]) -> str:
    function = action.func if isinstance(action, partial) else action
    name = getattr(function, "__name__", "")
    return _SEGMENT_KINDS.get(name, name.strip("_") or "segment")


@final
class VirtualNetwork(NetworkFaults, SocketProvider):
    """An in-memory network of virtual hosts, attached to a loop on the `virtual` backend.

    Args:
        loop: The loop; its networking functions use this network from now on (until `close`).
        conditions: The conditions of every link not given others with `set_link`.
        buffer_size: Bytes a stream connection holds per direction before the sender must wait.

    Raises:
        TypeError: If `loop` does not run on the `virtual` backend.
        RuntimeError: If `loop` has a network already.

    Attributes:
        loop: The loop.
        random: The generator of every random draw, seeded from the loop's seed.
        buffer_size: See Args.
        dropped: How many datagrams were lost (to `loss`, partitions or full receive buffers).
        sockets: The open in-memory sockets.
        reactor: The loop's reactor, which reports the sockets' readiness.
        virtual_clock: The loop's clock.
        host_variable: The context variable naming the host code runs on.
        lateness: With the loop's perturbation on, the most nanoseconds a packet is late (else 0).
    """

    def __init__(
        self, loop: EventLoop, *, conditions: LinkConditions | None = None, buffer_size: int = DEFAULT_BUFFER_SIZE
    ) -> None:
        scheduler = loop if isinstance(loop, Scheduler) else None
        clock = None if scheduler is None else scheduler._clock
        reactor = None if scheduler is None else scheduler._reactor
        if scheduler is None or not isinstance(clock, VirtualClock) or not isinstance(reactor, VirtualReactor):
            raise TypeError(
                f"a virtual network needs a loop on the virtual backend, got {loop.backend.name!r}; "
                "use scarletio.testing.virtual_loop() or the scarletio_network fixture"
            )
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be at least 1 byte, got {buffer_size!r}")
        self.loop: EventLoop = loop
        self._scheduler = scheduler
        self._clock = clock
        self.virtual_clock: VirtualClock = clock
        self.host_variable = CURRENT_HOST
        self.lateness: int = round(clock.lateness * 1e9) if clock.perturb else 0
        # The loop's own time, whatever a host's clock says (`clocks` may give the loop host-aware ones).
        self._loop_call_at: Callable[..., TimerHandle] = scheduler.call_at
        self.reactor = reactor
        self.random: random.Random = random.Random(f"scarletio.net.virtual:{clock.seed}")
        self.buffer_size = buffer_size
        self.dropped: int = 0
        self._conditions = conditions if conditions is not None else LinkConditions()
        self._hosts: dict[str, VirtualHost] = {}
        self._by_address: dict[str, VirtualHost] = {}
        self._links: dict[tuple[VirtualHost, VirtualHost], Link] = {}
        self._explicit: set[tuple[VirtualHost, VirtualHost]] = set()
        self._default: VirtualHost | None = None
        self._next_address = 1
        self.sockets: set[VirtualSocket] = set()
        self._stalled: list[Channel] = []
        self._flows = count(1)
        self._closed = False
        attach_provider(loop, self)
        loop.add_close_callback(self.close)
        if scheduler._virtual is not None:
            scheduler._virtual.host_of = self._host_name_of

    # ---- time and tracing ----------------------------------------------------------------------

    def now(self) -> int:
        """Return the loop's virtual time in nanoseconds."""
        return self._clock.now_nanoseconds()

    def call_at(self, instant: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> None:
        """Run `callback(*args)` on the loop at the virtual instant `instant` (nanoseconds)."""
        self._loop_call_at(instant / 1e9, callback, *args)

    def note(self, event: str, *, host: VirtualHost | None = None, flow: int = 0) -> None:
        """Add `event` to the loop's trace (when the loop records one), on `host`'s row.

        Args:
            event: What happened.
            host: Where it happened; by default the host the code runs on, if any.
            flow: Starts (> 0) or ends (< 0) a flow of the trace (see `TraceEvent`).
        """
        driver = self._scheduler._virtual
        if driver is not None and driver.trace is not None:
            if host is None:
                host = CURRENT_HOST.get()
            driver.record("net", event, host="" if host is None else host.name, flow=flow)

    def _tracing(self) -> bool:
        driver = self._scheduler._virtual
        return driver is not None and driver.trace is not None

    def trace_send(self, source: VirtualHost, target: VirtualHost, size: int, action: Callable[..., object]) -> int:
        """Note a stream segment sent (when tracing); return its flow id (0 when not tracing)."""
        if not self._tracing():
            return 0
        flow = next(self._flows)
        detail = f" {size} bytes" if size else ""
        self.note(f"send {_segment_kind(action)}{detail} > {target.name}", host=source, flow=flow)
        return flow

    def trace_delivery(self, target: VirtualHost, flow: int, action: Callable[..., object]) -> None:
        """Note the arrival of the segment or datagram of flow `flow` (see `trace_send`)."""
        self.note(f"receive {_segment_kind(action)}", host=target, flow=-flow)

    def _host_name_of(self, task: Task[Any]) -> str:
        host = task._context.get(CURRENT_HOST)
        return "" if host is None or host.network is not self else host.name

    # ---- hosts ---------------------------------------------------------------------------------

    def add_host(self, name: str, address: str | None = None) -> VirtualHost:
        """Add a host.

        Args:
            name: Its name, unique on the network (case-insensitive); resolvable by everyone.
            address: Its IPv4 address; by default the next free one of `10.0.0.1`, `10.0.0.2`, ...

        Returns:
            The host.

        Raises:
            ValueError: If the name or address is taken, or the address is not a usable IPv4 address.
        """
        key = name.lower()
        if not name or key == "localhost":
            raise ValueError(f"a virtual host needs a name other than {name!r}; 'localhost' means the host itself")
        if key in self._hosts:
            raise ValueError(f"the virtual network has a host named {name!r} already")
        if address is None:
            address = self._free_address()
        else:
            try:
                parsed = ipaddress.IPv4Address(address)
            except ValueError:
                raise ValueError(f"a virtual host's address must be an IPv4 address, got {address!r}") from None
            if parsed.is_loopback or parsed.is_unspecified:
                raise ValueError(f"{address!r} cannot be a host's address: it means the host itself or any address")
            address = str(parsed)
            if address in self._by_address:
                raise ValueError(f"the address {address!r} belongs to {self._by_address[address]!r} already")
        host = VirtualHost(self, name, address)
        self._hosts[key] = host
        self._by_address[address] = host
        return host

    def _free_address(self) -> str:
        while True:
            number = self._next_address
            self._next_address += 1
            address = str(ipaddress.IPv4Address(0x0A000000 + number))
            if address not in self._by_address:
                return address

    def host(self, name: str) -> VirtualHost:
        """Return the host called `name` (or with the address `name`).

        Raises:
            KeyError: If there is no such host.
        """
        host = self._hosts.get(name.lower()) or self._by_address.get(name)
        if host is None:
            known = ", ".join(sorted(host.name for host in self._hosts.values())) or "none"
            raise KeyError(f"no virtual host {name!r}; the hosts are: {known}")
        return host

    @property
    def hosts(self) -> tuple[VirtualHost, ...]:
        """Every host, in the order they were added."""
        return tuple(self._hosts.values())

    @property
    def default_host(self) -> VirtualHost:
        """The host of sockets created outside any `host.use()`; added as `'default'` when first needed."""
        host = self._default
        if host is None:
            host = self._default = self.add_host("default")
        return host

    def current_host(self) -> VirtualHost:
        """Return the host sockets created here and now belong to."""
        host = CURRENT_HOST.get()
        if host is not None and host.network is self:
            return host
        return self.default_host

    def _hosts_of(self, group: HostGroup) -> list[VirtualHost]:
        if isinstance(group, (str, VirtualHost)):
            group = [group]
        hosts = [self.host(item) if isinstance(item, str) else item for item in group]
        for host in hosts:
            if host.network is not self:
                raise ValueError(f"{host!r} is on another virtual network")
        return hosts

    # ---- links ---------------------------------------------------------------------------------

    def link(self, source: VirtualHost, target: VirtualHost) -> Link | None:
        """Return the link from `source` to `target`; `None` on one host (loopback is perfect)."""
        if source is target:
            return None
        key = (source, target)
        link = self._links.get(key)
        if link is None:
            link = self._links[key] = Link(self, self._conditions)
        return link

    @property
    def conditions(self) -> LinkConditions:
        """The conditions of every link not given others with `set_link`; assignable."""
        return self._conditions

    @conditions.setter
    def conditions(self, conditions: LinkConditions) -> None:
        self._conditions = conditions
        for key, link in self._links.items():
            if key not in self._explicit:
                link.set_conditions(conditions)

    def set_link(
        self, source: VirtualHost | str, target: VirtualHost | str, conditions: LinkConditions, *, both_ways: bool = True
    ) -> None:
        """Give the link between two hosts its own conditions (for packets sent from now on).

        Args:
            source: One host (or its name).
            target: The other host (or its name).
            conditions: The conditions.
            both_ways: Also for the direction from `target` to `source`.

        Raises:
            ValueError: If both are the same host (loopback has no conditions).
        """
        (one,) = self._hosts_of([source])
        (other,) = self._hosts_of([target])
        if one is other:
            raise ValueError(f"{one!r} reaches itself over loopback, which has no conditions")
        pairs = [(one, other), (other, one)] if both_ways else [(one, other)]
        for pair in pairs:
            self._explicit.add(pair)
            link = self.link(*pair)
            assert link is not None
            link.set_conditions(conditions)

    def send_packet(
        self, source: VirtualHost, target: VirtualHost, size: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]
    ) -> bool:
        """Send a datagram-like packet: `callback(*args)` runs on arrival, unless it is lost.

        With the link's `duplicate` probability it runs twice, each copy on its own schedule.

        Returns:
            False if it was lost at once (to `loss` or a partition); it is also lost if a partition
            cuts the link before it arrives.
        """
        link = self.link(source, target)
        flow = 0
        if self._tracing():
            flow = next(self._flows)
            self.note(f"send datagram {size} bytes > {target.name}", host=source, flow=flow)
        if link is None:
            self.call_at(self.now(), self._packet_arrived, None, target, flow, callback, args)
            return True
        if link.cut or link.drops():
            self.dropped += 1
            return False
        self.call_at(link.arrival(self.now(), size), self._packet_arrived, link, target, flow, callback, args)
        if link.duplicates():
            self.note(f"datagram to {target.name} duplicated", host=source)
            self.call_at(link.arrival(self.now(), size), self._packet_arrived, link, target, 0, callback, args)
        return True

    def _packet_arrived(
        self, link: Link | None, target: VirtualHost, flow: int, callback: Callable[..., object], args: tuple[object, ...]
    ) -> None:
        if link is not None and link.cut:
            self.dropped += 1
            self.note("datagram lost to a partition", host=target)
            return
        if flow:
            self.note("receive datagram", host=target, flow=-flow)
        callback(*args)

    def channel(self, source: VirtualHost, target: VirtualHost) -> Channel:
        """Return a new in-order channel from `source` to `target` (one direction of a connection)."""
        return Channel(self, source, target)

    def check_thread(self, what: str) -> None:
        """Refuse `what` outside the loop's thread once the loop runs.

        Raises:
            RuntimeError: When called from another thread.
        """
        loop = self.loop
        if loop.is_started() and threading.get_ident() != loop._loop_thread_id:
            raise RuntimeError(f"{what} must run on the loop's thread (in a task or callback of {loop!r})")

    # ---- the socket provider -------------------------------------------------------------------

    def open_socket(self, family: int, kind: int, protocol: int) -> socket.socket:
        """Return a new in-memory socket on the current host (see `SocketProvider`)."""
        return self.current_host().socket(family, kind, protocol)

    def resolve(
        self, host: str | None, port: int | str | None, family: int, kind: int, protocol: int, flags: int
    ) -> list[AddressInfo]:
        """Resolve a host name or address of the network, like `getaddrinfo` (see `SocketProvider`)."""
        return resolve(self, host, port, family, kind, protocol, flags)

    def name_info(self, address: tuple[str, int] | tuple[str, int, int, int], flags: int) -> tuple[str, str]:
        """Return the host name and port of an address of the network (see `SocketProvider`)."""
        return name_info(self, address, flags)

    def address_host(self, address: str, here: VirtualHost) -> VirtualHost | None:
        """Return the host `address` reaches from `here`, or `None` if it is nobody's."""
        if is_loopback(address):
            return here
        return self._by_address.get(address)

    def host_at(self, address: str) -> VirtualHost | None:
        """Return the host whose own address is `address`, or `None`."""
        return self._by_address.get(address)

    # ---- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every socket and detach from the loop (which goes back to real sockets); idempotent."""
        if self._closed:
            return
        self._closed = True
        for sock in list(self.sockets):
            sock.close()
        detach_provider(self.loop, self)

    def __repr__(self) -> str:
        return f"<VirtualNetwork hosts={[host.name for host in self._hosts.values()]}>"
