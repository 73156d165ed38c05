"""`SubprocessWriter`: a child's standard input as a writer with `await drain()` (high level, processes).

It is the protocol of a `WritePipeTransport` and the object users write to. Writing never blocks;
`drain()` waits while the transport's buffer is above its high water mark and raises once the pipe is
gone (the child closed its end or exited), so a feeding loop notices a dead child.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

from ..core.abc import EventLoop
from ..net._flow import DrainGate
from ..net.interfaces import BytesLike, WritePipeProtocol, WriteTransport

__all__ = ("SubprocessWriter",)


@final
class SubprocessWriter(WritePipeProtocol):
    """The writing end of a child's standard input; made by `subprocess_exec` / `subprocess_shell`.

    Use it from tasks of `loop`.

    Args:
        loop: The loop the pipe's transport runs on.
    """

    __slots__ = ("_closed", "_drain_gate", "_exception", "_loop", "_lost", "_transport")

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        self._transport: WriteTransport | None = None
        self._lost = False
        self._closed = False  # `close` or `write_eof` was called
        self._exception: Exception | None = None
        self._drain_gate = DrainGate(loop)

    # ---- protocol callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: WriteTransport, /) -> None:
        """Remember the transport."""
        self._transport = transport

    def connection_lost(self, exception: Exception | None, /) -> None:
        """Remember why the pipe closed and release every task in `drain()`."""
        self._lost = True
        self._exception = exception
        self._drain_gate.release()

    def pause_writing(self) -> None:
        """Make `drain()` wait: the buffer is above its high water mark."""
        self._drain_gate.pause()

    def resume_writing(self) -> None:
        """Release the tasks in `drain()`."""
        self._drain_gate.resume()

    # ---- writing ----------------------------------------------------------------------------------

    def _get_transport(self) -> WriteTransport:
        transport = self._transport
        if transport is None:
            raise RuntimeError("the writer is not connected to a pipe yet")
        return transport

    def get_transport(self) -> WriteTransport | None:
        """Return the pipe's transport, once connected."""
        return self._transport

    def write(self, data: BytesLike) -> None:
        """Write `data` to the child; never blocks (`await drain()` to respect back-pressure).

        Writes after `close` or after the child closed its end are dropped.

        Args:
            data: The bytes to write.

        Raises:
            RuntimeError: After `write_eof`.
        """
        self._get_transport().write(data)

    def writelines(self, chunks: Iterable[BytesLike]) -> None:
        """Write every chunk in order.

        Args:
            chunks: The byte chunks.

        Raises:
            RuntimeError: After `write_eof`.
        """
        self._get_transport().writelines(chunks)

    def write_eof(self) -> None:
        """Close the pipe once the buffer is flushed: the child reads end of file."""
        self._closed = True
        self._get_transport().write_eof()

    def can_write_eof(self) -> bool:
        """Return True: a pipe closes after flushing."""
        return True

    def close(self) -> None:
        """The same as `write_eof`: flush, then close the pipe."""
        self._closed = True
        self._get_transport().close()

    def is_closing(self) -> bool:
        """Return whether the pipe is closed or being closed."""
        transport = self._transport
        return self._lost or (transport is not None and transport.is_closing())

    async def drain(self) -> None:
        """Wait while the buffer is above its high water mark; return at once when it is not.

        Raises:
            BrokenPipeError: If the pipe is closed (the child closed its end, exited, or `close` was
                called); or the error that closed it.
        """
        while True:
            if self._lost:
                exception = self._exception
                if exception is not None:
                    raise exception
                raise BrokenPipeError("the child's standard input is closed; cannot drain it")
            # A write that met a closed pipe closes the transport at once but tells this protocol
            # only in the next ready cycle: wait for that, so the failure is not missed.
            transport = self._transport
            broken = transport is not None and transport.is_closing() and not self._closed
            if not (self._drain_gate.paused or broken):
                return
            await self._drain_gate.wait()

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self.is_closing() else "open"
        return f"<{type(self).__name__} {state}>"
