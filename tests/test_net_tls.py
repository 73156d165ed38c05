"""`scarletio.net.tls`: TLS connections (`ssl_context=` / `server_host_name=`) over real sockets.

A self-signed certificate for "localhost" is made once per session with the `openssl` command-line
tool; the client's context trusts exactly that certificate. Every test runs on the epoll and the poll
backend.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from _fixtures import Reports, loop, reports, run  # noqa: F401 - fixtures are used by name

from scarletio.event_thread import EventThread
from scarletio.futures import Future
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
from scarletio.net.tls import SSLTransport
from scarletio.suspension import sleep


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for "localhost" and its key: `(cert.pem, key.pem)`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command-line tool is needed to make a test certificate (apt-get install openssl)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


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


def test_tls_transfers_one_mebibyte_both_ways(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB

    async def main() -> bytes:
        server, port = await start_server(loop, EchoProtocol, server_context)
        client = await create_connection_to(
            loop, lambda: Collector(loop, payload), "127.0.0.1", port,
            ssl_context=client_context, server_host_name="localhost",
        )
        reply = await client.done
        assert client.transport is not None
        client.transport.close()
        server.close()
        await server.wait_closed()
        return reply

    assert run(loop, main()) == payload


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
