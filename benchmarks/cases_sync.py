"""Synchronisation and thread-interop benchmark cases: lock contention, task groups, foreign threads.

Time cases are `(name, target ratio, asyncio runner, scarletio runner)`; `memory_per_sleeping_task`
measures bytes per sleeping task on both libraries.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from collections.abc import Callable

import scarletio

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


def _measure(start: Callable[[], list[object]], settle: Callable[[], None], stop: Callable[[list[object]], None]) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = start()
    settle()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    stop(tasks)
    return (after - before) / SLEEPING_TASKS


def memory_per_sleeping_task(loop: scarletio.EventThread) -> tuple[float, float]:
    """Return bytes per task sleeping in `sleep(3600)`: (asyncio, scarletio)."""
    asyncio_loop = asyncio.new_event_loop()

    def start_asyncio() -> list[object]:
        tasks: list[object] = [asyncio_loop.create_task(_sleeper_asyncio()) for _ in range(SLEEPING_TASKS)]
        return tasks

    def settle_asyncio() -> None:
        asyncio_loop.run_until_complete(asyncio.sleep(0))
        asyncio_loop.run_until_complete(asyncio.sleep(0))

    def stop_asyncio(tasks: list[object]) -> None:
        for task in tasks:
            assert isinstance(task, asyncio.Task)
            task.cancel()
        asyncio_loop.run_until_complete(asyncio.sleep(0))
        asyncio_loop.close()

    async def spawn() -> list[object]:
        return [loop.create_task(_sleeper_scarletio()) for _ in range(SLEEPING_TASKS)]

    async def settle() -> None:
        await scarletio.skip_ready_cycle()
        await scarletio.skip_ready_cycle()

    async def cancel(tasks: list[object]) -> None:
        for task in tasks:
            assert isinstance(task, scarletio.Task)
            task.cancel()
        await scarletio.skip_ready_cycle()

    asyncio_bytes = _measure(start_asyncio, settle_asyncio, stop_asyncio)
    scarletio_bytes = _measure(lambda: loop.run(spawn()), lambda: loop.run(settle()), lambda tasks: loop.run(cancel(tasks)))
    return asyncio_bytes, scarletio_bytes


def _on_asyncio(factory: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        asyncio.run(factory())  # type: ignore[arg-type]

    return run


def _on_scarletio(factory: Callable[[scarletio.EventThread], object]) -> Callable[[scarletio.EventThread], None]:
    def run(loop: scarletio.EventThread) -> None:
        loop.run(factory(loop))  # type: ignore[arg-type]

    return run


CASES: list[tuple[str, float, Callable[[], None], Callable[[scarletio.EventThread], None]]] = [
    ("lock contention 100 x 1000", 3.0, _on_asyncio(_lock_asyncio), _on_scarletio(_lock_scarletio)),
    ("100k tasks through a TaskGroup", 1.5, _on_asyncio(_group_asyncio), _on_scarletio(_group_scarletio)),
    ("10k coroutines from a foreign thread", 5.0, _foreign_asyncio, _foreign_scarletio),
]
