"""The contracts of the networking layer: transports and the callback protocols they drive (high level).

A *transport* owns a file descriptor (a stream socket, a datagram socket, a pipe) and moves bytes; a
*protocol* is the user's object that the transport calls back on the loop thread. The callbacks are
plain methods, never coroutines: `connection_made(transport)` first, then any number of
`data_received(data)` (or `datagram_received(data, address)`), at most one `eof_received()`, and
`connection_lost(exception)` last, exactly once. `pause_writing()` / `resume_writing()` come in pairs
when the transport's write buffer crosses its high, then its low water mark.

The classes here are `typing.Protocol`s. The transports of this package subclass them explicitly, so a
missing method is reported by the type checker. User protocols may subclass the protocol interfaces to
inherit harmless defaults for the callbacks they do not care about; `data_received` (and
`datagram_received`) has none. Callback parameters are positional-only, so an implementation may name
them as it likes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from typing_extensions import TypeAlias

__all__ = (
    "BytesLike",
    "DatagramProtocol",
    "DatagramTransport",
    "ReadPipeProtocol",
    "ReadTransport",
    "SocketAddress",
    "StreamProtocol",
    "StreamTransport",
    "Transport",
    "WritePipeProtocol",
    "WriteTransport",
)

BytesLike: TypeAlias = bytes | bytearray | memoryview
"""What transports accept to write. Mutable buffers are copied if they cannot be sent at once."""

SocketAddress: TypeAlias = tuple[str, int] | tuple[str, int, int, int] | str | bytes
"""A socket address: `(host, port)` for IPv4, `(host, port, flowinfo, scope_id)` for IPv6, a path
(`str`, or `bytes` for abstract Unix sockets) for Unix sockets."""


# ---- transports ----------------------------------------------------------------------------------


@runtime_checkable
class Transport(Protocol):
    """What every transport offers: extra information and closing."""

    __slots__ = ()

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Return a piece of information about the connection.

        Args:
            name: `'socket'`, `'peername'` or `'sockname'` for sockets, `'pipe'` for pipes.
            default: What to return when the transport has no such information.
        """
        ...

    def is_closing(self) -> bool:
        """Return whether `close` or `abort` was called, or the connection was lost."""
        ...

    def close(self) -> None:
        """Close the transport once the write buffer is flushed; the protocol then sees `connection_lost(None)`.

        Idempotent. Reading stops at once.
        """
        ...

    def abort(self) -> None:
        """Close the transport at once, dropping buffered data; the protocol then sees `connection_lost(None)`."""
        ...


@runtime_checkable
class ReadTransport(Transport, Protocol):
    """A transport that delivers incoming data to its protocol."""

    __slots__ = ()

    def pause_reading(self) -> None:
        """Stop delivering data until `resume_reading`; the kernel buffers (and then the peer) wait."""
        ...

    def resume_reading(self) -> None:
        """Deliver data again after `pause_reading`."""
        ...

    def is_reading(self) -> bool:
        """Return whether data is being delivered (not paused, not closing)."""
        ...


@runtime_checkable
class WriteTransport(Transport, Protocol):
    """A transport that sends data, buffering what the kernel does not take at once.

    Flow control: once the buffer grows above the high water mark the protocol gets `pause_writing()`;
    once it drains to the low water mark or below, `resume_writing()`.
    """

    __slots__ = ()

    def write(self, data: BytesLike, /) -> None:
        """Send `data`, buffering what cannot be sent now; never blocks.

        Raises:
            RuntimeError: After `write_eof`.
        """
        ...

    def writelines(self, chunks: Iterable[BytesLike], /) -> None:
        """Send every chunk in order, as one scatter-gather write when possible."""
        ...

    def write_eof(self) -> None:
        """Close the sending side once the buffer is flushed; receiving goes on where the medium allows."""
        ...

    def can_write_eof(self) -> bool:
        """Return whether `write_eof` half-closes (it closes the whole transport otherwise)."""
        ...

    def get_write_buffer_size(self) -> int:
        """Return how many bytes wait in the write buffer."""
        ...

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return the `(low, high)` water marks in bytes."""
        ...

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks that drive `pause_writing` / `resume_writing`.

        Args:
            high: Bytes above which the protocol is paused; 64 KiB by default, or 4 * `low` if only
                `low` is given.
            low: Bytes at or below which it is resumed; 16 KiB by default, or `high` / 4.

        Raises:
            ValueError: Unless `0 <= low <= high`.
        """
        ...


