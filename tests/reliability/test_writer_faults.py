"""Reliability: a writer whose peer goes away mid-stream, over plain TCP and TLS, on epoll and poll.

The writer is the loop every stream user writes, `while True: write(chunk); await drain()`, with 1 KiB
chunks. The peer reads for a while, then resets the connection or closes it. It is either a plain
blocking socket in a thread of its own, which keeps up with the writer (so the writer is never paused
and meets the fault in `write()` itself), or a server on the writer's own loop (which reads only while
the writer waits in `drain()`, so the fault comes while the writer is paused). The writer must get the connection's error from `drain()` (`ConnectionResetError`,
`BrokenPipeError`, ...) and, all along, the loop must keep turning: a ticker task on the same loop
still advances. Before the fix `drain()` returned at once on a dead transport, the queued
`connection_lost` never ran and the writer spun forever.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Iterator

import pytest
from _fixtures import certificate, client_context, loop, server_context  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.futures import Future
from scarletio.core.suspension import sleep
from scarletio.net import ReadWriteProtocolBase, Server, StreamProtocol, StreamTransport, create_connection_to, create_server_to
from scarletio.net.virtual import VirtualNetwork

CHUNK = b"x" * 1024
READ_BEFORE_FAULT = 64 * 1024
"""Bytes the peer reads before it resets or closes: the fault comes mid-stream."""

WRITES_AT_MOST = 1_000_000
"""A writer still writing after this many chunks has not noticed the dead peer (1 GiB)."""


class FaultyPeer(StreamProtocol):
    """A server-side protocol that reads `READ_BEFORE_FAULT` bytes, then resets or closes."""

    __slots__ = ("fault", "faulted", "received", "transport")

    def __init__(self, loop: EventThread, fault: str) -> None:
        self.fault = fault
        self.faulted: Future[None] = Future(loop)
        self.received = 0
        self.transport: StreamTransport | None = None

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        self.received += len(data)
        transport = self.transport
        if self.received < READ_BEFORE_FAULT or transport is None or self.faulted.is_done():
            return
        if self.fault == "reset":
            raw = transport.get_extra_info("socket")
            assert isinstance(raw, socket.socket)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
            transport.abort()
        else:
            transport.close()
        self.faulted.set_result(None)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        return None


def serve_in_a_thread(listener: socket.socket, fault: str, context: ssl.SSLContext | None) -> threading.Thread:
    """Accept one connection on a thread of its own, read `READ_BEFORE_FAULT` bytes, then reset or close."""

    def body() -> None:
        connection, _ = listener.accept()
        connection.settimeout(10)
        try:
            if context is not None:
                connection = context.wrap_socket(connection, server_side=True)
            received = 0
            while received < READ_BEFORE_FAULT:
                data = connection.recv(65536)
                if not data:
                    break
                received += len(data)
            if fault == "reset":
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            connection.close()

    thread = threading.Thread(target=body, name="faulty peer", daemon=True)
    thread.start()
    return thread


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


async def write_until_the_peer_is_gone(
    loop: EventThread,
    peer: str,
    fault: str,
    server_ssl: ssl.SSLContext | None,
    client_ssl: ssl.SSLContext | None,
    listener: socket.socket,
) -> tuple[BaseException, int]:
    """Write to a faulty peer until `drain()` raises; return the error and the chunks written."""
    peers: list[FaultyPeer] = []

    def factory() -> FaultyPeer:
        peers.append(FaultyPeer(loop, fault))
        return peers[-1]

    thread: threading.Thread | None = None
    server: Server | None = None
    if peer == "thread":
        thread = serve_in_a_thread(listener, fault, server_ssl)
        port = listener.getsockname()[1]
    else:
        server = await create_server_to(loop, factory, "127.0.0.1", 0, ssl_context=server_ssl)
        await server.start()
        port = server.sockets[0].getsockname()[1]
    client = await create_connection_to(
        loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port,
        ssl_context=client_ssl, server_host_name="localhost" if client_ssl is not None else None,
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await sleep(0.001)
            ticks += 1

    ticker = loop.create_task(tick())
    writes = 0
    error: BaseException | None = None
    try:
        while writes < WRITES_AT_MOST:
            client.write(CHUNK)
            await client.drain()
            writes += 1
    except ConnectionError as raised:
        error = raised
    # The loop is healthy afterwards: the ticker goes on, and drain keeps raising (and yielding).
    before = ticks
    while ticks < before + 3:
        with pytest.raises(ConnectionError):
            await client.drain()
        await sleep(0.001)
    ticker.cancel()
    if thread is not None:
        await loop.run_in_executor(thread.join, 10)
    if server is not None:
        server.close()
        await server.wait_closed()
        assert peers and peers[0].faulted.is_done()
    assert error is not None, f"the writer wrote {writes} chunks to a dead peer without an error"
    return error, writes


@pytest.mark.parametrize("peer", ["thread", "loop"])
@pytest.mark.parametrize("fault", ["reset", "close"])
def test_a_plain_writer_gets_the_connection_error_when_the_peer_goes_away(
    loop: EventThread, listener: socket.socket, fault: str, peer: str
) -> None:
    error, writes = loop.run(write_until_the_peer_is_gone(loop, peer, fault, None, None, listener), timeout=30)
    assert isinstance(error, (ConnectionResetError, BrokenPipeError))
    assert writes * len(CHUNK) >= READ_BEFORE_FAULT


@pytest.mark.parametrize("peer", ["thread", "loop"])
@pytest.mark.parametrize("fault", ["reset", "close"])
def test_a_tls_writer_gets_the_connection_error_when_the_peer_goes_away(
    loop: EventThread,
    listener: socket.socket,
    fault: str,
    peer: str,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
) -> None:
    error, writes = loop.run(
        write_until_the_peer_is_gone(loop, peer, fault, server_context, client_context, listener), timeout=30
    )
    assert isinstance(error, ConnectionError)
    assert writes * len(CHUNK) >= READ_BEFORE_FAULT


def test_drain_on_a_transport_whose_write_failed_lets_the_loop_turn_before_raising(loop: EventThread) -> None:
    async def main() -> tuple[list[str], BaseException | None]:
        events: list[str] = []
        listener = socket.create_server(("127.0.0.1", 0))
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", listener.getsockname()[1]
        )
        peer, _ = listener.accept()
        listener.close()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        await sleep(0.05)  # the reset reaches the client's kernel
        loop.call_soon(events.append, "other work ran")
        raised: BaseException | None = None
        try:
            for _ in range(1000):
                client.write(CHUNK)  # the first write meets the reset; the rest are dropped
                await client.drain()
        except ConnectionError as error:
            raised = error
        events.append("drain raised")
        return events, raised

    events, raised = loop.run(main(), timeout=10)
    assert events == ["other work ran", "drain raised"]
    assert isinstance(raised, (ConnectionResetError, BrokenPipeError))


# ---- on the virtual network ------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["reset", "close"])
async def test_a_writer_on_the_virtual_network_gets_the_error_when_the_peer_goes_away(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork, fault: str
) -> None:
    peers: list[FaultyPeer] = []

    def factory() -> FaultyPeer:
        peers.append(FaultyPeer(scarletio_loop, "never"))  # the test makes the fault itself
        return peers[-1]

    with scarletio_network.add_host("server").use():
        server = await create_server_to(scarletio_loop, factory, None, 7000)
        await server.start()
    with scarletio_network.add_host("client").use():
        client = await create_connection_to(scarletio_loop, lambda: ReadWriteProtocolBase(scarletio_loop), "server", 7000)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await sleep(0.001)
            ticks += 1

    ticker = scarletio_loop.create_task(tick())
    error: BaseException | None = None
    writes = 0
    try:
        while writes < WRITES_AT_MOST:
            client.write(CHUNK)
            await client.drain()
            writes += 1
            if writes == 8:  # mid-stream, while the writer is not paused
                if fault == "reset":
                    scarletio_network.reset_connections("server")
                else:
                    transport = peers[0].transport
                    assert transport is not None
                    transport.close()  # with unread data: the peer's kernel answers with a reset
    except ConnectionError as raised:
        error = raised
    assert isinstance(error, ConnectionResetError), f"{writes} chunks written to a dead peer, then {error!r}"
    before = ticks
    while ticks < before + 3:
        with pytest.raises(ConnectionResetError):
            await client.drain()
        await sleep(0.001)
    ticker.cancel()
    server.close()
