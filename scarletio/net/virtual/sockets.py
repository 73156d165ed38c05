"""In-memory sockets of the virtual network: the shared base, and datagram (UDP-like) sockets.

A `VirtualSocket` is a `socket.socket` with no kernel descriptor behind it (the base initialiser never
runs, so the C object holds -1). Every method the networking layer and ordinary code use is
overridden to act on the network instead, and `fileno()` is a descriptor from the `VirtualReactor`:
a real but inert one whose readability follows the socket's (so code that polls it with `select`
sees the truth), which the loop's `add_reader` / `add_writer`, and so every transport, use unchanged:
the socket tells the reactor when it becomes readable or writable.

The sockets cannot block the loop's thread: in blocking mode (the default, as for a real socket) an
operation that would wait raises `RuntimeError` naming the way out (`setblocking(False)`).
"""

from __future__ import annotations

import errno
import socket
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, final, overload

from typing_extensions import Buffer, Self

from ...core.abc import EventMask

if TYPE_CHECKING:
    from ._links import Channel
    from .hosts import VirtualHost
    from .network import VirtualNetwork

__all__ = ("VirtualDatagramSocket", "VirtualSocket")

# Readiness as plain ints (see `VirtualReactor.set_readiness`): enum arithmetic is slow.
_NOTHING = 0
_READ = int(EventMask.READ)
_WRITE = int(EventMask.WRITE)
_REUSE_PORT = getattr(socket, "SO_REUSEPORT", -1)

BROADCAST = "255.255.255.255"
"""The limited broadcast address: a datagram to it reaches every host (with `SO_BROADCAST` set)."""

MAX_DATAGRAM = 65507
"""The largest UDP payload over IPv4."""

DATAGRAM_BUFFER_SIZE = 212992
"""Bytes of datagrams a socket queues unread before it drops new ones (Linux's default `SO_RCVBUF`)."""


def _ip_port(address: object, what: str) -> tuple[str, int]:
    if (
        isinstance(address, tuple)
        and len(address) == 2  # pyright: ignore[reportUnknownArgumentType]
        and isinstance(address[0], str)
        and isinstance(address[1], int)
        and not isinstance(address[1], bool)
    ):
        return address[0], address[1]
    raise TypeError(f"{what} takes an IPv4 (host, port) tuple on the virtual network, got {address!r}")


