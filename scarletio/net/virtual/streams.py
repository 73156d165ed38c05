"""Stream (TCP-like) sockets of the virtual network.

A connection is two `VirtualStreamSocket`s, each sending through its own `Channel`, so whatever one
end sends (data, FIN, RST, acknowledgements) arrives at the other in order, after the link's latency.

- **Connecting** sends a SYN. At the server's host it either finds a listening socket, which queues a
  new connected socket for `accept` and answers with a SYN-ACK that completes the client's `connect`,
  or it finds none and answers with a RST: the client's connect fails with `ECONNREFUSED`. While a
  listener's backlog is full, SYNs wait for `accept` to make room.
- **Flow control.** A direction holds at most `buffer_size` bytes that were sent and not yet read by
  the receiver. Reading sends an acknowledgement back, which frees that much room at the sender when
  it arrives. So a slow reader fills the connection and the sender's `send` stops taking data: a
  transport queues it, pauses its protocol, and `drain()` waits, as on a real socket.
- **Closing.** `shutdown(SHUT_WR)` and `close()` send a FIN: the peer reads what was sent, then end of
  file. Closing with unread data sends a RST instead (as Linux does), and data arriving at a closed
  socket is answered with a RST. A RST makes the next receive or send fail with `ConnectionResetError`.
"""

from __future__ import annotations

import errno
import socket
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, final

from typing_extensions import Buffer

from ...core.abc import EventMask
from .sockets import VirtualSocket

if TYPE_CHECKING:
    from ._links import Channel
    from .hosts import VirtualHost

__all__ = ("VirtualStreamSocket",)

# Readiness as plain ints (see `VirtualReactor.set_readiness`): enum arithmetic is slow.
_NOTHING = 0
_READ = int(EventMask.READ)
_WRITE = int(EventMask.WRITE)
_BOTH = _READ | _WRITE

SEGMENT_SIZE = 64 * 1024
"""The most bytes one segment carries (a larger send is split into several)."""

_NEW, _LISTENING, _CONNECTING, _CONNECTED, _FAILED = range(5)


