"""What the transports share (high level, net): write-buffer flow control and the receive buffer.

Receiving: a transport reads with `recv_into` into one preallocated buffer and hands its protocol a
`bytes` copy of what arrived. The copy is made before the protocol runs, so one buffer can serve every
transport of a loop thread: it is allocated once per thread (not per connection and not per read).

Sending: a transport sends directly while nothing is queued and queues only what the kernel did not
take; `QueueingWriter` holds that `write` and the flush of the queue, for sockets and pipes alike.
Queued chunks are immutable views (`bytes`, or views of `bytes`): a mutable buffer handed to `write` is
copied before it is queued, so the caller may reuse it at once.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, final

from ..core.abc import EventLoop
from ..core.futures import Future
from ..core.reporting import report_error
from .interfaces import BytesLike

__all__ = (
    "DEFAULT_HIGH_WATER",
    "DEFAULT_LOW_WATER",
    "IOV_MAX",
    "QueueingWriter",
    "RECEIVE_BUFFER_SIZE",
    "WriteFlow",
    "consume",
    "queued_view",
    "receive_buffer",
    "settle_allocator",
    "size_of",
)

DEFAULT_HIGH_WATER = 64 * 1024
"""Bytes in a write buffer above which the protocol gets `pause_writing()`."""

DEFAULT_LOW_WATER = 16 * 1024
"""Bytes in a write buffer at or below which a paused protocol gets `resume_writing()`."""

RECEIVE_BUFFER_SIZE = 256 * 1024
"""The most bytes one read hands to a protocol."""


def _iov_max() -> int:
    try:
        value = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):
        return 16  # the POSIX minimum
    return value if value > 0 else 16


IOV_MAX = _iov_max()
"""The most buffers one scatter-gather system call (`sendmsg`, `writev`) accepts."""

_local = threading.local()


# The allocator quirk behind `_ALLOCATOR_HINT_SIZE`
# --------------------------------------------------
#
# Every read hands the protocol a fresh `bytes` object, so a busy loop thread allocates and frees
# buffer-sized blocks all the time. glibc serves a thread other than the main one from an arena of
# its own and gives the top of that arena back to the kernel (madvise) whenever more than
# `M_TRIM_THRESHOLD` bytes (128 KiB by default) lie free there; the next allocations touch fresh pages
# and fault them in again. With 50 connections echoing 16 KiB messages through the stream API that
# measured 17,000 page faults per 5,000 round trips, a third of the run time.
#
# glibc raises both thresholds by itself once a block above `M_MMAP_THRESHOLD` is freed (mallopt(3),
# "dynamic mmap threshold"): the mmap threshold becomes that block's size and the trim threshold
# twice that. asyncio's `sock.recv(256 KiB)` does not trigger it: each read maps a fresh block, shrinks
# it with `mremap` to the bytes received and frees the small remainder, so on a loop thread every read
# costs three system calls more (measured with strace: an aiohttp GET loop on `scarletio.aio` took 50 %
# longer for it). So we trigger it once per process, deliberately, before the first read
# (`settle_allocator`): one short-lived 1 MiB block. Other allocators ignore it.
_ALLOCATOR_HINT_SIZE = 1 << 20


_allocator_settled = False


def settle_allocator() -> None:
    """Raise glibc's dynamic mmap and trim thresholds once per process (see the note on `_ALLOCATOR_HINT_SIZE`)."""
    global _allocator_settled
    if not _allocator_settled:
        _allocator_settled = True
        hint = bytes(_ALLOCATOR_HINT_SIZE)
        del hint  # freed at once: freeing it is what raises the thresholds


