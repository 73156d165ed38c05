"""Name resolution for the networking layer (high level): the system resolver, off the loop thread.

`get_address_info` calls `socket.getaddrinfo` on an executor thread, so `/etc/hosts`, `localhost`, NSS
modules and the system's DNS configuration all apply, and a slow lookup never blocks the loop. A host
that is already a numeric IP literal (or `None`, the wildcard) needs no lookup: it is resolved right on
the loop thread with `AI_NUMERICHOST`, which guarantees that no query is made.
"""

from __future__ import annotations

import errno
import socket

from ..core.abc import EventLoop
from ._socket_factory import AddressInfo, provider_of

__all__ = ("AddressInfo", "check_port", "get_address_info", "get_name_info", "ip_address_of", "is_ip_literal")

_AI_NUMERICSERV = getattr(socket, "AI_NUMERICSERV", 0)


def check_port(port: object) -> None:
    """Refuse a port the resolver would not take as it is meant.

    glibc's `getaddrinfo` keeps only the low 16 bits of a numeric port, so port 70000 would quietly
    become 4464, for host names and IP literals alike; a service name (`"https"`) is left to the
    resolver.

    Raises:
        ValueError: If `port` is a number, or a string of digits, outside 0..65535.
        TypeError: If `port` is neither an int, a string nor `None`.
    """
    if port is None:
        return
    if isinstance(port, str):
        if not port.isdigit():
            return
        number = int(port)
    elif isinstance(port, int):
        number = port
    else:
        raise TypeError(f"a port is an int, a service name or None, got {port!r}")
    if not 0 <= number <= 65535:
        raise ValueError(f"port {port!r} is out of range; a port is a number from 0 to 65535 (0 picks a free one)")


def is_ip_literal(host: str) -> bool:
    """Return whether `host` is a numeric IPv4 or IPv6 address (no lookup needed)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def ip_address_of(info: AddressInfo) -> tuple[str, int] | tuple[str, int, int, int]:
    """Return the socket address of a `getaddrinfo` entry.

    Raises:
        OSError: For the `(int, bytes)` form a Python built without IPv6 support returns.
    """
    address = info[4]
    if len(address) == 4:
        return address
    host, port = address
    if isinstance(host, str) and isinstance(port, int):
        return (host, port)
    raise OSError(errno.EAFNOSUPPORT, f"cannot use the address {address!r}: Python was built without IPv6")


async def get_address_info(
    loop: EventLoop,
    host: str | None,
    port: int | str | None,
    *,
    family: int = 0,
    type: int = 0,
    protocol: int = 0,
    flags: int = 0,
) -> list[AddressInfo]:
    """Resolve `host` and `port` with the system resolver (`getaddrinfo`) without blocking the loop.

    Args:
        loop: The loop the calling task runs on.
        host: A host name, an IP literal, or `None` for the wildcard / loopback address.
        port: A port number, a service name, or `None`.
        family: `AF_INET`, `AF_INET6`, ... or 0 for any.
        type: `SOCK_STREAM`, `SOCK_DGRAM`, ... or 0 for any.
        protocol: The protocol number, or 0 for any.
        flags: `AI_*` flags, for example `AI_PASSIVE` to get addresses to bind.

    Returns:
        The entries in the resolver's order of preference; never empty.

    Raises:
        socket.gaierror: If the name does not resolve.
        ValueError: If `port` is a number outside 0..65535 (the system resolver would wrap it around).
        TypeError: If `port` is neither a number, a service name nor `None`.
    """
    check_port(port)
    provider = provider_of(loop)
    if provider is not None:
        return provider.resolve(host, port, family, type, protocol, flags)
    if isinstance(port, int) or port is None:
        if host is None:
            return list(socket.getaddrinfo(None, port, family, type, protocol, flags | _AI_NUMERICSERV))
        if is_ip_literal(host):
            numeric = flags | socket.AI_NUMERICHOST | _AI_NUMERICSERV
            return list(socket.getaddrinfo(host, port, family, type, protocol, numeric))
    result = await loop.run_in_executor(socket.getaddrinfo, host, port, family, type, protocol, flags)
    return list(result)


async def get_name_info(
    loop: EventLoop, address: tuple[str, int] | tuple[str, int, int, int], flags: int = 0
) -> tuple[str, str]:
    """Look up the host and service names of a socket address, off the loop thread.

    Args:
        loop: The loop the calling task runs on.
        address: An IPv4 `(host, port)` or IPv6 `(host, port, flowinfo, scope_id)` address.
        flags: `NI_*` flags.

    Returns:
        `(host, service)`.

    Raises:
        socket.gaierror: If the lookup fails.
    """
    provider = provider_of(loop)
    if provider is not None:
        return provider.name_info(address, flags)
    return await loop.run_in_executor(socket.getnameinfo, address, flags)
