"""The virtual network: hosts, addresses, names, link conditions and partitions on virtual time.

A `VirtualNetwork` attaches itself to a loop on the `virtual` backend. From then on the loop's
networking functions (`create_server_to`, `create_connection_to`, `create_datagram_connection_to`,
the socket helpers, name resolution) get in-memory sockets between `VirtualHost`s instead of real
ones. The transports and protocols are the production ones; only the sockets under them differ.

Which host a socket belongs to is decided when it is created: the host entered with `with
host.use():` (a context variable, so tasks created inside inherit it) or a task started with
`host.create_task()`; without either, the network's `default_host`. Every host reaches itself as
`127.0.0.1` / `localhost` and the other hosts by name or address (`10.0.0.N` by default).

Time: packets travel by loop timers at virtual instants computed in whole nanoseconds, so a 100 ms
latency makes a round trip of exactly 0.2 s. Random draws (jitter, loss, the pick among listeners
sharing a port) come from one generator seeded from the loop's seed: a run repeats exactly.
"""

from __future__ import annotations

import errno
import ipaddress
import random
import socket
import threading
from collections.abc import Callable, Coroutine, Generator, Iterable
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar, final

from typing_extensions import TypeAlias, TypeVarTuple, Unpack

from ...backends.virtual import VirtualClock, VirtualReactor
from ...core.abc import EventLoop
from ...core.scheduler import Scheduler
from ...core.tasks import Task
from .._socket_factory import AddressInfo, SocketProvider, attach_provider, detach_provider
from ._links import Channel, Link, LinkConditions
from .names import name_info, resolve
from .sockets import VirtualDatagramSocket, VirtualSocket
from .streams import VirtualStreamSocket

__all__ = ("HostGroup", "VirtualHost", "VirtualNetwork")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

DEFAULT_BUFFER_SIZE = 64 * 1024
"""Bytes a stream connection holds per direction, unread or in flight (send plus receive buffer)."""

_WILDCARD = "0.0.0.0"
_FIRST_EPHEMERAL_PORT = 49152

HostGroup: TypeAlias = "VirtualHost | str | Iterable[VirtualHost | str]"
"""Hosts named by the partition functions: one host, one name, or an iterable of hosts and names."""

_current_host: ContextVar[VirtualHost | None] = ContextVar("scarletio_virtual_host", default=None)


def _is_loopback(address: str) -> bool:
    return address.startswith("127.")


