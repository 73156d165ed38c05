"""Core benchmark cases: task spawning, yielding, ping-pong, future callbacks and timers.

Every workload has runners doing identical work on asyncio (and uvloop) and scarletio; trio where a
trio version is natural, and a framework-free ceiling for spawning and yielding.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import scarletio
from benchmarks.workload import Workload

SPAWN_TASKS = 100_000
YIELDS = 200_000
PING_PONG_TASKS = 100
PING_PONG_ROUNDS = 1_000
FUTURES = 200_000
TIMERS = 100_000


async def _noop() -> int:
    return 1


# ---- spawn-and-await -------------------------------------------------------------------------


async def _spawn_asyncio() -> None:
    create_task = asyncio.get_running_loop().create_task
    tasks = [create_task(_noop()) for _ in range(SPAWN_TASKS)]
    for task in tasks:
        await task


async def _spawn_scarletio(loop: scarletio.EventThread) -> None:
    create_task = loop.create_task
    tasks = [create_task(_noop()) for _ in range(SPAWN_TASKS)]
    for task in tasks:
        await task


# ---- yields in one task ----------------------------------------------------------------------


async def _yield_asyncio() -> None:
    sleep = asyncio.sleep
    for _ in range(YIELDS):
        await sleep(0)


async def _yield_scarletio() -> None:
    skip = scarletio.skip_ready_cycle
    for _ in range(YIELDS):
        await skip()


# ---- ping-pong ring of tasks -------------------------------------------------------------------


async def _ping_pong_asyncio() -> None:
    loop = asyncio.get_running_loop()
    inboxes: list[asyncio.Future[int]] = [loop.create_future() for _ in range(PING_PONG_TASKS)]

    async def player(index: int) -> None:
        following = (index + 1) % PING_PONG_TASKS
        for _ in range(PING_PONG_ROUNDS):
            value = await inboxes[index]
            inboxes[index] = loop.create_future()
            inboxes[following].set_result(value + 1)

    players = [loop.create_task(player(index)) for index in range(PING_PONG_TASKS)]
    inboxes[0].set_result(0)
    await asyncio.gather(*players)


async def _ping_pong_scarletio(loop: scarletio.EventThread) -> None:
    inboxes: list[scarletio.Future[int]] = [loop.create_future() for _ in range(PING_PONG_TASKS)]

    async def player(index: int) -> None:
        following = (index + 1) % PING_PONG_TASKS
        for _ in range(PING_PONG_ROUNDS):
            value = await inboxes[index]
            inboxes[index] = loop.create_future()
            inboxes[following].set_result(value + 1)

    players = [loop.create_task(player(index)) for index in range(PING_PONG_TASKS)]
    inboxes[0].set_result(0)
    for task in players:
        await task


# ---- futures with one done-callback each --------------------------------------------------------


async def _futures_asyncio() -> None:
    loop = asyncio.get_running_loop()
    finished = loop.create_future()
    remaining = [FUTURES]

    def callback(_: object) -> None:
        remaining[0] -= 1
        if not remaining[0]:
            finished.set_result(None)

    for _ in range(FUTURES):
        future = loop.create_future()
        future.add_done_callback(callback)
        future.set_result(None)
    await finished


async def _futures_scarletio(loop: scarletio.EventThread) -> None:
    finished: scarletio.Future[None] = loop.create_future()
    remaining = [FUTURES]

    def callback(_: object) -> None:
        remaining[0] -= 1
        if not remaining[0]:
            finished.set_result(None)

    for _ in range(FUTURES):
        future: scarletio.Future[None] = loop.create_future()
        future.add_done_callback(callback)
        future.set_result(None)
    await finished


# ---- timers ---------------------------------------------------------------------------------------


def _delay(index: int) -> float:
    return (index * 7919 % 1000) * 1e-5  # spread over 10 ms, out of order


async def _timers_asyncio() -> None:
    loop = asyncio.get_running_loop()
    finished = loop.create_future()
    remaining = [TIMERS]

    def callback() -> None:
        remaining[0] -= 1
        if not remaining[0]:
            finished.set_result(None)

    call_later = loop.call_later
    for index in range(TIMERS):
        call_later(_delay(index), callback)
    await finished


async def _timers_scarletio(loop: scarletio.EventThread) -> None:
    finished: scarletio.Future[None] = loop.create_future()
    remaining = [TIMERS]

    def callback() -> None:
        remaining[0] -= 1
        if not remaining[0]:
            finished.set_result(None)

    call_after = loop.call_after
    for index in range(TIMERS):
        call_after(_delay(index), callback)
    await finished


# ---- trio versions, where one is natural -----------------------------------------------------------


async def _noop_trio() -> None:
    return None


async def _spawn_trio() -> None:
    import trio

    async with trio.open_nursery() as nursery:
        for _ in range(SPAWN_TASKS):
            nursery.start_soon(_noop_trio)


async def _yield_trio() -> None:
    import trio

    checkpoint = trio.lowlevel.checkpoint
    for _ in range(YIELDS):
        await checkpoint()


async def _ping_pong_trio() -> None:
    import trio

    # An inbox per player: a one-slot memory channel is trio's way of handing a value to one task.
    channels = [trio.open_memory_channel[int](1) for _ in range(PING_PONG_TASKS)]

    async def player(index: int) -> None:
        receive = channels[index][1].receive
        send = channels[(index + 1) % PING_PONG_TASKS][0].send
        for _ in range(PING_PONG_ROUNDS):
            value = await receive()
            await send(value + 1)

    async with trio.open_nursery() as nursery:
        for index in range(PING_PONG_TASKS):
            nursery.start_soon(player, index)
        await channels[0][0].send(0)


def _on_trio(function: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    def run() -> None:
        import trio

        trio.run(function)

    return run


# ---- the ceiling: coroutines driven by a bare deque, no framework -----------------------------------------


class _BareYield:
    """An awaitable that suspends once: the least a scheduler can be asked to do."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield None