@final
class VirtualStreamSocket(VirtualSocket):
    """A TCP-like in-memory socket (see the module docstring)."""

    def __init__(self, host: VirtualHost, family: int, kind: int, protocol: int) -> None:
        super().__init__(host, family, kind, protocol)
        self._state = _NEW
        self._peer: VirtualStreamSocket | None = None
        self._out: Channel | None = None
        self._inbox: deque[bytes] = deque()
        self._inbox_size = 0
        self._eof = False  # the peer's FIN arrived
        self._fin_sent = False
        self._read_shut = False
        self._unacked = 0
        self._backlog = 0
        self._accepting: deque[VirtualStreamSocket] = deque()
        self._waiting_syns: deque[tuple[VirtualStreamSocket, str]] = deque()

    def _readiness(self) -> int:
        state = self._state
        if state == _CONNECTED:
            mask = _READ if self._inbox or self._eof or self._read_shut or self._error else _NOTHING
            if self._fin_sent or self._error or self._unacked < self.network.buffer_size:
                mask |= _WRITE
            return mask
        if state == _LISTENING:
            return _READ if self._accepting else _NOTHING
        if state == _FAILED:
            return _BOTH
        return _NOTHING

    def outgoing_channel(self) -> Channel | None:
        """Return the channel carrying what this socket sends, once connected."""
        return self._out

    def reset_partner(self, host: VirtualHost, peer: VirtualHost | None) -> VirtualStreamSocket | None:
        """Return the other end if this is a live connection from `host` (to `peer`, if given)."""
        partner = self._peer
        if self._state != _CONNECTED or partner is None or self.host is not host or partner._closed:
            return None
        if peer is not None and partner.host is not peer:
            return None
        return partner

    # ---- server side ---------------------------------------------------------------------------

    def listen(self, backlog: int = 128, /) -> None:
        """Start accepting connections (binding to a free port first if unbound)."""
        self._check_open()
        if self._state not in (_NEW, _LISTENING):
            raise OSError(errno.EINVAL, f"cannot listen on {self!r}: it is connected")
        if not self._port:
            self._port = self.host.bind(self, "0.0.0.0", 0)
        self._state = _LISTENING
        self._backlog = max(backlog, 1)
        self._update()

    def accept(self) -> tuple[socket.socket, tuple[str, int]]:
        """Return a connection that arrived and its peer's address."""
        self._check_open()
        if self._state != _LISTENING:
            raise OSError(errno.EINVAL, f"accept on {self!r}, which does not listen")
        if not self._accepting:
            raise self._would_block("accept")
        connection = self._accepting.popleft()
        while self._waiting_syns and len(self._accepting) < self._backlog:
            client, ip = self._waiting_syns.popleft()
            self._admit(client, ip)
        self._update()
        assert connection._remote is not None
        return connection, connection._remote

    def _admit(self, client: VirtualStreamSocket, ip: str) -> None:
        """Queue a connection from `client` (whose SYN arrived for `ip`) and answer it."""
        if client._closed or client._state != _CONNECTING:
            return
        host = self.host
        network = self.network
        server = VirtualStreamSocket(host, self._family, self._kind, self._protocol)
        server.local_ip = ip
        server._port = self._port
        server._remote = client.getsockname()
        server._state = _CONNECTED
        server._peer = client
        client._peer = server
        server._out = network.channel(host, client.host)
        self._accepting.append(server)
        self._update()
        server._update()
        network.note(f"connect {server._remote[0]}:{server._remote[1]} > {ip}:{self._port} accepted", host=host)
        server._out.send(0, client._established)

    # ---- client side ---------------------------------------------------------------------------

    def connect(self, address: object, /) -> None:
        """Start connecting (raising `BlockingIOError` while in progress, as a non-blocking socket does)."""
        self._check_open()
        ip, port = self._resolve(address, "connect")
        state = self._state
        if state == _CONNECTED:
            raise OSError(errno.EISCONN, "the virtual socket is connected already")
        if state == _CONNECTING:
            raise BlockingIOError(errno.EALREADY, "a connection attempt is in progress")
        if state == _LISTENING:
            raise OSError(errno.EINVAL, "a listening socket cannot connect")
        if state == _FAILED:
            raise OSError(errno.ECONNREFUSED, f"connecting to {ip}:{port} failed earlier: connection refused")
        target = self._target(ip)
        self._bind_for(ip)
        self._state = _CONNECTING
        self._remote = (ip, port)
        self._out = self.network.channel(self.host, target)
        self._out.send(0, partial(_syn_arrived, self, target, ip, port))
        if self._timeout != 0.0:
            raise self._would_block("connect")
        raise BlockingIOError(errno.EINPROGRESS, "operation now in progress")

    def _established(self) -> None:
        if self._closed:
            self._send_reset()
            return
        if self._state == _CONNECTING:
            self._state = _CONNECTED
            self._update()

    def _refused(self) -> None:
        if not self._closed and self._state == _CONNECTING:
            self._state = _FAILED
            self._error = errno.ECONNREFUSED
            self._update()

    # ---- data ----------------------------------------------------------------------------------

    def _check_connected(self, sending: bool) -> None:
        self._check_open()
        error = self._error
        if error:
            self._error = 0
            self._update()
            raise OSError(error, f"the virtual connection failed: {errno.errorcode.get(error, error)}")
        if self._state == _FAILED:
            if not sending and self._eof:
                return  # reset, and the error was reported once: end of file from now on, as on Linux
            raise OSError(errno.EPIPE if sending else errno.ENOTCONN, "the virtual connection is gone")
        if self._state == _CONNECTING:
            raise self._would_block("send" if sending else "receive")
        if self._state != _CONNECTED:
            raise OSError(errno.ENOTCONN, "the virtual socket is not connected")

    def send(self, data: Buffer, flags: int = 0, /) -> int:
        """Send what fits in the connection's room now; `BlockingIOError` when there is none."""
        self._check_connected(True)
        if self._fin_sent:
            raise BrokenPipeError(errno.EPIPE, "broken pipe: the sending side was shut down")
        room = self.network.buffer_size - self._unacked
        if room <= 0:
            raise self._would_block("send")
        view = memoryview(data).cast("B")
        count = min(len(view), room)
        if self.host.crash_budget is not None:  # the host crashes in the middle of this write
            count = self.network.spend_crash_budget(self.host, count)
            if not count:
                raise self._would_block("send")
        peer = self._peer
        out = self._out
        assert peer is not None and out is not None
        for start in range(0, count, SEGMENT_SIZE):
            chunk = bytes(view[start : min(start + SEGMENT_SIZE, count)])
            out.send(len(chunk), partial(peer._data_arrived, chunk))
        self._unacked += count
        self._update()
        return count

    def recv_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive what arrived into `buffer`; 0 at end of file; `BlockingIOError` when nothing is there."""
        self._check_connected(False)
        inbox = self._inbox
        if not inbox:
            if self._eof or self._read_shut:
                return 0
            raise self._would_block("recv_into")
        view = memoryview(buffer).cast("B")
        wanted = min(nbytes or len(view), len(view))
        peek = bool(flags & socket.MSG_PEEK)
        count = 0
        index = 0
        while count < wanted and index < len(inbox):
            chunk = inbox[index]
            take = min(len(chunk), wanted - count)
            view[count : count + take] = chunk[:take]
            count += take
            if peek:
                index += 1
            elif take == len(chunk):
                inbox.popleft()
            else:
                inbox[0] = chunk[take:]
        if not peek:
            self._inbox_size -= count
            peer = self._peer
            out = self._out
            if peer is not None and out is not None:
                out.send(0, partial(peer._acknowledged, count))
            self._update()
        return count

    def recvfrom_into(self, buffer: Buffer, nbytes: int = 0, flags: int = 0) -> tuple[int, tuple[str, int]]:
        """Receive into `buffer` (see `recv_into`); the address is the peer's."""
        count = self.recv_into(buffer, nbytes, flags)
        assert self._remote is not None
        return count, self._remote

    def sendto(self, data: Buffer, flags_or_address: object, address: object = None, /) -> int:
        """Send to the connected peer (a stream socket has no other destination)."""
        return self.send(data)

    def _data_arrived(self, chunk: bytes) -> None:
        if self._closed or self._state != _CONNECTED:
            if self._state != _FAILED:
                self._send_reset()
            return
        if self._read_shut:  # taken and thrown away, so the sender is not held back
            out = self._out
            if out is not None:
                out.send(0, partial(self._peer_acknowledge, len(chunk)))
            return
        self._inbox.append(chunk)
        self._inbox_size += len(chunk)
        self._update()

    def _peer_acknowledge(self, count: int) -> None:
        peer = self._peer
        if peer is not None:
            peer._acknowledged(count)

    def _acknowledged(self, count: int) -> None:
        self._unacked -= count
        self._update()

    def _fin_arrived(self) -> None:
        if not self._closed and self._state == _CONNECTED:
            self._eof = True
            self._update()

    # ---- closing -------------------------------------------------------------------------------

    def shutdown(self, how: int, /) -> None:
        """Shut down receiving (`SHUT_RD`), sending (`SHUT_WR`: the peer reads end of file) or both."""
        self._check_open()
        if self._state != _CONNECTED:
            raise OSError(errno.ENOTCONN, "the virtual socket is not connected")
        if how in (socket.SHUT_RD, socket.SHUT_RDWR):
            self._read_shut = True
            self._inbox.clear()
            self._inbox_size = 0
        if how in (socket.SHUT_WR, socket.SHUT_RDWR) and not self._fin_sent:
            self._send_fin()
        self._update()

    def _send_fin(self) -> None:
        self._fin_sent = True
        peer = self._peer
        if self._out is not None and peer is not None:
            self._out.send(0, peer._fin_arrived)

    def _send_reset(self) -> None:
        peer = self._peer
        if self._out is not None and peer is not None:
            self._out.send(0, peer._reset_arrived)

    def _reset_arrived(self) -> None:
        if self._closed or self._state == _FAILED:
            return
        self.reset_now()

    def reset_now(self) -> None:
        """Fail the connection at once: the next receive or send raises `ConnectionResetError`."""
        if self._closed:
            return
        if self._state == _CONNECTING:
            self._refused()
            return
        self._state = _FAILED
        self._error = errno.ECONNRESET
        self._eof = True
        self._inbox.clear()
        self._inbox_size = 0
        self._update()

    def _release(self) -> None:
        state = self._state
        if state == _LISTENING:
            for connection in self._accepting:
                connection._send_reset()
                connection.close()
            self._accepting.clear()
            for client, _ in self._waiting_syns:
                client._refused()
            self._waiting_syns.clear()
        elif state in (_CONNECTED, _CONNECTING):
            if self._inbox or state == _CONNECTING:
                self._send_reset()
            elif not self._fin_sent:
                self._send_fin()
        self._inbox.clear()
        self._inbox_size = 0


def _syn_arrived(client: VirtualStreamSocket, target: VirtualHost, ip: str, port: int) -> None:
    network = target.network
    listeners = [
        sock
        for sock in target.bound(socket.SOCK_STREAM, ip, port)
        if isinstance(sock, VirtualStreamSocket) and sock._state == _LISTENING
    ]
    if not listeners:
        network.note(f"connect {client.local_ip}:{client._port} > {ip}:{port} refused", host=target)
        network.channel(target, client.host).send(0, client._refused)
        return
    listener = listeners[0] if len(listeners) == 1 else listeners[network.random.randrange(len(listeners))]
    if len(listener._accepting) >= listener._backlog:
        listener._waiting_syns.append((client, ip))
        return
    listener._admit(client, ip)