@final
class VirtualHost:
    """A machine on a `VirtualNetwork`: a name, an IPv4 address, and the ports bound on it.

    Made by `VirtualNetwork.add_host`.

    Attributes:
        name: The host's name (resolvable on the network).
        address: Its IPv4 address.
        network: The network it is on.
    """

    __slots__ = ("__weakref__", "_bound", "_next_port", "address", "name", "network")

    def __init__(self, network: VirtualNetwork, name: str, address: str) -> None:
        self.network: VirtualNetwork = network
        self.name: str = name
        self.address: str = address
        self._bound: dict[tuple[int, int], list[VirtualSocket]] = {}
        self._next_port = _FIRST_EPHEMERAL_PORT

    @contextmanager
    def use(self) -> Generator[VirtualHost, None, None]:
        """Create the sockets of the code in the `with` block (and of tasks it creates) on this host.

        Yields:
            The host.
        """
        token = _current_host.set(self)
        try:
            yield self
        finally:
            _current_host.reset(token)

    def create_task(self, coroutine: Coroutine[Any, Any, T]) -> Task[T]:
        """Start `coroutine` as a task on the network's loop, running on this host.

        Args:
            coroutine: The coroutine; its sockets (and those of tasks it creates) are on this host.

        Returns:
            The task.
        """
        context = copy_context()
        context.run(_current_host.set, self)
        task: Task[T] = context.run(self.network.loop.create_task, coroutine)
        return task

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, protocol: int = 0) -> socket.socket:
        """Return a new in-memory socket on this host (blocking until `setblocking(False)`, like a real one).

        Args:
            family: `AF_INET` (the network carries IPv4 only).
            kind: `SOCK_STREAM` or `SOCK_DGRAM`.
            protocol: 0, or the protocol matching `kind`.

        Raises:
            OSError: For another family (`EAFNOSUPPORT`) or kind (`ESOCKTNOSUPPORT`).
        """
        return _new_socket(self, family, kind, protocol)

    def owns(self, address: str) -> bool:
        """Return whether `address` reaches this host (its own address or loopback)."""
        return address == self.address or _is_loopback(address)

    # ---- ports ---------------------------------------------------------------------------------

    def bind(self, sock: VirtualSocket, address: str, port: int) -> int:
        """Bind `sock` to `address`:`port` on this host (port 0: a free ephemeral one); return the port.

        Raises:
            OSError: `EADDRNOTAVAIL` for an address of another host, `EADDRINUSE` for a taken port.
        """
        if address != _WILDCARD and not self.owns(address):
            raise OSError(
                errno.EADDRNOTAVAIL,
                f"cannot bind {address!r} on virtual host {self.name!r}: its addresses are {self.address!r} and 127.0.0.1",
            )
        kind = sock.type
        if port == 0:
            port = self._ephemeral(kind)
        elif not 0 < port < 65536:
            raise OverflowError(f"port must be 0-65535, got {port!r}")
        holders = self._bound.setdefault((kind, port), [])
        for other in holders:
            overlapping = address == _WILDCARD or other.local_ip == _WILDCARD or other.local_ip == address
            if overlapping and not (sock.reuses_port and other.reuses_port):
                raise OSError(
                    errno.EADDRINUSE,
                    f"address {address!r} port {port} is already in use on virtual host {self.name!r}",
                )
        holders.append(sock)
        return port

    def unbind(self, sock: VirtualSocket, port: int) -> None:
        """Release the port `sock` was bound to."""
        key = (sock.type, port)
        holders = self._bound.get(key)
        if holders is not None and sock in holders:
            holders.remove(sock)
            if not holders:
                del self._bound[key]

    def bound(self, kind: int, address: str, port: int) -> list[VirtualSocket]:
        """Return the sockets of `kind` bound to `port` that receive what is sent to `address`."""
        holders = self._bound.get((kind, port), ())
        exact = [sock for sock in holders if sock.local_ip == address]
        if exact:
            return exact
        return [sock for sock in holders if sock.local_ip == _WILDCARD]

    def _ephemeral(self, kind: int) -> int:
        for _ in range(65536 - _FIRST_EPHEMERAL_PORT):
            port = self._next_port
            self._next_port = port + 1 if port < 65535 else _FIRST_EPHEMERAL_PORT
            if (kind, port) not in self._bound:
                return port
        raise OSError(errno.EADDRINUSE, f"virtual host {self.name!r} has no free ephemeral port left")

    def __repr__(self) -> str:
        return f"<VirtualHost {self.name!r} {self.address}>"


