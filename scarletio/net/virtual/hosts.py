"""Hosts of the virtual network: a name, an address, bound ports, a clock; and which host code runs on.

Which host a socket belongs to is decided when it is created: the host entered with `with
host.use():` (a context variable, so tasks created inside inherit it) or a task started with
`host.create_task()`; without either, the network's `default_host`.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Coroutine, Generator
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import TYPE_CHECKING, Any, TypeVar, final

from ...core.tasks import Task
from .clocks import HostClock
from .sockets import VirtualDatagramSocket, VirtualSocket
from .streams import VirtualStreamSocket

if TYPE_CHECKING:
    from .network import VirtualNetwork

__all__ = ("CURRENT_HOST", "WILDCARD", "VirtualHost", "is_loopback")

T = TypeVar("T")

WILDCARD = "0.0.0.0"
"""The address that binds every address of a host."""

_FIRST_EPHEMERAL_PORT = 49152

CURRENT_HOST: ContextVar[VirtualHost | None] = ContextVar("scarletio_virtual_host", default=None)
"""The host code runs on (set by `host.use()` and `host.create_task()`; `None`: the default host)."""


def is_loopback(address: str) -> bool:
    """Return whether `address` is a loopback address (the host itself)."""
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

    __slots__ = ("__weakref__", "_bound", "_clock", "_next_port", "address", "crash_budget", "name", "network")

    def __init__(self, network: VirtualNetwork, name: str, address: str) -> None:
        self.network: VirtualNetwork = network
        self.name: str = name
        self.address: str = address
        self._bound: dict[tuple[int, int], list[VirtualSocket]] = {}
        self._next_port = _FIRST_EPHEMERAL_PORT
        self._clock: HostClock | None = None
        # Bytes the host may still send over its streams before it crashes (`network.crash_after`).
        self.crash_budget: int | None = None

    @property
    def clock(self) -> HostClock:
        """The host's clock: the loop's virtual time with this host's skew and drift (see `clocks`)."""
        clock = self._clock
        if clock is None:
            clock = self._clock = HostClock(self, self.network.virtual_clock)
        return clock

    @property
    def time_is_exact(self) -> bool:
        """Whether the host's clock reads the loop's time exactly (no skew, no drift)."""
        return self._clock is None or self._clock.is_exact

    @contextmanager
    def use(self) -> Generator[VirtualHost, None, None]:
        """Create the sockets of the code in the `with` block (and of tasks it creates) on this host.

        Yields:
            The host.
        """
        token = CURRENT_HOST.set(self)
        try:
            yield self
        finally:
            CURRENT_HOST.reset(token)

    def create_task(self, coroutine: Coroutine[Any, Any, T]) -> Task[T]:
        """Start `coroutine` as a task on the network's loop, running on this host.

        Args:
            coroutine: The coroutine; its sockets (and those of tasks it creates) are on this host.

        Returns:
            The task.
        """
        context = copy_context()
        context.run(CURRENT_HOST.set, self)
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
        return address == self.address or is_loopback(address)

    # ---- ports ---------------------------------------------------------------------------------

    def bind(self, sock: VirtualSocket, address: str, port: int) -> int:
        """Bind `sock` to `address`:`port` on this host (port 0: a free ephemeral one); return the port.

        Raises:
            OSError: `EADDRNOTAVAIL` for an address of another host, `EADDRINUSE` for a taken port.
        """
        if address != WILDCARD and not self.owns(address):
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
            overlapping = address == WILDCARD or other.local_ip == WILDCARD or other.local_ip == address
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
        return [sock for sock in holders if sock.local_ip == WILDCARD]

    def _ephemeral(self, kind: int) -> int:
        for _ in range(65536 - _FIRST_EPHEMERAL_PORT):
            port = self._next_port
            self._next_port = port + 1 if port < 65535 else _FIRST_EPHEMERAL_PORT
            if (kind, port) not in self._bound:
                return port
        raise OSError(errno.EADDRINUSE, f"virtual host {self.name!r} has no free ephemeral port left")

    def __repr__(self) -> str:
        return f"<VirtualHost {self.name!r} {self.address}>"


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
