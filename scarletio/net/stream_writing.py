"""The stream API, writing half (high level, net): `ReadWriteProtocolBase` with `write` and `drain()`.

`ReadWriteProtocolBase` is a `ReadProtocolBase` that also writes through its transport. Writing never
blocks; `await drain()` is the back-pressure point: it returns at once while the transport's write
buffer is below its high water mark and otherwise waits for the transport's `resume_writing`. It
raises once the connection is lost, so a writer loop notices a dead peer.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.abc import EventLoop
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

        Returns at once when it is not, so call it after every write.

        Raises:
            ConnectionError: If the connection was lost (the error that ended it, or
                `ConnectionResetError` after a normal close).
        """
        while True:
            if self._lost:
                exception = self._exception
                if isinstance(exception, Exception):
                    raise exception
                raise ConnectionResetError("the connection was lost; cannot drain a closed stream")
            if not self._drain_gate.paused:
                return
            await self._drain_gate.wait()
