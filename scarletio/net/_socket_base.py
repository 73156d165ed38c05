"""What the stream and datagram socket transports share: extra info, closing and aborting (high level).

A transport owns its socket. `close` stops reading and lets the write buffer drain before the
protocol hears `connection_lost(None)`; `abort` drops the buffer and reports at once. Either way the
protocol is told exactly once, from the ready queue, and the socket is closed after it was told.
"""

from __future__ import annotations

import socket
from collections import deque
from typing import Any, Protocol

from ..core.reporting import report_error
from ..core.abc import EventLoop
from ._flow import FlowControlled, WriteFlow

__all__ = ("SocketTransportBase",)


class _LosingProtocol(FlowControlled, Protocol):
    def connection_lost(self, exception: Exception | None, /) -> None: ...


class SocketTransportBase(WriteFlow):
    """The part of a socket transport that does not depend on the socket type.

    A subclass fills `_loop`, `_socket`, `_fd`, `_buffer` (its write queue), `_extra`, `_closing` and
    `_lost`, and may override `_detach` (called once the protocol has heard `connection_lost`).
    """

    __slots__ = ("_buffer", "_closing", "_extra", "_fd", "_lost", "_loop", "_socket")

    _protocol: _LosingProtocol  # pyright: ignore[reportIncompatibleVariableOverride]
    _loop: EventLoop
    _socket: socket.socket
    _fd: int
    _buffer: deque[Any]
    _extra: dict[str, object]
    _closing: bool
    _lost: bool  # connection_lost is scheduled (or ran)

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Return `'socket'`, `'sockname'` or `'peername'` (`None` when not connected); else `default`.

        Args:
            name: The name of the information.
            default: What to return when there is no such information.
        """
        return self._extra.get(name, default)

    def is_closing(self) -> bool:
        """Return whether `close` or `abort` was called, or the connection was lost."""
        return self._closing

    def close(self) -> None:
        """Stop reading, send what is queued, then close; the protocol sees `connection_lost(None)`."""
        if self._closing:
            return
        self._closing = True
        self._loop.remove_reader(self._fd)
        if not self._buffer and not self._lost:
            self._lost = True
            self._loop.call_soon(self._connection_lost, None)

    def abort(self) -> None:
        """Close at once, dropping what is queued; the protocol sees `connection_lost(None)`."""
        self._force_close(None)

    def _force_close(self, exception: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        if self._buffer:
            self._buffer.clear()
            self._buffer_size = 0
            self._loop.remove_writer(self._fd)
        if not self._closing:
            self._closing = True
            self._loop.remove_reader(self._fd)
        self._loop.call_soon(self._connection_lost, exception)

    def _connection_lost(self, exception: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exception)
        except Exception as error:
            report_error(f"exception in {type(self._protocol).__name__}.connection_lost", error)
        finally:
            self._socket.close()
            self._detach()

    def _detach(self) -> None:
        """Called once the protocol heard `connection_lost` and the socket is closed."""

    def __repr__(self) -> str:
        state = "closing" if self._closing else "open"
        return f"<{type(self).__name__} fd={self._fd} {state}, buffered={self._buffer_size}>"
