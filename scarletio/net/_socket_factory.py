"""Where the networking functions get their sockets and addresses from (high level, net).

`open_socket` and the resolver ask this module first. Normally no provider is attached and they use
the operating system (`socket.socket`, `getaddrinfo`). A loop with a provider attached (the virtual
network of `scarletio.net.virtual`) gets in-memory sockets and names instead, so the same connection,
server and datagram functions, transports and protocols run on it unchanged. Unix sockets always stay
real: they are files on this machine.
"""

from __future__ import annotations

import socket
import weakref
from typing import Protocol

from typing_extensions import TypeAlias

from ..core.abc import EventLoop

__all__ = ("AddressInfo", "SocketProvider", "attach_provider", "detach_provider", "open_socket", "provider_of")

AddressInfo: TypeAlias = tuple[
    socket.AddressFamily,
    socket.SocketKind,
    int,
    str,
    "tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes]",
]
"""One `getaddrinfo` entry: `(family, type, protocol, canonical name, socket address)`."""


class SocketProvider(Protocol):
    """What replaces the operating system's sockets and resolver for one loop."""

    def open_socket(self, family: int, kind: int, protocol: int) -> socket.socket:
        """Return a new non-Unix socket, like `socket.socket(family, kind, protocol)`.

        Raises:
            OSError: If the family or kind is not supported (`EAFNOSUPPORT`, ...).
        """
        ...

    def resolve(
        self, host: str | None, port: int | str | None, family: int, kind: int, protocol: int, flags: int
    ) -> list[AddressInfo]:
        """Resolve like `socket.getaddrinfo`, without blocking.

        Raises:
            socket.gaierror: If the name does not resolve.
        """
        ...

    def name_info(self, address: tuple[str, int] | tuple[str, int, int, int], flags: int) -> tuple[str, str]:
        """Look up names like `socket.getnameinfo`, without blocking.

        Raises:
            socket.gaierror: If the address has no name.
        """
        ...


_providers: weakref.WeakKeyDictionary[EventLoop, SocketProvider] = weakref.WeakKeyDictionary()


def attach_provider(loop: EventLoop, provider: SocketProvider) -> None:
    """Make `provider` the source of the sockets and names of everything networked on `loop`.

    Raises:
        RuntimeError: If `loop` has a provider already.
    """
    if loop in _providers:
        raise RuntimeError(f"{loop!r} already has a virtual network; use that one (one network per loop)")
    _providers[loop] = provider


def detach_provider(loop: EventLoop, provider: SocketProvider) -> None:
    """Go back to the operating system's sockets on `loop` (if `provider` is still the attached one)."""
    if _providers.get(loop) is provider:
        del _providers[loop]


def provider_of(loop: EventLoop) -> SocketProvider | None:
    """Return the provider attached to `loop`, or `None` for the operating system."""
    return _providers.get(loop) if _providers else None


def open_socket(loop: EventLoop, family: int, kind: int, protocol: int = 0) -> socket.socket:
    """Return a new socket for `loop`: an in-memory one on a virtual network, else a real one.

    Args:
        loop: The loop the socket will be used on.
        family: `AF_INET`, `AF_INET6`, `AF_UNIX`, ...
        kind: `SOCK_STREAM`, `SOCK_DGRAM`, ...
        protocol: The protocol number; 0 for the default.

    Raises:
        OSError: If the socket cannot be created.
    """
    if _providers and family != socket.AF_UNIX:
        provider = _providers.get(loop)
        if provider is not None:
            return provider.open_socket(family, kind, protocol)
    return socket.socket(family, kind, protocol)
