"""Reliability: once `stop()` has let the pending tasks run their `finally` blocks, the loop stops.

A stopping loop used to keep dispatching socket I/O for up to `STOP_GRACE_SECONDS` (2 s) even with no
task pending: a busy echo server with callback protocols answered thousands of requests after
`stop()` (asyncio: a few dozen), and Ctrl-C of such a server took 2.1 s. The tests count what the
server receives after `stop()`, not how long stopping took: on real sockets with clients flooding it
from threads of their own (epoll and poll), and on the virtual network, where the clients are
callbacks of the same loop.
"""

from __future__ import annotations

import socket
import threading

import pytest
from _fixtures import loop  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.core.shutdown import SETTLING_ROUNDS
from scarletio.core.suspension import sleep
from scarletio.net import StreamProtocol, StreamTransport, Transport, create_connection_to, create_server_to
from scarletio.net.virtual import VirtualNetwork
from scarletio.testing import virtual_loop


class CountingEcho(StreamProtocol):
    """A callback protocol: every chunk goes straight back; chunks received after `stopped` are counted."""

    transport: StreamTransport

    def __init__(self, stopped: threading.Event, counts: dict[str, int]) -> None:
        self.stopped = stopped
        self.counts = counts

    def connection_made(self, transport: Transport, /) -> None:
        assert isinstance(transport, StreamTransport)
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        self.counts["after stop" if self.stopped.is_set() else "before stop"] += 1
        self.transport.write(data)


def flood(port: int, finished: threading.Event) -> list[threading.Thread]:
    """Connect, and send and receive at full speed on two threads until `finished` (or an error)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(0.2)
    chunk = b"x" * 65536

    def send() -> None:
        while not finished.is_set():
            try:
                sock.sendall(chunk)
            except OSError:  # timed out: the stopped server no longer reads
                continue

    def receive() -> None:
        while not finished.is_set():
            try:
                if not sock.recv(1 << 20):
                    return
            except OSError:
                continue
        sock.close()

    threads = [threading.Thread(target=send, daemon=True), threading.Thread(target=receive, daemon=True)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("clients", [1, 4])
def test_a_busy_callback_server_stops_serving_at_stop(loop: EventThread, clients: int) -> None:
    stopped = threading.Event()
    finished = threading.Event()
    counts = {"before stop": 0, "after stop": 0}

    async def start() -> int:
        server = await create_server_to(loop, lambda: CountingEcho(stopped, counts), "127.0.0.1", 0)
        await server.start()
        return int(server.sockets[0].getsockname()[1])

    port = loop.run(start(), timeout=10)
    threads = [thread for _ in range(clients) for thread in flood(port, finished)]
    try:
        while counts["before stop"] < 100 * clients:
            finished.wait(0.01)
        stopped.set()
        loop.stop()
        loop.join(10)
        assert not loop.is_alive()
    finally:
        finished.set()
        for thread in threads:
            thread.join(5)
    # The drain under way when stop() came may still read once per connection; nothing after it.
    # (Before, the loop kept serving for 2 s: thousands of chunks.)
    assert counts["after stop"] <= 2 * clients, counts


def test_a_stopping_loop_still_runs_what_pending_tasks_need_in_their_finally_blocks(loop: EventThread) -> None:
    steps: list[str] = []

    async def careful() -> None:
        try:
            await sleep(3600, loop)
        finally:
            steps.append("finally started")
            await sleep(0.01, loop)  # a timer, after the cancellation
            done: Future[str] = Future(loop)
            loop.call_soon(done.set_result, "callback ran")
            steps.append(await done)

    async def start() -> None:
        loop.create_task(careful())
        await sleep(0.001, loop)

    loop.run(start(), timeout=5)
    loop.stop()
    loop.join(10)
    assert steps == ["finally started", "callback ran"]


class Pinger(StreamProtocol):
    """A callback client: sends the next request as soon as the answer to the last one came.

    It stops the loop itself, from inside a callback, once the clients got `STOP_AFTER` answers.
    """

    STOP_AFTER = 400

    def __init__(self, loop: EventThread, counts: dict[str, int]) -> None:
        self.loop = loop
        self.counts = counts

    def connection_made(self, transport: Transport, /) -> None:
        assert isinstance(transport, StreamTransport)
        self.transport = transport
        transport.write(b"ping")

    def data_received(self, data: bytes, /) -> None:
        counts = self.counts
        if self.loop.is_running():
            counts["before stop"] += 1
            if counts["before stop"] == self.STOP_AFTER:
                self.loop.stop()  # from the loop thread, in the middle of the traffic
        else:
            counts["after stop"] += 1
        self.transport.write(b"ping")


def test_a_busy_callback_server_on_the_virtual_network_stops_serving_at_stop() -> None:
    counts = {"before stop": 0, "after stop": 0}
    with virtual_loop() as virtual:
        network = VirtualNetwork(virtual)
        never = threading.Event()

        async def main() -> None:
            with network.add_host("server").use():  # clients on the same host: loopback, no delay
                server = await create_server_to(virtual, lambda: CountingEcho(never, {"before stop": 0, "after stop": 0}), None, 7000)
                await server.start()
                for _ in range(4):
                    await create_connection_to(virtual, lambda: Pinger(virtual, counts), "localhost", 7000)
            await sleep(3600)  # stop() cancels this

        with pytest.raises(CancelledError):
            virtual.run(main(), timeout=10)
        virtual.join(10)
        assert not virtual.is_alive()
    assert counts["before stop"] >= Pinger.STOP_AFTER
    # Only what was already queued runs, for a few drains. (Before, with the clients always ready,
    # the stopping loop never got to its deadline: virtual time does not move while work is ready.)
    assert counts["after stop"] <= 4 * SETTLING_ROUNDS, counts
