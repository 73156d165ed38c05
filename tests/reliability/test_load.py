"""Reliability under load: many connections, descriptor exhaustion, cross-thread calls, timer churn.

Each scenario is bounded in time and uses the loopback interface only. Real sockets run on epoll and
poll; what does not need sockets runs on virtual time too.
"""

from __future__ import annotations

import os
import random
import resource
import socket
import threading
from collections.abc import Iterator

import pytest
from _fixtures import any_loop  # noqa: F401 - a fixture, used by name
from _fixtures import Reports, loop, reports  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.suspension import skip_ready_cycle, sleep
from scarletio.net import ReadWriteProtocolBase, Transport, create_connection_to, create_server_to
from scarletio.net import servers


@pytest.fixture
def descriptors(request: pytest.FixtureRequest) -> Iterator[int]:
    """Make sure the process may open enough descriptors for the test (the soft limit is raised)."""
    needed = int(getattr(request, "param", 5000))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.fail(f"the test needs {needed} descriptors; raise the hard limit (ulimit -Hn {needed})")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    yield needed
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# ---- 2,000 concurrent connections, every byte checked --------------------------------------------------


class EchoHandler(ReadWriteProtocolBase):
    """Server side: echo what arrives, with back-pressure, until the client half-closes."""

    def connection_made(self, transport: Transport, /) -> None:
        super().connection_made(transport)
        self._loop.create_task(self.serve())

    def eof_received(self) -> bool:
        super().eof_received()
        return True  # a half-close: the echo goes on after the client's end of file

    async def serve(self) -> None:
        try:
            while True:
                data = await self.read_once()
                if not data:
                    break
                self.write(data)
                await self.drain()
        finally:
            self.close_transport()


CONNECTIONS = 2000
PAYLOAD = 16 * 1024


def payload_for(index: int) -> bytes:
    """A payload that differs for every connection and every position: a lost or swapped byte shows."""
    rng = random.Random(index)
    return rng.randbytes(PAYLOAD)


def test_two_thousand_concurrent_connections_get_every_byte_back(loop: EventThread, descriptors: int) -> None:
    async def client(port: int, index: int) -> bool:
        stream = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        try:
            data = payload_for(index)
            for start in range(0, PAYLOAD, 4096):  # in pieces, so the echo interleaves with sending
                stream.write(data[start : start + 4096])
                await stream.drain()
            stream.write_eof()
            return await stream.read_exactly(PAYLOAD) == data and await stream.read() == b""
        finally:
            stream.close_transport()

    async def main() -> tuple[int, int]:
        server = await create_server_to(loop, lambda: EchoHandler(loop), "127.0.0.1", 0, backlog=CONNECTIONS)
        await server.start()
        port = server.sockets[0].getsockname()[1]
        clients = [loop.create_task(client(port, index)) for index in range(CONNECTIONS)]
        peak = 0
        while not all(task.is_done() for task in clients):
            peak = max(peak, server.active_count)
            await sleep(0.005)
        intact = sum(task.get_result() for task in clients)
        server.close()
        await server.wait_closed()
        return intact, peak

    intact, peak = loop.run(main(), timeout=120)
    assert intact == CONNECTIONS
    assert peak > CONNECTIONS // 4  # they really were open at the same time


# ---- running out of descriptors on accept ------------------------------------------------------------


def test_running_out_of_descriptors_on_accept_is_reported_and_the_loop_keeps_turning(
    loop: EventThread, reports: Reports, descriptors: int
) -> None:
    async def main() -> tuple[int, int, list[bytes]]:
        server = await create_server_to(loop, lambda: EchoHandler(loop), "127.0.0.1", 0)
        await server.start()
        port = server.sockets[0].getsockname()[1]
        clients = [socket.socket() for _ in range(5)]
        filler: list[int] = []
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            # Use up every descriptor the process may open: accept() will meet EMFILE.
            resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
            while True:
                try:
                    filler.append(os.open(os.devnull, os.O_RDONLY))
                except OSError:
                    break
            for sock in clients:
                sock.setblocking(False)
                try:
                    sock.connect(("127.0.0.1", port))  # completes in the kernel's backlog
                except BlockingIOError:
                    pass
            ticks = 0
            while ticks < 100:  # the loop turns, and does not spin on the listening socket meanwhile
                await sleep(0.005)
                ticks += 1
            accepted_while_full = server.active_count
        finally:
            for fd in filler:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        while server.active_count < len(clients):  # accepting resumes after ACCEPT_RETRY_DELAY
            await sleep(0.05)
        answers = []
        for index, sock in enumerate(clients):
            message = f"ping {index}\n".encode()
            await loop.socket_send_all(sock, message)
            answers.append(await loop.socket_receive(sock, 100))
            sock.close()
        server.close()
        await server.wait_closed()
        return accepted_while_full, ticks, answers

    accepted, ticks, answers = loop.run(main(), timeout=60)
    assert accepted == 0
    assert ticks == 100
    assert answers == [f"ping {index}\n".encode() for index in range(5)]
    assert 1 <= len(reports) <= 4  # one report per retry, not one per readiness event
    for message, exception in reports:
        assert "cannot accept connections" in message and f"retrying in {servers.ACCEPT_RETRY_DELAY} s" in message
        assert isinstance(exception, OSError)


