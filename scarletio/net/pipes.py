"""Pipe transports (high level, net): the reading and the writing end of a non-blocking OS pipe.

`connect_read_pipe(loop, protocol, pipe)` / `connect_write_pipe(loop, protocol, pipe)` take a file
object with `fileno()` (an `os.pipe()` end opened with `open(fd, 'rb', buffering=0)`, a FIFO, a
socket, a terminal), switch its descriptor to non-blocking mode and own it from then on: the transport
closes the file when the connection is lost.

The writing end also watches its descriptor for reading. A pipe's write end never becomes readable,
but when the reader goes away the kernel reports an error condition, which the loop delivers to
readers and writers alike; that is how the transport learns the reader is gone even while it has
nothing to write. Pipes cannot half-close, so `write_eof` closes the writing end once it is flushed.
"""

from __future__ import annotations

import functools
import os
import stat
from collections import deque
from collections.abc import Iterable
from typing import Protocol, TypeVar, final

from ..core.reporting import report_error
from ..core.abc import EventLoop
from ._flow import QueueingWriter, receive_buffer
from .interfaces import BytesLike, ReadPipeProtocol, ReadTransport, WritePipeProtocol, WriteTransport

__all__ = ("PipeFile", "ReadPipeTransport", "WritePipeTransport", "connect_read_pipe", "connect_write_pipe")


class PipeFile(Protocol):
    """A file object the pipe transports can own: it has a descriptor and can be closed."""

    def fileno(self) -> int: ...

    def close(self) -> None: ...


def _prepare(pipe: PipeFile) -> int:
    fd = pipe.fileno()
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
        raise ValueError(f"pipe transports need a pipe, a socket or a character device, got {pipe!r}")
    os.set_blocking(fd, False)
    return fd


