"""Awaitable system calls on non-blocking sockets (high level, net): accept, connect, receive, send.

Every helper tries its system call first and only waits when the kernel says it would block. The wait
is a `Readiness` future that registers a reader or writer for the socket and unregisters it itself:
when the descriptor becomes ready, and also, synchronously, when the future is cancelled (a task
cancelled while waiting cancels the future it waits on). So a cancelled helper never leaves a
registration behind, and a new helper on the same socket right after cannot meet a stale callback.

The system call itself always runs in the awaiting task after the wait, never in the readiness
callback: a receive that gets cancelled cannot have consumed data that nobody will see.

One task at a time may wait on a socket in each direction; the helpers refuse to replace a reader or
writer someone else registered for the descriptor (a transport's, for example).
"""

from __future__ import annotations

import errno
import os
import socket
from typing import final

from ..core.abc import EventLoop
from ..core.futures import Future
from ..core.handles import Handle
from .interfaces import BytesLike, SocketAddress
from .resolve import get_address_info, ip_address_of, is_ip_literal

__all__ = (
    "Readiness",
    "socket_accept",
    "socket_connect",
    "socket_receive",
    "socket_receive_into",
    "set_reuse_port",
    "socket_send_all",
    "wait_readable",
    "wait_writable",
)


@final
class Readiness(Future[None]):
    """A future resolved with `None` once a file descriptor is ready for reading (or writing).

    The registration is dropped when the future resolves or is cancelled, whichever comes first.

    Args:
        loop: The loop; call on its thread.
        fd: The file descriptor.
        writing: Wait for writability instead of readability.

    Raises:
        RuntimeError: If another reader (writer) is already registered for `fd`.
    """

    __slots__ = ("_fd", "_handle", "_thread", "_writing")

    def __init__(self, loop: EventLoop, fd: int, writing: bool) -> None:
        Future.__init__(self, loop)  # pyright: ignore[reportUnknownMemberType]
        watchers = loop._writers if writing else loop._readers
        if fd in watchers:
            direction = "writer" if writing else "reader"
            raise RuntimeError(
                f"fd {fd} already has a {direction} registered; wait on a socket from one task at a time, "
                "and do not mix the socket helpers with a transport that owns the socket"
            )
        self._thread = loop
        self._fd = fd
        self._writing = writing
        add = loop.add_writer if writing else loop.add_reader
        self._handle: Handle = add(fd, self._on_ready)

    def _unwatch(self) -> None:
        # A cancelled handle means the registration is gone or was replaced by someone else's: then
        # there is nothing of ours to remove.
        if not self._handle.is_cancelled():
            if self._writing:
                self._thread.remove_writer(self._fd)
            else:
                self._thread.remove_reader(self._fd)

    def _on_ready(self) -> None:
        self._unwatch()
        self.set_result_if_pending(None)

    def cancel(self, msg: object = None) -> int:
        """Cancel the wait and drop the registration at once; see `Future.cancel`."""
        changed = super().cancel()
        self._unwatch()
        return changed

    def cancel_with(self, exception: BaseException | type[BaseException]) -> int:
        """Cancel the wait with `exception` and drop the registration at once; see `Future.cancel_with`."""
        changed = super().cancel_with(exception)
        self._unwatch()
        return changed


def _check_socket(sock: socket.socket) -> None:
    if sock.gettimeout() != 0:
        raise ValueError(f"the socket must be non-blocking, got {sock!r}; call sock.setblocking(False) first")


async def wait_readable(loop: EventLoop, fd: int) -> None:
    """Wait until `fd` is readable (or has an error or hang-up).

    Args:
        loop: The loop the calling task runs on.
        fd: The file descriptor.
    """
    waiter = Readiness(loop, fd, False)
    try:
        await waiter
    finally:
        if not waiter.is_done():  # the coroutine was closed while waiting
            waiter.cancel()


async def wait_writable(loop: EventLoop, fd: int) -> None:
    """Wait until `fd` is writable (or has an error or hang-up).

    Args:
        loop: The loop the calling task runs on.
        fd: The file descriptor.
    """
    waiter = Readiness(loop, fd, True)
    try:
        await waiter
    finally:
        if not waiter.is_done():
            waiter.cancel()


async def socket_accept(loop: EventLoop, sock: socket.socket) -> tuple[socket.socket, SocketAddress]:
    """Accept a connection on a listening non-blocking socket.

    Args:
        loop: The loop the calling task runs on.
        sock: The listening socket.

    Returns:
        The new connection (already non-blocking) and the peer's address.

    Raises:
        ValueError: If `sock` is blocking.
        OSError: If `accept` fails.
    """
    _check_socket(sock)
    while True:
        try:
            connection, address = sock.accept()
        except (BlockingIOError, InterruptedError):
            await wait_readable(loop, sock.fileno())
            continue
        connection.setblocking(False)
        peer: SocketAddress = address
        return connection, peer


