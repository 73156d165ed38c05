"""Type tests for the asyncio face (`scarletio.aio`): checked by mypy and by pyright (strict), never run.

Wrong calls carry mypy's `# type: ignore[code]` and pyright's `# pyright: ignore[rule]`; each checker
fails on an ignore it does not need, so a misuse that starts to type-check fails the build.
"""

from __future__ import annotations

import asyncio

from typing_extensions import assert_type

import scarletio.aio
from scarletio import EventThread, Future
from scarletio.aio import EventLoop, EventLoopPolicy, get_asyncio_loop, new_event_loop


async def number() -> int:
    return 1


def uses_the_face(thread: EventThread) -> None:
    loop = new_event_loop("virtual")
    assert_type(loop, EventLoop)
    assert_type(loop.thread, EventThread)
    assert_type(get_asyncio_loop(thread), EventLoop)
    face: asyncio.AbstractEventLoop = loop  # an asyncio loop wherever one is expected
    assert_type(loop.run_until_complete(number()), int)
    assert_type(scarletio.aio.run(number(), backend="poll"), int)
    assert_type(loop.time(), float)
    assert_type(loop.call_later(1.0, print, "x"), asyncio.TimerHandle)
    policy: asyncio.AbstractEventLoopPolicy = EventLoopPolicy("epoll")
    assert_type(face.is_closed(), bool)
    assert_type(policy.new_event_loop(), asyncio.AbstractEventLoop)
    new_event_loop("kqeue")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    loop.call_soon(print, 1, 2, sep="")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


async def crosses(thread: EventThread) -> None:
    future: Future[int] = Future(thread)
    assert_type(future.result(), int)
    assert_type(future.done(), bool)
    assert_type(await asyncio.ensure_future(future), int)  # an asyncio task awaits a scarletio future
    assert_type(await asyncio.wait_for(future, 1.0), int)
