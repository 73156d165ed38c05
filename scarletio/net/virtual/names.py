"""Names on the virtual network: `getaddrinfo` and `getnameinfo` over its hosts, without blocking.

Every host resolves `localhost` (and `None` without `AI_PASSIVE`) to 127.0.0.1, which is itself;
the other hosts by name (case-insensitive) or IPv4 address. The network carries IPv4 only, so an
IPv6 request fails the way a resolver reports an unsupported family.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

from .._socket_factory import AddressInfo

if TYPE_CHECKING:
    from .network import VirtualNetwork

__all__ = ("name_info", "resolve")

_PROTOCOLS = {socket.SOCK_STREAM: socket.IPPROTO_TCP, socket.SOCK_DGRAM: socket.IPPROTO_UDP}


def _port_number(port: int | str | None, kind: int) -> int:
    if port is None:
        return 0
    if isinstance(port, int):
        if not 0 <= port < 65536:
            raise OverflowError(f"port must be 0-65535, got {port!r}")
        return port
    if port.isdigit():
        return _port_number(int(port), kind)
    try:
        return socket.getservbyname(port, "udp" if kind == socket.SOCK_DGRAM else "tcp")
    except OSError:
        raise socket.gaierror(socket.EAI_SERVICE, f"unknown service name {port!r}; pass a port number") from None


def _address_of(network: VirtualNetwork, host: str) -> str:
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if parsed.version == 6:
            raise socket.gaierror(
                socket.EAI_FAMILY, f"the virtual network has IPv4 addresses only, got the IPv6 address {host!r}"
            )
        return str(parsed)
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        return network.host(host).address
    except KeyError:
        known = ", ".join(sorted(item.name for item in network.hosts)) or "none yet"
        raise socket.gaierror(
            socket.EAI_NONAME, f"{host!r} is not a host on the virtual network (hosts: {known}); add it with add_host()"
        ) from None


def resolve(
    network: VirtualNetwork, host: str | None, port: int | str | None, family: int, kind: int, protocol: int, flags: int
) -> list[AddressInfo]:
    """Resolve like `socket.getaddrinfo` on `network` (IPv4 only).

    Args:
        network: The network.
        host: A host name, an IPv4 address, `localhost`, or `None` (the wildcard with `AI_PASSIVE`,
            else loopback).
        port: A port number, a service name, or `None`.
        family: `AF_INET` or `AF_UNSPEC`.
        kind: `SOCK_STREAM`, `SOCK_DGRAM`, or 0 for both.
        protocol: The protocol number, or 0 for the kind's.
        flags: `AI_*` flags; `AI_PASSIVE` is the one that matters.

    Returns:
        One entry per kind.

    Raises:
        socket.gaierror: For an unknown name, an unknown service, or an IPv6 family or address.
    """
    if family not in (socket.AF_UNSPEC, socket.AF_INET):
        raise socket.gaierror(
            socket.EAI_FAMILY, f"the virtual network has IPv4 addresses only; ask for AF_INET or AF_UNSPEC, not {family!r}"
        )
    kinds = [socket.SocketKind(kind)] if kind else [socket.SOCK_STREAM, socket.SOCK_DGRAM]
    number = _port_number(port, kinds[0])
    if not host:
        address = "0.0.0.0" if flags & socket.AI_PASSIVE else "127.0.0.1"
    else:
        address = _address_of(network, host)
    return [(socket.AF_INET, each, protocol or _PROTOCOLS.get(each, 0), "", (address, number)) for each in kinds]


def name_info(
    network: VirtualNetwork, address: tuple[str, int] | tuple[str, int, int, int], flags: int
) -> tuple[str, str]:
    """Look up the host name and the port of `address` on `network`, like `socket.getnameinfo`.

    With `NI_NUMERICHOST` the address is returned as it is; ports are always numeric.

    Raises:
        socket.gaierror: If no host has the address (and `NI_NAMEREQD` is set), or it is IPv6.
    """
    host, port = address[0], address[1]
    _address_of(network, host)  # refuses IPv6
    name = host
    if not flags & socket.NI_NUMERICHOST:
        if host.startswith("127."):
            name = "localhost"
        else:
            found = network.host_at(host)
            if found is not None:
                name = found.name
            elif flags & socket.NI_NAMEREQD:
                raise socket.gaierror(socket.EAI_NONAME, f"no virtual host has the address {host!r}")
    return name, str(port)