@runtime_checkable
class StreamTransport(ReadTransport, WriteTransport, Protocol):
    """A bidirectional byte stream, like a connected TCP or Unix stream socket."""

    __slots__ = ()


@runtime_checkable
class DatagramTransport(Transport, Protocol):
    """A datagram socket: each send is one datagram, each receive one `datagram_received` call."""

    __slots__ = ()

    def send_to(self, data: BytesLike, address: SocketAddress | None = None, /) -> None:
        """Send one datagram to `address` (to the connected peer when `None`); never blocks.

        Send errors go to the protocol's `error_received`.

        Raises:
            ValueError: If the transport is connected and `address` names another peer.
        """
        ...

    def sendto(self, data: BytesLike, address: SocketAddress | None = None, /) -> None:
        """The same as `send_to` (the asyncio spelling)."""
        ...

    def get_write_buffer_size(self) -> int:
        """Return how many bytes of datagrams wait to be sent."""
        ...

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return the `(low, high)` water marks in bytes."""
        ...

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks that drive `pause_writing` / `resume_writing` (see `WriteTransport`)."""
        ...


# ---- protocols -------------------------------------------------------------------------------------


class StreamProtocol(Protocol):
    """The callbacks of a stream connection (TCP, Unix stream sockets)."""

    __slots__ = ()

    def connection_made(self, transport: StreamTransport, /) -> None:
        """Called once, first, with the connection's transport; the default does nothing."""
        return None

    def data_received(self, data: bytes, /) -> None:
        """Called with every chunk of incoming data, in order."""
        ...

    def eof_received(self) -> bool | None:
        """Called once when the peer closed its sending side.

        Returns:
            True to keep the transport open (to go on writing), anything else to close it. The default
            closes it.
        """
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Called once, last: with `None` after a normal close, else with the error that ended it."""
        return None

    def pause_writing(self) -> None:
        """Called when the transport's write buffer rose above its high water mark."""
        return None

    def resume_writing(self) -> None:
        """Called when the transport's write buffer drained to its low water mark."""
        return None


class DatagramProtocol(Protocol):
    """The callbacks of a datagram endpoint (UDP, Unix datagram sockets)."""

    __slots__ = ()

    def connection_made(self, transport: DatagramTransport, /) -> None:
        """Called once, first, with the endpoint's transport; the default does nothing."""
        return None

    def datagram_received(self, data: bytes, address: SocketAddress, /) -> None:
        """Called with every incoming datagram and its sender's address."""
        ...

    def error_received(self, exception: OSError, /) -> None:
        """Called when a send or receive failed (an ICMP error, for example); the default does nothing."""
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Called once, last, after the transport closed."""
        return None

    def pause_writing(self) -> None:
        """Called when the transport's write buffer rose above its high water mark."""
        return None

    def resume_writing(self) -> None:
        """Called when the transport's write buffer drained to its low water mark."""
        return None


class ReadPipeProtocol(Protocol):
    """The callbacks of the reading end of a pipe."""

    __slots__ = ()

    def connection_made(self, transport: ReadTransport, /) -> None:
        """Called once, first, with the pipe's transport; the default does nothing."""
        return None

    def data_received(self, data: bytes, /) -> None:
        """Called with every chunk read from the pipe, in order."""
        ...

    def eof_received(self) -> bool | None:
        """Called once when the writing end was closed; the transport closes afterwards anyway."""
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Called once, last."""
        return None


class WritePipeProtocol(Protocol):
    """The callbacks of the writing end of a pipe."""

    __slots__ = ()

    def connection_made(self, transport: WriteTransport, /) -> None:
        """Called once, first, with the pipe's transport; the default does nothing."""
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Called once, last: `BrokenPipeError` if the reading end went away with data still buffered."""
        return None

    def pause_writing(self) -> None:
        """Called when the transport's write buffer rose above its high water mark."""
        return None

    def resume_writing(self) -> None:
        """Called when the transport's write buffer drained to its low water mark."""
        return None
