"""Networking benchmark cases: TCP echo over 127.0.0.1 on every runtime, and a bare epoll ceiling.

Each case runs an echo server and its clients on one loop: `ROUND_TRIPS` request / reply round trips
in all, spread over 1 or 50 concurrent clients, with 64-byte or 16-KiB messages, once with the
callback-protocol API on both sides and once with the stream API on both sides (asyncio:
`start_server` / `open_connection` streams). Servers listen on port 0; every connection and server is
closed before a run ends. The stream cases run on trio too (its `SocketStream`), and every echo case
has a ceiling: the same round trips over a bare epoll loop in plain Python, no framework at all.

Why this shape, and what bounds the ratio
-----------------------------------------

Request / reply over loopback is bound by the kernel: on the reference machine one 64-byte
`send` + `recv` pair costs about 8 us of system time, so a round trip (two of each) costs 16 us before
any Python runs. A hand-written epoll echo loop (`recv_into` a reusable buffer, `send`, nothing else)
runs this very workload only 1.2-1.35x faster than asyncio; that is the ceiling for any library here.
Other shapes were measured (2 vCPUs, Python 3.11) with the same result once the baseline is
fair: a load generator in a separate process (throughput, server CPU time, or server user time),
asyncio streams as the baseline, 16 pipelined messages per client, 16-KiB messages split over reads.
The bare loop stays within 1.0-1.3x of asyncio in wall and CPU time; only user-mode CPU time alone
shows 1.3-3.7x, and that is not what a user waits for.

The one shape where a bare loop looks 4-5x faster than asyncio is a fresh server process: asyncio
reads with `sock.recv(256 KiB)`, and until something in the process has freed a block larger than
glibc's initial 128-KiB mmap threshold, each of those reads maps, faults in (two page faults) and
unmaps a fresh block -- a malloc heuristic, not a property of the loop design (see the note on
`_ALLOCATOR_HINT_SIZE` in `scarletio/net/_flow.py`). `settle_allocator` below puts both libraries in
the same, steady allocator state before every run, so the ratio does not depend on which case or
repeat happens to run first.
"""

from __future__ import annotations

import asyncio
import functools
import select
import socket
from collections.abc import Callable, Coroutine
from typing import Any, cast

from scarletio import EventThread
from scarletio.core.futures import Future
from benchmarks.workload import Workload
from scarletio.net import (
    ReadWriteProtocolBase,
    StreamProtocol,
    StreamTransport,
    Transport,
    create_connection_to,
    create_server_to,
)

ROUND_TRIPS = 5_000
CLIENT_COUNTS = (1, 50)
MESSAGE_SIZES = (64, 16 * 1024)


# ---- callback protocols ------------------------------------------------------------------------------


class _AsyncioEcho(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not subclasses of asyncio.Transport, so no isinstance check.)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _AsyncioClient(asyncio.Protocol):
    def __init__(self, message: bytes, rounds: int, done: asyncio.Future[None]) -> None:
        self.message = message
        self.size = len(message)
        self.rounds = rounds
        self.received = 0
        self.done = done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not subclasses of asyncio.Transport, so no isinstance check.)
        self.transport = cast(asyncio.Transport, transport)
        transport.write(self.message)

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.received >= self.size:
            self.received -= self.size
            self.rounds -= 1
            if self.rounds:
                self.transport.write(self.message)
            else:
                self.done.set_result(None)