async def _resolve_for(loop: EventLoop, sock: socket.socket, address: SocketAddress) -> SocketAddress:
    """Resolve a host name in an IPv4 / IPv6 address for `sock`; other addresses are returned as they are."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return address
    host = address[0]
    if is_ip_literal(host):
        return address
    infos = await get_address_info(loop, host, address[1], family=sock.family, type=sock.type, protocol=sock.proto)
    return ip_address_of(infos[0])


def set_reuse_port(sock: socket.socket) -> None:
    """Set `SO_REUSEPORT` on `sock`.

    Raises:
        ValueError: If the platform has no `SO_REUSEPORT`.
    """
    option = getattr(socket, "SO_REUSEPORT", None)
    if option is None:
        raise ValueError("reuse_port is not supported on this platform; pass reuse_port=False")
    sock.setsockopt(socket.SOL_SOCKET, option, 1)


async def socket_connect(loop: EventLoop, sock: socket.socket, address: SocketAddress) -> None:
    """Connect a non-blocking socket.

    A host name in an IPv4 / IPv6 address is resolved first (off the loop thread). Calling this again
    on the same socket after a cancelled attempt finishes that attempt; on a socket that is connected
    already it returns at once.

    Args:
        loop: The loop the calling task runs on.
        sock: The socket to connect.
        address: The peer's address.

    Raises:
        ValueError: If `sock` is blocking.
        OSError: If the connection fails, for example `ConnectionRefusedError`.
    """
    _check_socket(sock)
    address = await _resolve_for(loop, sock, address)
    try:
        sock.connect(address)
        return
    except (BlockingIOError, InterruptedError):
        pass  # in progress (or, for a Unix socket, the listener's queue is full)
    except OSError as failure:
        if failure.errno != errno.EISCONN:  # connected already, by an attempt that was cancelled
            raise
        return
    while True:
        await wait_writable(loop, sock.fileno())
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, f"connect to {address!r} failed: {os.strerror(error)}")
        # Writable without a pending error: the connection completed, or the wakeup was spurious, or
        # (Unix sockets) the listener's queue has room again. Calling `connect` once more tells which:
        # it returns (or says EISCONN) once connected, says EALREADY while in progress, and retries
        # a Unix connect that met a full queue.
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            continue
        except OSError as failure:
            if failure.errno == errno.EISCONN:
                return
            raise


async def socket_receive(loop: EventLoop, sock: socket.socket, n: int) -> bytes:
    """Receive up to `n` bytes from a non-blocking socket.

    Args:
        loop: The loop the calling task runs on.
        sock: The socket.
        n: The most bytes to receive.

    Returns:
        The bytes received; empty once the peer closed its sending side.

    Raises:
        ValueError: If `sock` is blocking.
        OSError: If receiving fails.
    """
    _check_socket(sock)
    while True:
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
        await wait_readable(loop, sock.fileno())


async def socket_receive_into(loop: EventLoop, sock: socket.socket, buffer: bytearray | memoryview) -> int:
    """Receive bytes from a non-blocking socket into `buffer`.

    Args:
        loop: The loop the calling task runs on.
        sock: The socket.
        buffer: A writable buffer; at most its size is received.

    Returns:
        The number of bytes received; 0 once the peer closed its sending side.

    Raises:
        ValueError: If `sock` is blocking.
        OSError: If receiving fails.
    """
    _check_socket(sock)
    while True:
        try:
            return sock.recv_into(buffer)
        except (BlockingIOError, InterruptedError):
            pass
        await wait_readable(loop, sock.fileno())


async def socket_send_all(loop: EventLoop, sock: socket.socket, data: BytesLike) -> None:
    """Send all of `data` on a non-blocking socket, waiting while the kernel's buffer is full.

    If the task is cancelled while waiting, a part of `data` may have been sent already.

    Args:
        loop: The loop the calling task runs on.
        sock: The socket.
        data: The bytes to send.

    Raises:
        ValueError: If `sock` is blocking.
        OSError: If sending fails.
    """
    _check_socket(sock)
    view = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    total = len(view)
    sent = 0
    while sent < total:
        try:
            sent += sock.send(view[sent:] if sent else view)
        except (BlockingIOError, InterruptedError):
            await wait_writable(loop, sock.fileno())