class _PipeTransportBase:
    """What both pipe ends share: the descriptor, the file, and the one-time `connection_lost`."""

    # No `__slots__` here: the concrete classes declare them (`WritePipeTransport` also inherits
    # `QueueingWriter`'s, and two slotted bases cannot be combined).

    _closing: bool
    _fd: int
    _lost: bool
    _loop: EventLoop
    _pipe: PipeFile
    _protocol: ReadPipeProtocol | WritePipeProtocol

    def _init_pipe(self, loop: EventLoop, pipe: PipeFile) -> None:
        self._loop = loop
        self._pipe = pipe
        self._fd = _prepare(pipe)
        self._closing = False
        self._lost = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Return `'pipe'` (the file object); `default` for anything else.

        Args:
            name: The name of the information.
            default: What to return when there is no such information.
        """
        return self._pipe if name == "pipe" else default

    def is_closing(self) -> bool:
        """Return whether `close` or `abort` was called, or the pipe was closed on the other side."""
        return self._closing

    def _unwatch(self) -> None:
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)

    def _schedule_lost(self, exception: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        self._unwatch()
        self._loop.call_soon(self._connection_lost, exception)

    def _connection_lost(self, exception: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exception)
        except Exception as error:
            report_error(f"exception in {type(self._protocol).__name__}.connection_lost", error)
        finally:
            self._pipe.close()

    def __repr__(self) -> str:
        state = "closing" if self._closing else "open"
        return f"<{type(self).__name__} fd={self._fd} {state}>"


@final
class ReadPipeTransport(_PipeTransportBase, ReadTransport):
    """The reading end of a pipe; built by `connect_read_pipe`.

    Args:
        loop: The loop; the transport is used from its thread only.
        pipe: The file object; the transport owns and closes it.
        protocol: The protocol to call back.
    """

    __slots__ = ("_closing", "_fd", "_lost", "_loop", "_pipe", "_protocol", "_reading", "_view")

    _protocol: ReadPipeProtocol

    def __init__(self, loop: EventLoop, pipe: PipeFile, protocol: ReadPipeProtocol) -> None:
        self._init_pipe(loop, pipe)
        self._protocol = protocol  # pyright: ignore[reportIncompatibleVariableOverride]
        self._reading = True
        self._view = receive_buffer()

    def _start(self) -> None:
        self._protocol.connection_made(self)
        if self._reading and not self._closing:
            self._loop.add_reader(self._fd, self._read_ready)

    def _read_ready(self) -> None:
        try:
            count = os.readv(self._fd, (self._view,))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._schedule_lost(error)
            return
        if count:
            try:
                self._protocol.data_received(self._view[:count].tobytes())
            except Exception as error:
                report_error(f"exception in {type(self._protocol).__name__}.data_received; the pipe is closed", error)
                self._schedule_lost(error)
            return
        self._loop.remove_reader(self._fd)
        try:
            self._protocol.eof_received()
        except Exception as error:
            report_error(f"exception in {type(self._protocol).__name__}.eof_received", error)
        self._schedule_lost(None)

    def pause_reading(self) -> None:
        """Stop delivering data until `resume_reading`; the writer blocks once the pipe is full."""
        if self._reading and not self._closing:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        """Deliver data again after `pause_reading`."""
        if not self._reading and not self._closing:
            self._reading = True
            self._loop.add_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        """Return whether data is being delivered (not paused, not closing)."""
        return self._reading and not self._closing

    def close(self) -> None:
        """Stop reading and close the pipe; the protocol sees `connection_lost(None)`."""
        self._schedule_lost(None)

    def abort(self) -> None:
        """The same as `close`: a reading end has nothing to flush."""
        self._schedule_lost(None)


@final
class WritePipeTransport(QueueingWriter, _PipeTransportBase, WriteTransport):
    """The writing end of a pipe; built by `connect_write_pipe`.

    Args:
        loop: The loop; the transport is used from its thread only.
        pipe: The file object; the transport owns and closes it.
        protocol: The protocol to call back.
    """

    __slots__ = (
        "_buffer",
        "_closing",
        "_eof_written",
        "_fd",
        "_lost",
        "_loop",
        "_pipe",
        "_protocol",
        "_send",
        "_send_many",
    )

    _protocol: WritePipeProtocol
    _EOF_WRITTEN_MESSAGE = "cannot write after write_eof(); the pipe is being closed"

    def __init__(self, loop: EventLoop, pipe: PipeFile, protocol: WritePipeProtocol) -> None:
        self._init_flow()
        self._init_pipe(loop, pipe)
        self._protocol = protocol  # pyright: ignore[reportIncompatibleVariableOverride]
        self._buffer: deque[memoryview] = deque()
        self._send = functools.partial(os.write, self._fd)
        self._send_many = functools.partial(os.writev, self._fd)
        self._eof_written = False

    def _start(self) -> None:
        self._protocol.connection_made(self)
        if not self._closing:
            self._loop.add_reader(self._fd, self._reader_gone)

    def _reader_gone(self) -> None:
        self._schedule_lost(BrokenPipeError("the reading end of the pipe was closed") if self._buffer else None)

    def writelines(self, chunks: Iterable[BytesLike]) -> None:
        """Write every chunk in order.

        Args:
            chunks: The byte chunks.

        Raises:
            RuntimeError: After `write_eof`.
        """
        for chunk in chunks:
            self.write(chunk)

    def _write_ready(self) -> None:
        if self._flush():
            self._maybe_resume()
            return
        if self._lost:  # the write failed and the pipe is going away
            return
        self._maybe_resume()
        self._loop.remove_writer(self._fd)
        if self._closing:
            self._schedule_lost(None)

    def _write_failed(self, error: OSError) -> None:
        self._buffer.clear()
        self._buffer_size = 0
        self._schedule_lost(error)

    def write_eof(self) -> None:
        """Close the pipe once the buffer is flushed (a pipe cannot half-close)."""
        if self._eof_written:
            return
        self._eof_written = True
        self.close()

    def can_write_eof(self) -> bool:
        """Return True: `write_eof` closes the pipe after flushing."""
        return True

    def close(self) -> None:
        """Flush the buffer, then close the pipe; the protocol sees `connection_lost(None)`."""
        if self._closing:
            return
        self._closing = True
        if not self._buffer:
            self._schedule_lost(None)

    def abort(self) -> None:
        """Close at once, dropping the buffer; the protocol sees `connection_lost(None)`."""
        self._buffer.clear()
        self._buffer_size = 0
        self._schedule_lost(None)


_Transport = TypeVar("_Transport", "ReadPipeTransport", "WritePipeTransport")


def _started(transport: _Transport, pipe: PipeFile) -> _Transport:
    """Start a new pipe transport; if its protocol's `connection_made` fails, release the pipe."""
    try:
        transport._start()
    except BaseException:
        transport._unwatch()
        pipe.close()
        raise
    return transport


async def connect_read_pipe(loop: EventLoop, protocol: ReadPipeProtocol, pipe: PipeFile) -> ReadPipeTransport:
    """Read a pipe through `protocol`.

    Args:
        loop: The loop the calling task runs on.
        protocol: The protocol to call back; its `connection_made` runs before this returns.
        pipe: A file object of a pipe, FIFO, socket or character device; the transport owns it.

    Returns:
        The transport.

    Raises:
        ValueError: If `pipe` is a regular file or a directory.
    """
    return _started(ReadPipeTransport(loop, pipe, protocol), pipe)


async def connect_write_pipe(
    loop: EventLoop, protocol: WritePipeProtocol, pipe: PipeFile
) -> WritePipeTransport:
    """Write to a pipe through a transport that calls `protocol` back.

    Args:
        loop: The loop the calling task runs on.
        protocol: The protocol to call back; its `connection_made` runs before this returns.
        pipe: A file object of a pipe, FIFO, socket or character device; the transport owns it.

    Returns:
        The transport.

    Raises:
        ValueError: If `pipe` is a regular file or a directory.
    """
    return _started(WritePipeTransport(loop, pipe, protocol), pipe)
