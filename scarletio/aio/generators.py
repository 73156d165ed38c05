"""Which asynchronous generators of an `EventThread` belong to asyncio, so they close in asyncio tasks (aio layer).

A thread has one pair of asynchronous-generator hooks, and scarletio's close a generator the garbage
collector finalises in a scarletio task. An asyncio generator expects its `finally` to run in an
asyncio task, as on asyncio's own loop: `asyncio.current_task()` is not None there, so an
`asyncio.timeout(...)` in it works. `AsyncioGenerators` is the thread's router
(`Scheduler.route_async_generators`): it notes the generators first iterated inside an asyncio task of
the loop and closes those in asyncio tasks; every other one closes as before.

How a generator is recognised when it is finalised
--------------------------------------------------

The finaliser hook gets the generator itself, but neither a weak set nor a weak key can find it any
more: CPython clears an object's weak references before its finaliser runs. So the router keys its
generators by `id()`, which is still theirs while the finaliser runs, and keeps a weak reference to
each only to learn when it dies:

- the weak reference's callback runs first and queues the key as dead; the finaliser (if the
  generator was unfinished) runs right after it, finds the key and takes it;
- a generator that finished by itself dies without a finaliser call, so its key is left behind, in
  the dead queue; the queue is swept before the next generator is noted, which is before any generator
  can be finalised at that address again. A stale key never names a younger generator.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any, final

__all__ = ("AsyncioGenerators",)

_Generator = AsyncGenerator[Any, Any]


@final
class AsyncioGenerators:
    """The asynchronous-generator router of an asyncio loop on an `EventThread` (see the module docstring).

    Args:
        loop: The asyncio loop; its thread's hooks call this router.
    """

    __slots__ = ("_dead", "_keys", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # id(generator) -> a weak reference to it, for the unfinished ones first iterated in an asyncio task
        self._keys: dict[int, weakref.ref[_Generator]] = {}
        # (key, reference) of generators that died since the last sweep
        self._dead: list[tuple[int, weakref.ref[_Generator]]] = []

    def first_iterated(self, generator: _Generator, /) -> None:
        """Note `generator` if it is first iterated inside an asyncio task of the loop."""
        if self._dead:
            self._sweep()
        key = id(generator)
        if asyncio.current_task(self._loop) is None:
            self._keys.pop(key, None)
            return
        self._keys[key] = weakref.ref(generator, partial(self._died, key))

    def _died(self, key: int, reference: weakref.ref[_Generator]) -> None:
        self._dead.append((key, reference))

    def _sweep(self) -> None:
        dead, self._dead = self._dead, []
        keys = self._keys
        for key, reference in dead:
            if keys.get(key) is reference:
                del keys[key]

    def finalize(self, generator: _Generator, /) -> bool:
        """Close `generator` in an asyncio task if it is one of the loop's; return whether it was.

        A generator whose loop is closed or not running any more is declined, and closes as scarletio's
        generators do.
        """
        reference = self._keys.pop(id(generator), None)
        if reference is None or reference() is not None:
            # Not noted, or noted under a key a live object holds: then it is not this generator's key.
            return False
        loop = self._loop
        if loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(_close_in_task, loop, generator)
        except RuntimeError:
            return False  # the thread has stopped
        return True

    def take_open(self, generators: weakref.WeakSet[_Generator]) -> list[AsyncGenerator[object, None]]:
        """Remove the loop's generators from `generators` (the thread's open ones) and return them."""
        if self._dead:
            self._sweep()
        mine: list[AsyncGenerator[object, None]] = []
        for reference in list(self._keys.values()):
            generator = reference()
            if generator is not None and generator in generators:
                generators.discard(generator)
                mine.append(generator)
        return mine


def _close_in_task(loop: asyncio.AbstractEventLoop, generator: _Generator) -> None:
    loop.create_task(generator.aclose())
