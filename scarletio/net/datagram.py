"""Datagram endpoints (high level, net): `DatagramSocketTransport` and the functions that open one.

One readiness event receives one datagram (with `recvfrom_into` into the thread's shared receive
buffer) and hands the protocol a `bytes` copy and the sender's address. Sending tries `sendto` at once
and queues the datagram only when the kernel's buffer is full; queued datagrams go out in order once
the socket is writable. Errors of single sends and receives (ICMP port unreachable, for example) go to
the protocol's `error_received` and do not close the endpoint.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, final

from ..core.reporting import report_error
from ..core.abc import EventLoop
from ._flow import receive_buffer, size_of
from ._socket_factory import open_socket
from ._socket_base import SocketTransportBase
from .connections import connection_failure
from .interfaces import BytesLike, DatagramProtocol, DatagramTransport, SocketAddress
from .resolve import AddressInfo, get_address_info, ip_address_of
from .sockets import set_reuse_port

__all__ = ("DatagramSocketTransport", "create_datagram_connection_to", "create_datagram_connection_with")

D = TypeVar("D", bound=DatagramProtocol)


@final
class DatagramSocketTransport(SocketTransportBase, DatagramTransport):
    """The transport of a non-blocking datagram socket (UDP or Unix datagram).

    Built by `create_datagram_connection_to` / `_with`; use the `DatagramTransport` interface.

    Args:
        loop: The loop; the transport is used from its thread only.
        sock: The socket; the transport owns it from now on and closes it.
        protocol: The protocol to call back.
        remote_address: The peer the socket is connected to, if any.
    """

    __slots__ = ("_protocol", "_remote", "_view")

    _protocol: DatagramProtocol

    def __init__(
        self,
        loop: EventLoop,
        sock: socket.socket,
        protocol: DatagramProtocol,
        remote_address: SocketAddress | None = None,
    ) -> None:
        self._init_flow()
        self._loop = loop
        self._socket = sock
        self._fd = sock.fileno()
        self._protocol = protocol  # pyright: ignore[reportIncompatibleVariableOverride]
        self._remote = remote_address
        self._buffer: deque[tuple[bytes, SocketAddress | None]] = deque()
        self._view = receive_buffer()
        self._closing = False
        self._lost = False
        sockname: object = sock.getsockname()
        self._extra: dict[str, object] = {"socket": sock, "sockname": sockname, "peername": remote_address}

    def _start(self) -> None:
        self._protocol.connection_made(self)
        if not self._closing:
            self._loop.add_reader(self._fd, self._read_ready)

    def _read_ready(self) -> None:
        try:
            count, address = self._socket.recvfrom_into(self._view)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._report_error(error)
            return
        try:
            self._protocol.datagram_received(self._view[:count].tobytes(), address)
        except Exception as error:
            report_error(f"exception in {type(self._protocol).__name__}.datagram_received; the endpoint is aborted", error)
            self._force_close(error)

    def _report_error(self, error: OSError) -> None:
        try:
            self._protocol.error_received(error)
        except Exception as failure:
            report_error(f"exception in {type(self._protocol).__name__}.error_received; the endpoint is aborted", failure)
            self._force_close(failure)

    def send_to(self, data: BytesLike, address: SocketAddress | None = None) -> None:
        """Send one datagram to `address` (to the connected peer when `None`); never blocks.

        Datagrams sent after `close` are dropped; send errors go to the protocol's `error_received`.

        Args:
            data: The datagram.
            address: The receiver; `None` (or the connected peer's address) on a connected endpoint.

        Raises:
            ValueError: If the endpoint is connected and `address` names another peer, or it is not
                connected and `address` is `None`.
        """
        remote = self._remote
        if address is not None and remote is not None:
            if address != remote:
                raise ValueError(
                    f"this endpoint is connected to {remote!r}; send to it with address=None, not {address!r}"
                )
            address = None
        elif address is None and remote is None:
            raise ValueError("this endpoint is not connected; pass the receiver's address")
        if self._closing:
            return
        if not self._buffer:
            try:
                if address is None:
                    self._socket.send(data)
                else:
                    self._socket.sendto(data, address)
                return
            except (BlockingIOError, InterruptedError):
                self._loop.add_writer(self._fd, self._write_ready)
            except OSError as error:
                self._report_error(error)
                return
        self._buffer.append((bytes(data), address))
        self._buffer_size += size_of(data)
        self._maybe_pause()

    if TYPE_CHECKING:

        def sendto(self, data: BytesLike, address: SocketAddress | None = None, /) -> None:
            """The same as `send_to` (asyncio's spelling)."""

    else:
        sendto = send_to

    def _write_ready(self) -> None:
        buffer = self._buffer
        while buffer:
            data, address = buffer[0]
            try:
                if address is None:
                    self._socket.send(data)
                else:
                    self._socket.sendto(data, address)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:
                buffer.popleft()
                self._buffer_size -= len(data)
                self._report_error(error)
                if self._lost:
                    return
                continue
            buffer.popleft()
            self._buffer_size -= len(data)
        self._maybe_resume()
        if not buffer:
            self._loop.remove_writer(self._fd)
            if self._closing and not self._lost:
                self._lost = True
                self._connection_lost(None)



def _start_endpoint(
    loop: EventLoop, sock: socket.socket, protocol_factory: Callable[[], D], remote: SocketAddress | None
) -> D:
    try:
        protocol = protocol_factory()
        transport = DatagramSocketTransport(loop, sock, protocol, remote)
        transport._start()
    except BaseException:
        sock.close()
        raise
    return protocol


async def create_datagram_connection_to(
    loop: EventLoop,
    protocol_factory: Callable[[], D],
    local_address: tuple[str, int] | str | None,
    remote_address: tuple[str, int] | str | None,
    *,
    socket_family: int = 0,
    socket_protocol: int = 0,
    socket_flags: int = 0,
    reuse_port: bool = False,
    allow_broadcast: bool = False,
) -> D:
    """Open a datagram endpoint bound to `local_address` and / or connected to `remote_address`.

    With `socket_family=AF_UNIX` the addresses are socket file paths; otherwise they are
    `(host, port)` pairs, resolved off the loop thread.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the endpoint's protocol.
        local_address: Where to bind; `None` lets the system pick (on the first send).
        remote_address: The only peer to talk to; `None` for an unconnected endpoint.
        socket_family: `AF_INET`, `AF_INET6`, `AF_UNIX`, or 0 to follow the addresses.
        socket_protocol: The protocol number; 0 for the default.
        socket_flags: `AI_*` flags for the lookups.
        reuse_port: Set `SO_REUSEPORT`, so several endpoints can share the local port.
        allow_broadcast: Set `SO_BROADCAST`, to send to broadcast addresses.

    Returns:
        The protocol, after its `connection_made` ran.

    Raises:
        ValueError: If neither address nor a family is given.
        OSError: If creating, binding or connecting the socket fails.
    """
    if socket_family == socket.AF_UNIX:
        candidates: list[tuple[int, int, SocketAddress | None, SocketAddress | None]] = [
            (socket.AF_UNIX, socket_protocol, local_address, remote_address)
        ]
    elif local_address is None and remote_address is None:
        if not socket_family:
            raise ValueError("pass a local address, a remote address or a socket family to open an endpoint")
        candidates = [(socket_family, socket_protocol, None, None)]
    else:
        candidates = await _pair_addresses(loop, local_address, remote_address, socket_family, socket_protocol, socket_flags)
    errors: list[OSError] = []
    for family, protocol, local, remote in candidates:
        sock = open_socket(loop, family, socket.SOCK_DGRAM, protocol)
        try:
            sock.setblocking(False)
            if reuse_port:
                set_reuse_port(sock)
            if allow_broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if local is not None:
                sock.bind(local)
            if remote is not None:
                sock.connect(remote)  # a datagram socket connects at once: it only records the peer
        except OSError as error:
            sock.close()
            errors.append(error)
            continue
        except BaseException:
            sock.close()
            raise
        return _start_endpoint(loop, sock, protocol_factory, remote)
    raise connection_failure(f"local {local_address!r} / remote {remote_address!r}", errors)


async def _pair_addresses(
    loop: EventLoop,
    local_address: tuple[str, int] | str | None,
    remote_address: tuple[str, int] | str | None,
    family: int,
    protocol: int,
    flags: int,
) -> list[tuple[int, int, SocketAddress | None, SocketAddress | None]]:
    """Resolve both addresses and pair the entries of a common family, in the resolver's order."""

    async def resolve(address: tuple[str, int] | str | None) -> list[AddressInfo] | None:
        if address is None:
            return None
        if isinstance(address, str):
            raise ValueError(f"a path address {address!r} needs socket_family=AF_UNIX")
        return await get_address_info(
            loop, address[0], address[1], family=family, type=socket.SOCK_DGRAM, protocol=protocol, flags=flags
        )

    local_infos = await resolve(local_address)
    remote_infos = await resolve(remote_address)
    pairs: list[tuple[int, int, SocketAddress | None, SocketAddress | None]] = []
    if remote_infos is None:
        assert local_infos is not None
        for info in local_infos:
            pairs.append((info[0], info[2], ip_address_of(info), None))
    elif local_infos is None:
        for info in remote_infos:
            pairs.append((info[0], info[2], None, ip_address_of(info)))
    else:
        for remote in remote_infos:
            for local in local_infos:
                if local[0] == remote[0]:
                    pairs.append((remote[0], remote[2], ip_address_of(local), ip_address_of(remote)))
        if not pairs:
            raise ValueError(f"the local address {local_address!r} and the remote address {remote_address!r} share no family")
    return list(dict.fromkeys(pairs))


async def create_datagram_connection_with(
    loop: EventLoop, protocol_factory: Callable[[], D], sock: socket.socket
) -> D:
    """Give an existing datagram socket (bound and / or connected already) a protocol.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the endpoint's protocol.
        sock: A `SOCK_DGRAM` socket; the transport owns it from now on.

    Returns:
        The protocol, after its `connection_made` ran.

    Raises:
        ValueError: If `sock` is not a datagram socket.
    """
    if sock.type != socket.SOCK_DGRAM:
        raise ValueError(f"a datagram endpoint needs a SOCK_DGRAM socket, got {sock!r}")
    sock.setblocking(False)
    try:
        remote: SocketAddress | None = sock.getpeername()
    except OSError:
        remote = None
    return _start_endpoint(loop, sock, protocol_factory, remote)

