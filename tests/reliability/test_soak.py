"""Reliability: a 60-second soak of a busy server, watching memory, descriptors and threads.

Left out of the default run by the `soak` marker (see `pyproject.toml`). Run it with

    .venv/bin/pytest -m soak tests/reliability/test_soak.py

(`SCARLETIO_SOAK_SECONDS=300` for a longer one). On each real backend, one loop runs an echo server
with the stream API and 50 clients doing request / response with checked bytes, one of them
reconnecting every 100 ms; a timer task schedules and cancels timers all along; another thread
calls in with `call_soon_thread_safe` and `LOOP.run`. Every few seconds the test samples the resident
memory, the open descriptors, the threads and the requests served, prints the table, and checks that
after a warm-up memory stays flat, descriptors and threads stay put, and requests never stall.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from _fixtures import loop  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.suspension import sleep
from scarletio.net import ReadWriteProtocolBase, Transport, create_connection_to, create_server_to

SOAK_SECONDS = float(os.environ.get("SCARLETIO_SOAK_SECONDS", "60"))
SAMPLE_SECONDS = 5.0
WARM_UP_SECONDS = 10.0
CLIENTS = 50
MESSAGE = 1024


class EchoHandler(ReadWriteProtocolBase):
    """Server side: send back what arrives, with back-pressure."""

    def connection_made(self, transport: Transport, /) -> None:
        super().connection_made(transport)
        self._loop.create_task(self.serve())

    async def serve(self) -> None:
        try:
            while not self.is_at_eof():
                data = await self.read_once()
                if data:
                    self.write(data)
                    await self.drain()
        except ConnectionError:
            pass
        finally:
            self.close_transport()


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.soak
@pytest.mark.timeout(SOAK_SECONDS + 60)
def test_a_busy_server_soaks_with_flat_memory_descriptors_and_threads(
    loop: EventThread, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = {"requests": 0, "reconnects": 0, "timers": 0, "calls": 0, "runs": 0}
    running = True
    failures: list[BaseException] = []

    def bump(name: str) -> None:
        counts[name] += 1

    async def client(port: int, number: int) -> None:
        rng = random.Random(number)
        stream: ReadWriteProtocolBase | None = None
        sent_on_stream = 0
        try:
            while running:
                if stream is None:
                    stream = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
                    sent_on_stream = 0
                message = rng.randbytes(MESSAGE)
                stream.write(message)
                await stream.drain()
                if await stream.read_exactly(MESSAGE) != message:
                    raise AssertionError(f"client {number} got back other bytes")
                counts["requests"] += 1
                sent_on_stream += 1
                if number == 0 and sent_on_stream >= 20:
                    stream.close_transport()
                    stream = None
                    counts["reconnects"] += 1
                    await sleep(0.1)
        except BaseException as error:
            if running:
                failures.append(error)
            raise
        finally:
            if stream is not None:
                stream.close_transport()

    async def churn_timers() -> None:
        rng = random.Random(0)
        while running:
            handles = [loop.call_after(rng.uniform(0, 0.05), bump, "timers") for _ in range(50)]
            for handle in handles[::2]:
                handle.cancel()
            await sleep(0.01)

    def call_in() -> None:
        async def tiny() -> int:
            return 1

        while running:
            for _ in range(100):
                loop.call_soon_thread_safe(bump, "calls")
            counts["runs"] += loop.run(tiny(), timeout=10)
            time.sleep(0.05)

    async def start() -> int:
        server = await create_server_to(loop, lambda: EchoHandler(loop), "127.0.0.1", 0)
        await server.start()
        port = int(server.sockets[0].getsockname()[1])
        for number in range(CLIENTS):
            loop.create_task(client(port, number))
        loop.create_task(churn_timers())
        return port

    loop.run(start(), timeout=10)
    caller = threading.Thread(target=call_in, name="soak caller")
    caller.start()
    samples: list[tuple[float, int, int, int, int]] = []
    started = time.monotonic()
    try:
        while True:
            elapsed = time.monotonic() - started
            samples.append((elapsed, resident_bytes(), open_descriptors(), threading.active_count(), counts["requests"]))
            if elapsed >= SOAK_SECONDS or failures:
                break
            time.sleep(min(SAMPLE_SECONDS, SOAK_SECONDS - elapsed + 0.01))
    finally:
        running = False
        caller.join(15)
    assert not failures, failures

    with capsys.disabled():
        print(f"\nsoak on {loop.backend.name}, {SOAK_SECONDS:.0f} s, {CLIENTS} clients of {MESSAGE} B messages")
        print(f"{'time s':>7} {'RSS MiB':>8} {'fds':>5} {'threads':>8} {'requests':>10} {'req/s':>8}")
        previous: tuple[float, int] | None = None
        for elapsed, rss, fds, threads, requests in samples:
            rate = "-" if previous is None else f"{(requests - previous[1]) / (elapsed - previous[0]):.0f}"
            print(f"{elapsed:7.1f} {rss / 2**20:8.1f} {fds:5d} {threads:8d} {requests:10d} {rate:>8}")
            previous = (elapsed, requests)
        print(
            f"totals: {counts['requests']} requests, {counts['reconnects']} reconnects, {counts['timers']} timers fired, "
            f"{counts['calls']} cross-thread calls, {counts['runs']} LOOP.run calls"
        )

    settled = [sample for sample in samples if sample[0] >= WARM_UP_SECONDS]
    assert len(settled) >= 2, "the soak is too short to judge; give it at least 20 s"
    base_rss, base_fds, base_threads = settled[0][1], settled[0][2], settled[0][3]
    for elapsed, rss, fds, threads, _ in settled:
        assert rss <= base_rss * 1.2 + 16 * 2**20, f"memory grew to {rss / 2**20:.1f} MiB at {elapsed:.0f} s"
        assert abs(fds - base_fds) <= 4, f"descriptors went from {base_fds} to {fds} at {elapsed:.0f} s"
        assert threads == base_threads, f"threads went from {base_threads} to {threads} at {elapsed:.0f} s"
    for earlier, later in zip(samples, samples[1:]):
        assert later[4] > earlier[4], f"no request was served between {earlier[0]:.0f} s and {later[0]:.0f} s"
