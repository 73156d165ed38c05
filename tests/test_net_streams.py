"""`scarletio.net.stream_reading` / `stream_writing`: reading with `await` (`read`, `read_exactly`, `read_until`, `read_line`, ...),
writing with back-pressure (`drain`), and stream connections over TCP and Unix sockets.

The buffer tests feed a protocol directly (no socket), so chunk boundaries are exact; the connection
tests run over real sockets on the epoll and the poll backend.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
from _fixtures import loop, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.net import (
    IncompleteRead,
    ReadProtocolBase,
    ReadWriteProtocolBase,
    Server,
    Transport,
    WriteTransport,
    create_connection_to,
    create_server_to,
    create_unix_connection_to,
    create_unix_server_to,
)
from scarletio.net.stream_reading import READ_HIGH_WATER
from scarletio.core.suspension import skip_ready_cycle, sleep
from scarletio.core.tasks import Task

# ---- the read buffer, fed by hand ----------------------------------------------------------------


def test_read_line_returns_lines_with_their_newline_and_the_rest_at_eof(loop: EventThread) -> None:
    async def main() -> list[bytes]:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"first\nsec")
        protocol.data_received(b"ond\n\nlast")
        protocol.eof_received()
        return [await protocol.read_line() for _ in range(5)]

    assert run(loop, main()) == [b"first\n", b"second\n", b"\n", b"last", b""]


def test_read_line_waits_for_the_newline(loop: EventThread) -> None:
    async def main() -> bytes:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"par")
        loop.call_after(0.005, protocol.data_received, b"tial")
        loop.call_after(0.01, protocol.data_received, b" line\nnext")
        return await protocol.read_line()

    assert run(loop, main()) == b"partial line\n"


def test_read_until_consumes_a_boundary_that_straddles_chunks(loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes]:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"head\r")
        protocol.data_received(b"\nbody\r\n")
        return await protocol.read_until(b"\r\n"), await protocol.read_until(b"\r\n")

    assert run(loop, main()) == (b"head", b"body")


def test_read_until_raises_incomplete_read_with_the_rest_at_eof(loop: EventThread) -> None:
    async def main() -> IncompleteRead:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"no boundary")
        protocol.eof_received()
        with pytest.raises(IncompleteRead) as caught:
            await protocol.read_until(b"\r\n")
        return caught.value

    error = run(loop, main())
    assert error.partial == b"no boundary"
    assert error.expected is None
    assert str(error) == (
        "the stream ended after 11 bytes without the boundary b'\\r\\n'; the bytes are in .partial"
    )


def test_read_exactly_collects_bytes_across_chunks(loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes, int]:
        protocol = ReadProtocolBase(loop)
        for piece in (b"ab", b"cde", b"fghij"):
            loop.call_soon(protocol.data_received, piece)
        first = await protocol.read_exactly(4)
        second = await protocol.read_exactly(5)
        return first, second, protocol.get_size()

    assert run(loop, main()) == (b"abcd", b"efghi", 1)


def test_read_exactly_raises_incomplete_read_when_the_stream_ends_early(loop: EventThread) -> None:
    async def main() -> IncompleteRead:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"abc")
        loop.call_after(0.005, protocol.eof_received)
        with pytest.raises(IncompleteRead) as caught:
            await protocol.read_exactly(10)
        assert protocol.is_at_eof()
        return caught.value

    error = run(loop, main())
    assert isinstance(error, EOFError)
    assert (error.partial, error.expected) == (b"abc", 10)
    assert str(error) == "the stream ended after 3 of 10 bytes; the bytes are in .partial"


def test_read_once_and_read_at_eof_return_a_chunk_as_it_arrived_without_copying(loop: EventThread) -> None:
    chunk = b"x" * 1000

    async def main() -> tuple[bool, bool]:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(chunk)
        once = (await protocol.read_once()) is chunk
        protocol.data_received(chunk)
        protocol.eof_received()
        return once, (await protocol.read(4096)) is chunk

    assert run(loop, main()) == (True, True)


def test_read_with_a_negative_count_reads_until_eof(loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes, bool]:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"a")
        loop.call_after(0.002, protocol.data_received, b"b")
        loop.call_after(0.004, protocol.eof_received)
        everything = await protocol.read()
        return everything, await protocol.read(), protocol.is_at_eof()

    assert run(loop, main()) == (b"ab", b"", True)


def test_read_once_returns_one_received_chunk_at_a_time(loop: EventThread) -> None:
    async def main() -> tuple[bytes, bytes, bytes]:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"one")
        protocol.data_received(b"two")
        first = await protocol.read_once()
        protocol.eof_received()
        return first, await protocol.read_once(), await protocol.read_once()

    assert run(loop, main()) == (b"one", b"two", b"")


def test_buffered_data_is_read_before_the_connection_error_is_raised(loop: EventThread) -> None:
    async def main() -> bytes:
        protocol = ReadProtocolBase(loop)
        protocol.data_received(b"last words")
        protocol.connection_lost(ConnectionResetError("reset by peer"))
        data = await protocol.read_exactly(10)
        with pytest.raises(ConnectionResetError, match=r"^reset by peer$"):
            await protocol.read(1)
        return data

    assert run(loop, main()) == b"last words"


def test_set_exception_wakes_the_waiting_reader(loop: EventThread) -> None:
    async def main() -> None:
        protocol = ReadProtocolBase(loop)
        loop.call_after(0.005, protocol.set_exception, ValueError("stop"))
        with pytest.raises(ValueError, match=r"^stop$"):
            await protocol.read_line()

    run(loop, main())


def test_two_tasks_reading_at_once_are_refused(loop: EventThread) -> None:
    async def main() -> bytes:
        protocol = ReadProtocolBase(loop)
        first = loop.create_task(protocol.read_exactly(2))
        await skip_ready_cycle()
        with pytest.raises(RuntimeError, match=r"^another task is already reading from this protocol; read from one task at a time$"):
            await protocol.read(1)
        protocol.data_received(b"ok")
        return await first

    assert run(loop, main()) == b"ok"


def test_data_wakes_the_reader_only_once_it_has_enough(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        protocol = ReadProtocolBase(loop)
        reader = loop.create_task(protocol.read_exactly(6))
        await skip_ready_cycle()
        protocol.data_received(b"abc")
        waited = reader.get_waited_future()
        assert waited is not None
        woken_early = waited.is_done()
        protocol.data_received(b"def")
        woken_now = waited.is_done()
        await reader
        return woken_early, woken_now

    assert run(loop, main()) == (False, True)


def test_a_cancelled_read_leaves_no_waiter_behind(loop: EventThread) -> None:
    async def main() -> tuple[bool, bytes]:
        protocol = ReadProtocolBase(loop)
        reader = loop.create_task(protocol.read_exactly(100))
        await skip_ready_cycle()
        reader.cancel()
        await skip_ready_cycle()
        protocol.data_received(b"fresh")
        return reader.is_cancelled(), await protocol.read_exactly(5)

    assert run(loop, main()) == (True, b"fresh")


def test_unread_data_beyond_the_high_water_mark_pauses_reading_after_a_cancelled_read(loop: EventThread) -> None:
    class Transport:
        paused = False

        def pause_reading(self) -> None:
            self.paused = True

        def resume_reading(self) -> None:
            self.paused = False

        def is_reading(self) -> bool:
            return not self.paused

        def is_closing(self) -> bool:
            return False

        def get_extra_info(self, name: str, default: object = None) -> object:
            return default

        def close(self) -> None:
            return None

        def abort(self) -> None:
            return None

    async def main() -> tuple[bool, bool, bool]:
        transport = Transport()
        protocol = ReadProtocolBase(loop)
        protocol.connection_made(transport)
        reader = loop.create_task(protocol.read())  # wants everything until EOF: no pausing for it
        await skip_ready_cycle()
        protocol.data_received(b"x" * (READ_HIGH_WATER + 1))
        paused_for_reader = transport.paused
        reader.cancel()
        await skip_ready_cycle()
        protocol.data_received(b"x")  # nobody needs it all any more
        paused_after = transport.paused
        await protocol.read_exactly(READ_HIGH_WATER)
        return paused_for_reader, paused_after, transport.paused

    assert run(loop, main()) == (False, True, False)


def test_read_exactly_refuses_a_negative_count(loop: EventThread) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match=r"^read_exactly needs a byte count >= 0, got -1$"):
            await ReadProtocolBase(loop).read_exactly(-1)

    run(loop, main())


def test_writing_before_the_connection_is_made_is_refused(loop: EventThread) -> None:
    with pytest.raises(RuntimeError, match=r"^the protocol has no writable transport; write once the connection is made$"):
        ReadWriteProtocolBase(loop).write(b"x")


# ---- stream connections ----------------------------------------------------------------------------


class EchoHandler(ReadWriteProtocolBase):
    """A server-side stream protocol that echoes lines until EOF, from a task of its own."""

    __slots__ = ("task",)

    def __init__(self, loop: EventThread) -> None:
        ReadWriteProtocolBase.__init__(self, loop)
        self.task: Task[None] | None = None

    def connection_made(self, transport: Transport, /) -> None:
        ReadWriteProtocolBase.connection_made(self, transport)
        self.task = self._loop.create_task(self.serve())

    async def serve(self) -> None:
        while line := await self.read_line():
            self.write(b"echo: " + line)
            await self.drain()
        self.close_transport()


async def echo_server(loop: EventThread) -> tuple[Server, int]:
    server = await create_server_to(loop, lambda: EchoHandler(loop), "127.0.0.1", 0)
    await server.start()
    port: int = server.sockets[0].getsockname()[1]
    return server, port


def test_tcp_echo_with_the_stream_api_on_both_sides(loop: EventThread) -> None:
    async def main() -> tuple[list[bytes], bytes, int]:
        server, port = await echo_server(loop)
        client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        replies = []
        for word in (b"alpha", b"beta", b"gamma" * 5000):
            client.write(word + b"\n")
            await client.drain()
            replies.append(await client.read_line())
        client.write_eof()
        rest = await client.read()
        server.close()
        await server.wait_closed()
        return replies, rest, server.active_count

    replies, rest, active = run(loop, main())
    assert replies == [b"echo: alpha\n", b"echo: beta\n", b"echo: " + b"gamma" * 5000 + b"\n"]
    assert rest == b""
    assert active == 0


def test_half_close_server_sees_eof_and_still_replies(loop: EventThread) -> None:
    class Collector(ReadWriteProtocolBase):
        __slots__ = ()

        def connection_made(self, transport: Transport, /) -> None:
            ReadWriteProtocolBase.connection_made(self, transport)
            self._loop.create_task(self.answer())

        def eof_received(self) -> bool:
            ReadWriteProtocolBase.eof_received(self)
            return True  # keep the transport open: the answer goes out after the client's EOF

        async def answer(self) -> None:
            request = await self.read()  # until the client's EOF
            self.write(b"got " + request)
            self.close_transport()

    async def main() -> tuple[bytes, bool]:
        server = await create_server_to(loop, lambda: Collector(loop), "127.0.0.1", 0)
        await server.start()
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        client.write(b"request")
        assert client.can_write_eof()
        client.write_eof()
        reply = await client.read()
        server.close()
        await server.wait_closed()
        transport = client.get_transport()
        assert transport is not None
        await sleep(0.001)
        return reply, transport.is_closing()

    reply, closed = run(loop, main())
    assert reply == b"got request"
    assert closed  # both directions finished: the client transport closed itself


def test_write_after_write_eof_is_refused(loop: EventThread) -> None:
    async def main() -> None:
        server, port = await echo_server(loop)
        client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        client.write_eof()
        with pytest.raises(RuntimeError, match=r"^cannot write after write_eof\(\); the sending side is closed$"):
            client.write(b"late")
        await client.read()
        client.close_transport()
        server.close()
        await server.wait_closed()

    run(loop, main())


def test_slow_reader_pauses_the_writer_and_drain_keeps_the_buffer_bounded(loop: EventThread) -> None:
    total = 20 * 1024 * 1024
    chunk = bytes(range(256)) * 256  # 64 KiB

    class Writer(ReadWriteProtocolBase):
        __slots__ = ("events",)

        def __init__(self, loop: EventThread) -> None:
            ReadWriteProtocolBase.__init__(self, loop)
            self.events: list[str] = []

        def pause_writing(self) -> None:
            self.events.append("pause")
            ReadWriteProtocolBase.pause_writing(self)

        def resume_writing(self) -> None:
            self.events.append("resume")
            ReadWriteProtocolBase.resume_writing(self)

    readers: list[ReadProtocolBase] = []

    def reader_factory() -> ReadProtocolBase:
        reader = ReadProtocolBase(loop)
        readers.append(reader)
        return reader

    async def slow_read(reader: ReadProtocolBase) -> tuple[int, int, int]:
        await sleep(0.03)  # not reading at all for a while: everything backs up
        received = 0
        largest_unread = 0
        checksum = 0
        while True:
            largest_unread = max(largest_unread, reader.get_size())
            data = await reader.read(1 << 20)
            if not data:
                return received, largest_unread, checksum
            checksum = (checksum + sum(data[::4096])) & 0xFFFFFFFF
            received += len(data)
            if received % (5 * 1024 * 1024) < len(data):
                await sleep(0.005)  # and stall now and then

    async def main() -> tuple[list[str], int, tuple[int, int, int], int]:
        server = await create_server_to(loop, reader_factory, "127.0.0.1", 0)
        await server.start()
        writer = await create_connection_to(loop, lambda: Writer(loop), "127.0.0.1", server.sockets[0].getsockname()[1])
        await skip_ready_cycle()
        reading = loop.create_task(slow_read(readers[0]))
        transport = writer.get_transport()
        assert isinstance(transport, WriteTransport)
        largest_buffer = 0
        for _ in range(total // len(chunk)):
            writer.write(chunk)
            largest_buffer = max(largest_buffer, transport.get_write_buffer_size())
            await writer.drain()
        writer.close_transport()
        result = await reading
        server.close()
        await server.wait_closed()
        return writer.events, largest_buffer, result, sum(chunk[::4096]) * (total // len(chunk)) & 0xFFFFFFFF

    events, largest_buffer, (received, largest_unread, checksum), expected_checksum = run(loop, main())
    assert received == total
    assert checksum == expected_checksum
    assert "pause" in events and events[-1] == "resume"
    assert events == ["pause", "resume"] * (len(events) // 2)
    assert largest_buffer < 4 * 1024 * 1024
    assert largest_unread <= READ_HIGH_WATER + 256 * 1024  # the reader paused its transport


def test_unix_socket_echo(loop: EventThread, tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"

    async def main() -> tuple[bytes, bool]:
        server = await create_unix_server_to(loop, lambda: EchoHandler(loop), path)
        await server.start()
        client = await create_unix_connection_to(loop, lambda: ReadWriteProtocolBase(loop), path)
        client.write(b"over unix\n")
        reply = await client.read_line()
        client.close_transport()
        server.close()
        await server.wait_closed()
        return reply, path.exists()

    reply, still_there = run(loop, main())
    assert reply == b"echo: over unix\n"
    assert not still_there  # closing the server removed its socket file


def test_unix_server_replaces_a_stale_socket_file(loop: EventThread, tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays behind, like after a crash

    async def main() -> bytes:
        server = await create_unix_server_to(loop, lambda: EchoHandler(loop), path)
        async with server:
            client = await create_unix_connection_to(loop, lambda: ReadWriteProtocolBase(loop), path)
            client.write(b"hi\n")
            reply = await client.read_line()
            client.close_transport()
        return reply

    assert run(loop, main()) == b"echo: hi\n"


def test_drain_after_the_connection_was_lost_raises(loop: EventThread) -> None:
    async def main() -> None:
        server, port = await echo_server(loop)
        client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        client.close_transport()
        await sleep(0.001)
        with pytest.raises(ConnectionResetError, match=r"^the connection was lost; cannot drain a closed stream$"):
            await client.drain()
        server.close()
        await server.wait_closed()

    run(loop, main())


# ---- the original scarletio's read contract (on virtual time) ------------------------------------


async def test_read_n_waits_for_n_bytes_and_returns_fewer_only_at_eof(scarletio_loop: EventThread) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    protocol.data_received(b"hey")
    scarletio_loop.call_after(1.0, protocol.data_received, b" sis")
    scarletio_loop.call_after(2.0, protocol.data_received, b"ter")
    scarletio_loop.call_after(3.0, protocol.eof_received)
    started = scarletio_loop.time()
    first = await protocol.read(5)
    assert (first, scarletio_loop.time() - started) == (b"hey s", 1.0)
    rest = await protocol.read(12)  # only 5 more ever arrive: returned at EOF
    assert (rest, scarletio_loop.time() - started) == (b"ister", 3.0)
    assert await protocol.read(3) == b""


async def test_read_exactly_past_eof_raises_a_connection_error_with_the_partial_bytes(scarletio_loop: EventThread) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    reader = scarletio_loop.create_task(protocol.read_exactly(12))
    await skip_ready_cycle()
    protocol.data_received(b"hey")
    protocol.data_received(b" sister")
    await skip_ready_cycle()
    assert not reader.is_done()
    protocol.eof_received()
    with pytest.raises(ConnectionError) as caught:
        await reader
    assert isinstance(caught.value, IncompleteRead)
    assert isinstance(caught.value, EOFError)
    assert (caught.value.partial, caught.value.expected) == (b"hey sister", 12)
    assert protocol.get_size() == 0


async def test_read_until_past_eof_raises_a_connection_error_with_the_rest(scarletio_loop: EventThread) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    protocol.data_received(b"no boundary here")
    protocol.eof_received()
    with pytest.raises(ConnectionError) as caught:
        await protocol.read_until(b"\r\n")
    assert isinstance(caught.value, IncompleteRead)
    assert caught.value.partial == b"no boundary here"


async def test_connection_lost_without_error_fails_a_waiting_read_exactly_as_connection_error(
    scarletio_loop: EventThread,
) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    reader = scarletio_loop.create_task(protocol.read_exactly(1))
    await skip_ready_cycle()
    protocol.connection_lost(None)
    with pytest.raises(ConnectionError):
        await reader


async def test_zero_byte_reads_raise_the_stored_exception(scarletio_loop: EventThread) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    assert await protocol.read(0) == b""
    assert await protocol.read_exactly(0) == b""
    assert await protocol.read_until(b"") == b""
    failure = ValueError("the stream broke")
    protocol.set_exception(failure)
    for read in (protocol.read(0), protocol.read_exactly(0), protocol.read_until(b""), protocol.read_exactly(-1)):
        with pytest.raises(ValueError) as caught:
            await read
        assert caught.value is failure


async def test_read_until_keeps_chunks_as_they_arrived_for_read_once(scarletio_loop: EventThread) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    for chunk in (b"hey", b" sist", b"er", b"sis"):
        protocol.data_received(chunk)
    assert await protocol.read_until(b"sis") == b"hey "
    assert await protocol.read_once() == b"t"  # what is left of the chunk b" sist"
    assert await protocol.read_once() == b"er"
    protocol.data_received(b"ab")
    protocol.data_received(b"c")
    protocol.data_received(b"d\r")
    protocol.data_received(b"\nx")
    assert await protocol.read_until(b"sis") == b""
    assert await protocol.read_until(b"\r\n") == b"abcd"
    assert await protocol.read_once() == b"x"


async def test_protocol_close_and_get_extra_info_reach_the_transport(scarletio_loop: EventThread) -> None:
    protocol = ReadProtocolBase(scarletio_loop)
    assert protocol.get_extra_info("peername") is None
    assert protocol.get_extra_info("peername", "unknown") == "unknown"
    protocol.close()  # no transport yet: nothing to do


def test_protocol_close_and_get_extra_info_on_a_socket(loop: EventThread) -> None:
    async def main() -> tuple[object, object, object, bool]:
        server, port = await echo_server(loop)
        client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        peer = client.get_extra_info("peername")
        missing = client.get_extra_info("no such thing", "fallback")
        sock = client.get_extra_info("socket")
        client.close()
        transport = client.get_transport()
        assert transport is not None
        closing = transport.is_closing()
        server.close()
        await server.wait_closed()
        return peer, missing, type(sock), closing

    peer, missing, sock_type, closing = run(loop, main())
    assert isinstance(peer, tuple) and peer[0] == "127.0.0.1"
    assert missing == "fallback"
    assert issubclass(sock_type, socket.socket)  # type: ignore[arg-type]
    assert closing


def test_eof_from_the_peer_closes_the_connection_so_wait_closed_returns(loop: EventThread) -> None:
    class UntilEof(ReadWriteProtocolBase):
        """Echoes until EOF, then simply returns (never closes by itself)."""

        __slots__ = ()

        def connection_made(self, transport: Transport, /) -> None:
            ReadWriteProtocolBase.connection_made(self, transport)
            self._loop.create_task(self.serve())

        async def serve(self) -> None:
            while data := await self.read_once():
                self.write(data)

    async def main() -> tuple[bytes, int, bool]:
        server = await create_server_to(loop, lambda: UntilEof(loop), "127.0.0.1", 0)
        await server.start()
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        client.write(b"ping")
        reply = await client.read_exactly(4)
        client.close_transport()
        server.close()
        closed = loop.create_task(server.wait_closed())
        closed.apply_timeout(5)
        await closed
        transport = client.get_transport()
        return reply, server.active_count, transport is not None and transport.is_closing()

    assert run(loop, main()) == (b"ping", 0, True)


def test_eof_from_the_server_closes_the_clients_transport(loop: EventThread) -> None:
    class SayBye(ReadWriteProtocolBase):
        __slots__ = ()

        def connection_made(self, transport: Transport, /) -> None:
            ReadWriteProtocolBase.connection_made(self, transport)
            self.write(b"bye")
            self.close_transport()

    async def main() -> tuple[bytes, bool]:
        server = await create_server_to(loop, lambda: SayBye(loop), "127.0.0.1", 0)
        await server.start()
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        reply = await client.read()
        await skip_ready_cycle()
        transport = client.get_transport()
        server.close()
        await server.wait_closed()
        return reply, transport is not None and transport.is_closing()

    assert run(loop, main()) == (b"bye", True)


async def test_read_until_finds_boundaries_across_any_chunking(scarletio_loop: EventThread) -> None:
    generator = random.Random(12)
    for _ in range(300):
        pieces = [bytes(generator.choice(b"ab") for _ in range(generator.randrange(0, 6))) for _ in range(6)]
        boundary = bytes(generator.choice(b"ab") for _ in range(generator.randrange(1, 4)))
        data = b"".join(pieces)
        protocol = ReadProtocolBase(scarletio_loop)
        consumed = generator.randrange(0, 3)  # a first chunk already partly read: an offset into it
        first = b"#" * consumed + pieces[0]
        if first:
            protocol.data_received(first)
        for piece in pieces[1:]:
            if piece:
                protocol.data_received(piece)
        assert await protocol.read_exactly(consumed) == b"#" * consumed
        protocol.eof_received()
        index = data.find(boundary)
        if index < 0:
            with pytest.raises(IncompleteRead):
                await protocol.read_until(boundary)
        else:
            assert await protocol.read_until(boundary) == data[:index], (pieces, boundary)
            assert await protocol.read() == data[index + len(boundary) :]


async def test_read_until_waiting_for_data_finds_boundaries_across_any_arrival(scarletio_loop: EventThread) -> None:
    generator = random.Random(34)
    for _ in range(200):
        pieces = [bytes(generator.choice(b"ab") for _ in range(generator.randrange(1, 5))) for _ in range(8)]
        boundary = bytes(generator.choice(b"ab") for _ in range(generator.randrange(1, 4)))
        data = b"".join(pieces)
        protocol = ReadProtocolBase(scarletio_loop)
        reader = scarletio_loop.create_task(protocol.read_until(boundary))
        for piece in pieces:  # one chunk at a time, the reader searching after each
            await skip_ready_cycle()
            if reader.is_done():
                break
            protocol.data_received(piece)
        protocol.eof_received()
        index = data.find(boundary)
        if index < 0:
            with pytest.raises(IncompleteRead):
                await reader
        else:
            assert await reader == data[:index], (pieces, boundary)
