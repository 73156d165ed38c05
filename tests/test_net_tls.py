"""`scarletio.net.tls`: TLS connections (`ssl_context=` / `server_host_name=`) over real sockets.

A self-signed certificate for "localhost" is made once per session with the `openssl` command-line
tool; the client's context trusts exactly that certificate. Every test runs on the epoll and the poll
backend.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path
from typing import cast

import pytest
from _fixtures import LATE, Reports, certificate, client_context, loop, reports, run, server_context  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.net import (
    ReadWriteProtocolBase,
    Server,
    StreamProtocol,
    StreamTransport,
    Transport,
    create_connection_to,
    create_server_to,
    create_unix_connection_to,
    create_unix_server_to,
)
from scarletio.net import tls
from scarletio.net.tls import SSLTransport
from scarletio.processes import STDOUT, AsyncProcess, subprocess_exec
from scarletio.core.suspension import skip_ready_cycle, sleep
from scarletio.primitives.timeouts import repeat_timeout


class EchoProtocol(StreamProtocol):
    """A callback protocol that echoes every chunk and records what happened to it."""

    __slots__ = ("events", "transport")

    def __init__(self) -> None:
        self.events: list[str] = []
        self.transport: StreamTransport | None = None

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport
        self.events.append("made")

    def data_received(self, data: bytes, /) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def eof_received(self) -> bool | None:
        self.events.append("eof")
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        self.events.append(f"lost {exception!r}")


class Collector(StreamProtocol):
    """A callback client that sends `message` once connected and collects the reply."""

    __slots__ = ("done", "expected", "message", "received", "transport")

    def __init__(self, loop: EventThread, message: bytes) -> None:
        self.message = message
        self.expected = len(message)
        self.received = bytearray()
        self.done: Future[bytes] = Future(loop)
        self.transport: StreamTransport | None = None

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport
        transport.write(self.message)

    def data_received(self, data: bytes, /) -> None:
        self.received += data
        if len(self.received) >= self.expected:
            self.done.set_result_if_pending(bytes(self.received))

    def connection_lost(self, exception: Exception | None, /) -> None:
        if exception is not None:
            self.done.set_exception_if_pending(exception)
        else:
            self.done.set_exception_if_pending(EOFError(f"the connection ended after {len(self.received)} bytes"))


async def start_server(loop: EventThread, factory: type[EchoProtocol], context: ssl.SSLContext) -> tuple[Server, int]:
    server = await create_server_to(loop, factory, "127.0.0.1", 0, ssl_context=context)
    await server.start()
    port: int = server.sockets[0].getsockname()[1]
    return server, port


def test_tls_echo_with_callback_protocols(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async def main() -> tuple[bytes, bool, bool]:
        server, port = await start_server(loop, EchoProtocol, server_context)
        client = await create_connection_to(
            loop, lambda: Collector(loop, b"hello over tls"), "127.0.0.1", port,
            ssl_context=client_context, server_host_name="localhost",
        )
        reply = await client.done
        transport = client.transport
        assert transport is not None
        transport.close()
        server.close()
        await server.wait_closed()
        return reply, isinstance(transport, SSLTransport), transport.can_write_eof()

    assert run(loop, main()) == (b"hello over tls", True, False)


class LineEcho(ReadWriteProtocolBase):
    """A server-side stream protocol that echoes lines until EOF, from a task of its own."""

    __slots__ = ()

    def connection_made(self, transport: Transport, /) -> None:
        ReadWriteProtocolBase.connection_made(self, transport)
        self._loop.create_task(self.serve())

    async def serve(self) -> None:
        while line := await self.read_line():
            self.write(b"echo: " + line)
            await self.drain()
        self.close_transport()


def test_tls_echo_with_the_stream_api_on_both_sides(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async def main() -> tuple[list[bytes], bytes, int]:
        server = await create_server_to(loop, lambda: LineEcho(loop), "localhost", 0, ssl_context=server_context)
        await server.start()
        address = server.sockets[0].getsockname()
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), address[0], address[1],
            ssl_context=client_context, server_host_name="localhost",
        )
        replies = []
        for word in (b"alpha", b"beta", b"gamma" * 5000):
            client.write(word + b"\n")
            await client.drain()
            replies.append(await client.read_line())
        client.close_transport()
        rest = await client.read()
        server.close()
        await server.wait_closed()
        return replies, rest, server.active_count

    replies, rest, active = run(loop, main())
    assert replies == [b"echo: alpha\n", b"echo: beta\n", b"echo: " + b"gamma" * 5000 + b"\n"]
    assert rest == b""
    assert active == 0


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=lambda version: version.name)
def test_tls_transfers_one_mebibyte_both_ways_at_once(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext, version: ssl.TLSVersion
) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: the echo comes back while the client is still sending
    client_context.minimum_version = client_context.maximum_version = version

    async def main() -> tuple[bytes, object]:
        server, port = await start_server(loop, EchoProtocol, server_context)
        client = await create_connection_to(
            loop, lambda: Collector(loop, payload), "127.0.0.1", port,
            ssl_context=client_context, server_host_name="localhost",
        )
        reply = await client.done
        assert client.transport is not None
        ssl_object = client.transport.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        client.transport.close()
        server.close()
        await server.wait_closed()
        return reply, ssl_object.version()

    reply, negotiated = run(loop, main())
    assert reply == payload
    assert negotiated == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]


def test_tls_close_sends_close_notify_and_the_peer_sees_eof(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext, reports: Reports
) -> None:
    handlers: list[EchoProtocol] = []

    def factory() -> EchoProtocol:
        handler = EchoProtocol()
        handlers.append(handler)
        return handler

    class Watcher(Collector):
        __slots__ = ("lost",)

        def __init__(self) -> None:
            Collector.__init__(self, loop, b"ping")
            self.lost: Future[Exception | None] = Future(loop)

        def connection_lost(self, exception: Exception | None, /) -> None:
            self.lost.set_result_if_pending(exception)

    async def main() -> tuple[list[str], Exception | None, int]:
        server = await create_server_to(loop, factory, "127.0.0.1", 0, ssl_context=server_context)
        await server.start()
        client = await create_connection_to(
            loop, Watcher, "127.0.0.1", server.sockets[0].getsockname()[1],
            ssl_context=client_context, server_host_name="localhost",
        )
        await client.done
        assert client.transport is not None
        client.transport.close()
        assert client.transport.is_closing()
        lost = await client.lost
        server.close()
        await server.wait_closed()
        await sleep(0.001)
        return handlers[0].events, lost, server.active_count

    events, lost, active = run(loop, main())
    assert reports == []
    assert events == ["made", "eof", "lost None"]
    assert lost is None
    assert active == 0


def test_tls_client_with_a_wrong_server_host_name_fails_verification(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext, reports: Reports
) -> None:
    async def main() -> int:
        server, port = await start_server(loop, EchoProtocol, server_context)
        with pytest.raises(ssl.SSLCertVerificationError, match=r"Hostname mismatch"):
            await create_connection_to(
                loop, lambda: Collector(loop, b"never sent"), "127.0.0.1", port,
                ssl_context=client_context, server_host_name="not-localhost.example",
            )
        server.close()
        await server.wait_closed()
        return server.active_count

    assert run(loop, main()) == 0
    assert reports == []  # a failed handshake is the client's error, not the server's


def test_tls_client_sees_the_peer_certificate_and_tls_details(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async def main() -> tuple[object, object, object, object, object]:
        server, port = await start_server(loop, EchoProtocol, server_context)
        client = await create_connection_to(
            loop, lambda: Collector(loop, b"x"), "127.0.0.1", port,
            ssl_context=client_context, server_host_name="localhost",
        )
        await client.done
        transport = client.transport
        assert transport is not None
        details = (
            transport.get_extra_info("peercert"),
            transport.get_extra_info("cipher"),
            transport.get_extra_info("sslcontext"),
            transport.get_extra_info("ssl_object"),
            transport.get_extra_info("peername"),
        )
        transport.close()
        server.close()
        await server.wait_closed()
        return details

    peercert, cipher, context, ssl_object, peername = run(loop, main())
    assert isinstance(peercert, dict)
    assert peercert["subject"] == ((("commonName", "localhost"),),)
    assert peercert["subjectAltName"] == (("DNS", "localhost"),)
    assert isinstance(cipher, tuple) and len(cipher) == 3
    assert context is client_context
    assert isinstance(ssl_object, ssl.SSLObject)
    assert isinstance(peername, tuple) and peername[0] == "127.0.0.1"


def test_server_host_name_without_ssl_context_is_refused(loop: EventThread) -> None:
    async def main() -> None:
        message = r"^server_host_name='localhost' needs an ssl_context; pass one to use TLS$"
        with pytest.raises(ValueError, match=message):
            await create_connection_to(
                loop, lambda: Collector(loop, b""), "127.0.0.1", 1, server_host_name="localhost"
            )

    run(loop, main())


def test_tls_stream_flow_control_both_ways_with_a_slow_reader(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext, reports: Reports
) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB
    count = 64  # 4 MiB, far above every water mark

    async def read_all(client: ReadWriteProtocolBase) -> int:
        await sleep(0.02)  # nothing is read for a while: the echo backs up to the writer
        received = 0
        while received < count * len(chunk):
            data = await client.read_exactly(len(chunk))
            assert data == chunk
            received += len(data)
        return received

    async def main() -> int:
        server, port = await start_server(loop, EchoProtocol, server_context)
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port,
            ssl_context=client_context, server_host_name="localhost",
        )
        reading = loop.create_task(read_all(client))
        for _ in range(count):
            client.write(chunk)
            await client.drain()
        received = await reading
        client.close_transport()
        server.close()
        await server.wait_closed()
        return received

    assert run(loop, main()) == count * len(chunk)
    assert reports == []


def test_tls_server_drops_a_client_that_does_not_speak_tls(
    loop: EventThread, server_context: ssl.SSLContext, reports: Reports
) -> None:
    handlers: list[EchoProtocol] = []

    def factory() -> EchoProtocol:
        handler = EchoProtocol()
        handlers.append(handler)
        return handler

    async def main() -> tuple[bytes, int]:
        server = await create_server_to(loop, factory, "127.0.0.1", 0, ssl_context=server_context)
        await server.start()
        plain = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        plain.write(b"GET / HTTP/1.0\r\n\r\n")
        answer = await plain.read()  # until the server closes the connection
        plain.close_transport()
        server.close()
        await server.wait_closed()
        return answer, server.active_count

    answer, active = run(loop, main())
    assert answer == b"" or answer[:1] == b"\x15"  # EOF, after a TLS alert record where OpenSSL sends one
    assert active == 0
    assert handlers[0].events == []  # the handshake never completed: the protocol was never connected
    assert reports == []


def test_tls_echo_over_a_unix_socket(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext, tmp_path: Path
) -> None:
    path = tmp_path / "tls.sock"

    async def main() -> bytes:
        server = await create_unix_server_to(loop, lambda: LineEcho(loop), path, ssl_context=server_context)
        async with server:
            client = await create_unix_connection_to(
                loop, lambda: ReadWriteProtocolBase(loop), path,
                ssl_context=client_context, server_host_name="localhost",
            )
            client.write(b"over unix\n")
            reply = await client.read_line()
            client.close_transport()
        return reply

    assert run(loop, main()) == b"echo: over unix\n"


# ---- handshakes that do not complete ------------------------------------------------------------


class PlainPeer(StreamProtocol):
    """The server side of a plain TCP connection that a TLS client talks to; `behaviour` says what it
    does once the ClientHello arrives: `"silent"` (nothing), `"close"` (FIN), `"reset"` (RST) or
    `"garbage"` (answers in plain text)."""

    __slots__ = ("behaviour", "hello", "lost", "transport")

    def __init__(self, loop: EventThread, behaviour: str) -> None:
        self.behaviour = behaviour
        self.hello: Future[bytes] = Future(loop)
        self.lost: Future[None] = Future(loop)
        self.transport: StreamTransport | None = None

    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        transport = self.transport
        assert transport is not None
        if self.hello.is_done():
            return
        self.hello.set_result(data)
        if self.behaviour == "close":
            transport.close()
        elif self.behaviour == "reset":
            sock = transport.get_extra_info("socket")
            assert isinstance(sock, socket.socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        elif self.behaviour == "garbage":
            transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    def connection_lost(self, exception: Exception | None, /) -> None:
        self.lost.set_result_if_pending(None)


async def start_plain_peer(loop: EventThread, behaviour: str) -> tuple[Server, int, list[PlainPeer]]:
    peers: list[PlainPeer] = []

    def factory() -> PlainPeer:
        peer = PlainPeer(loop, behaviour)
        peers.append(peer)
        return peer

    server = await create_server_to(loop, factory, "127.0.0.1", 0)
    await server.start()
    return server, server.sockets[0].getsockname()[1], peers


async def connect_tls(loop: EventThread, port: int, context: ssl.SSLContext) -> ReadWriteProtocolBase:
    return await create_connection_to(
        loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port, ssl_context=context, server_host_name="localhost"
    )


async def stop_peer(server: Server, peers: list[PlainPeer]) -> tuple[bytes, int]:
    """Wait until the client's socket is closed (the peer sees it end), then stop the server."""
    for peer in peers:
        await peer.lost
    server.close()
    await server.wait_closed()
    return await peers[0].hello, server.active_count


