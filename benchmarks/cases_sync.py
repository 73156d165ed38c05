"""Synchronisation and thread-interop benchmark cases: lock contention, task groups, foreign threads.

Every workload runs on asyncio (and uvloop) and scarletio, and on trio where a trio version is
natural; `memory per sleeping task` is measured in bytes per task (lower is better).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from collections.abc import Callable, Coroutine
from typing import Any

import scarletio
from benchmarks.workload import Workload

LOCK_TASKS = 100
LOCK_ROUNDS = 1_000
GROUP_TASKS = 100_000
FOREIGN_COROUTINES = 10_000
SLEEPING_TASKS = 10_000


async def _noop() -> None:
    return None


# ---- lock contention ------------------------------------------------------------------------------


async def _lock_asyncio() -> None:
    lock = asyncio.Lock()
    counter = [0]

    async def worker() -> None:
        for _ in range(LOCK_ROUNDS):
            async with lock:
                counter[0] += 1
                await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(LOCK_TASKS)))
    assert counter[0] == LOCK_TASKS * LOCK_ROUNDS


async def _lock_scarletio(loop: scarletio.EventThread) -> None:
    lock = scarletio.Lock(loop)
    counter = [0]

    async def worker() -> None:
        for _ in range(LOCK_ROUNDS):
            async with lock:
                counter[0] += 1
                await scarletio.skip_ready_cycle()

    tasks = [loop.create_task(worker()) for _ in range(LOCK_TASKS)]
    for task in tasks:
        await task
    assert counter[0] == LOCK_TASKS * LOCK_ROUNDS


# ---- spawning through a task group -----------------------------------------------------------------


async def _group_asyncio() -> None:
    async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined,unused-ignore]
        for _ in range(GROUP_TASKS):
            group.create_task(_noop())


async def _group_scarletio(loop: scarletio.EventThread) -> None:
    group: scarletio.TaskGroup[None] = scarletio.TaskGroup(loop)
    for _ in range(GROUP_TASKS):
        group.create_task(_noop())
    await group.wait_all()


# ---- coroutines submitted from a foreign thread ---------------------------------------------------------


def _foreign_asyncio() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        for _ in range(FOREIGN_COROUTINES):
            asyncio.run_coroutine_threadsafe(_noop(), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _foreign_scarletio(loop: scarletio.EventThread) -> None:
    for _ in range(FOREIGN_COROUTINES):
        loop.create_task_thread_safe(_noop()).sync_wrap().wait()


# ---- memory per sleeping task ---------------------------------------------------------------------------


async def _sleeper_asyncio() -> None:
    await asyncio.sleep(3600)


async def _sleeper_scarletio() -> None:
    await scarletio.sleep(3600)


def _measure(start: Callable[[], object], settle: Callable[[], None], stop: Callable[[object], None]) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = start()
    settle()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    stop(tasks)
    return (after - before) / SLEEPING_TASKS


def _memory_asyncio() -> float:
    """Return bytes per task sleeping in `asyncio.sleep(3600)` (on uvloop too, under its policy)."""
    asyncio_loop = asyncio.new_event_loop()

    def start() -> object:
        return [asyncio_loop.create_task(_sleeper_asyncio()) for _ in range(SLEEPING_TASKS)]

    def settle() -> None:
        asyncio_loop.run_until_complete(asyncio.sleep(0))
        asyncio_loop.run_until_complete(asyncio.sleep(0))

    def stop(tasks: object) -> None:
        assert isinstance(tasks, list)
        for task in tasks:
            task.cancel()
        asyncio_loop.run_until_complete(asyncio.sleep(0))
        asyncio_loop.close()

    return _measure(start, settle, stop)


def _memory_scarletio(loop: scarletio.EventThread) -> float:
    """Return bytes per task sleeping in `scarletio.sleep(3600)`."""

    async def spawn() -> list[scarletio.Task[None]]:
        return [loop.create_task(_sleeper_scarletio()) for _ in range(SLEEPING_TASKS)]

    async def settle() -> None:
        await scarletio.skip_ready_cycle()
        await scarletio.skip_ready_cycle()

    async def cancel(tasks: object) -> None:
        assert isinstance(tasks, list)
        for task in tasks:
            task.cancel()
        await scarletio.skip_ready_cycle()

    return _measure(lambda: loop.run(spawn()), lambda: loop.run(settle()), lambda tasks: loop.run(cancel(tasks)))


def _memory_trio() -> float:
    """Return bytes per task sleeping in `trio.sleep(3600)` in a nursery."""
    import trio
    import trio.testing

    measured: list[float] = []

    async def main() -> None:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        async with trio.open_nursery() as nursery:
            for _ in range(SLEEPING_TASKS):
                nursery.start_soon(trio.sleep, 3600)
            await trio.testing.wait_all_tasks_blocked()
            measured.append((tracemalloc.get_traced_memory()[0] - before) / SLEEPING_TASKS)
            tracemalloc.stop()
            nursery.cancel_scope.cancel()

    trio.run(main)
    return measured[0]


# ---- trio versions ---------------------------------------------------------------------------------------


def _lock_trio() -> None:
    import trio

    async def main() -> None:
        lock = trio.Lock()
        counter = [0]

        async def worker() -> None:
            for _ in range(LOCK_ROUNDS):
                async with lock:
                    counter[0] += 1
                    await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            for _ in range(LOCK_TASKS):
                nursery.start_soon(worker)
        assert counter[0] == LOCK_TASKS * LOCK_ROUNDS

    trio.run(main)


def _foreign_trio() -> None:
    import trio

    started = threading.Event()
    tokens: list[trio.lowlevel.TrioToken] = []
    stopping: list[trio.Event] = []

    async def host() -> None:
        stopping.append(trio.Event())
        tokens.append(trio.lowlevel.current_trio_token())
        started.set()
        await stopping[0].wait()

    thread = threading.Thread(target=trio.run, args=(host,))
    thread.start()
    started.wait()
    token = tokens[0]
    try:
        for _ in range(FOREIGN_COROUTINES):
            trio.from_thread.run(_noop, trio_token=token)
    finally:
        trio.from_thread.run_sync(stopping[0].set, trio_token=token)
        thread.join()


def _on_asyncio(factory: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    def run() -> None:
        asyncio.run(factory())

    return run


def _on_scarletio(
    factory: Callable[[scarletio.EventThread], Coroutine[Any, Any, None]],
) -> Callable[[scarletio.EventThread], None]:
    def run(loop: scarletio.EventThread) -> None:
        loop.run(factory(loop))

    return run


WORKLOADS = [
    Workload(
        "lock contention 100 x 1000",
        asyncio=_on_asyncio(_lock_asyncio),
        scarletio=_on_scarletio(_lock_scarletio),
        trio=_lock_trio,
    ),
    Workload("100k tasks through a TaskGroup", asyncio=_on_asyncio(_group_asyncio), scarletio=_on_scarletio(_group_scarletio)),
    Workload(
        "10k coroutines from a foreign thread",
        asyncio=_foreign_asyncio,
        scarletio=_foreign_scarletio,
        trio=_foreign_trio,
    ),
    Workload(
        "memory per sleeping task",
        asyncio=_memory_asyncio,
        scarletio=_memory_scarletio,
        trio=_memory_trio,
        measure="bytes",
    ),
]