# ---- cross-thread calls -------------------------------------------------------------------------------


THREADS = 4
CALLS = 10_000


def test_calls_from_four_threads_all_arrive_once_and_in_order(any_loop: EventThread) -> None:
    arrived: list[tuple[int, int]] = []
    tasks_ran: list[tuple[int, int]] = []
    start = threading.Barrier(THREADS)

    async def record(thread: int, index: int) -> None:
        tasks_ran.append((thread, index))

    def caller(thread: int) -> None:
        start.wait()
        for index in range(CALLS):
            any_loop.call_soon_thread_safe(arrived.append, (thread, index))
            if index % 10 == 0:
                any_loop.create_task_thread_safe(record(thread, index))

    async def until_all_arrived() -> None:
        while len(arrived) < THREADS * CALLS or len(tasks_ran) < THREADS * CALLS // 10:
            await sleep(0.001)

    any_loop.wake_up()
    threads = [threading.Thread(target=caller, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    any_loop.run(until_all_arrived(), timeout=60)
    assert len(arrived) == THREADS * CALLS
    for number in range(THREADS):  # none lost, none twice, each thread's calls in its order
        assert [index for thread, index in arrived if thread == number] == list(range(CALLS))
        assert [index for thread, index in tasks_ran if thread == number] == list(range(0, CALLS, 10))


# ---- timer churn -------------------------------------------------------------------------------------


def test_timer_churn_keeps_the_heap_bounded_and_fires_every_live_timer(any_loop: EventThread) -> None:
    waves, per_wave, kept = 10, 10_000, 1_000  # 90 % of the timers are cancelled

    async def main() -> tuple[int, int, int]:
        fired = 0
        largest = 0

        def fire() -> None:
            nonlocal fired
            fired += 1

        rng = random.Random(7)
        for _ in range(waves):
            handles = [any_loop.call_after(rng.uniform(0.0, 0.02), fire) for _ in range(per_wave)]
            for handle in handles[kept:]:
                handle.cancel()
            await skip_ready_cycle()
            largest = max(largest, len(any_loop._timers))
            await sleep(0.03)  # every kept timer of the wave is due by now
            largest = max(largest, len(any_loop._timers))
        return fired, largest, len(any_loop._timers)

    fired, largest, left = any_loop.run(main(), timeout=60)
    assert fired == waves * kept
    # Cancelled timers are compacted away once most of the heap is dead: it never holds many waves.
    assert largest <= 2 * per_wave
    assert left <= 256


# ---- stopping in the middle of traffic ---------------------------------------------------------------


def test_stop_during_io_cancels_the_transfers_runs_their_finally_blocks_and_ends(loop: EventThread) -> None:
    finished: list[str] = []

    async def pump(stream: ReadWriteProtocolBase) -> None:
        try:
            while True:
                stream.write(b"x" * 65536)
                await stream.drain()
                await stream.read(65536)
        finally:
            stream.close_transport()
            finished.append("client")

    class Handler(EchoHandler):
        async def serve(self) -> None:
            try:
                await EchoHandler.serve(self)
            finally:
                finished.append("server")

    async def main() -> None:
        server = await create_server_to(loop, lambda: Handler(loop), "127.0.0.1", 0)
        await server.start()
        port = server.sockets[0].getsockname()[1]
        for _ in range(20):
            stream = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
            loop.create_task(pump(stream))
        while len(finished) == 0 and server.active_count < 20:
            await sleep(0.001)
        await sleep(0.05)  # traffic is flowing

    loop.run(main(), timeout=10)
    loop.stop()  # from this thread, while 20 transfers are under way
    loop.join(10)
    assert not loop.is_alive()
    assert sorted(finished) == ["client"] * 20 + ["server"] * 20