def test_tls_handshake_with_a_silent_peer_ends_with_apply_timeout_and_closes_the_socket(
    no_leaks: None, loop: EventThread, client_context: ssl.SSLContext, reports: Reports
) -> None:
    async def main() -> tuple[float, bytes, int]:
        server, port, peers = await start_plain_peer(loop, "silent")
        connecting = loop.create_task(connect_tls(loop, port, client_context))
        started = loop.time()
        connecting.apply_timeout(0.1)
        with pytest.raises(TimeoutError):
            await connecting
        elapsed = loop.time() - started
        return elapsed, *await stop_peer(server, peers)

    elapsed, hello, active = run(loop, main())
    assert 0.1 <= elapsed < 0.1 + LATE
    assert hello[:1] == b"\x16"  # a TLS handshake record: the ClientHello went out, no answer came
    assert active == 0
    assert reports == []


def test_tls_handshake_with_a_silent_peer_ends_with_repeat_timeout(
    no_leaks: None, loop: EventThread, client_context: ssl.SSLContext, reports: Reports
) -> None:
    async def main() -> int:
        server, port, peers = await start_plain_peer(loop, "silent")
        with pytest.raises(TimeoutError):
            with repeat_timeout(0.1) as rounds:
                for _ in rounds:
                    await connect_tls(loop, port, client_context)
        return (await stop_peer(server, peers))[1]

    assert run(loop, main()) == 0
    assert reports == []


