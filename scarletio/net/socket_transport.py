"""`SocketTransport`: the transport of a connected stream socket (high level, net).

The hot path, per readiness event: the loop runs the reader handle registered once for the socket
(no allocation), the transport receives with `recv_into` into its thread's shared buffer and hands
the protocol a `bytes` copy. Writing sends directly while nothing is queued, queues only what the
kernel did not take, and flushes a queue of several chunks with one `sendmsg` (scatter-gather).

Life cycle: `_start()` calls `connection_made` and starts reading. `close()` stops reading, flushes,
then calls `connection_lost(None)` and closes the socket; `abort()` and errors skip the flush. The
protocol sees `connection_lost` exactly once, always from its own loop callback.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, final

from ..core.reporting import report_error
from ..core.abc import EventLoop
from ._flow import QueueingWriter, queued_view, receive_buffer, size_of
from ._socket_base import SocketTransportBase
from .interfaces import BytesLike, StreamProtocol, StreamTransport

if TYPE_CHECKING:
    from .servers import Server

__all__ = ("SocketTransport",)

_SHUT_WR = socket.SHUT_WR
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _address_or_none(getter: Callable[[], object]) -> object:
    try:
        return getter()
    except OSError:
        return None


@final
class SocketTransport(SocketTransportBase, QueueingWriter, StreamTransport):
    """The transport of a connected, non-blocking stream socket (TCP or Unix).

    Built by the connection and server functions; use the `StreamTransport` interface.

    Args:
        loop: The loop; the transport is used from its thread only.
        sock: The connected socket; the transport owns it from now on and closes it.
        protocol: The protocol to call back.
        server: The server that accepted the connection, told when it ends.
    """

    __slots__ = ("_eof_seen", "_eof_written", "_protocol", "_reading", "_send", "_send_many", "_server", "_view")

    _protocol: StreamProtocol
    _EOF_WRITTEN_MESSAGE = "cannot write after write_eof(); the sending side is closed"

    def __init__(
        self, loop: EventLoop, sock: socket.socket, protocol: StreamProtocol, server: Server | None = None
    ) -> None:
        self._init_flow()
        self._loop = loop
        self._socket = sock
        self._fd = sock.fileno()
        self._protocol = protocol  # pyright: ignore[reportIncompatibleVariableOverride]
        self._server = server
        self._buffer: deque[memoryview] = deque()
        self._send = sock.send
        self._send_many = sock.sendmsg
        self._view = receive_buffer()
        self._reading = True
        self._closing = False
        self._eof_seen = False
        self._eof_written = False
        self._lost = False  # connection_lost is scheduled (or ran)
        if sock.family in _TCP_FAMILIES and sock.type == socket.SOCK_STREAM:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._extra: dict[str, object] = {
            "socket": sock,
            "sockname": _address_or_none(sock.getsockname),
            "peername": _address_or_none(sock.getpeername),
        }

    def _start(self) -> None:  # pyright: ignore[reportUnusedFunction]
        """Call `connection_made` and start reading; an exception from the protocol propagates."""
        self._protocol.connection_made(self)
        if self._reading and not self._closing:
            self._loop.add_reader(self._fd, self._read_ready)

    def _discard(self) -> None:  # pyright: ignore[reportUnusedFunction]
        """Close the socket of a connection whose `connection_made` failed (no `connection_lost`)."""
        self._closing = self._lost = True
        self._loop.remove_reader(self._fd)
        if self._buffer:
            self._buffer.clear()
            self._loop.remove_writer(self._fd)
        self._socket.close()
        self._detach()

    def _detach(self) -> None:
        server = self._server
        if server is not None:
            self._server = None
            server._detach(self)

    # ---- reading -------------------------------------------------------------------------------

    def _read_ready(self) -> None:
        try:
            count = self._socket.recv_into(self._view)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._force_close(error)
            return
        if count:
            try:
                self._protocol.data_received(self._view[:count].tobytes())
            except Exception as error:
                self._protocol_failed(error, "data_received")
        else:
            self._read_eof()

    def _read_eof(self) -> None:
        self._eof_seen = True
        self._loop.remove_reader(self._fd)
        try:
            keep_open = self._protocol.eof_received()
        except Exception as error:
            self._protocol_failed(error, "eof_received")
            return
        if not keep_open or self._eof_written:  # kept open, but both directions are finished
            self.close()

    def pause_reading(self) -> None:
        """Stop delivering data until `resume_reading`; the peer is held back by TCP flow control."""
        if self._reading and not self._closing:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        """Deliver data again after `pause_reading`."""
        if not self._reading and not self._closing:
            self._reading = True
            if not self._eof_seen:
                self._loop.add_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        """Return whether data is being delivered (not paused, not closing)."""
        return self._reading and not self._closing

    # ---- writing -------------------------------------------------------------------------------

    def writelines(self, chunks: Iterable[BytesLike]) -> None:
        """Send every chunk in order, as one scatter-gather `sendmsg` when nothing is queued yet.

        Args:
            chunks: The byte chunks.

        Raises:
            RuntimeError: After `write_eof`.
        """
        if self._eof_written:
            raise RuntimeError(self._EOF_WRITTEN_MESSAGE)
        if self._closing:
            return
        buffer = self._buffer
        was_empty = not buffer
        for chunk in chunks:
            size = size_of(chunk)
            if size:
                buffer.append(queued_view(chunk, 0))
                self._buffer_size += size
        if was_empty and buffer:
            if self._flush():
                self._loop.add_writer(self._fd, self._write_ready)
        if self._buffer_size > self._high_water:
            self._maybe_pause()

    def _write_ready(self) -> None:
        if self._flush():
            if self._write_paused:
                self._maybe_resume()
            return
        if self._lost:  # the flush failed and the transport is going away
            return
        self._loop.remove_writer(self._fd)
        if self._write_paused:
            self._maybe_resume()
        if self._closing:
            self._lost = True
            self._connection_lost(None)
        elif self._eof_written:
            self._shutdown_write()

    def _write_failed(self, error: OSError) -> None:
        self._force_close(error)

    def _shutdown_write(self) -> None:
        try:
            self._socket.shutdown(_SHUT_WR)
        except OSError as error:
            self._force_close(error)
            return
        if self._eof_seen:  # the peer finished sending too: nothing can happen on the socket any more
            self.close()

    def write_eof(self) -> None:
        """Half-close: shut the sending side down once the buffer is flushed; reading goes on.

        Once the peer has finished sending too, the transport closes itself.
        """
        if self._closing or self._eof_written:
            return
        self._eof_written = True
        if not self._buffer:
            self._shutdown_write()

    def can_write_eof(self) -> bool:
        """Return True: stream sockets can half-close."""
        return True

    # ---- closing -------------------------------------------------------------------------------

    def _protocol_failed(self, error: Exception, callback: str) -> None:
        report_error(f"exception in {type(self._protocol).__name__}.{callback}; the connection is aborted", error)
        self._force_close(error)
