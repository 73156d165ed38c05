"""asyncio libraries (aiohttp, httpx, websockets, asyncio streams) on `scarletio.aio` loops.

On epoll and poll they talk over 127.0.0.1; on the virtual backend over a `VirtualNetwork` whose links
take 50 ms each way, where every duration is exact: a fresh HTTP GET is a connect round trip and a
request/response round trip (0.2 s), a GET on a kept-alive connection one round trip (0.1 s). The
virtual runs repeat exactly: the same program and seed give the same trace in two processes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar, cast

import aiohttp
import httpx
import pytest
from aiohttp import web
from websockets.asyncio.client import connect as websocket_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websocket_serve

from scarletio.aio import EventLoop, new_event_loop
from scarletio.aio.virtual_network import socket_factory
from scarletio.backends import BackendName, available_backends
from scarletio.net.virtual import LinkConditions, VirtualNetwork

from _fixtures import LATE, certificate, client_context, server_context  # noqa: F401 - fixtures are used by name

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
BACKENDS: list[BackendName] = [name for name in ("epoll", "poll", "virtual") if name in available_backends()]
LATENCY = 0.05
"""Seconds each way on every virtual link."""


class Place:
    """Where a scenario runs: a loop, and its virtual network (`None` on a real backend)."""

    def __init__(self, loop: EventLoop, network: VirtualNetwork | None) -> None:
        self.loop = loop
        self.network = network
        self.server_name = "127.0.0.1" if network is None else "server"

    def host(self, name: str) -> AbstractContextManager[object]:
        """Run the block on virtual host `name` (added on first use); nothing on a real backend."""
        if self.network is None:
            return nullcontext()
        names = [host.name for host in self.network.hosts]
        return (self.network.host(name) if name in names else self.network.add_host(name)).use()

    def port(self, wanted: int) -> int:
        """The port to listen on: `wanted` on the virtual network, any free one on a real backend."""
        return 0 if self.network is None else wanted

    def elapsed(self, started: float) -> float:
        """Seconds since `started` on the loop's clock, to the nanosecond."""
        return round(self.loop.time() - started, 9)


def run_on(backend: BackendName, scenario: Callable[[Place], Coroutine[Any, Any, T]]) -> T:
    """Run `scenario` on a fresh `scarletio.aio` loop of `backend` and close the loop."""
    loop = new_event_loop(backend)
    network = VirtualNetwork(loop.thread, conditions=LinkConditions(latency=LATENCY)) if backend == "virtual" else None
    try:
        return loop.run_until_complete(asyncio.wait_for(scenario(Place(loop, network)), 12 * LATE))
    finally:
        loop.close()


@contextmanager
def closing_network(place: Place) -> Iterator[None]:
    try:
        yield
    finally:
        if place.network is not None:
            place.network.close()


async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello {request.query.get('name', 'nobody')}")


async def start_aiohttp(place: Place) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    with place.host("server"):
        site = web.TCPSite(runner, None if place.network is not None else "127.0.0.1", place.port(8080))
        await site.start()
    address = runner.addresses[0]
    return runner, int(address[1])


# ---- aiohttp --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_aiohttp_client_and_server(backend: BackendName) -> None:
    async def scenario(place: Place) -> tuple[list[str], list[float]]:
        runner, port = await start_aiohttp(place)
        bodies: list[str] = []
        durations: list[float] = []
        with place.host("client"):
            connector = aiohttp.TCPConnector(socket_factory=socket_factory(place.loop))
            async with aiohttp.ClientSession(connector=connector) as session:
                for name in ("ada", "bob"):
                    started = place.loop.time()
                    async with session.get(f"http://{place.server_name}:{port}/", params={"name": name}) as response:
                        assert response.status == 200
                        bodies.append(await response.text())
                    durations.append(place.elapsed(started))
        await runner.cleanup()
        return bodies, durations

    bodies, durations = run_on(backend, scenario)
    assert bodies == ["hello ada", "hello bob"]
    if backend == "virtual":
        # connect (a round trip) + request and response (a round trip); then the kept-alive connection
        assert durations == [4 * LATENCY, 2 * LATENCY]