def test_tls_handshake_timeout_of_the_transport_fails_the_client_with_a_clear_error(
    no_leaks: None, loop: EventThread, client_context: ssl.SSLContext, reports: Reports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "HANDSHAKE_TIMEOUT", 0.1)

    async def main() -> int:
        server, port, peers = await start_plain_peer(loop, "silent")
        with pytest.raises(TimeoutError, match=r"^the TLS handshake did not complete within 0\.1 seconds$"):
            await connect_tls(loop, port, client_context)
        return (await stop_peer(server, peers))[1]

    assert run(loop, main()) == 0
    assert reports == []


def test_tls_server_drops_a_client_that_never_starts_the_handshake(
    no_leaks: None, loop: EventThread, server_context: ssl.SSLContext, reports: Reports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "HANDSHAKE_TIMEOUT", 0.1)
    handlers: list[EchoProtocol] = []

    def factory() -> EchoProtocol:
        handler = EchoProtocol()
        handlers.append(handler)
        return handler

    async def main() -> tuple[bytes, float, int]:
        server = await create_server_to(loop, factory, "127.0.0.1", 0, ssl_context=server_context)
        await server.start()
        started = loop.time()
        plain = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        answer = await plain.read()  # nothing is sent: the server cuts the connection off
        elapsed = loop.time() - started
        plain.close_transport()
        server.close()
        await server.wait_closed()
        return answer, elapsed, server.active_count

    answer, elapsed, active = run(loop, main())
    assert answer == b""
    assert 0.1 <= elapsed < 0.1 + LATE
    assert active == 0
    assert handlers[0].events == []
    assert reports == []