def _spawn_ceiling() -> None:
    # Create every coroutine, queue it, run each to its end: no task objects, no awaiting.
    queue = deque([_noop() for _ in range(SPAWN_TASKS)])
    results = []
    popleft = queue.popleft
    while queue:
        coroutine = popleft()
        try:
            coroutine.send(None)
        except StopIteration as stop:
            results.append(stop.value)
    assert len(results) == SPAWN_TASKS


def _yield_ceiling() -> None:
    async def yielder() -> None:
        suspend = _BareYield()
        for _ in range(YIELDS):
            await suspend

    queue = deque([yielder()])
    popleft, append = queue.popleft, queue.append
    while queue:
        coroutine = popleft()
        try:
            coroutine.send(None)
        except StopIteration:
            continue
        append(coroutine)


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
        "spawn-and-await 100k tasks",
        asyncio=_on_asyncio(_spawn_asyncio),
        scarletio=_on_scarletio(_spawn_scarletio),
        trio=_on_trio(_spawn_trio),
        ceiling=_spawn_ceiling,
    ),
    Workload(
        "200k yields in one task",
        asyncio=_on_asyncio(_yield_asyncio),
        scarletio=_on_scarletio(lambda loop: _yield_scarletio()),
        trio=_on_trio(_yield_trio),
        ceiling=_yield_ceiling,
    ),
    Workload(
        "100-task ping-pong x1000",
        asyncio=_on_asyncio(_ping_pong_asyncio),
        scarletio=_on_scarletio(_ping_pong_scarletio),
        trio=_on_trio(_ping_pong_trio),
    ),
    Workload("200k futures + done-callback", asyncio=_on_asyncio(_futures_asyncio), scarletio=_on_scarletio(_futures_scarletio)),
    Workload("100k timers", asyncio=_on_asyncio(_timers_asyncio), scarletio=_on_scarletio(_timers_scarletio)),
]
