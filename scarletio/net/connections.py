"""Opening stream connections (high level, net): TCP and Unix stream sockets to a protocol.

Each function returns the protocol its factory built, once `connection_made` has run; a protocol
that keeps its transport exposes it (the stream API's `get_transport()`). Host names are resolved
with the system resolver off the loop thread (`resolve.get_address_info`); the addresses are tried in
the resolver's order until one connects.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..core.abc import EventLoop
from ._socket_factory import open_socket
from .interfaces import StreamProtocol
from .resolve import AddressInfo, get_address_info, ip_address_of
from .socket_transport import SocketTransport
from .sockets import socket_connect
from .tls import SSLTransport

__all__ = (
    "create_connection_to",
    "create_connection_with",
    "create_unix_connection_to",
    "create_unix_connection_with",
)

P = TypeVar("P", bound=StreamProtocol)


def start_stream(loop: EventLoop, sock: socket.socket, protocol_factory: Callable[[], P]) -> P:
    """Give a connected non-blocking stream socket a protocol and a `SocketTransport`.

    On failure the socket is closed and the exception propagates.
    """
    try:
        protocol = protocol_factory()
    except BaseException:
        sock.close()
        raise
    transport = SocketTransport(loop, sock, protocol)
    try:
        transport._start()
    except BaseException:
        transport._discard()
        raise
    return protocol


async def start_tls_stream(
    loop: EventLoop,
    sock: socket.socket,
    protocol_factory: Callable[[], P],
    ssl_context: ssl.SSLContext,
    server_host_name: str | None,
) -> P:
    """Give a connected non-blocking stream socket a TLS client transport; wait for the handshake.

    On failure (the handshake's error, or cancellation) the connection is closed and the exception
    propagates.
    """
    try:
        protocol = protocol_factory()
        tls = SSLTransport(loop, ssl_context, protocol, server_side=False, server_host_name=server_host_name)
    except BaseException:
        sock.close()
        raise
    transport = SocketTransport(loop, sock, tls)
    try:
        transport._start()
    except BaseException:
        transport._discard()
        raise
    try:
        await tls.handshake_done
    except BaseException:
        tls.abort()
        raise
    return protocol


def _check_tls(ssl_context: ssl.SSLContext | None, server_host_name: str | None) -> None:
    if server_host_name is not None and ssl_context is None:
        raise ValueError(f"server_host_name={server_host_name!r} needs an ssl_context; pass one to use TLS")


def _bind_local(sock: socket.socket, local_infos: Sequence[AddressInfo], local_address: tuple[str, int]) -> None:
    errors: list[OSError] = []
    for family, _, _, _, address in local_infos:
        if family != sock.family:
            continue
        try:
            sock.bind(address)
            return
        except OSError as error:
            errors.append(error)
    if errors:
        last = errors[-1]
        raise OSError(last.errno, f"cannot bind the local address {local_address!r}: {last.strerror}")
    raise OSError(f"the local address {local_address!r} has no address of the family {sock.family!r}")


def connection_failure(target: str, errors: list[OSError]) -> OSError:
    """Merge the errors of every attempt into one exception, keeping the errno when they agree."""
    if len(errors) == 1:
        return errors[0]
    numbers = {error.errno for error in errors}
    details = "; ".join(str(error) for error in errors)
    if len(numbers) == 1:
        number = numbers.pop()
        if number is not None:
            merged = OSError(number, f"cannot connect to {target}: {os.strerror(number)} on every address ({details})")
            merged.__cause__ = errors[-1]
            return merged
    merged = OSError(f"cannot connect to {target}; every address failed: {details}")
    merged.__cause__ = errors[-1]
    return merged


async def create_connection_to(
    loop: EventLoop,
    protocol_factory: Callable[[], P],
    host: str,
    port: int | str,
    *,
    local_address: tuple[str, int] | None = None,
    socket_family: int = 0,
    socket_flags: int = 0,
    socket_protocol: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    server_host_name: str | None = None,
) -> P:
    """Open a TCP connection to `host`:`port` and give it a protocol.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the connection's protocol.
        host: A host name (resolved off the loop thread) or an IP literal.
        port: The port number or service name.
        local_address: A `(host, port)` to bind the socket to before connecting.
        socket_family: `AF_INET` or `AF_INET6` to restrict the lookup; 0 for both.
        socket_flags: `AI_*` flags for the lookup.
        socket_protocol: The protocol number for the lookup; 0 for any.
        ssl_context: Speak TLS with these settings (`ssl.create_default_context()` for the usual
            certificate checks).
        server_host_name: The name the server's certificate must match; `host` by default.

    Returns:
        The protocol, after its `connection_made` ran (with TLS: after the handshake).

    Raises:
        ConnectionRefusedError: If every address refused the connection.
        OSError: If connecting failed otherwise.
        socket.gaierror: If `host` does not resolve.
        ssl.SSLError: If the TLS handshake failed (`ssl.SSLCertVerificationError` for a certificate
            the context does not accept).
        ValueError: If `server_host_name` is given without `ssl_context`.
    """
    _check_tls(ssl_context, server_host_name)
    infos = await get_address_info(
        loop, host, port, family=socket_family, type=socket.SOCK_STREAM, protocol=socket_protocol, flags=socket_flags
    )
    local_infos: list[AddressInfo] | None = None
    if local_address is not None:
        local_infos = await get_address_info(
            loop,
            local_address[0],
            local_address[1],
            family=socket_family,
            type=socket.SOCK_STREAM,
            protocol=socket_protocol,
            flags=socket_flags,
        )
    errors: list[OSError] = []
    for info in infos:
        sock = open_socket(loop, info[0], info[1], info[2])
        try:
            sock.setblocking(False)
            if local_infos is not None and local_address is not None:
                _bind_local(sock, local_infos, local_address)
            await socket_connect(loop, sock, ip_address_of(info))
        except OSError as error:
            sock.close()
            errors.append(error)
            continue
        except BaseException:
            sock.close()
            raise
        name = host if server_host_name is None else server_host_name
        return await _open_stream(loop, sock, protocol_factory, ssl_context, name)
    raise connection_failure(f"{host!r} port {port!r}", errors)


async def _open_stream(
    loop: EventLoop,
    sock: socket.socket,
    protocol_factory: Callable[[], P],
    ssl_context: ssl.SSLContext | None,
    server_host_name: str | None,
) -> P:
    """Start the transport of a connected socket: plain, or TLS as the client when given a context."""
    if ssl_context is not None:
        return await start_tls_stream(loop, sock, protocol_factory, ssl_context, server_host_name)
    return start_stream(loop, sock, protocol_factory)


async def create_connection_with(
    loop: EventLoop,
    protocol_factory: Callable[[], P],
    sock: socket.socket,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_host_name: str | None = None,
) -> P:
    """Give an already connected stream socket (TCP or Unix) a protocol.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the connection's protocol.
        sock: A connected `SOCK_STREAM` socket; the transport owns it from now on.
        ssl_context: Speak TLS (as the client) with these settings.
        server_host_name: The name the server's certificate must match; required when the context
            checks host names.

    Returns:
        The protocol, after its `connection_made` ran (with TLS: after the handshake).

    Raises:
        ValueError: If `sock` is not a stream socket, or `server_host_name` is given without
            `ssl_context`, or the context checks host names and there is no `server_host_name`.
        ssl.SSLError: If the TLS handshake failed.
    """
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"a stream connection needs a SOCK_STREAM socket, got {sock!r}")
    _check_tls(ssl_context, server_host_name)
    sock.setblocking(False)
    return await _open_stream(loop, sock, protocol_factory, ssl_context, server_host_name)


async def create_unix_connection_to(
    loop: EventLoop,
    protocol_factory: Callable[[], P],
    path: str | bytes | os.PathLike[str],
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_host_name: str | None = None,
) -> P:
    """Connect to the Unix stream socket at `path` and give the connection a protocol.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the connection's protocol.
        path: The socket's file system path (bytes starting with a zero byte: an abstract address).
        ssl_context: Speak TLS (as the client) with these settings.
        server_host_name: The name the server's certificate must match; required when the context
            checks host names.

    Returns:
        The protocol, after its `connection_made` ran (with TLS: after the handshake).

    Raises:
        OSError: If connecting fails (`FileNotFoundError`, `ConnectionRefusedError`, ...).
        ssl.SSLError: If the TLS handshake failed.
        ValueError: If `server_host_name` is given without `ssl_context`.
    """
    _check_tls(ssl_context, server_host_name)
    address = path if isinstance(path, bytes) else os.fspath(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await socket_connect(loop, sock, address)
    except BaseException:
        sock.close()
        raise
    return await _open_stream(loop, sock, protocol_factory, ssl_context, server_host_name)


async def create_unix_connection_with(
    loop: EventLoop,
    protocol_factory: Callable[[], P],
    sock: socket.socket,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_host_name: str | None = None,
) -> P:
    """Give an already connected Unix stream socket a protocol.

    Args:
        loop: The loop the calling task runs on.
        protocol_factory: Builds the connection's protocol.
        sock: A connected `AF_UNIX` `SOCK_STREAM` socket; the transport owns it from now on.
        ssl_context: Speak TLS (as the client) with these settings.
        server_host_name: The name the server's certificate must match.

    Returns:
        The protocol, after its `connection_made` ran (with TLS: after the handshake).

    Raises:
        ValueError: If `sock` is not a Unix stream socket.
        ssl.SSLError: If the TLS handshake failed.
    """
    if sock.family != socket.AF_UNIX:
        raise ValueError(f"a unix connection needs an AF_UNIX socket, got {sock!r}")
    return await create_connection_with(
        loop, protocol_factory, sock, ssl_context=ssl_context, server_host_name=server_host_name
    )
