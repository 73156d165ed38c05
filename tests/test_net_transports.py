"""`SocketTransport` with plain callback protocols: echo, the transport API, flow control, errors.

Every test runs on the epoll and the poll backend over real TCP sockets on 127.0.0.1.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

import pytest
from _fixtures import Reports, loop, reports, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.futures import Future
from scarletio.net import (
    Server,
    SocketTransport,
    StreamProtocol,
    StreamTransport,
    create_connection_to,
    create_connection_with,
    create_server_to,
)
from scarletio.core.suspension import sleep


class Echo(StreamProtocol):
    """Writes back whatever arrives; closes when the peer does."""

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        self.transport.write(data)


class Recorder(StreamProtocol):
    """Records every callback; `lost` resolves with the exception `connection_lost` got."""

    def __init__(self, loop: EventThread, keep_open: bool = False) -> None:
        self.loop = loop
        self.keep_open = keep_open
        self.transport: StreamTransport | None = None
        self.received = bytearray()
        self.events: list[str] = []
        self.lost: Future[Exception | None] = loop.create_future()
        self.arrived: Future[None] = loop.create_future()
        self.expected = 0

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport
        self.events.append("made")

    def data_received(self, data: bytes, /) -> None:
        assert type(data) is bytes
        self.received += data
        if self.expected and len(self.received) >= self.expected:
            self.arrived.set_result_if_pending(None)

    def eof_received(self) -> bool | None:
        self.events.append("eof")
        return self.keep_open

    def connection_lost(self, exception: Exception | None, /) -> None:
        self.events.append("lost")
        self.lost.set_result(exception)

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    async def wait_for(self, count: int) -> bytes:
        self.expected = count
        if len(self.received) < count:
            await self.arrived
        self.arrived = self.loop.create_future()
        data = bytes(self.received[:count])
        del self.received[:count]
        return data

    def get_transport(self) -> StreamTransport:
        assert self.transport is not None
        return self.transport


async def serve(loop: EventThread, factory: Callable[[], StreamProtocol]) -> tuple[Server, int]:
    server = await create_server_to(loop, factory, "127.0.0.1", 0)
    await server.start()
    port: int = server.sockets[0].getsockname()[1]
    return server, port


async def shut(server: Server, *protocols: Recorder) -> None:
    for protocol in protocols:
        if protocol.transport is not None:
            protocol.transport.close()
        await protocol.lost
    server.close()
    await server.wait_closed()


def test_tcp_echo_with_a_callback_protocol(loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes, list[str]]:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        client.get_transport().write(b"hello")
        first = await client.wait_for(5)
        big = bytes(range(256)) * 1024
        client.get_transport().write(big)
        second = await client.wait_for(len(big))
        await shut(server, client)
        return first, second, client.events

    first, second, events = run(loop, main())
    assert first == b"hello"
    assert second == bytes(range(256)) * 1024
    assert events == ["made", "lost"]


def test_create_connection_to_returns_the_protocol_after_connection_made(loop: EventThread) -> None:
    async def main() -> tuple[bool, list[str], object, object]:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        transport = client.get_transport()
        info = (
            isinstance(transport, SocketTransport),
            list(client.events),
            transport.get_extra_info("peername"),
            transport.get_extra_info("missing", "default"),
        )
        sock = transport.get_extra_info("socket")
        assert isinstance(sock, socket.socket)
        assert transport.get_extra_info("sockname") == sock.getsockname()
        await shut(server, client)
        return info

    is_socket_transport, events, peer, default = run(loop, main())
    assert is_socket_transport
    assert events == ["made"]
    assert peer is not None and peer[1] > 0  # type: ignore[index]
    assert default == "default"


def test_reader_is_registered_once_and_reused_for_every_read(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        sock = client.get_transport().get_extra_info("socket")
        assert isinstance(sock, socket.socket)
        handle = loop._readers[sock.fileno()]
        for index in range(20):
            client.get_transport().write(b"%d" % index)
            await client.wait_for(len(b"%d" % index))
        same = loop._readers[sock.fileno()] is handle
        no_writer = sock.fileno() not in loop._writers  # every write went out directly
        await shut(server, client)
        return same, no_writer

    assert run(loop, main()) == (True, True)


def test_writelines_sends_every_chunk_in_order(loop: EventThread) -> None:
    async def main() -> bytes:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        client.get_transport().writelines([b"ab", bytearray(b"cd"), memoryview(b"ef"), b"", b"g"])
        data = await client.wait_for(7)
        await shut(server, client)
        return data

    assert run(loop, main()) == b"abcdefg"


def test_queued_writes_flush_in_order_and_a_reused_bytearray_is_not_corrupted(loop: EventThread) -> None:
    accepted: list[Recorder] = []

    def factory() -> Recorder:
        accepted.append(Recorder(loop))
        return accepted[-1]

    async def main() -> tuple[bool, bool, int, list[str]]:
        server, port = await serve(loop, factory)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        transport = client.get_transport()
        sock = transport.get_extra_info("socket")
        assert isinstance(sock, socket.socket)
        await sleep(0.001)
        peer = accepted[0]
        peer.get_transport().pause_reading()  # the kernel buffers fill up, then the transport queues
        scratch = bytearray(65536)
        expected = bytearray()
        for index in range(200):
            scratch[:] = struct.pack(">I", index) * 16384
            transport.write(scratch)  # the same buffer every time, overwritten right after
            expected += scratch
        queued = transport.get_write_buffer_size()
        writer_registered = sock.fileno() in loop._writers
        peer.get_transport().resume_reading()
        data = await peer.wait_for(len(expected))
        await shut(server, client, peer)
        return data == expected, writer_registered, queued, client.events

    intact, writer_registered, queued, events = run(loop, main())
    assert intact
    assert writer_registered
    assert queued > 64 * 1024
    assert events == ["made", "pause", "resume", "lost"]


def test_set_write_buffer_limits_validates_and_defaults(loop: EventThread) -> None:
    async def main() -> list[tuple[int, int]]:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        transport = client.get_transport()
        limits = [transport.get_write_buffer_limits()]
        transport.set_write_buffer_limits(high=1000)
        limits.append(transport.get_write_buffer_limits())
        transport.set_write_buffer_limits(low=10)
        limits.append(transport.get_write_buffer_limits())
        with pytest.raises(ValueError, match=r"^write buffer limits need 0 <= low <= high, got low=5, high=1$"):
            transport.set_write_buffer_limits(high=1, low=5)
        await shut(server, client)
        return limits

    assert run(loop, main()) == [(16384, 65536), (250, 1000), (10, 40)]


def test_pause_reading_stops_delivery_until_resume(loop: EventThread) -> None:
    async def main() -> tuple[bool, bytes, bool, bytes]:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        transport = client.get_transport()
        transport.pause_reading()
        paused = not transport.is_reading()
        transport.write(b"while paused")
        await sleep(0.01)
        held_back = bytes(client.received)
        transport.resume_reading()
        data = await client.wait_for(12)
        reading = transport.is_reading()
        await shut(server, client)
        return paused, held_back, reading, data

    assert run(loop, main()) == (True, b"", True, b"while paused")


def test_abort_drops_the_buffer_and_calls_connection_lost_with_none(loop: EventThread) -> None:
    async def main() -> tuple[object, int, bool, list[str]]:
        server, port = await serve(loop, lambda: Recorder(loop))
        client = await create_connection_to(loop, lambda: Recorder(loop), "127.0.0.1", port)
        transport = client.get_transport()
        sock = transport.get_extra_info("socket")
        assert isinstance(sock, socket.socket)
        transport.write(b"x" * (32 * 1024 * 1024))  # more than the kernel takes at once
        transport.abort()
        closing = transport.is_closing()
        exception = await client.lost
        server.close()
        await server.wait_closed()
        return exception, transport.get_write_buffer_size(), closing and sock.fileno() == -1, client.events

    exception, size, closed, events = run(loop, main())
    assert exception is None
    assert size == 0
    assert closed
    assert events[-1] == "lost" and events.count("lost") == 1


def test_peer_reset_reaches_connection_lost_as_connection_reset_error(loop: EventThread) -> None:
    accepted: list[Recorder] = []

    def factory() -> Recorder:
        accepted.append(Recorder(loop))
        return accepted[-1]

    async def main() -> Exception | None:
        server, port = await serve(loop, factory)
        raw = socket.socket()
        raw.connect(("127.0.0.1", port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await sleep(0.005)
        raw.close()  # linger 0: the kernel sends a reset instead of a FIN
        exception = await accepted[0].lost
        server.close()
        await server.wait_closed()
        return exception

    assert isinstance(run(loop, main()), ConnectionResetError)


def test_eof_received_returning_true_keeps_the_transport_open_for_writing(loop: EventThread) -> None:
    accepted: list[Recorder] = []

    def factory() -> Recorder:
        accepted.append(Recorder(loop, keep_open=True))
        return accepted[-1]

    async def main() -> tuple[list[str], bytes]:
        server, port = await serve(loop, factory)
        client = await create_connection_to(loop, lambda: Recorder(loop, keep_open=True), "127.0.0.1", port)
        client.get_transport().write_eof()
        await sleep(0.005)
        server_side = accepted[0]
        server_side.get_transport().write(b"after eof")
        data = await client.wait_for(9)
        server_side.get_transport().close()
        await server_side.lost
        await client.lost  # both directions are finished now: the client closed itself
        server.close()
        await server.wait_closed()
        return server_side.events, data

    events, data = run(loop, main())
    assert events == ["made", "eof", "lost"]
    assert data == b"after eof"


def test_an_exception_in_data_received_is_reported_and_aborts_the_connection(
    loop: EventThread, reports: Reports
) -> None:
    class Faulty(Recorder):
        def data_received(self, data: bytes, /) -> None:
            raise ValueError("bad input")

    async def main() -> Exception | None:
        server, port = await serve(loop, Echo)
        client = await create_connection_to(loop, lambda: Faulty(loop), "127.0.0.1", port)
        client.get_transport().write(b"boom")
        exception = await client.lost
        server.close()
        await server.wait_closed()
        return exception

    exception = run(loop, main())
    assert isinstance(exception, ValueError)
    assert [message for message, _ in reports] == ["exception in Faulty.data_received; the connection is aborted"]


def test_create_connection_with_an_already_connected_socket(loop: EventThread) -> None:
    async def main() -> bytes:
        server, port = await serve(loop, Echo)
        sock = socket.create_connection(("127.0.0.1", port))
        client = await create_connection_with(loop, lambda: Recorder(loop), sock)
        client.get_transport().write(b"wrapped")
        data = await client.wait_for(7)
        await shut(server, client)
        return data

    assert run(loop, main()) == b"wrapped"


def test_create_connection_with_refuses_a_datagram_socket(loop: EventThread) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        with pytest.raises(ValueError, match=r"^a stream connection needs a SOCK_STREAM socket, got "):
            run(loop, create_connection_with(loop, lambda: Recorder(loop), sock))
