"""The plugin's asyncio mode: tests written for asyncio run as asyncio tasks on the test's loop.

Testing layer. With `@pytest.mark.scarletio(asyncio=True)`, `--scarletio-asyncio` or the ini value
`scarletio_asyncio = true`, an `async def` test (and each `async def` fixture) still runs on a fresh
scarletio loop, on the chosen backend (virtual time by default) with its seed and exploration, but as
an asyncio `Task` of the loop's asyncio face (`scarletio.aio.get_asyncio_loop`): `asyncio.current_task()`,
`asyncio.timeout()`, task groups and every asyncio library see a task of their own loop. On the
virtual backend the loop's virtual network (`scarletio_network`) carries asyncio networking too.

When pytest-asyncio is not installed, asyncio mode also takes the tests marked `@pytest.mark.asyncio`.
After the test, the asyncio tasks still pending are cancelled and awaited, and the asynchronous
generators closed, as `asyncio.run` does, before the loop stops.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import pytest

from ..aio import EventLoop, get_asyncio_loop
from ..loop.event_thread import EventThread

__all__ = ("enter_asyncio_mode", "finish_asyncio_tasks", "in_mode", "scarletio_asyncio_loop", "takes_asyncio_marker")

T = TypeVar("T")

_asyncio_loops: weakref.WeakSet[EventThread] = weakref.WeakSet()
"""The test loops in asyncio mode."""


def enter_asyncio_mode(loop: EventThread) -> EventLoop:
    """Put a test's loop in asyncio mode: its test and fixture coroutines run as asyncio tasks."""
    _asyncio_loops.add(loop)
    return get_asyncio_loop(loop)


def in_mode(loop: EventThread, coroutine: Coroutine[Any, Any, T]) -> Awaitable[T]:
    """Return what runs `coroutine` on `loop`: itself, or an asyncio task of it in asyncio mode.

    Called on the loop's thread, from the task that awaits the result.
    """
    if loop not in _asyncio_loops:
        return coroutine
    return get_asyncio_loop(loop).create_task(coroutine)


async def finish_asyncio_tasks(loop: EventThread) -> None:
    """Cancel and await the asyncio tasks left on `loop`'s face, then close its asynchronous generators."""
    face = get_asyncio_loop(loop)
    this = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks(face) if not task.done() and task is not this]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    await face.shutdown_asyncgens()


def takes_asyncio_marker(config: pytest.Config, in_asyncio_mode: bool) -> bool:
    """Return whether tests marked `asyncio` are ours: in asyncio mode, when pytest-asyncio is absent."""
    return in_asyncio_mode and not config.pluginmanager.hasplugin("asyncio")


@pytest.fixture
def scarletio_asyncio_loop(scarletio_loop: EventThread) -> EventLoop:
    """The asyncio face (`scarletio.aio.EventLoop`) of the current test's loop."""
    return get_asyncio_loop(scarletio_loop)
