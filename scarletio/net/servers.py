"""Stream servers (high level, net): `Server` and the functions that create one.

A server is created bound but not listening: `await server.start()` listens on its sockets and
registers one reader per listening socket. Each readiness event accepts connections until the kernel
has none left (at most `backlog` of them, so a flood cannot monopolise the loop) and gives each one a
`SocketTransport` and a protocol from the factory.

`close()` stops accepting and closes the listening sockets; live connections are left alone.
`wait_closed()` resolves once the server is closed and its last connection has ended, so a server
with idle keep-alive connections is ended with `close_clients()` (each connection flushes and closes)
or `abort_clients()` (at once). `serve_forever()` serves until `close()`, typically from a signal
handler: the asyncio recipe, with asyncio 3.13's names.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import stat
import sys
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import final

from ..core.reporting import report_error
from ..core.abc import EventLoop
from ..core.exceptions import CancelledError
from ..core.futures import Future
from ..core.suspension import skip_ready_cycle
from .interfaces import StreamProtocol, StreamTransport
from .resolve import get_address_info
from ._socket_factory import open_socket
from .socket_transport import SocketTransport
from .sockets import set_reuse_port
from .tls import SSLTransport

__all__ = ("Server", "create_server_to", "create_server_with", "create_unix_server_to", "create_unix_server_with")

_RESOURCE_ERRORS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))
ACCEPT_RETRY_DELAY = 1.0
"""Seconds a server stops accepting after running out of descriptors or memory."""


@final
class Server:
    """A stream server: listening sockets that give every accepted connection a protocol.

    Built by `create_server_to`, `create_server_with` and their Unix variants, not yet serving.

    Attributes:
        sockets: The listening sockets; empty once closed.
        serving: Whether connections are being accepted.
        active_count: How many accepted connections have not ended yet.
        backlog: The listen backlog (also the most connections accepted per readiness event).
        protocol_factory: Builds the protocol of each connection.
        ssl_context: The TLS settings of every connection, or `None` for plain connections.
    """

    __slots__ = (
        "_clients",
        "_close_waiters",
        "_closed",
        "_forever",
        "_loop",
        "_unix_path",
        "_watched",
        "active_count",
        "backlog",
        "protocol_factory",
        "serving",
        "sockets",
        "ssl_context",
    )

    def __init__(
        self,
        loop: EventLoop,
        protocol_factory: Callable[[], StreamProtocol],
        sockets: list[socket.socket],
        backlog: int,
        unix_path: tuple[str, int] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._loop = loop
        self.ssl_context: ssl.SSLContext | None = ssl_context
        self.protocol_factory: Callable[[], StreamProtocol] = protocol_factory
        self.sockets: list[socket.socket] = sockets
        self.backlog: int = backlog
        self.serving: bool = False
        self.active_count: int = 0
        self._closed = False
        self._close_waiters: list[Future[None]] = []
        self._unix_path = unix_path  # (path, inode) of a socket file this server created
        self._watched: list[int] = []  # the descriptors registered for accepting
        # The live connections: socket transport -> the transport its protocol sees (TLS or itself).
        self._clients: dict[SocketTransport, StreamTransport] = {}
        self._forever: Future[None] | None = None  # what `serve_forever` waits on

    async def start(self) -> None:
        """Listen on the sockets and start accepting connections; does nothing if already serving.

        Raises:
            RuntimeError: If the server was closed.
        """
        if self._closed:
            raise RuntimeError("cannot start a closed server; create a new one")
        if self.serving:
            return
        for sock in self.sockets:
            sock.listen(self.backlog)
        self._watch()
        self.serving = True
        await skip_ready_cycle()

    def _watch(self) -> None:
        # The numbers are kept: a socket closed behind the server's back answers fileno() with -1,
        # and its registration must still be dropped.
        self._watched = [sock.fileno() for sock in self.sockets]
        for fd, sock in zip(self._watched, self.sockets):
            self._loop.add_reader(fd, self._accept_ready, sock)

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, []
        for fd in watched:
            self._loop.remove_reader(fd)

    def _accept_ready(self, sock: socket.socket) -> None:
        for _ in range(self.backlog):
            if self._closed:  # a protocol closed the server from its connection_made
                return
            try:
                connection, _address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                if error.errno in _RESOURCE_ERRORS:
                    report_error(
                        f"server {self!r} cannot accept connections ({error}); retrying in {ACCEPT_RETRY_DELAY} s",
                        error,
                    )
                    self._unwatch()
                    self._loop.call_after(ACCEPT_RETRY_DELAY, self._retry_accepting)
                    return
                continue  # the connection went away before it was accepted (ECONNABORTED, ...)
            self._serve(connection)

    def _retry_accepting(self) -> None:
        if self.serving:
            self._watch()

    def _serve(self, connection: socket.socket) -> None:
        connection.setblocking(False)
        try:
            protocol = self.protocol_factory()
        except Exception as error:
            report_error(f"protocol factory of {self!r} failed; the connection is closed", error)
            connection.close()
            return
        ssl_context = self.ssl_context
        if ssl_context is not None:
            # The TLS transport connects `protocol` once the handshake is done; a failed handshake
            # just ends the connection.
            try:
                protocol = SSLTransport(self._loop, ssl_context, protocol, server_side=True)
            except Exception as error:
                report_error(f"cannot start TLS on a connection of {self!r}; the connection is closed", error)
                connection.close()
                return
        transport = SocketTransport(self._loop, connection, protocol, self)
        self._clients[transport] = protocol if isinstance(protocol, SSLTransport) else transport
        self.active_count += 1
        try:
            transport._start()
        except Exception as error:
            report_error(f"exception in {type(protocol).__name__}.connection_made; the connection is closed", error)
            transport._discard()

    def _detach(self, transport: SocketTransport) -> None:  # pyright: ignore[reportUnusedFunction]
        """Called by a transport of this server once its connection ended."""
        self._clients.pop(transport, None)
        self.active_count -= 1
        if self._closed and not self.active_count:
            self._wake_close_waiters()

    def _wake_close_waiters(self) -> None:
        waiters = self._close_waiters
        self._close_waiters = []
        for waiter in waiters:
            waiter.set_result_if_pending(None)

    def close(self) -> None:
        """Stop accepting and close the listening sockets; live connections go on. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.serving = False
        self._unwatch()
        for sock in self.sockets:
            sock.close()
        self.sockets = []
        unix_path = self._unix_path
        if unix_path is not None:
            self._unix_path = None
            path, inode = unix_path
            try:
                if os.stat(path).st_ino == inode:  # still the file this server created
                    os.unlink(path)
            except OSError:
                pass
        if not self.active_count:
            self._wake_close_waiters()
        forever = self._forever
        if forever is not None:
            forever.set_result_if_pending(None)

    def close_clients(self) -> None:
        """Close every connection the server accepted and that is still open.

        Each sends what it has queued, then closes (with TLS: close_notify first); its protocol sees
        `connection_lost(None)`. Idle keep-alive connections a program cannot reach end too, so
        `wait_closed()` does not wait for them.
        """
        for transport in list(self._clients.values()):
            transport.close()

    def abort_clients(self) -> None:
        """Close every connection the server accepted at once, dropping what they have queued."""
        for transport in list(self._clients.values()):
            transport.abort()

    async def serve_forever(self) -> None:
        """Accept connections until the server is closed; starts serving if it was not yet.

        Returns once `close()` was called, typically from a signal handler:
        `loop.add_signal_handler(signal.SIGTERM, server.close)`, then `await server.serve_forever()`,
        then `server.close_clients()` and `await server.wait_closed()`. If the waiting task is
        cancelled, the server is closed (its connections are left alone) and the cancellation goes on.

        Raises:
            RuntimeError: If the server is closed already, or another task waits in `serve_forever`.
        """
        if self._closed:
            raise RuntimeError("cannot serve a closed server; create a new one")
        if self._forever is not None:
            raise RuntimeError(f"another task already waits in serve_forever() of {self!r}; await server.wait_closed() instead")
        waiter: Future[None] = Future(self._loop)
        self._forever = waiter
        try:
            await self.start()
            if not self._closed:  # it may have been closed while starting
                await waiter
        except CancelledError:
            self.close()
            raise
        finally:
            self._forever = None

    def is_closed(self) -> bool:
        """Return whether `close` was called."""
        return self._closed

    async def wait_closed(self) -> None:
        """Wait until the server is closed and its last connection has ended."""
        if self._closed and not self.active_count:
            return
        waiter: Future[None] = Future(self._loop)
        self._close_waiters.append(waiter)
        await waiter

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "serving" if self.serving else "not serving"
        names = ", ".join(repr(_name_of(sock)) for sock in self.sockets)
        return f"<{type(self).__name__} {state} [{names}], active = {self.active_count}>"