def test_cancelling_the_connecting_task_during_the_handshake_closes_the_socket_quietly(
    no_leaks: None, loop: EventThread, client_context: ssl.SSLContext, reports: Reports
) -> None:
    async def main() -> tuple[bool, bytes, int]:
        server, port, peers = await start_plain_peer(loop, "silent")
        connecting = loop.create_task(connect_tls(loop, port, client_context))
        while not peers:
            await skip_ready_cycle()
        await peers[0].hello  # the ClientHello arrived: the client is in the middle of the handshake
        connecting.cancel()
        with pytest.raises(CancelledError):
            await connecting
        return connecting.is_cancelled(), *await stop_peer(server, peers)

    cancelled, hello, active = run(loop, main())
    assert cancelled
    assert hello[:1] == b"\x16"
    assert active == 0
    assert reports == []


@pytest.mark.parametrize(
    ("behaviour", "error", "message"),
    [
        ("close", ConnectionResetError, r"^the peer closed the connection during the TLS handshake$"),
        ("reset", ConnectionResetError, r"Connection reset by peer"),
        ("garbage", ssl.SSLError, r"WRONG_VERSION_NUMBER|wrong version number|record layer failure"),
    ],
)
def test_tls_client_gets_a_clear_error_when_the_peer_breaks_off_the_handshake(
    no_leaks: None,
    loop: EventThread,
    client_context: ssl.SSLContext,
    reports: Reports,
    behaviour: str,
    error: type[Exception],
    message: str,
) -> None:
    async def main() -> tuple[bytes, int]:
        server, port, peers = await start_plain_peer(loop, behaviour)
        with pytest.raises(error, match=message):
            await connect_tls(loop, port, client_context)
        return await stop_peer(server, peers)

    hello, active = run(loop, main())
    assert hello[:1] == b"\x16"
    assert active == 0
    assert reports == []