async def _protocol_echo_asyncio(clients: int, size: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_AsyncioEcho, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    message = b"x" * size
    dones: list[asyncio.Future[None]] = []
    transports: list[asyncio.BaseTransport] = []
    for _ in range(clients):
        done: asyncio.Future[None] = loop.create_future()
        dones.append(done)
        client = functools.partial(_AsyncioClient, message, ROUND_TRIPS // clients, done)
        transport, _ = await loop.create_connection(client, "127.0.0.1", port)
        transports.append(transport)
    for done in dones:
        await done
    for connection in transports:
        connection.close()
    server.close()
    await server.wait_closed()


class _ScarletioEcho(StreamProtocol):
    __slots__ = ("transport",)

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        self.transport.write(data)


class _ScarletioClient(StreamProtocol):
    __slots__ = ("done", "message", "received", "rounds", "size", "transport")

    def __init__(self, message: bytes, rounds: int, done: Future[None]) -> None:
        self.message = message
        self.size = len(message)
        self.rounds = rounds
        self.received = 0
        self.done = done

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport
        transport.write(self.message)

    def data_received(self, data: bytes, /) -> None:
        self.received += len(data)
        if self.received >= self.size:
            self.received -= self.size
            self.rounds -= 1
            if self.rounds:
                self.transport.write(self.message)
            else:
                self.done.set_result(None)


async def _protocol_echo_scarletio(loop: EventThread, clients: int, size: int) -> None:
    server = await create_server_to(loop, _ScarletioEcho, "127.0.0.1", 0)
    await server.start()
    port = server.sockets[0].getsockname()[1]
    message = b"x" * size
    dones: list[Future[None]] = []
    protocols: list[_ScarletioClient] = []
    for _ in range(clients):
        done: Future[None] = loop.create_future()
        dones.append(done)
        client = functools.partial(_ScarletioClient, message, ROUND_TRIPS // clients, done)
        protocols.append(await create_connection_to(loop, client, "127.0.0.1", port))
    for done in dones:
        await done
    for protocol in protocols:
        protocol.transport.close()
    server.close()
    await server.wait_closed()


# ---- streams -------------------------------------------------------------------------------------------


async def _asyncio_stream_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _stream_client_asyncio(port: int, message: bytes, rounds: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    size = len(message)
    for _ in range(rounds):
        writer.write(message)
        await writer.drain()
        await reader.readexactly(size)
    writer.close()
    await writer.wait_closed()


async def _stream_echo_asyncio(clients: int, size: int) -> None:
    server = await asyncio.start_server(_asyncio_stream_handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    message = b"x" * size
    await asyncio.gather(*(_stream_client_asyncio(port, message, ROUND_TRIPS // clients) for _ in range(clients)))
    server.close()
    await server.wait_closed()


class _StreamEchoHandler(ReadWriteProtocolBase):
    __slots__ = ()

    def connection_made(self, transport: Transport, /) -> None:
        ReadWriteProtocolBase.connection_made(self, transport)
        self._loop.create_task(self.serve())

    async def serve(self) -> None:
        while data := await self.read_once():
            self.write(data)
            await self.drain()
        self.close_transport()


async def _stream_client_scarletio(loop: EventThread, port: int, message: bytes, rounds: int) -> None:
    client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
    size = len(message)
    for _ in range(rounds):
        client.write(message)
        await client.drain()
        await client.read_exactly(size)
    client.close_transport()


async def _stream_echo_scarletio(loop: EventThread, clients: int, size: int) -> None:
    server = await create_server_to(loop, lambda: _StreamEchoHandler(loop), "127.0.0.1", 0)
    await server.start()
    port = server.sockets[0].getsockname()[1]
    message = b"x" * size
    tasks = [
        loop.create_task(_stream_client_scarletio(loop, port, message, ROUND_TRIPS // clients)) for _ in range(clients)
    ]
    for task in tasks:
        await task
    server.close()
    await server.wait_closed()


# ---- trio streams --------------------------------------------------------------------------------------


async def _stream_echo_trio(clients: int, size: int) -> None:
    import trio

    async def handler(stream: trio.SocketStream) -> None:
        while data := await stream.receive_some(65536):
            await stream.send_all(data)
        await stream.aclose()

    async def client(port: int, message: bytes, rounds: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        size = len(message)
        for _ in range(rounds):
            await stream.send_all(message)
            received = 0
            while received < size:
                received += len(await stream.receive_some(size - received))
        await stream.aclose()

    message = b"x" * size
    async with trio.open_nursery() as servers:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        servers.start_soon(trio.serve_listeners, handler, listeners)
        async with trio.open_nursery() as nursery:
            for _ in range(clients):
                nursery.start_soon(client, port, message, ROUND_TRIPS // clients)
        servers.cancel_scope.cancel()


# ---- the ceiling: a bare epoll echo, no framework -------------------------------------------------------


def _echo_ceiling(clients: int, size: int) -> None:
    """The same round trips on one thread: epoll, `recv_into` a reused buffer, `send`, nothing else."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    poller = select.epoll()
    message = b"x" * size
    rounds = ROUND_TRIPS // clients
    buffer = bytearray(256 * 1024)
    view = memoryview(buffer)
    servers: dict[int, socket.socket] = {}
    # client fd -> [socket, rounds left, bytes of the current reply received]
    peers: dict[int, list[Any]] = {}
    try:
        for _ in range(clients):
            sock = socket.create_connection(("127.0.0.1", port))
            accepted, _ = listener.accept()
            for each in (sock, accepted):
                each.setblocking(False)
                each.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                poller.register(each.fileno(), select.EPOLLIN)
            servers[accepted.fileno()] = accepted
            peers[sock.fileno()] = [sock, rounds, 0]
        for sock, _, _ in peers.values():
            sock.send(message)
        unfinished = clients
        poll = poller.poll
        while unfinished:
            for fd, _ in poll():
                server = servers.get(fd)
                if server is not None:
                    count = server.recv_into(buffer)
                    if server.send(view[:count]) != count:
                        raise RuntimeError("the ceiling echo expects loopback to take a whole reply")
                    continue
                state = peers[fd]
                state[2] += state[0].recv_into(buffer)
                if state[2] >= size:
                    state[2] -= size
                    state[1] -= 1
                    if state[1]:
                        state[0].send(message)
                    else:
                        unfinished -= 1
    finally:
        for sock, _, _ in peers.values():
            sock.close()
        for server in servers.values():
            server.close()
        poller.close()
        listener.close()


# ---- the workloads ---------------------------------------------------------------------------------------

_ALLOCATOR_SETTLING_SIZE = 1 << 20


def settle_allocator() -> None:
    """Raise glibc's dynamic mmap threshold once, so large short-lived reads stop mapping fresh pages.

    Freeing a block above the threshold raises it (mallopt(3)); the threshold is process-wide, so this
    serves every runtime alike, whatever thread it reads on. Other allocators ignore it.
    """
    block = bytes(_ALLOCATOR_SETTLING_SIZE)
    del block


def _on_asyncio(function: Callable[[int, int], Coroutine[Any, Any, None]], clients: int, size: int) -> Callable[[], None]:
    def run() -> None:
        settle_allocator()
        asyncio.run(function(clients, size))

    return run


def _on_trio(function: Callable[[int, int], Coroutine[Any, Any, None]], clients: int, size: int) -> Callable[[], None]:
    def run() -> None:
        import trio

        settle_allocator()
        trio.run(function, clients, size)

    return run


def _on_ceiling(clients: int, size: int) -> Callable[[], None]:
    def run() -> None:
        settle_allocator()
        _echo_ceiling(clients, size)

    return run


def _on_scarletio(
    function: Callable[[EventThread, int, int], Coroutine[Any, Any, None]], clients: int, size: int
) -> Callable[[EventThread], None]:
    def run(loop: EventThread) -> None:
        settle_allocator()
        loop.run(function(loop, clients, size))

    return run


def _size_name(size: int) -> str:
    return f"{size // 1024}KiB" if size >= 1024 else f"{size}B"


WORKLOADS: list[Workload] = []
for _clients in CLIENT_COUNTS:
    for _size in MESSAGE_SIZES:
        WORKLOADS.append(
            Workload(
                f"protocol echo {_clients:>2}c x {_size_name(_size)}",
                asyncio=_on_asyncio(_protocol_echo_asyncio, _clients, _size),
                scarletio=_on_scarletio(_protocol_echo_scarletio, _clients, _size),
                ceiling=_on_ceiling(_clients, _size),
            )
        )
for _clients in CLIENT_COUNTS:
    for _size in MESSAGE_SIZES:
        WORKLOADS.append(
            Workload(
                f"stream echo {_clients:>2}c x {_size_name(_size)}",
                asyncio=_on_asyncio(_stream_echo_asyncio, _clients, _size),
                scarletio=_on_scarletio(_stream_echo_scarletio, _clients, _size),
                trio=_on_trio(_stream_echo_trio, _clients, _size),
                ceiling=_on_ceiling(_clients, _size),
            )
        )
