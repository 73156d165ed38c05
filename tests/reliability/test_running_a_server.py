"""Reliability: running a server the asyncio way, until SIGTERM or Ctrl-C, and stopping it cleanly.

The recipe (the README's "Running a server", `examples/server.py`): inside the async main,
`loop.add_signal_handler(SIGTERM, server.close)`, `await server.serve_forever()`, then
`server.close_clients()` and `await server.wait_closed()`. Before, `add_signal_handler` from the loop
thread raised "must be added from the main thread", `serve_forever`, `close_clients` and
`abort_clients` did not exist, and `wait_closed()` waited forever on idle keep-alive connections.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from _fixtures import certificate, client_context, loop, server_context  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.core.suspension import skip_ready_cycle, sleep
from scarletio.net import (
    ReadWriteProtocolBase,
    Server,
    StreamProtocol,
    StreamTransport,
    Transport,
    create_connection_to,
    create_server_to,
)
from scarletio.net.virtual import VirtualNetwork

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "server.py"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def saved_handlers() -> Iterator[None]:
    numbers = (signal.SIGUSR1, signal.SIGUSR2)
    saved = {number: signal.getsignal(number) for number in numbers}
    yield
    for number, handler in saved.items():
        signal.signal(number, signal.SIG_DFL if handler is None else handler)


# ---- the example, as a program --------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["epoll", "poll"])
@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_the_server_example_serves_until_a_signal_then_closes_its_clients_and_stops(
    backend: str, stop_with: signal.Signals
) -> None:
    environment = dict(os.environ, SCARLETIO_BACKEND=backend)
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("serving on port "), first + (process.stderr.read() if process.stderr else "")
        port = int(first.split()[-1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as talking, socket.create_connection(
            ("127.0.0.1", port), timeout=10
        ) as idle:
            talking.sendall(b"hello\n")
            assert talking.recv(100) == b"hello\n"
            process.send_signal(stop_with)
            assert talking.recv(100) == b""  # closed by close_clients(), not left hanging
            assert idle.recv(100) == b""  # the idle keep-alive connection too
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, out, err) == (0, "stopped\n", "")


def test_the_readme_shows_the_server_example_verbatim() -> None:
    example = EXAMPLE.read_text()
    code = example[example.index("import signal") :]  # the module docstring is the README's prose
    assert "## Running a server\n" in README.read_text()
    assert f"```py3\n{code}```" in README.read_text()


# ---- signal handlers from the loop thread ----------------------------------------------------------


def test_a_signal_handler_added_by_a_task_runs_while_the_main_thread_waits_in_run(
    loop: EventThread, saved_handlers: None
) -> None:
    def previous(number: int, frame: FrameType | None) -> None:
        return None

    signal.signal(signal.SIGUSR1, previous)

    async def main() -> tuple[bool, bool, bool, bool]:
        handled: Future[threading.Thread] = Future(loop)
        loop.add_signal_handler(signal.SIGUSR1, lambda: handled.set_result_if_pending(threading.current_thread()))
        installed = signal.getsignal(signal.SIGUSR1) is not previous
        os.kill(os.getpid(), signal.SIGUSR1)
        on_loop_thread = (await handled) is loop
        removed = loop.remove_signal_handler(signal.SIGUSR1)
        restored = signal.getsignal(signal.SIGUSR1) is previous  # at once: the main thread did it
        return installed, on_loop_thread, removed, restored

    assert loop.run(main(), timeout=10) == (True, True, True, True)


def test_a_signal_that_lands_on_the_loop_thread_still_reaches_its_handler(loop: EventThread, saved_handlers: None) -> None:
    async def main() -> int:
        handled: Future[int] = Future(loop)
        loop.add_signal_handler(signal.SIGUSR1, handled.set_result_if_pending, 1)
        try:
            # The kernel may hand a process's signal to any thread; this one goes to the loop thread,
            # while the main thread, which Python runs the handler in, waits in LOOP.run.
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
            return await handled
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    assert loop.run(main(), timeout=10) == 1


def test_many_tasks_adding_handlers_at_once_are_all_served_by_the_waiting_main_thread(
    loop: EventThread, saved_handlers: None
) -> None:
    for number in (signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, signal.SIG_DFL)
    other = EventThread(loop.backend)
    try:

        async def add_on(target: EventThread, number: int) -> bool:
            target.add_signal_handler(number, print)
            result = signal.getsignal(number) is not signal.SIG_DFL
            target.remove_signal_handler(number)
            return result

        async def main() -> list[bool]:
            results = []
            for number in (signal.SIGUSR1, signal.SIGUSR2):
                task = other.create_task_thread_safe(add_on(other, number))
                results.append(await add_on(loop, number))
                results.append(await task.async_wrap(loop))
            return results

        assert loop.run(main(), timeout=10) == [True, True, True, True]
    finally:
        other.stop()
        other.join(5)


# ---- serve_forever, close_clients, abort_clients ---------------------------------------------------


class Silent(StreamProtocol):
    """A server-side protocol that never answers: its connections stay idle."""

    def __init__(self) -> None:
        self.made = False  # with TLS, only once the handshake is done
        self.lost: list[Exception | None] = []

    def connection_made(self, transport: Transport, /) -> None:
        self.made = True

    def data_received(self, data: bytes, /) -> None:
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        self.lost.append(exception)


async def open_server(loop: EventThread, context: ssl.SSLContext | None = None) -> tuple[Server, int, list[Silent]]:
    protocols: list[Silent] = []

    def factory() -> Silent:
        protocols.append(Silent())
        return protocols[-1]

    server = await create_server_to(loop, factory, "127.0.0.1", 0, ssl_context=context)
    return server, int(server.sockets[0].getsockname()[1]), protocols


def test_serve_forever_serves_until_close_and_close_clients_ends_idle_connections(loop: EventThread) -> None:
    async def main() -> tuple[list[bytes], int, list[list[Exception | None]]]:
        server, port, protocols = await open_server(loop)
        forever = loop.create_task(server.serve_forever())
        await sleep(0.01)
        assert server.serving
        clients = [
            await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port) for _ in range(3)
        ]
        while sum(protocol.made for protocol in protocols) < 3:
            await skip_ready_cycle()
        with pytest.raises(RuntimeError, match=r"^another task already waits in serve_forever\(\) of <Server serving"):
            await server.serve_forever()
        loop.call_soon(server.close)
        await forever  # returns once closed
        assert (server.is_closed(), server.active_count) == (True, 3)
        server.close_clients()
        await server.wait_closed()  # no longer waits for the idle connections
        received = [await client.read() for client in clients]
        return received, server.active_count, [protocol.lost for protocol in protocols]

    received, active, lost = loop.run(main(), timeout=10)
    assert received == [b"", b"", b""]
    assert active == 0
    assert lost == [[None], [None], [None]]


def test_cancelling_serve_forever_closes_the_server(loop: EventThread) -> None:
    async def main() -> bool:
        server, _, _ = await open_server(loop)
        forever = loop.create_task(server.serve_forever())
        await sleep(0.01)
        forever.cancel()
        with pytest.raises(CancelledError):
            await forever
        with pytest.raises(RuntimeError, match=r"^cannot serve a closed server; create a new one$"):
            await server.serve_forever()
        return server.is_closed()

    assert loop.run(main(), timeout=10) is True


def test_abort_clients_drops_what_the_connections_have_queued(loop: EventThread) -> None:
    class Flooding(Silent):
        def connection_made(self, transport: Transport, /) -> None:
            Silent.connection_made(self, transport)
            assert isinstance(transport, StreamTransport)
            transport.write(b"x" * (8 << 20))  # far more than the kernel takes: most of it stays queued

    async def main() -> tuple[int, int]:
        server = await create_server_to(loop, Flooding, "127.0.0.1", 0)
        await server.start()
        port = server.sockets[0].getsockname()[1]
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setblocking(False)
        try:
            while not server.active_count:
                await skip_ready_cycle()
            server.close()
            server.abort_clients()
            await server.wait_closed()
            received = 0
            while True:
                try:
                    chunk = await loop.socket_receive(raw, 1 << 20)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                received += len(chunk)
        finally:
            raw.close()
        return received, server.active_count

    received, active = loop.run(main(), timeout=10)
    assert received < 8 << 20  # the queue was dropped, not flushed
    assert active == 0


def test_close_clients_ends_tls_connections_with_close_notify(
    loop: EventThread, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async def main() -> tuple[bytes, int]:
        server, port, protocols = await open_server(loop, server_context)
        await server.start()
        client = await create_connection_to(
            loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port,
            ssl_context=client_context, server_host_name="localhost",
        )
        while not (protocols and protocols[0].made):  # the server's side of the handshake is done too
            await skip_ready_cycle()
        server.close()
        server.close_clients()
        data = await client.read()  # EOF from close_notify
        await server.wait_closed()
        return data, server.active_count

    assert loop.run(main(), timeout=10) == (b"", 0)


async def test_serve_forever_and_close_clients_on_the_virtual_network(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    with scarletio_network.add_host("server").use():
        server = await create_server_to(scarletio_loop, Silent, None, 7000)
    forever = scarletio_loop.create_task(server.serve_forever())
    with scarletio_network.add_host("client").use():
        client = await create_connection_to(scarletio_loop, lambda: ReadWriteProtocolBase(scarletio_loop), "server", 7000)
    scarletio_loop.call_after(60, server.close)
    await forever
    assert server.active_count == 1
    server.close_clients()
    await server.wait_closed()
    assert await client.read() == b""