def receive_buffer() -> memoryview:
    """Return the calling thread's receive buffer (a writable byte view), creating it on first use."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        settle_allocator()
        view = _local.view = memoryview(bytearray(RECEIVE_BUFFER_SIZE))
    return view


def size_of(data: BytesLike) -> int:
    """Return the number of bytes in `data`."""
    return len(data) if type(data) is bytes else memoryview(data).nbytes


def queued_view(data: BytesLike, start: int) -> memoryview:
    """Return the part of `data` from byte `start` on, as a byte view that is safe to keep queued."""
    if type(data) is bytes:
        return memoryview(data)[start:]
    return memoryview(bytes(data))[start:]


def consume(buffer: deque[memoryview], sent: int) -> None:
    """Drop the first `sent` bytes of a queue of byte views."""
    while sent:
        chunk = buffer[0]
        size = len(chunk)
        if size <= sent:
            buffer.popleft()
            sent -= size
        else:
            buffer[0] = chunk[sent:]
            return


class FlowControlled(Protocol):
    """The protocol callbacks a write buffer drives."""

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...


class WriteFlow:
    """The write-buffer accounting and water marks shared by the transports.

    A subclass keeps `_buffer_size` up to date and calls `_maybe_pause` after queueing and
    `_maybe_resume` after sending queued data; it provides `_protocol`.
    """

    __slots__ = ("_buffer_size", "_high_water", "_low_water", "_write_paused")

    _protocol: FlowControlled

    def _init_flow(self) -> None:
        self._buffer_size = 0
        self._high_water = DEFAULT_HIGH_WATER
        self._low_water = DEFAULT_LOW_WATER
        self._write_paused = False

    def get_write_buffer_size(self) -> int:
        """Return how many bytes wait in the write buffer."""
        return self._buffer_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return the `(low, high)` water marks in bytes."""
        return (self._low_water, self._high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks that drive `pause_writing` / `resume_writing`.

        Args:
            high: Bytes above which the protocol is paused; 64 KiB by default, or 4 * `low` if only
                `low` is given.
            low: Bytes at or below which it is resumed; 16 KiB by default, or `high` / 4.

        Raises:
            ValueError: Unless `0 <= low <= high`.
        """
        if high is None:
            high = DEFAULT_HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not 0 <= low <= high:
            raise ValueError(f"write buffer limits need 0 <= low <= high, got low={low!r}, high={high!r}")
        self._high_water = high
        self._low_water = low
        self._maybe_pause()
        self._maybe_resume()

    def _maybe_pause(self) -> None:
        if not self._write_paused and self._buffer_size > self._high_water:
            self._write_paused = True
            try:
                self._protocol.pause_writing()
            except Exception as error:
                report_error(f"exception in {type(self._protocol).__name__}.pause_writing; ignored", error)

    def _maybe_resume(self) -> None:
        if self._write_paused and self._buffer_size <= self._low_water:
            self._write_paused = False
            try:
                self._protocol.resume_writing()
            except Exception as error:
                report_error(f"exception in {type(self._protocol).__name__}.resume_writing; ignored", error)


class QueueingWriter(WriteFlow):
    """`write` and the queue flush shared by the socket and pipe transports.

    The descriptor is written through two callables a subclass stores once, at construction, so the
    hot path pays no extra call: `_send(data)` writes one buffer (`socket.send`, or `os.write` bound
    to the fd) and `_send_many(buffers)` writes a sequence of them in one system call (`sendmsg`,
    `writev`); both return the number of bytes taken and raise `BlockingIOError` when none fit.

    A subclass also fills `_buffer`, `_fd`, `_loop`, `_closing` and `_eof_written`, sets
    `_EOF_WRITTEN_MESSAGE` (the error of a write after `write_eof`), and implements `_write_ready` (the
    writer callback, which calls `_flush`) and `_write_failed` (ends the connection after a failed
    write and drops the queue).
    """

    __slots__ = ()

    _EOF_WRITTEN_MESSAGE: ClassVar[str]

    _send: Callable[[BytesLike], int]
    _send_many: Callable[[Sequence[memoryview]], int]
    _buffer: deque[memoryview]
    _fd: int
    _loop: EventLoop
    _closing: bool
    _eof_written: bool
    # Methods of the subclass: the writer callback, and "end the connection after a failed write".
    _write_ready: Callable[[], None]
    _write_failed: Callable[[OSError], None]

    def write(self, data: BytesLike) -> None:
        """Send `data`, queueing what the kernel does not take now; never blocks.

        Writes after `close`, `abort` or the loss of the connection are dropped.

        Args:
            data: The bytes to send.

        Raises:
            RuntimeError: After `write_eof`.
        """
        if self._eof_written:
            raise RuntimeError(self._EOF_WRITTEN_MESSAGE)
        size = len(data) if type(data) is bytes else memoryview(data).nbytes
        if not size or self._closing:
            return
        sent = 0
        buffer = self._buffer
        if not buffer:
            try:
                sent = self._send(data)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as error:
                self._write_failed(error)
                return
            if sent == size:
                return
            self._loop.add_writer(self._fd, self._write_ready)
        buffer.append(queued_view(data, sent))
        self._buffer_size += size - sent
        if self._buffer_size > self._high_water:
            self._maybe_pause()

    def _flush(self) -> bool:
        """Send as much of the queue as the kernel takes; return whether anything is left to wait for.

        After a failed write the queue is dropped (`_write_failed`) and the answer is False.
        """
        buffer = self._buffer
        try:
            if len(buffer) == 1:
                sent = self._send(buffer[0])
            elif len(buffer) <= IOV_MAX:
                sent = self._send_many(buffer)
            else:
                sent = self._send_many([buffer[index] for index in range(IOV_MAX)])
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as error:
            self._write_failed(error)
            return False
        self._buffer_size -= sent
        consume(buffer, sent)
        return bool(buffer)



@final
class DrainGate:
    """The tasks waiting in a protocol's `drain()`: held while writing is paused, let go on resume or loss."""

    __slots__ = ("_loop", "_waiters", "paused")

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        self._waiters: list[Future[None]] = []
        self.paused = False

    def pause(self) -> None:
        """Hold the tasks that call `drain()` from now on."""
        self.paused = True

    def resume(self) -> None:
        """Stop holding, and let every waiting task go."""
        self.paused = False
        self.release()

    def release(self) -> None:
        """Let every waiting task go (they look at the protocol's state again)."""
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for waiter in waiters:
                waiter.set_result_if_pending(None)

    async def wait(self) -> None:
        """Wait until `resume` or `release`."""
        waiter: Future[None] = Future(self._loop)
        self._waiters.append(waiter)
        await waiter