def _name_of(sock: socket.socket) -> object:
    try:
        name: object = sock.getsockname()
    except OSError:
        return None
    return name


def _close_all(sockets: Iterable[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


async def create_server_to(
    loop: EventLoop,
    protocol_factory: Callable[[], StreamProtocol],
    host: str | None,
    port: int | str | None,
    *,
    backlog: int = 100,
    reuse_address: bool | None = None,
    reuse_port: bool = False,
    socket_family: int = socket.AF_UNSPEC,
    socket_flags: int = socket.AI_PASSIVE,
    ssl_context: ssl.SSLContext | None = None,
) -> Server:
    """Create a TCP server bound to every address `host` resolves to; it is not serving yet.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the protocol of each accepted connection.
        host: A host name or IP literal, or `None` for every interface.
        port: The port; 0 picks a free one (per address: read it from `server.sockets`).
        backlog: The listen backlog.
        reuse_address: Set `SO_REUSEADDR`, so a restarted server can bind while old connections
            linger; the default is True on POSIX.
        reuse_port: Set `SO_REUSEPORT`, so several servers can share the port.
        socket_family: `AF_INET`, `AF_INET6`, or `AF_UNSPEC` for both.
        socket_flags: `AI_*` flags for the lookup.
        ssl_context: Speak TLS (as the server) with these settings: a context with the server's
            certificate chain loaded (`ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)`).

    Returns:
        The server; `await server.start()` to accept connections.

    Raises:
        OSError: If binding fails (the address is in use, for example).
        socket.gaierror: If `host` does not resolve.
        ValueError: If `reuse_port` is not supported here.
    """
    if reuse_address is None:
        reuse_address = os.name == "posix" and sys.platform != "cygwin"
    infos = await get_address_info(
        loop, host, port, family=socket_family, type=socket.SOCK_STREAM, flags=socket_flags
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, protocol, _, address in dict.fromkeys(infos):
            sock = open_socket(loop, family, kind, protocol)
            sockets.append(sock)
            if reuse_address:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                set_reuse_port(sock)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                # Otherwise the IPv6 wildcard would also claim the IPv4 port and the IPv4 bind fails.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as error:
                raise OSError(
                    error.errno, f"cannot bind {address!r}: {error.strerror}; is another server using it?"
                ) from None
            sock.setblocking(False)
    except BaseException:
        _close_all(sockets)
        raise
    return Server(loop, protocol_factory, sockets, backlog, ssl_context=ssl_context)


async def create_server_with(
    loop: EventLoop,
    protocol_factory: Callable[[], StreamProtocol],
    sock: socket.socket,
    *,
    backlog: int = 100,
    ssl_context: ssl.SSLContext | None = None,
) -> Server:
    """Create a server on an already bound stream socket (TCP or Unix); it is not serving yet.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the protocol of each accepted connection.
        sock: A bound `SOCK_STREAM` socket; the server owns it from now on.
        backlog: The listen backlog.
        ssl_context: Speak TLS (as the server) with these settings.

    Returns:
        The server; `await server.start()` to accept connections.

    Raises:
        ValueError: If `sock` is not a stream socket.
    """
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"a server needs a SOCK_STREAM socket, got {sock!r}")
    sock.setblocking(False)
    return Server(loop, protocol_factory, [sock], backlog, ssl_context=ssl_context)


async def create_unix_server_to(
    loop: EventLoop,
    protocol_factory: Callable[[], StreamProtocol],
    path: str | os.PathLike[str],
    *,
    backlog: int = 100,
    ssl_context: ssl.SSLContext | None = None,
) -> Server:
    """Create a Unix stream socket server at `path`; it is not serving yet.

    A stale socket file at `path` (left by a server that died) is replaced; closing the server
    removes the file it created.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the protocol of each accepted connection.
        path: The file system path of the socket.
        backlog: The listen backlog.
        ssl_context: Speak TLS (as the server) with these settings.

    Returns:
        The server; `await server.start()` to accept connections.

    Raises:
        OSError: If binding fails (`path` exists and is not a socket, for example).
    """
    path = os.fspath(path)
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.bind(path)
        except OSError as error:
            raise OSError(error.errno, f"cannot bind the unix socket {path!r}: {error.strerror}") from None
        sock.setblocking(False)
        inode = os.stat(path).st_ino
    except BaseException:
        sock.close()
        raise
    return Server(loop, protocol_factory, [sock], backlog, (path, inode), ssl_context)


async def create_unix_server_with(
    loop: EventLoop,
    protocol_factory: Callable[[], StreamProtocol],
    sock: socket.socket,
    *,
    backlog: int = 100,
    ssl_context: ssl.SSLContext | None = None,
) -> Server:
    """Create a server on an already bound Unix stream socket; it is not serving yet.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the protocol of each accepted connection.
        sock: A bound `AF_UNIX` `SOCK_STREAM` socket; the server owns it from now on.
        backlog: The listen backlog.
        ssl_context: Speak TLS (as the server) with these settings.

    Returns:
        The server; `await server.start()` to accept connections.

    Raises:
        ValueError: If `sock` is not a Unix stream socket.
    """
    if sock.family != socket.AF_UNIX:
        raise ValueError(f"a unix server needs an AF_UNIX socket, got {sock!r}")
    return await create_server_with(loop, protocol_factory, sock, backlog=backlog, ssl_context=ssl_context)
