"""Benchmarks of `scarletio.aio`: the same asyncio program on stock asyncio, on scarletio.aio and on uvloop.

Usage: `python benchmarks/cases_aio.py [--repeat N] [--backend NAME]` (also run by `benchmarks/run.py`).

Each workload is one asyncio coroutine function; each loop runs it from a fresh loop of its own, and the
best of `--repeat` runs counts. The ratios are stock asyncio's time divided by scarletio.aio's (above
1.0: scarletio.aio is faster) and uvloop's time divided by scarletio.aio's, when uvloop is installed
(the `bench` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scarletio.aio  # noqa: E402
from benchmarks.cases_net import settle_allocator  # noqa: E402

Workload = Callable[[], Coroutine[Any, Any, None]]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]

SLEEPS = 100_000
TASKS = 100_000
GETS = 500


async def sleep_zero_loop() -> None:
    """One task passing its turn `SLEEPS` times (`await asyncio.sleep(0)`)."""
    for _ in range(SLEEPS):
        await asyncio.sleep(0)


async def _pass() -> None:
    await asyncio.sleep(0)


async def many_tasks() -> None:
    """`TASKS` tasks created at once, each passing its turn once, gathered."""
    await asyncio.gather(*[asyncio.ensure_future(_pass()) for _ in range(TASKS)])


async def aiohttp_gets() -> None:
    """An aiohttp server and client over 127.0.0.1: `GETS` requests on one kept-alive connection."""
    import aiohttp
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(GETS):
                async with session.get(f"http://127.0.0.1:{port}/") as response:
                    await response.read()
    finally:
        await runner.cleanup()


WORKLOADS: list[tuple[str, Workload]] = [
    (f"asyncio.sleep(0) x{SLEEPS // 1000}k", sleep_zero_loop),
    (f"{TASKS // 1000}k tasks, gathered", many_tasks),
    (f"aiohttp GET x{GETS} over 127.0.0.1", aiohttp_gets),
]


def loops(backend: str | None) -> list[tuple[str, LoopFactory]]:
    """Return the loops to compare: stock asyncio, scarletio.aio (on `backend`), and uvloop if installed."""
    chosen: list[tuple[str, LoopFactory]] = [
        ("asyncio", asyncio.DefaultEventLoopPolicy().new_event_loop),
        ("scarletio.aio", lambda: scarletio.aio.new_event_loop(backend)),  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    ]
    try:
        import uvloop
    except ImportError:
        return chosen
    chosen.append(("uvloop", uvloop.new_event_loop))
    return chosen


def seconds(factory: LoopFactory, workload: Workload, repeat: int) -> float:
    """Return the best of `repeat` runs of `workload` on a fresh loop of `factory` each (loop creation not timed)."""
    best = float("inf")
    for _ in range(repeat):
        loop = factory()
        try:
            gc.collect()
            started = time.perf_counter()
            loop.run_until_complete(workload())
            best = min(best, time.perf_counter() - started)
        finally:
            loop.close()
    return best


def print_rows(repeat: int = 3, backend: str | None = None) -> list[tuple[str, dict[str, float]]]:
    """Run every workload on every loop; print one row each, with the ratios; return the times."""
    # Every loop runs with glibc's thresholds already raised (as `benchmarks/run.py` does for its rows):
    # otherwise whichever loop runs first would pay for asyncio's 256 KiB reads alone.
    settle_allocator()
    chosen = loops(backend)
    names = [name for name, _ in chosen]
    header = f"{'asyncio program':<34}" + "".join(f"{name:>15}" for name in names) + f"{'asyncio/aio':>13}"
    if "uvloop" in names:
        header += f"{'uvloop/aio':>12}"
    print(header, flush=True)
    rows: list[tuple[str, dict[str, float]]] = []
    for title, workload in WORKLOADS:
        times = {name: seconds(factory, workload, repeat) for name, factory in chosen}
        line = f"{title:<34}" + "".join(f"{times[name] * 1e3:>13.1f}ms" for name in names)
        line += f"{times['asyncio'] / times['scarletio.aio']:>12.2f}x"
        if "uvloop" in times:
            line += f"{times['uvloop'] / times['scarletio.aio']:>11.2f}x"
        print(line, flush=True)
        rows.append((title, times))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the rows; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload and loop; the best counts")
    parser.add_argument("--backend", default=None, help="backend of scarletio.aio's loops (default: the best available)")
    arguments = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}")
    print_rows(arguments.repeat, arguments.backend)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
