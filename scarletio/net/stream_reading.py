"""The stream API, reading half (high level, net): `ReadProtocolBase`, which tasks read with `await`.

`ReadProtocolBase` is a protocol (it plugs into any stream or read-pipe transport) that buffers what
arrives and lets one task at a time read it: `read`, `read_exactly`, `read_until`, `read_line`,
`read_once`. `ReadWriteProtocolBase` (in `stream_writing`) adds writing and `drain()`.

The buffer is a queue of the `bytes` chunks the transport delivered plus an offset into the first one,
so a read that matches a chunk returns that very object (no copy) and partial reads slice only what
they return. A waiting reader states how many bytes it needs; arriving data wakes it only once that
many are buffered. While more than `READ_HIGH_WATER` bytes wait unread and no reader needs them all,
the transport stops reading, so a slow reader pushes back on the peer through TCP flow control.

The reads follow the original scarletio's contract: `read(n)` waits for `n` bytes or EOF; `read_once()`
returns exactly one chunk as the transport delivered it; `read_until(b"")` is `b""`. At EOF the protocol
lets its transport close (a subclass returns True from `eof_received` to keep it open for a half-close),
so a server's connection ends when its peer's does.

Errors: once the connection is lost with an exception (or `set_exception` was called), a read that
cannot be served from the buffer raises it (a zero-byte read too); a read that needs more bytes than
arrive before EOF raises `IncompleteRead`, a `ConnectionError` carrying the bytes that did arrive.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from ..core.abc import EventLoop
from ..core.futures import Future
from .interfaces import ReadPipeProtocol, ReadTransport, StreamProtocol, Transport

__all__ = ("READ_HIGH_WATER", "READ_LOW_WATER", "IncompleteRead", "ReadProtocolBase")

READ_HIGH_WATER = 256 * 1024
"""Unread bytes above which a stream protocol pauses its transport's reading."""

READ_LOW_WATER = READ_HIGH_WATER // 4
"""Unread bytes at or below which a paused transport reads again."""

_NEVER = 1 << 62  # "wake me at EOF only"


class IncompleteRead(ConnectionError, EOFError):
    """The stream ended before a read could be satisfied.

    A `ConnectionError`, as in the original scarletio (`except ConnectionError` catches it), and an
    `EOFError`.

    Attributes:
        partial: The bytes that did arrive (they are consumed).
        expected: How many bytes the read needed, or `None` when it waited for a boundary.
    """

    def __init__(self, partial: bytes, expected: int | None, message: str) -> None:
        """Describe an incomplete read.

        Args:
            partial: The bytes that did arrive.
            expected: How many bytes were needed, if known.
            message: The explanation.
        """
        ConnectionError.__init__(self, message)
        self.partial = partial
        self.expected = expected