@final
class VirtualNetwork(SocketProvider):
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
        self.loop = loop
        self._scheduler = scheduler
        self._clock = clock
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
        self._closed = False
        attach_provider(loop, self)
        loop.add_close_callback(self.close)

    # ---- time and tracing ----------------------------------------------------------------------

    def now(self) -> int:
        """Return the loop's virtual time in nanoseconds."""
        return self._clock.now_nanoseconds()

    def call_at(self, instant: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> None:
        """Run `callback(*args)` on the loop at the virtual instant `instant` (nanoseconds)."""
        self.loop.call_at(instant / 1e9, callback, *args)

    def note(self, event: str) -> None:
        """Add `event` to the loop's trace (when the loop records one)."""
        driver = self._scheduler._virtual
        trace = None if driver is None else driver.trace
        if trace is not None:
            trace.append(("net", self._clock.now(), event))

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
        host = _current_host.get()
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

    def partition(self, *groups: HostGroup) -> None:
        """Cut every link between hosts of different groups, both ways, until `heal`.

        Datagrams sent across a cut are lost; stream segments wait and arrive after the heal (TCP
        keeps retransmitting), so a connection survives a partition its code does not time out on.

        Args:
            groups: Two or more groups: each a host, a host name, or an iterable of them; hosts in no
                group stay connected.

        Raises:
            ValueError: With fewer than two groups, or a host in two groups.
        """
        self.check_thread("partition()")
        resolved = self._groups(groups)
        for index, group in enumerate(resolved):
            for other in resolved[index + 1 :]:
                for one in group:
                    for two in other:
                        for pair in ((one, two), (two, one)):
                            link = self.link(*pair)
                            assert link is not None
                            link.cut = True
        self.note("partition " + " | ".join(",".join(host.name for host in group) for group in resolved))

    def heal(self, *groups: HostGroup) -> None:
        """Reconnect hosts cut apart by `partition`; what waited is sent again now.

        Args:
            groups: Heal only between these groups (two or more); every cut when none is given.

        Raises:
            ValueError: With exactly one group, or a host in two groups.
        """
        self.check_thread("heal()")
        if groups:
            resolved = self._groups(groups)
            pairs = [
                pair
                for index, group in enumerate(resolved)
                for other in resolved[index + 1 :]
                for one in group
                for two in other
                for pair in ((one, two), (two, one))
            ]
            links = [link for link in (self._links.get(pair) for pair in pairs) if link is not None]
        else:
            links = list(self._links.values())
        for link in links:
            link.cut = False
        for link in links:
            held, link.held = link.held, []
            for channel in held:
                channel.resume()
        self.note("heal")

    def _groups(self, groups: tuple[HostGroup, ...]) -> list[list[VirtualHost]]:
        if len(groups) < 2:
            raise ValueError(f"name at least two groups of hosts to cut apart, got {len(groups)}")
        resolved = [self._hosts_of(group) for group in groups]
        seen: set[VirtualHost] = set()
        for group in resolved:
            for host in group:
                if host in seen:
                    raise ValueError(f"{host!r} is in more than one group")
                seen.add(host)
        return resolved

    def reset_connections(self, host: VirtualHost | str, peer: VirtualHost | str | None = None) -> int:
        """Reset every stream connection of `host` (with `peer` only, if given), as a crash would.

        Both ends see `ConnectionResetError` on their next receive or send, at once.

        Returns:
            How many connections were reset.
        """
        self.check_thread("reset_connections()")
        (one,) = self._hosts_of([host])
        other = None if peer is None else self._hosts_of([peer])[0]
        count = 0
        for sock in sorted(self.sockets, key=lambda sock: self.reactor.allocation_order(sock.fileno())):
            partner = sock.reset_partner(one, other)
            if partner is not None:
                sock.reset_now()
                partner.reset_now()
                count += 1
        self.note(f"reset {count} connection(s) of {one.name}")
        return count

    def crash(self, host: VirtualHost | str) -> int:
        """Kill what runs on `host`, as if its process died; the host stays on the network.

        Every task running on the host (started with `host.create_task`, or created inside
        `host.use()`, and the tasks those created) is cancelled, and every socket of the host is
        closed as the kernel closes a dead process's sockets: peers read end of file (a reset where
        data was left unread), connections waiting to be accepted are reset, and new connections
        are refused. Start the host's services again (`host.create_task(...)`) to restart it.

        Returns:
            How many tasks were cancelled.
        """
        self.check_thread("crash()")
        (victim,) = self._hosts_of([host])
        tasks = [task for task in self.loop._tasks if task._context.get(_current_host) is victim]
        for task in tasks:  # creation order: the same on every run
            task.cancel()
        for sock in sorted(self.sockets, key=lambda sock: self.reactor.allocation_order(sock.fileno())):
            if sock.host is victim:
                sock.close()
        self.note(f"crash {victim.name}: {len(tasks)} task(s) cancelled")
        return len(tasks)

    def send_packet(
        self, source: VirtualHost, target: VirtualHost, size: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]
    ) -> bool:
        """Send a datagram-like packet: `callback(*args)` runs on arrival, unless it is lost.

        Returns:
            False if it was lost at once (to `loss` or a partition); it is also lost if a partition
            cuts the link before it arrives.
        """
        link = self.link(source, target)
        if link is None:
            self.call_at(self.now(), callback, *args)
            return True
        if link.cut or link.drops():
            self.dropped += 1
            return False
        self.call_at(link.arrival(self.now(), size), self._packet_arrived, link, callback, args)
        return True

    def _packet_arrived(self, link: Link, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        if link.cut:
            self.dropped += 1
            self.note("datagram lost to a partition")
            return
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
        if _is_loopback(address):
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


def _new_socket(host: VirtualHost, family: int, kind: int, protocol: int) -> VirtualSocket:
    """Return a new in-memory socket on `host` (see `VirtualHost.socket`)."""
    if family != socket.AF_INET:
        raise OSError(
            errno.EAFNOSUPPORT, f"the virtual network carries IPv4 (AF_INET) only, not {socket.AddressFamily(family)!r}"
        )
    nonblocking = getattr(socket, "SOCK_NONBLOCK", 0)
    flags = kind & (nonblocking | getattr(socket, "SOCK_CLOEXEC", 0))
    kind &= ~flags
    sock: VirtualSocket
    if kind == socket.SOCK_DGRAM:
        sock = VirtualDatagramSocket(host, family, kind, protocol)
    elif kind == socket.SOCK_STREAM:
        sock = VirtualStreamSocket(host, family, kind, protocol)
    else:
        raise OSError(errno.ESOCKTNOSUPPORT, f"the virtual network has stream and datagram sockets only, not kind {kind!r}")
    if flags & nonblocking:
        sock.setblocking(False)
    return sock