def test_aiohttp_file_response_falls_back_from_sendfile_on_the_virtual_network(tmp_path: Path) -> None:
    content = bytes(range(256)) * 1200  # 300 kB, a second of 300 kB/s
    (tmp_path / "blob").write_bytes(content)

    async def scenario(place: Place) -> tuple[bytes, float]:
        assert place.network is not None
        place.network.conditions = LinkConditions(latency=LATENCY, bandwidth=300_000.0)
        app = web.Application()
        async def blob(request: web.Request) -> web.FileResponse:
            return web.FileResponse(tmp_path / "blob")

        app.router.add_get("/blob", blob)
        runner = web.AppRunner(app)
        await runner.setup()
        with place.host("server"):
            await web.TCPSite(runner, None, 80).start()
        with place.host("client"):
            connector = aiohttp.TCPConnector(socket_factory=socket_factory(place.loop))
            async with aiohttp.ClientSession(connector=connector) as session:
                started = place.loop.time()
                async with session.get("http://server/blob") as response:
                    body = await response.read()
                took = place.elapsed(started)
        await runner.cleanup()
        return body, took

    body, took = run_on("virtual", scenario)
    assert body == content
    assert 4 * LATENCY + 1.0 < took < 4 * LATENCY + 1.1  # two round trips, and the bytes at the link's rate


@pytest.mark.parametrize("backend", [name for name in BACKENDS if name != "virtual"])
def test_aiohttp_default_connector_is_unchanged_on_real_backends(backend: BackendName) -> None:
    async def scenario(place: Place) -> str:
        runner, port = await start_aiohttp(place)
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as response:
            text = await response.text()
        await runner.cleanup()
        return text

    assert run_on(backend, scenario) == "hello nobody"


def test_a_real_socket_on_the_virtual_network_is_refused_naming_the_socket_factory() -> None:
    async def scenario(place: Place) -> str:
        runner, port = await start_aiohttp(place)
        try:
            with place.host("client"):
                async with aiohttp.ClientSession() as session:  # aiohappyeyeballs opens a real socket
                    with pytest.raises(TypeError) as caught:
                        await session.get(f"http://server:{port}/")
        finally:
            await runner.cleanup()
        return str(caught.value)

    message = run_on("virtual", scenario)
    assert "real socket" in message
    assert "TCPConnector(socket_factory=socket_factory(loop))" in message


def test_socket_factory_opens_real_sockets_on_a_real_backend() -> None:
    async def scenario(place: Place) -> type[socket.socket]:
        sock = socket_factory(place.loop)((socket.AF_INET, socket.SOCK_STREAM, 0, "", ("127.0.0.1", 0)))
        sock.close()
        return type(sock)

    assert run_on("epoll" if "epoll" in BACKENDS else "poll", scenario) is socket.socket


# ---- httpx ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_httpx_async_client(backend: BackendName) -> None:
    async def scenario(place: Place) -> tuple[list[str], list[float]]:
        runner, port = await start_aiohttp(place)
        bodies: list[str] = []
        durations: list[float] = []
        with place.host("client"):
            async with httpx.AsyncClient() as client:
                for name in ("cy", "di"):
                    started = place.loop.time()
                    response = await client.get(f"http://{place.server_name}:{port}/", params={"name": name})
                    durations.append(place.elapsed(started))
                    assert response.status_code == 200
                    bodies.append(response.text)
        await runner.cleanup()
        return bodies, durations

    bodies, durations = run_on(backend, scenario)
    assert bodies == ["hello cy", "hello di"]
    if backend == "virtual":
        assert durations == [4 * LATENCY, 2 * LATENCY]


# ---- websockets -----------------------------------------------------------------------------------