# ---- post-handshake messages: renegotiation (TLS 1.2) and key update (TLS 1.3) ----------------------
#
# Python's ssl module cannot start either, so `openssl s_server` is the peer: a line "r" on its
# standard input renegotiates (it sends a HelloRequest), "K" sends a KeyUpdate that asks for one back.
# Everything else on its standard input goes to the client; what the client sends, it prints, mixed
# with status lines. It serves one connection (`-naccept 1`) and then exits.

_STATUS_LINES = (b"SSL_do_handshake -> 1\n", b"Read BLOCK\n")


class OpenSSLServer:
    """A running `openssl s_server` whose output is collected by a task."""

    __slots__ = ("collector", "output", "port", "process")

    def __init__(self, process: AsyncProcess, port: int, output: bytearray, loop: EventThread) -> None:
        self.process = process
        self.port = port
        self.output = output
        self.collector = loop.create_task(self._collect())

    async def _collect(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while chunk := await stdout.read_once():
            self.output += chunk

    def command(self, line: bytes) -> None:
        """Write `line` to the server's standard input (a command, or data for the client)."""
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(line)

    async def wait_for(self, marker: bytes) -> None:
        """Wait until the server printed `marker`."""
        while marker not in self.output:
            assert not self.collector.is_done(), f"s_server ended without printing {marker!r}: {bytes(self.output)!r}"
            await sleep(0.002)

    async def finish(self) -> bytes:
        """Wait for the server to exit (or kill it after a second) and return all it printed."""
        try:
            await self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            await self.process.kill()
        await self.collector
        return bytes(self.output)


async def start_openssl_server(loop: EventThread, certificate: tuple[Path, Path], *options: str) -> OpenSSLServer:
    process = await subprocess_exec(
        loop, "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
        "-cert", str(certificate[0]), "-key", str(certificate[1]), *options,
        stderr=STDOUT,
    )
    stdout = process.stdout
    assert stdout is not None
    output = bytearray()
    while (match := re.search(rb"^ACCEPT .*:(\d+)$", bytes(output), re.MULTILINE)) is None:
        line = await stdout.read_line()
        assert line, f"s_server ended before accepting: {bytes(output)!r}"
        output += line
    return OpenSSLServer(process, int(match[1]), bytearray(), loop)


def test_tls_1_2_renegotiation_holds_writes_back_and_sends_them_after_it(
    no_leaks: None, loop: EventThread, client_context: ssl.SSLContext, certificate: tuple[Path, Path], reports: Reports
) -> None:
    client_context.maximum_version = ssl.TLSVersion.TLSv1_2

    async def main() -> tuple[object, int, bytes, bytes, bytes]:
        server = await start_openssl_server(loop, certificate, "-tls1_2")
        client = await connect_tls(loop, server.port, client_context)
        transport = client.get_transport()
        assert isinstance(transport, SSLTransport)
        ssl_object = transport.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        sent = bytearray(b"<start>\n")
        client.write(sent)
        await server.wait_for(b"<start>\n")  # s_server reads commands now
        server.command(b"r\n")
        # Write a line every ready cycle. Once the HelloRequest came, OpenSSL answers it and refuses
        # application data until the new handshake ends (`SSLWantReadError` from `write`): the
        # transport holds the lines back (white box: `_pending_size`) and sends them afterwards.
        held = 0
        deadline = time.monotonic() + LATE
        number = 0
        while not held or transport._pending_size:
            assert time.monotonic() < deadline, "the renegotiation never held a write back"
            line = b"<%06d>\n" % number
            number += 1
            client.write(line)
            sent += line
            held = max(held, transport._pending_size)
            await skip_ready_cycle()
        client.write(b"<end>\n")
        sent += b"<end>\n"
        await server.wait_for(b"<end>\n")
        server.command(b"from the server\n")
        reply = await client.read_line()
        client.close_transport()
        output = await server.finish()
        return ssl_object.version(), held, bytes(sent), reply, output

    version, held, sent, reply, output = run(loop, main())
    assert version == "TLSv1.2"
    assert held > 0
    assert reply == b"from the server\n"
    received = output
    for status in _STATUS_LINES:
        received = received.replace(status, b"")
    start = received.index(b"<start>\n")
    assert received[start : start + len(sent)] == sent  # every line arrived, once, in order
    renegotiations = re.search(rb"(\d+) server renegotiates", output)
    assert renegotiations is not None and int(renegotiations[1]) > 0
    assert reports == []


class StalledSSL:
    """Stands in for a connection's `ssl.SSLObject` as if a renegotiation never ended: OpenSSL refuses
    application data (`SSLWantReadError` from `write`) until the peer answers."""

    def __init__(self, real: ssl.SSLObject) -> None:
        self.real = real

    def write(self, data: object) -> int:
        raise ssl.SSLWantReadError("renegotiating")

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_tls_writes_held_back_by_a_stalled_renegotiation_pause_the_writer(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext, reports: Reports
) -> None:
    chunk = bytes(range(256)) * 64  # 16 KiB
    count = 16

    async def write_all(client: ReadWriteProtocolBase, written: list[int]) -> None:
        for _ in range(count):
            client.write(chunk)
            written.append(len(chunk))
            await client.drain()

    async def main() -> tuple[int, int, int, bytes]:
        server, port = await start_server(loop, EchoProtocol, server_context)
        client = await connect_tls(loop, port, client_context)
        transport = client.get_transport()
        assert isinstance(transport, SSLTransport)
        real = transport._ssl
        transport._ssl = cast(ssl.SSLObject, StalledSSL(real))  # white box: the peer never finishes
        written: list[int] = []
        writing = loop.create_task(write_all(client, written))
        for _ in range(5):
            await skip_ready_cycle()
        stalled = (sum(written), transport.get_write_buffer_size(), transport.get_write_buffer_limits()[1])
        assert not writing.is_done()
        transport._ssl = real
        transport.data_received(b"")  # the peer's last handshake message: OpenSSL takes data again
        await writing
        echoed = await client.read_exactly(count * len(chunk))
        client.close_transport()
        server.close()
        await server.wait_closed()
        return (*stalled, echoed)

    written, buffered, high, echoed = run(loop, main())
    assert buffered == written  # all of it held back as plaintext
    assert high < written <= high + 16 * 1024  # the writer was paused once above the high water mark
    assert echoed == chunk * count  # then all of it went out, in order
    assert reports == []


def test_tls_1_3_key_update_requested_by_the_peer_is_answered_and_data_flows_both_ways(
    no_leaks: None, loop: EventThread, client_context: ssl.SSLContext, certificate: tuple[Path, Path], reports: Reports
) -> None:
    client_context.minimum_version = ssl.TLSVersion.TLSv1_3
    key_update = b"TLS 1.3, Handshake [length 0005], KeyUpdate"

    async def main() -> tuple[object, bytes, bytes]:
        server = await start_openssl_server(loop, certificate, "-tls1_3", "-msg")
        client = await connect_tls(loop, server.port, client_context)
        transport = client.get_transport()
        assert transport is not None
        ssl_object = transport.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        client.write(b"<start>\n")
        await server.wait_for(b"<start>\n")
        server.command(b"K\n")
        await server.wait_for(b">>> " + key_update)
        server.command(b"from the server, with new keys\n")
        reply = await client.read_line()
        client.write(b"<after>\n")  # OpenSSL sends the client's own KeyUpdate first
        await server.wait_for(b"<after>\n")
        client.close_transport()
        return ssl_object.version(), reply, await server.finish()

    version, reply, output = run(loop, main())
    assert version == "TLSv1.3"
    assert reply == b"from the server, with new keys\n"
    assert b"<<< " + key_update in output  # the client answered the request
    assert reports == []
