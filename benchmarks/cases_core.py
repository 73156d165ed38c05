"""Core benchmark cases: task spawning, yielding, ping-pong, future callbacks and timers.

Every case is `(name, target ratio, asyncio runner, scarletio runner)`; the runners do identical work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import scarletio

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


def _on_asyncio(factory: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        asyncio.run(factory())  # type: ignore[arg-type]

    return run


def _on_scarletio(factory: Callable[[scarletio.EventThread], object]) -> Callable[[scarletio.EventThread], None]:
    def run(loop: scarletio.EventThread) -> None:
        loop.run(factory(loop))  # type: ignore[arg-type]

    return run


CASES = [
    ("spawn-and-await 100k tasks", 1.5, _on_asyncio(_spawn_asyncio), _on_scarletio(_spawn_scarletio)),
    ("200k yields in one task", 4.0, _on_asyncio(_yield_asyncio), _on_scarletio(lambda loop: _yield_scarletio())),
    ("100-task ping-pong x1000", 2.5, _on_asyncio(_ping_pong_asyncio), _on_scarletio(_ping_pong_scarletio)),
    ("200k futures + done-callback", 1.5, _on_asyncio(_futures_asyncio), _on_scarletio(_futures_scarletio)),
    ("100k timers", 2.0, _on_asyncio(_timers_asyncio), _on_scarletio(_timers_scarletio)),
]