class VirtualSocket(socket.socket):
    """The part of an in-memory socket that does not depend on its kind (see the module docstring).

    Args:
        host: The host the socket lives on.
        family: Its family (`AF_INET`).
        kind: `SOCK_STREAM` or `SOCK_DGRAM`.
        protocol: The protocol number.
    """

    def __init__(self, host: VirtualHost, family: int, kind: int, protocol: int) -> None:
        # `socket.socket.__init__` would open a kernel socket: deliberately not called.
        self._io_refs = 0
        self._closed = False
        self.host = host
        self.network: VirtualNetwork = host.network
        self._family = socket.AddressFamily(family)
        self._kind = socket.SocketKind(kind)
        self._protocol = protocol
        self._fd = self.network.reactor.allocate()
        self._timeout: float | None = None
        self._options: dict[tuple[int, int], int | bytes] = {}
        self.local_ip: str = "0.0.0.0"
        self._port = 0
        self._remote: tuple[str, int] | None = None
        self._error = 0
        self._level = _NOTHING  # the readiness the reactor knows
        self.network.sockets.add(self)

    # ---- identity ------------------------------------------------------------------------------

    @property
    def family(self) -> socket.AddressFamily:
        """The address family."""
        return self._family

    @property
    def type(self) -> socket.SocketKind:
        """The socket kind."""
        return self._kind

    @property
    def proto(self) -> int:
        """The protocol number."""
        return self._protocol

    def fileno(self) -> int:
        """Return the socket's descriptor (-1 once closed); see the module docstring."""
        return -1 if self._closed else self._fd

    @property
    def reuses_port(self) -> bool:
        """Whether `SO_REUSEPORT` is set (several sockets may then bind one port)."""
        return bool(self._options.get((socket.SOL_SOCKET, _REUSE_PORT), 0))

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._fd}"
        where = f"{self.local_ip}:{self._port}" if self._port else "unbound"
        peer = f" -> {self._remote[0]}:{self._remote[1]}" if self._remote else ""
        return f"<{type(self).__name__} {state} on {self.host.name} {where}{peer}>"

    # ---- modes and options ---------------------------------------------------------------------

    def setblocking(self, flag: bool, /) -> None:
        """Switch between blocking (`True`) and non-blocking mode; only non-blocking mode can wait."""
        self._timeout = None if flag else 0.0

    def settimeout(self, value: float | None, /) -> None:
        """Set the timeout: 0 makes the socket non-blocking, anything else blocking."""
        self._timeout = value

    def gettimeout(self) -> float | None:
        """Return 0.0 in non-blocking mode, else the timeout set (`None` by default)."""
        return self._timeout

    def getblocking(self) -> bool:
        """Return whether the socket is in blocking mode."""
        return self._timeout != 0.0

    @overload
    def setsockopt(self, level: int, optname: int, value: int | Buffer, /) -> None: ...
    @overload
    def setsockopt(self, level: int, optname: int, value: None, optlen: int, /) -> None: ...
    def setsockopt(self, level: int, optname: int, value: int | Buffer | None, optlen: int | None = None, /) -> None:
        """Record an option; `SO_REUSEPORT` and `SO_RCVBUF` matter, the others are accepted and kept."""
        self._check_open()
        if isinstance(value, int):
            self._options[(level, optname)] = value
        elif value is not None:
            self._options[(level, optname)] = bytes(value)

    @overload
    def getsockopt(self, level: int, optname: int, /) -> int: ...
    @overload
    def getsockopt(self, level: int, optname: int, buflen: int, /) -> bytes: ...
    def getsockopt(self, level: int, optname: int, buflen: int | None = None, /) -> int | bytes:
        """Return an option; `SO_ERROR` returns and clears the pending error, as the kernel does."""
        self._check_open()
        if level == socket.SOL_SOCKET and optname == socket.SO_ERROR:
            error, self._error = self._error, 0
            self._update()
            return error if buflen is None else error.to_bytes(4, "little")
        value = self._options.get((level, optname), 0)
        if buflen is None:
            return value if isinstance(value, int) else int.from_bytes(value[:4], "little")
        return value if isinstance(value, bytes) else value.to_bytes(4, "little")

    # ---- addresses -----------------------------------------------------------------------------

    def bind(self, address: object, /) -> None:
        """Bind to `(ip, port)` on this socket's host (port 0 picks a free one)."""
        self._check_open()
        ip, port = _ip_port(address, "bind")
        if self._port:
            raise OSError(errno.EINVAL, f"{self!r} is bound already")
        self._port = self.host.bind(self, ip, port)
        self.local_ip = ip

    def _bind_for(self, destination: str) -> None:
        """Bind to a free port on the address that reaches `destination`, unless bound already."""
        if not self._port:
            ip = "127.0.0.1" if destination.startswith("127.") else self.host.address
            self._port = self.host.bind(self, ip, 0)
            self.local_ip = ip

    def getsockname(self) -> tuple[str, int]:
        """Return the local `(ip, port)`; `('0.0.0.0', 0)` before binding."""
        self._check_open()
        return (self.local_ip, self._port)

    def getpeername(self) -> tuple[str, int]:
        """Return the peer's `(ip, port)`.

        Raises:
            OSError: `ENOTCONN` when not connected.
        """
        self._check_open()
        if self._remote is None:
            raise OSError(errno.ENOTCONN, "the virtual socket is not connected")
        return self._remote

    def _resolve(self, address: object, what: str) -> tuple[str, int]:
        host, port = _ip_port(address, what)
        (entry,) = self.network.resolve(host, port, socket.AF_INET, self._kind, 0, 0)
        resolved = entry[4]
        assert isinstance(resolved[0], str) and isinstance(resolved[1], int)
        return resolved[0], resolved[1]

    def _target(self, ip: str) -> VirtualHost:
        target = self.network.address_host(ip, self.host)
        if target is None:
            raise OSError(errno.EHOSTUNREACH, f"no host on the virtual network has the address {ip!r}")
        return target

    # ---- state ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise OSError(errno.EBADF, "bad file descriptor: the virtual socket is closed")

    def _would_block(self, what: str) -> BlockingIOError:
        if self._timeout != 0.0:
            raise RuntimeError(
                f"{what} on {self!r} would wait, and a virtual socket cannot block the loop's thread; "
                "call setblocking(False) and wait with the loop (the transports and socket helpers do)"
            )
        return BlockingIOError(errno.EAGAIN, "resource temporarily unavailable")

    def _readiness(self) -> int:
        """What the socket is ready for now (overridden by each kind)."""
        return _NOTHING

    def _update(self) -> None:
        if not self._closed:
            level = self._readiness()
            if level != self._level:
                self._level = level
                self.network.reactor.set_readiness(self._fd, level)

    def close(self) -> None:
        """Close the socket and release its port; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._release()
        if self._port:
            self.host.unbind(self, self._port)
        self.network.reactor.release(self._fd)
        self.network.sockets.discard(self)

    def _release(self) -> None:
        """Kind-specific closing, before the port and descriptor are released."""

    def reset_partner(self, host: VirtualHost, peer: VirtualHost | None) -> VirtualSocket | None:
        """Return the other end if this is a live stream connection from `host` (to `peer`, if given)."""
        return None

    def reset_now(self) -> None:
        """Fail a stream connection at once (nothing for other kinds)."""

    def outgoing_channel(self) -> Channel | None:
        """Return the channel carrying what this socket sends (stream connections only)."""
        return None

    def connect_ex(self, address: object, /) -> int:
        """Like `connect`, returning an error number instead of raising `OSError`."""
        try:
            self.connect(_ip_port(address, "connect_ex"))
        except OSError as error:
            return error.errno or errno.EINVAL
        return 0

    def detach(self) -> int:
        """Refuse: there is no kernel descriptor to hand over."""
        raise OSError(errno.EOPNOTSUPP, "a virtual socket has no kernel descriptor to detach")

    def dup(self) -> Self:
        """Refuse: an in-memory socket cannot be duplicated."""
        raise OSError(errno.EOPNOTSUPP, "a virtual socket cannot be duplicated")

    def sendall(self, data: Buffer, flags: int = 0, /) -> None:
        """Send all of `data` at once, or raise what `send` raises (nothing can wait here)."""
        view = memoryview(data).cast("B")
        sent = 0
        while sent < len(view):
            sent += self.send(view[sent:], flags)

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        """Receive up to `bufsize` bytes (see `recv_into`)."""
        buffer = bytearray(bufsize)
        count = self.recv_into(buffer, bufsize, flags)
        return bytes(buffer[:count])

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, tuple[str, int]]:
        """Receive up to `bufsize` bytes and the sender's address (see `recvfrom_into`)."""
        buffer = bytearray(bufsize)
        count, address = self.recvfrom_into(buffer, bufsize, flags)
        return bytes(buffer[:count]), address

    def sendmsg(
        self, buffers: Iterable[Buffer], ancdata: Iterable[object] = (), flags: int = 0, address: object = None, /
    ) -> int:
        """Send the buffers joined (no ancillary data on the virtual network)."""
        if ancdata and list(ancdata):
            raise OSError(errno.EOPNOTSUPP, "the virtual network carries no ancillary data")
        data = b"".join(bytes(buffer) for buffer in buffers)
        if address is None:
            return self.send(data, flags)
        return self.sendto(data, _ip_port(address, "sendmsg"))