class ReadProtocolBase(StreamProtocol, ReadPipeProtocol):
    """A stream protocol whose incoming data tasks read with `await`.

    Plug it into a connection with a factory (`lambda: ReadProtocolBase(loop)`), or subclass it.
    Reading methods must be awaited from tasks of `loop`, one task at a time.

    Args:
        loop: The loop the protocol's transport and readers run on.
    """

    __slots__ = (
        "_at_eof",
        "_chunks",
        "_exception",
        "_loop",
        "_offset",
        "_paused_reading",
        "_reader",
        "_size",
        "_transport",
        "_waiter",
        "_wanted",
    )

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        self._transport: Transport | None = None
        self._reader: ReadTransport | None = None  # the transport, if reading can be paused
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of the first chunk already consumed
        self._size = 0  # unread bytes
        self._at_eof = False
        self._exception: BaseException | None = None
        self._waiter: Future[None] | None = None
        self._wanted = 0  # unread bytes the waiting reader needs
        self._paused_reading = False

    # ---- protocol callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: Transport, /) -> None:
        """Remember the transport."""
        self._transport = transport
        self._reader = transport if isinstance(transport, ReadTransport) else None

    def data_received(self, data: bytes, /) -> None:
        """Buffer `data` and wake the reader once it has what it waits for."""
        self._chunks.append(data)
        size = self._size = self._size + len(data)
        if size >= self._wanted:
            waiter = self._waiter
            if waiter is not None:
                self._waiter = None
                self._wanted = 0
                waiter.set_result_if_pending(None)
            if size > READ_HIGH_WATER and not self._paused_reading:
                self._pause_transport()
        elif size > READ_HIGH_WATER:
            waiter = self._waiter
            if waiter is not None and waiter.is_done():  # its reader was cancelled: nobody needs it all
                self._waiter = None
                self._wanted = 0
                if not self._paused_reading:
                    self._pause_transport()

    def eof_received(self) -> bool | None:
        """Mark the end of the stream and wake the reader.

        Returns:
            False: the transport closes (after flushing what was written). A subclass that still
            wants to write after the peer's EOF (a half-close) returns True and closes it itself.
        """
        self._mark_eof()
        return False

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Mark the end of the stream (with `exception` if the connection failed) and wake the reader."""
        if exception is not None and self._exception is None:
            self._exception = exception
        self._mark_eof()

    def pause_writing(self) -> None:
        """Ignored: a read-only protocol does not write."""
        return None

    def resume_writing(self) -> None:
        """Ignored: a read-only protocol does not write."""
        return None

    def _mark_eof(self) -> None:
        self._at_eof = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            self._wanted = 0
            waiter.set_result_if_pending(None)

    def _pause_transport(self) -> None:
        reader = self._reader
        if reader is not None and not reader.is_closing():
            self._paused_reading = True
            reader.pause_reading()

    def _resume_transport(self) -> None:
        self._paused_reading = False
        reader = self._reader
        if reader is not None:
            reader.resume_reading()

    # ---- state ------------------------------------------------------------------------------------

    def get_transport(self) -> Transport | None:
        """Return the transport, once connected."""
        return self._transport

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Return the transport's extra information `name` (see `Transport.get_extra_info`).

        Args:
            name: The name, for example `"peername"` or `"socket"`.
            default: What to return when the transport does not know it, or there is none yet.
        """
        transport = self._transport
        if transport is None:
            return default
        return transport.get_extra_info(name, default)

    def close(self) -> None:
        """Close the transport once what was written is flushed (the same as `close_transport()`)."""
        self.close_transport()

    def get_size(self) -> int:
        """Return how many received bytes are not read yet."""
        return self._size

    def is_at_eof(self) -> bool:
        """Return whether the stream ended and every byte of it was read."""
        return self._at_eof and not self._size

    def set_exception(self, exception: BaseException) -> None:
        """Make reads that cannot be served from the buffer raise `exception`; wakes the reader.

        Args:
            exception: The exception to raise.
        """
        self._exception = exception
        self._wake()

    def close_transport(self, force: bool = False) -> None:
        """Close the transport (flushing first) or, with `force`, abort it.

        Args:
            force: Drop unsent data and close at once.
        """
        transport = self._transport
        if transport is not None:
            if force:
                transport.abort()
            else:
                transport.close()

    # ---- buffer -----------------------------------------------------------------------------------

    def _take(self, n: int) -> bytes:
        """Consume and return the next `n` bytes (0 < n <= the buffered size)."""
        chunks = self._chunks
        chunk = chunks[0]
        offset = self._offset
        end = offset + n
        length = len(chunk)
        if end < length:
            data = chunk[offset:end]
            self._offset = end
        elif end == length:
            data = chunk[offset:] if offset else chunk
            chunks.popleft()
            self._offset = 0
        else:
            parts = [chunk[offset:] if offset else chunk]
            chunks.popleft()
            remaining = end - length
            while remaining:
                chunk = chunks[0]
                length = len(chunk)
                if length <= remaining:
                    parts.append(chunk)
                    chunks.popleft()
                    remaining -= length
                else:
                    parts.append(chunk[:remaining])
                    self._offset = remaining
                    break
            else:
                self._offset = 0
            data = b"".join(parts)
        size = self._size = self._size - n
        if self._paused_reading and size <= READ_LOW_WATER:
            self._resume_transport()
        return data

    def _find(self, boundary: bytes, start: int) -> int:
        """Return the position of `boundary` in the unread bytes at or after `start`, or -1.

        The chunks stay as they arrived (`read_once` returns them one by one): each is searched in
        place, and a boundary straddling chunks is found in a small window over the seam.
        """
        chunks = self._chunks
        if not chunks:
            return -1
        offset = self._offset
        if len(chunks) == 1:
            index = chunks[0].find(boundary, offset + start)
            return index - offset if index >= 0 else -1
        # A first search (`start` 0) goes forward from the oldest chunk and stops at the first match;
        # a search after a wait (the reader passes the size it already searched) looks only at the
        # chunks holding bytes at or after `start`, found from the newest: either costs what is new.
        needed: Iterable[bytes]
        if start:
            needed = []
            base = self._size  # ends as where the first needed chunk begins, counted in unread bytes
            for chunk in reversed(chunks):
                if base <= start:
                    break
                needed.append(chunk)
                base -= len(chunk)
            needed.reverse()
        else:
            needed = chunks
            base = -offset
        overlap = len(boundary) - 1
        tail = b""  # the unread bytes just before the current chunk, at most `overlap` of them
        for chunk in needed:
            if tail:
                window_base = base - len(tail)
                index = (tail + chunk[:overlap]).find(boundary, max(0, start - window_base))
                if index >= 0:
                    return window_base + index
            index = chunk.find(boundary, max(0, start - base))
            if index >= 0:
                return base + index
            if overlap:
                unread = chunk if base >= 0 else chunk[-base:]
                tail = (tail + unread[-overlap:])[-overlap:]
            base += len(chunk)
        return -1

    def _wait(self, wanted: int) -> Future[None]:
        """Return a future resolved once `wanted` bytes are buffered, or the stream ended or failed.

        Readers await it in a loop and look at the buffer again when it resolves. It is a plain
        method, not a coroutine: a wait costs one future and no extra frame.

        Raises:
            BaseException: The stored exception (`set_exception`, or the error that ended the connection).
            RuntimeError: If another task is waiting already.
        """
        exception = self._exception
        if exception is not None:
            raise exception
        waiter = self._waiter
        if waiter is not None and not waiter.is_done():  # a cancelled reader leaves a done waiter behind
            raise RuntimeError("another task is already reading from this protocol; read from one task at a time")
        if self._paused_reading:
            self._resume_transport()
        waiter = self._waiter = Future(self._loop)
        self._wanted = wanted
        return waiter

    def _end_of_stream(self) -> bytes:
        """Return the rest at EOF, or raise the stored exception if the connection failed."""
        exception = self._exception
        if exception is not None:
            raise exception
        return self._take(self._size) if self._size else b""

    # ---- reading ----------------------------------------------------------------------------------

    def _check_failed(self) -> None:
        """Raise the stored exception, if any (a read that transfers nothing still reports it)."""
        exception = self._exception
        if exception is not None:
            raise exception

    async def read(self, n: int = -1) -> bytes:
        """Read `n` bytes, or fewer if the stream ends first; everything until EOF when `n` is negative.

        Args:
            n: How many bytes to read; negative for all until EOF.

        Returns:
            The bytes; shorter than `n` only at EOF (empty at EOF, or for `n == 0`).
        """
        if n < 0:
            while not self._at_eof:
                await self._wait(_NEVER)
            return self._end_of_stream()
        if n == 0:
            self._check_failed()
            return b""
        while self._size < n:
            if self._at_eof:
                return self._end_of_stream()
            await self._wait(n)
        return self._take(n)

    async def read_once(self) -> bytes:
        """Read one chunk as the transport delivered it (what is left of it), waiting for one.

        Returns:
            The chunk; empty only at EOF.
        """
        while not self._size:
            if self._at_eof:
                return self._end_of_stream()
            await self._wait(1)
        return self._take(len(self._chunks[0]) - self._offset)

    async def read_exactly(self, n: int) -> bytes:
        """Read exactly `n` bytes.

        Args:
            n: How many bytes to read.

        Returns:
            The bytes.

        Raises:
            IncompleteRead: If the stream ends first (a `ConnectionError`); `.partial` holds what arrived.
            ValueError: If `n` is negative.
        """
        if n <= 0:
            self._check_failed()
            if n == 0:
                return b""
            raise ValueError(f"read_exactly needs a byte count >= 0, got {n!r}")
        while self._size < n:
            if self._at_eof:
                partial = self._end_of_stream()
                raise IncompleteRead(
                    partial, n, f"the stream ended after {len(partial)} of {n} bytes; the bytes are in .partial"
                )
            await self._wait(n)
        return self._take(n)

    async def read_until(self, boundary: bytes) -> bytes:
        """Read up to `boundary`; the boundary is consumed but not returned.

        Args:
            boundary: The bytes that end the piece to read; empty reads nothing.

        Returns:
            The bytes before the boundary.

        Raises:
            IncompleteRead: If the stream ends before the boundary (a `ConnectionError`); `.partial`
                holds the rest.
        """
        if not boundary:
            self._check_failed()
            return b""
        start = 0
        while True:
            index = self._find(boundary, start)
            if index >= 0:
                data = self._take(index) if index else b""
                self._take(len(boundary))
                return data
            if self._at_eof:
                partial = self._end_of_stream()
                raise IncompleteRead(
                    partial,
                    None,
                    f"the stream ended after {len(partial)} bytes without the boundary {boundary!r}; "
                    "the bytes are in .partial",
                )
            start = max(0, self._size - len(boundary) + 1)
            await self._wait(self._size + 1)

    async def read_line(self) -> bytes:
        """Read one line, including its `b"\\n"`; at EOF, the rest without one (empty when nothing is left).

        Returns:
            The line.
        """
        start = 0
        while True:
            index = self._find(b"\n", start)
            if index >= 0:
                return self._take(index + 1)
            if self._at_eof:
                return self._end_of_stream()
            start = self._size
            await self._wait(self._size + 1)

    def __repr__(self) -> str:
        state = "eof" if self._at_eof else "open"
        return f"<{type(self).__name__} {state}, buffered={self._size}>"
