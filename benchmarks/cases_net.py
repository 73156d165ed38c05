"""Networking benchmark cases: TCP echo over 127.0.0.1, scarletio against asyncio in the same process.

Each case runs an echo server and its clients on one loop: `ROUND_TRIPS` request / reply round trips
in all, spread over 1 or 50 concurrent clients, with 64-byte or 16-KiB messages, once with the
callback-protocol API on both sides and once with the stream API on both sides (asyncio:
`start_server` / `open_connection` streams). Servers listen on port 0; every connection and server is
closed before a run ends. Every case is `(name, target ratio, asyncio runner, scarletio runner)`.

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
from collections.abc import Callable, Coroutine
from typing import Any

from scarletio import EventThread
from scarletio.core.futures import Future
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
PROTOCOL_TARGET = 3.5
STREAM_TARGET = 2.9


# ---- callback protocols ------------------------------------------------------------------------------


class _AsyncioEcho(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

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
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
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


# ---- the cases -----------------------------------------------------------------------------------------

_ALLOCATOR_SETTLING_SIZE = 1 << 20


def settle_allocator() -> None:
    """Raise glibc's dynamic mmap threshold once, so large short-lived reads stop mapping fresh pages.

    Freeing a block above the threshold raises it (mallopt(3)); the threshold is process-wide, so this
    serves asyncio (main thread) and scarletio (loop thread) alike. Other allocators ignore it.
    """
    block = bytes(_ALLOCATOR_SETTLING_SIZE)
    del block


def _on_asyncio(function: Callable[[int, int], Coroutine[Any, Any, None]], clients: int, size: int) -> Callable[[], None]:
    def run() -> None:
        settle_allocator()
        asyncio.run(function(clients, size))

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


CASES: list[tuple[str, float, Callable[[], None], Callable[[EventThread], None]]] = []
for _clients in CLIENT_COUNTS:
    for _size in MESSAGE_SIZES:
        CASES.append(
            (
                f"protocol echo {_clients:>2}c x {_size_name(_size)}",
                PROTOCOL_TARGET,
                _on_asyncio(_protocol_echo_asyncio, _clients, _size),
                _on_scarletio(_protocol_echo_scarletio, _clients, _size),
            )
        )
for _clients in CLIENT_COUNTS:
    for _size in MESSAGE_SIZES:
        CASES.append(
            (
                f"stream echo {_clients:>2}c x {_size_name(_size)}",
                STREAM_TARGET,
                _on_asyncio(_stream_echo_asyncio, _clients, _size),
                _on_scarletio(_stream_echo_scarletio, _clients, _size),
            )
        )
