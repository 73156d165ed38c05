"""`VirtualNetworking`: asyncio networking over scarletio's virtual network, for `scarletio.aio.EventLoop`.

A mixin placed first among the bases of `EventLoop`. While the loop's `EventThread` (`loop.thread`)
has a `VirtualNetwork` attached, asyncio's networking methods get their sockets and names from it:

- `create_connection`, `create_server` and `create_datagram_endpoint` open in-memory sockets (on the
  host of the calling task's `host.use()` block) and hand them to asyncio's own transports, so asyncio
  streams, TLS, aiohttp, httpx and websockets run unchanged on virtual time with the network's exact
  latencies;
- `getaddrinfo` / `getnameinfo` resolve the network's host names and addresses without a thread;
- the `sock_*` methods work on in-memory sockets as on real ones, and refuse a real socket (which
  would talk to the real network behind the test's back) with an error naming the way out:
  `socket_factory(loop)`, for libraries that open their own sockets (aiohttp 3.10+ does, through
  aiohappyeyeballs: `aiohttp.TCPConnector(socket_factory=socket_factory(loop))`).

Without a network attached (every real backend) each method is asyncio's own (`super()`).

The overrides are defined for the interpreter only (`if not TYPE_CHECKING`): the type checkers keep
seeing asyncio's exact, overloaded signatures, which are the loop's public types; the typed work is
done by the module's functions.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..net._socket_factory import AddressInfo, SocketProvider, open_socket, provider_of
from ..net.virtual import VirtualSocket

__all__ = ("VirtualNetworking", "check_socket", "socket_factory")

_AddressInfoLike = tuple[int, int, int, str, object]
"""An entry of `getaddrinfo` as libraries pass it to a socket factory."""

WAY_OUT = (
    "open sockets for this loop with scarletio.aio.virtual_network.socket_factory(loop) "
    "(aiohttp: aiohttp.TCPConnector(socket_factory=socket_factory(loop))), "
    "or let loop.create_connection / create_server open them"
)


def _provider(loop: object) -> SocketProvider | None:
    thread = getattr(loop, "thread", None)
    return None if thread is None else provider_of(thread)


def socket_factory(loop: asyncio.AbstractEventLoop) -> Callable[[_AddressInfoLike], socket.socket]:
    """Return a function that opens a socket for one `getaddrinfo` entry, on `loop`'s network.

    On a `scarletio.aio.EventLoop` with a virtual network it opens in-memory sockets (on the host of
    the calling task), elsewhere ordinary ones. For libraries that open their own sockets:
    `aiohttp.TCPConnector(socket_factory=socket_factory(loop))`.

    Args:
        loop: The asyncio loop the sockets will be used on.
    """

    def open_for(address_info: _AddressInfoLike) -> socket.socket:
        family, kind, protocol = address_info[0], address_info[1], address_info[2]
        thread = getattr(loop, "thread", None)
        if thread is None:
            return socket.socket(family, kind, protocol)
        return open_socket(thread, family, kind, protocol)

    return open_for


def check_socket(loop: object, sock: socket.socket, what: str) -> None:
    """Refuse a real (non-Unix) socket on a loop with a virtual network.

    Raises:
        TypeError: Naming the socket and `socket_factory`.
    """
    if _provider(loop) is not None and not isinstance(sock, VirtualSocket) and sock.family != socket.AF_UNIX:
        raise TypeError(f"{what}() got a real socket {sock!r} on a loop on the virtual network; {WAY_OUT}")


def _host_text(host: str | bytes | None) -> str | None:
    return host.decode("idna") if isinstance(host, bytes) else host


def _resolve(
    provider: SocketProvider, host: str | bytes | None, port: int | str | bytes | None, family: int, kind: int, protocol: int, flags: int
) -> list[AddressInfo]:
    service = port.decode() if isinstance(port, bytes) else port
    return provider.resolve(_host_text(host), service, family, kind, protocol, flags)


def _one_error(errors: Sequence[OSError], what: str) -> OSError:
    if len(errors) == 1:
        return errors[0]
    if len({str(error) for error in errors}) == 1:
        return errors[0]
    return OSError(f"multiple exceptions while {what}: {', '.join(str(error) for error in errors)}")


async def connected_stream(
    loop: asyncio.AbstractEventLoop,
    provider: SocketProvider,
    host: str | bytes | None,
    port: int | str | None,
    family: int,
    protocol: int,
    flags: int,
    local_address: tuple[str, int] | None,
) -> socket.socket:
    """Return an in-memory stream socket connected to `(host, port)`, trying each address in turn.

    Raises:
        OSError: The connection's error (refused, unreachable, ...), or all of them.
        socket.gaierror: If the name does not resolve.
    """
    infos = _resolve(provider, host, port, family, socket.SOCK_STREAM, protocol, flags)
    local = None if local_address is None else _resolve(provider, *local_address, family, socket.SOCK_STREAM, protocol, flags)
    errors: list[OSError] = []
    for address_family, kind, number, _, address in infos:
        sock = provider.open_socket(address_family, kind, number)
        try:
            sock.setblocking(False)
            if local:
                sock.bind(local[0][4])
            await loop.sock_connect(sock, address)
        except OSError as error:
            sock.close()
            errors.append(error)
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    if not errors:
        raise OSError(f"getaddrinfo({host!r}, {port!r}) returned an empty list")
    raise _one_error(errors, f"connecting to {(host, port)!r}")


def listening_sockets(
    provider: SocketProvider,
    host: str | Sequence[str] | None,
    port: int | str | None,
    family: int,
    flags: int,
    reuse_port: bool | None,
) -> list[socket.socket]:
    """Return bound in-memory stream sockets for `create_server` (listening starts with serving).

    Raises:
        OSError: If an address is taken.
    """
    hosts: Sequence[str | None] = [host] if host is None or isinstance(host, str) else list(host)
    sockets: list[socket.socket] = []
    seen: set[object] = set()
    try:
        for one in hosts:
            for address_family, kind, number, _, address in _resolve(
                provider, one or None, port, family, socket.SOCK_STREAM, 0, flags | socket.AI_PASSIVE
            ):
                if address in seen:
                    continue
                seen.add(address)
                sock = provider.open_socket(address_family, kind, number)
                sockets.append(sock)
                sock.setblocking(False)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port and hasattr(socket, "SO_REUSEPORT"):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(address)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def datagram_socket(
    loop: asyncio.AbstractEventLoop,
    provider: SocketProvider,
    local_address: tuple[str, int] | None,
    remote_address: tuple[str, int] | None,
    family: int,
    protocol: int,
    flags: int,
    reuse_port: bool | None,
    allow_broadcast: bool | None,
) -> tuple[socket.socket, tuple[str, int] | None]:
    """Return an in-memory datagram socket, bound and connected as asked, and its remote address.

    Raises:
        OSError: If binding or connecting fails.
    """
    family = family or socket.AF_INET
    local = None if local_address is None else _resolve(provider, *local_address, family, socket.SOCK_DGRAM, protocol, flags)
    remote = None if remote_address is None else _resolve(provider, *remote_address, family, socket.SOCK_DGRAM, protocol, flags)
    sock = provider.open_socket(family, socket.SOCK_DGRAM, protocol)
    try:
        sock.setblocking(False)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if allow_broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if local:
            sock.bind(local[0][4])
        target: tuple[str, int] | None = None
        if remote:
            address = remote[0][4]
            target = (str(address[0]), int(address[1]))
            await loop.sock_connect(sock, target)
    except BaseException:
        sock.close()
        raise
    return sock, target


class VirtualNetworking:
    """The virtual-network overrides of `EventLoop`'s networking methods (see the module docstring)."""

    __slots__ = ()

    if not TYPE_CHECKING:

        async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
            provider = _provider(self)
            if provider is None:
                return await super().getaddrinfo(host, port, family=family, type=type, proto=proto, flags=flags)
            return _resolve(provider, host, port, family, type, proto, flags)

        async def getnameinfo(self, sockaddr, flags=0):
            provider = _provider(self)
            if provider is None:
                return await super().getnameinfo(sockaddr, flags)
            return provider.name_info(sockaddr, flags)

        async def create_connection(
            self, protocol_factory, host=None, port=None, *, ssl=None, family=0, proto=0, flags=0, sock=None,
            local_addr=None, server_hostname=None, **options,
        ):
            provider = _provider(self)
            if provider is not None and sock is None and (host is not None or port is not None):
                for name in ("happy_eyeballs_delay", "interleave", "all_errors"):
                    options.pop(name, None)
                sock = await connected_stream(self, provider, host, port, family, proto, flags, local_addr)
                if ssl and server_hostname is None:
                    server_hostname = _host_text(host)
                try:
                    return await super().create_connection(
                        protocol_factory, ssl=ssl, sock=sock, server_hostname=server_hostname, **options
                    )
                except BaseException:
                    sock.close()
                    raise
            if sock is not None:
                check_socket(self, sock, "create_connection")
            return await super().create_connection(
                protocol_factory, host, port, ssl=ssl, family=family, proto=proto, flags=flags, sock=sock,
                local_addr=local_addr, server_hostname=server_hostname, **options,
            )

        async def create_server(
            self, protocol_factory, host=None, port=None, *, family=socket.AF_UNSPEC, flags=socket.AI_PASSIVE,
            sock=None, backlog=100, ssl=None, reuse_address=None, reuse_port=None, start_serving=True, **options,
        ):
            provider = _provider(self)
            if provider is None or sock is not None:
                if sock is not None:
                    check_socket(self, sock, "create_server")
                return await super().create_server(
                    protocol_factory, host, port, family=family, flags=flags, sock=sock, backlog=backlog, ssl=ssl,
                    reuse_address=reuse_address, reuse_port=reuse_port, start_serving=start_serving, **options,
                )
            options.pop("keep_alive", None)
            sockets = listening_sockets(provider, host, port, family, flags, reuse_port)
            try:
                server = await super().create_server(
                    protocol_factory, sock=sockets[0], backlog=backlog, ssl=ssl, start_serving=False, **options
                )
            except BaseException:
                for one in sockets:
                    one.close()
                raise
            server._sockets.extend(sockets[1:])  # asyncio's `Server` serves each socket of this list
            if start_serving:
                await server.start_serving()
            return server

        async def create_datagram_endpoint(
            self, protocol_factory, local_addr=None, remote_addr=None, *, family=0, proto=0, flags=0,
            reuse_port=None, allow_broadcast=None, sock=None, **options,
        ):
            provider = _provider(self)
            if provider is None or sock is not None or family == socket.AF_UNIX:
                if sock is not None:
                    check_socket(self, sock, "create_datagram_endpoint")
                return await super().create_datagram_endpoint(
                    protocol_factory, local_addr, remote_addr, family=family, proto=proto, flags=flags,
                    reuse_port=reuse_port, allow_broadcast=allow_broadcast, sock=sock, **options,
                )
            sock, target = await datagram_socket(
                self, provider, local_addr, remote_addr, family, proto, flags, reuse_port, allow_broadcast
            )
            protocol = protocol_factory()
            waiter = self.create_future()
            # asyncio's own transport; given a socket, its public method would forget the remote address.
            transport = self._make_datagram_transport(sock, protocol, target, waiter)
            try:
                await waiter
            except BaseException:
                transport.close()
                raise
            return transport, protocol

        async def sock_connect(self, sock, address):
            check_socket(self, sock, "sock_connect")
            return await super().sock_connect(sock, address)

        async def sock_accept(self, sock):
            check_socket(self, sock, "sock_accept")
            return await super().sock_accept(sock)

        async def sock_recv(self, sock, n):
            check_socket(self, sock, "sock_recv")
            return await super().sock_recv(sock, n)

        async def sock_recv_into(self, sock, buf):
            check_socket(self, sock, "sock_recv_into")
            return await super().sock_recv_into(sock, buf)

        async def sock_sendall(self, sock, data):
            check_socket(self, sock, "sock_sendall")
            return await super().sock_sendall(sock, data)

        async def sock_recvfrom(self, sock, bufsize):  # Python 3.11+, as the two below
            check_socket(self, sock, "sock_recvfrom")
            return await super().sock_recvfrom(sock, bufsize)

        async def sock_sendto(self, sock, data, address):
            check_socket(self, sock, "sock_sendto")
            return await super().sock_sendto(sock, data, address)

        async def _sock_sendfile_native(self, sock, file, offset, count):
            if isinstance(sock, VirtualSocket):  # no kernel socket: asyncio falls back to plain sends
                raise asyncio.SendfileNotAvailableError("the virtual network has no sendfile()")
            return await super()._sock_sendfile_native(sock, file, offset, count)