@final
class VirtualDatagramSocket(VirtualSocket):
    """A UDP-like socket: unreliable, unordered under jitter, message boundaries kept.

    A datagram to 255.255.255.255 (with `SO_BROADCAST` set) goes to every host, each copy drawn for
    loss separately, and reaches the sockets there bound to the wildcard address on that port.

    A datagram to a port nobody listens on is dropped; if the sender is connected it then gets
    `ConnectionRefusedError` on a later receive, as ICMP "port unreachable" makes happen for real.
    """

    def __init__(self, host: VirtualHost, family: int, kind: int, protocol: int) -> None:
        super().__init__(host, family, kind, protocol)
        self._queue: deque[tuple[bytes, tuple[str, int]]] = deque()
        self._queued = 0
        self._update()

    def _readiness(self) -> int:
        return _WRITE | _READ if self._queue or self._error else _WRITE

    def connect(self, address: object, /) -> None:
        """Record the only peer to talk to (binding first if needed)."""
        self._check_open()
        ip, port = self._resolve(address, "connect")
        if ip != BROADCAST:
            self._target(ip)
        self._bind_for(ip)
        self._remote = (ip, port)

    def send(self, data: Buffer, flags: int = 0, /) -> int:
        """Send one datagram to the connected peer."""
        if self._remote is None:
            self._check_open()
            raise OSError(errno.EDESTADDRREQ, "the virtual datagram socket is not connected; use sendto()")
        return self._send(data, self._remote)

    @overload
    def sendto(self, data: Buffer, address: object, /) -> int: ...
    @overload
    def sendto(self, data: Buffer, flags: int, address: object, /) -> int: ...
    def sendto(self, data: Buffer, flags_or_address: object, address: object = None, /) -> int:
        """Send one datagram to `address` (binding first if needed)."""
        target = flags_or_address if address is None else address
        ip, port = self._resolve(target, "sendto")
        return self._send(data, (ip, port))

    def _send(self, data: Buffer, address: tuple[str, int]) -> int:
        self._check_open()
        self._take_error()
        payload = bytes(data)
        if len(payload) > MAX_DATAGRAM:
            raise OSError(errno.EMSGSIZE, f"a datagram holds at most {MAX_DATAGRAM} bytes, got {len(payload)}")
        ip, port = address
        network = self.network
        if ip == BROADCAST:
            if not self._options.get((socket.SOL_SOCKET, socket.SO_BROADCAST)):
                raise PermissionError(errno.EACCES, "sending to the broadcast address needs SO_BROADCAST set")
            targets = list(network.hosts)  # every host, the sender's own included, as on a real LAN
        else:
            targets = [self._target(ip)]
        self._bind_for(ip)
        source = ("127.0.0.1" if ip.startswith("127.") else self.host.address, self._port)
        for target in targets:
            if not network.send_packet(self.host, target, len(payload), _datagram_arrived, self, target, ip, port, source, payload):
                network.note(f"datagram lost {source[0]}:{source[1]} > {ip}:{port} {len(payload)} bytes", host=self.host)
        return len(payload)

    def _take_error(self) -> None:
        error = self._error
        if error:
            self._error = 0
            self._update()
            raise OSError(error, f"an earlier datagram to {self._remote!r} was refused: nothing listens there")

    def recvfrom_into(
        self, buffer: Buffer, nbytes: int = 0, flags: int = 0
    ) -> tuple[int, tuple[str, int]]:
        """Receive one datagram into `buffer` (truncated to fit) and the sender's address."""
        self._check_open()
        self._take_error()
        queue = self._queue
        if not queue:
            raise self._would_block("recvfrom_into")
        if flags & socket.MSG_PEEK:
            payload, sender = queue[0]
        else:
            payload, sender = queue.popleft()
            self._queued -= len(payload)
            self._update()
        view = memoryview(buffer).cast("B")
        count = min(len(payload), nbytes or len(view), len(view))
        view[:count] = payload[:count]
        return count, sender

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive one datagram into `buffer` (see `recvfrom_into`)."""
        return self.recvfrom_into(buffer, nbytes, flags)[0]

    def shutdown(self, how: int, /) -> None:
        """Refuse unless connected (a datagram socket has no stream to shut down)."""
        self._check_open()
        if self._remote is None:
            raise OSError(errno.ENOTCONN, "the virtual socket is not connected")

    def _deliver(self, payload: bytes, sender: tuple[str, int]) -> bool:
        """Queue an arriving datagram; return False if the receive buffer is full (dropped)."""
        limit = self._options.get((socket.SOL_SOCKET, socket.SO_RCVBUF))
        capacity = limit if isinstance(limit, int) and limit > 0 else DATAGRAM_BUFFER_SIZE
        if self._queued + len(payload) > capacity:
            return False
        self._queue.append((payload, sender))
        self._queued += len(payload)
        self._update()
        return True

    def _refused(self) -> None:
        if not self._closed:
            self._error = errno.ECONNREFUSED
            self._update()


def _datagram_arrived(
    sender: VirtualDatagramSocket, target: VirtualHost, ip: str, port: int, source: tuple[str, int], payload: bytes
) -> None:
    network = target.network
    receivers = [
        sock
        for sock in target.bound(socket.SOCK_DGRAM, ip, port)
        if isinstance(sock, VirtualDatagramSocket) and (sock._remote is None or sock._remote == source)
    ]
    if not receivers:
        network.note(f"datagram to {ip}:{port} refused: nothing listens", host=target)
        if sender._remote is not None and not sender._closed and ip != BROADCAST:  # no ICMP for broadcasts
            network.send_packet(target, sender.host, 0, sender._refused)
        return
    receiver = receivers[0] if len(receivers) == 1 else receivers[network.random.randrange(len(receivers))]
    if receiver._deliver(payload, source):
        network.note(f"datagram {source[0]}:{source[1]} > {ip}:{port} {len(payload)} bytes", host=target)
    else:
        network.dropped += 1
        network.note(f"datagram to {ip}:{port} dropped: the receive buffer is full", host=target)
