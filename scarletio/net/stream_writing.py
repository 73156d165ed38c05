"""The stream API, writing half (high level, net): `ReadWriteProtocolBase` with `write` and `drain()`.

`ReadWriteProtocolBase` is a `ReadProtocolBase` that also writes through its transport. Writing never
blocks; `await drain()` is the back-pressure point: it returns at once while the transport's write
buffer is below its high water mark and otherwise waits for the transport's `resume_writing`. Once the
transport is closing or the connection is lost it waits for the end of the connection and raises its
error, always letting the loop turn first, so a writer loop notices a dead peer and never spins.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.abc import EventLoop
from ..core.suspension import skip_ready_cycle
from ._flow import DrainGate
from .interfaces import BytesLike, Transport, WritePipeProtocol, WriteTransport
from .stream_reading import ReadProtocolBase

__all__ = ("ReadWriteProtocolBase",)


class ReadWriteProtocolBase(ReadProtocolBase, WritePipeProtocol):
    """A stream protocol that tasks read from and write to; `await drain()` applies back-pressure.

    Args:
        loop: The loop the protocol's transport and tasks run on.
    """

    __slots__ = ("_drain_gate", "_lost", "_writer")

    def __init__(self, loop: EventLoop) -> None:
        ReadProtocolBase.__init__(self, loop)
        self._writer: WriteTransport | None = None
        self._lost = False
        self._drain_gate = DrainGate(loop)

    def connection_made(self, transport: Transport, /) -> None:
        """Remember the transport (and whether it can write)."""
        ReadProtocolBase.connection_made(self, transport)
        self._writer = transport if isinstance(transport, WriteTransport) else None

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Mark the end of the stream, wake the reader and every task in `drain()`."""
        ReadProtocolBase.connection_lost(self, exception)
        self._lost = True
        self._drain_gate.release()

    def pause_writing(self) -> None:
        """Make `drain()` wait: the transport's write buffer is above its high water mark."""
        self._drain_gate.pause()

    def resume_writing(self) -> None:
        """Release the tasks in `drain()`."""
        self._drain_gate.resume()

    def _get_writer(self) -> WriteTransport:
        writer = self._writer
        if writer is None:
            raise RuntimeError("the protocol has no writable transport; write once the connection is made")
        return writer

    def write(self, data: BytesLike) -> None:
        """Send `data` through the transport; never blocks (`await drain()` to respect back-pressure).

        Args:
            data: The bytes to send.

        Raises:
            RuntimeError: If not connected to a writable transport, or after `write_eof`.
        """
        writer = self._writer
        if writer is None:
            writer = self._get_writer()  # raises
        writer.write(data)

    def writelines(self, chunks: Iterable[BytesLike]) -> None:
        """Send every chunk in order.

        Args:
            chunks: The byte chunks.

        Raises:
            RuntimeError: If not connected to a writable transport, or after `write_eof`.
        """
        self._get_writer().writelines(chunks)

    def write_eof(self) -> None:
        """Close the sending side once the buffer is flushed; reading goes on."""
        self._get_writer().write_eof()

    def can_write_eof(self) -> bool:
        """Return whether the transport can half-close."""
        writer = self._writer
        return writer is not None and writer.can_write_eof()

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high water mark.

        Returns at once while the connection is open and the buffer is not full, so call it after
        every write. Once the transport is closing (a write failed, the peer reset the connection,
        `close()` was called), it waits for the end of the connection and raises its error; on that
        path it always lets the loop turn, so a `while True: write(); await drain()` loop can never
        starve the loop.

        Raises:
            ConnectionError: If the connection is closing or lost (the error that ended it, such as
                `BrokenPipeError` or `ConnectionResetError`, or `ConnectionResetError` after a
                normal close).
        """
        if not self._drain_gate.paused and not self._lost:
            writer = self._writer
            if writer is None or not writer.is_closing():
                return
        await self._drain_slowly()

    async def _drain_slowly(self) -> None:
        gate = self._drain_gate
        while True:
            if self._lost:
                # The loop turns before the error is raised, even when the loss is old news: a writer
                # that catches the error and goes on writing still lets everything else run.
                await skip_ready_cycle()
                exception = self._exception
                if isinstance(exception, Exception):
                    raise exception
                raise ConnectionResetError("the connection was lost; cannot drain a closed stream")
            writer = self._writer
            if writer is not None and writer.is_closing():
                # Writes are dropped from now on; `connection_lost` (queued by the transport, or
                # coming once the buffer is flushed) releases the gate.
                await gate.wait()
            elif gate.paused:
                await gate.wait()
            else:
                return