async def shout(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(str(message).upper())


@pytest.mark.parametrize("backend", BACKENDS)
def test_websockets_client_and_server(backend: BackendName) -> None:
    async def scenario(place: Place) -> tuple[list[str], list[float]]:
        with place.host("server"):
            server = await websocket_serve(shout, None if place.network is not None else "127.0.0.1", place.port(8765))
        port = int(next(iter(server.sockets)).getsockname()[1])
        replies: list[str] = []
        durations: list[float] = []
        with place.host("client"):
            started = place.loop.time()
            async with websocket_connect(f"ws://{place.server_name}:{port}") as connection:
                durations.append(place.elapsed(started))  # connect + the opening handshake
                for word in ("ping", "pong"):
                    started = place.loop.time()
                    await connection.send(word)
                    replies.append(str(await connection.recv()))
                    durations.append(place.elapsed(started))
        server.close()
        await server.wait_closed()
        return replies, durations

    replies, durations = run_on(backend, scenario)
    assert replies == ["PING", "PONG"]
    if backend == "virtual":
        assert durations == [4 * LATENCY, 2 * LATENCY, 2 * LATENCY]


# ---- asyncio's own networking ---------------------------------------------------------------------


def test_asyncio_streams_names_and_datagrams_on_the_virtual_network() -> None:
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.DatagramTransport, transport)  # not a subclass before Python 3.12

        def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
            self.transport.sendto(data[::-1], addr)

    class Listener(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.heard: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
            self.heard.set_result(data)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    async def scenario(place: Place) -> dict[str, object]:
        loop = place.loop
        found: dict[str, object] = {}
        with place.host("server"):
            server = await asyncio.start_server(handle, None, 7000)
            await loop.create_datagram_endpoint(Echo, local_addr=("0.0.0.0", 5353))
        with place.host("client"):
            infos = await loop.getaddrinfo("server", 7000, type=socket.SOCK_STREAM)
            found["address"] = infos[0][4]
            found["name"] = await loop.getnameinfo((str(infos[0][4][0]), 7000))
            started = loop.time()
            reader, writer = await asyncio.open_connection("server", 7000)
            found["connect"] = place.elapsed(started)
            started = loop.time()
            writer.write(b"quiet\n")
            found["line"] = await reader.readline()
            found["line took"] = place.elapsed(started)
            writer.close()
            transport, listener = await loop.create_datagram_endpoint(Listener, remote_addr=("server", 5353))
            started = loop.time()
            transport.sendto(b"abc")
            found["datagram"] = await listener.heard
            found["datagram took"] = place.elapsed(started)
            transport.close()
        server.close()
        await server.wait_closed()
        return found

    found = run_on("virtual", scenario)
    assert found["address"] == ("10.0.0.1", 7000)
    assert found["name"] == ("server", "7000")
    assert found["connect"] == 2 * LATENCY
    assert (found["line"], found["line took"]) == (b"QUIET\n", 2 * LATENCY)
    assert (found["datagram"], found["datagram took"]) == (b"cba", 2 * LATENCY)


@pytest.mark.parametrize("backend", BACKENDS)
def test_host_names_given_as_bytes_resolve_and_connect(backend: BackendName) -> None:
    # anyio (under httpx) hands host names to the loop as bytes; socket.getaddrinfo takes them too
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi\n")
        await writer.drain()
        writer.close()

    async def scenario(place: Place) -> tuple[str, bytes]:
        loop = place.loop
        name = place.server_name.encode("ascii")
        with place.host("server"):
            server = await asyncio.start_server(handle, None if place.network is not None else "127.0.0.1", place.port(9000))
        port = int(server.sockets[0].getsockname()[1])
        with place.host("client"):
            infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
            reader, writer = await asyncio.open_connection(cast(str, name), port)  # typeshed says str; anyio passes bytes
            line = await reader.readline()
            writer.close()
        server.close()
        await server.wait_closed()
        return str(infos[0][4][0]), line

    address, line = run_on(backend, scenario)
    assert address == ("10.0.0.1" if backend == "virtual" else "127.0.0.1")
    assert line == b"hi\n"


def test_a_server_on_two_addresses_and_a_refused_connection_on_the_virtual_network() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi\n")
        await writer.drain()
        writer.close()

    async def line_from(host: str, port: int) -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        line = await reader.readline()
        writer.close()
        return line

    async def scenario(place: Place) -> tuple[list[object], bytes, bytes, str]:
        assert place.network is not None
        server_host = place.network.add_host("server")
        with server_host.use():
            server = await asyncio.start_server(handle, [server_host.address, "127.0.0.1"], 9000)
            addresses: list[object] = [sock.getsockname() for sock in server.sockets]
            own = await line_from("127.0.0.1", 9000)
        with place.host("client"):
            remote = await line_from("server", 9000)
            with pytest.raises(ConnectionRefusedError) as caught:
                await asyncio.open_connection("server", 9001)
        server.close()
        await server.wait_closed()
        return addresses, own, remote, str(caught.value)

    addresses, own, remote, refused = run_on("virtual", scenario)
    assert addresses == [("10.0.0.1", 9000), ("127.0.0.1", 9000)]
    assert own == remote == b"hi\n"
    assert "('10.0.0.1', 9001)" in refused


def test_tls_streams_on_the_virtual_network(server_context: ssl.SSLContext, client_context: ssl.SSLContext) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    async def scenario(place: Place) -> tuple[bytes, float, float]:
        with place.host("server"):
            server = await asyncio.start_server(handle, None, 443, ssl=server_context)
        with place.host("client"):
            started = place.loop.time()
            reader, writer = await asyncio.open_connection("server", 443, ssl=client_context, server_hostname="localhost")
            connected = place.elapsed(started)
            started = place.loop.time()
            writer.write(b"secret\n")
            line = await reader.readline()
            answered = place.elapsed(started)
            writer.close()
        server.close()
        await server.wait_closed()
        return line, connected, answered

    line, connected, answered = run_on("virtual", scenario)
    assert line == b"SECRET\n"
    assert (connected, answered) == (4 * LATENCY, 2 * LATENCY)  # TLS 1.3: one round trip after the connect


# ---- determinism ----------------------------------------------------------------------------------

TRACE_SCRIPT = textwrap.dedent(
    """\
    import json, aiohttp, httpx
    from aiohttp import web
    from scarletio.aio import new_event_loop
    from scarletio.aio.virtual_network import socket_factory
    from scarletio.backends.virtual import virtual_backend
    from scarletio.net.virtual import LinkConditions, VirtualNetwork

    async def hello(request):
        return web.Response(text="x" * int(request.query["size"]))

    async def main(loop, network):
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        with network.add_host("server").use():
            await web.TCPSite(runner, None, 80).start()
        with network.add_host("client").use():
            connector = aiohttp.TCPConnector(socket_factory=socket_factory(loop))
            async with aiohttp.ClientSession(connector=connector) as session:
                for size in (10, 100000):
                    async with session.get("http://server/", params={"size": size}) as response:
                        await response.read()
            async with httpx.AsyncClient() as client:
                await client.get("http://server/?size=5")
        await runner.cleanup()

    loop = new_event_loop(virtual_backend(7, tracing=True))
    network = VirtualNetwork(loop.thread, conditions=LinkConditions(latency=0.05, jitter=0.01, bandwidth=1e6))
    loop.run_until_complete(main(loop, network))
    print(json.dumps([list(event) for event in loop.thread.get_trace()]))
    loop.close()
    """
)


def test_the_same_seed_gives_the_same_trace_in_two_processes() -> None:
    def trace() -> list[list[object]]:
        done = subprocess.run(
            [sys.executable, "-c", TRACE_SCRIPT], capture_output=True, text=True, timeout=12 * LATE, cwd=ROOT, check=False
        )
        assert done.returncode == 0, done.stderr
        events: list[list[object]] = json.loads(done.stdout)
        return events

    first, second = trace(), trace()
    assert first == second
    kinds = {event[0] for event in first}
    assert {"step", "jump", "net"} <= kinds
    assert float(str(first[-1][1])) > 0.4  # virtual time went by: at least two connections' round trips
