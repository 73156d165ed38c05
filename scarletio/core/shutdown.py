"""How an `EventThread` stops (core layer).

`stop()` ends the loop's main iterations; then, on the loop thread, the pending tasks are cancelled and
given a bounded time to run their `finally` blocks (once none is left, no more I/O is dispatched:
stop means stop), open asynchronous generators are closed, unretrieved exceptions are reported, the
executor is shut down and the reactor closed. Afterwards the loop refuses new work.
"""

from __future__ import annotations

import sys
import threading

from _thread import get_ident
from collections.abc import AsyncGenerator, Coroutine
from typing import Any

from .futures import report_unretrieved_exceptions
from .reporting import report_error
from .abc import AsyncGeneratorRouter
from .states import CLOSED, STOPPING, LoopInternals
from .tasks import Task, _new_task


__all__ = (
    "SETTLING_ROUNDS",
    "STOP_GRACE_SECONDS",
    "close_async_generators",
    "finalize_async_generator",
    "leave_behind",
    "shut_down",
)

STOP_GRACE_SECONDS = 2.0
"""How long `stop()` lets cancelled tasks run their `finally` blocks before giving up on them."""


SETTLING_ROUNDS = 8
"""Drains of already queued work a stopping loop runs once no task is left."""


def run_down(loop: LoopInternals, deadline: float) -> None:
    """Iterate until no task is left or `deadline` passes, cancelling tasks that appear.

    Tasks in `_stop_spared` (cancelled already, or closing an async generator) are left alone. While
    tasks run their `finally` blocks the loop does I/O as usual: they may need it. Once none is left,
    stop means stop: the loop no longer polls, so no more socket I/O is dispatched (a busy server
    with callback protocols used to go on serving until `STOP_GRACE_SECONDS` ran out); it only runs
    what is already queued (done-callbacks, `connection_lost`, the wake-up of a thread in
    `LOOP.run`), for at most `SETTLING_ROUNDS` drains, so a callback that re-queues itself cannot
    keep it either.
    """
    spared = loop._stop_spared
    now = loop._clock.now
    settling = 0
    while loop._tasks or loop._ready:
        if not loop._tasks:
            settling += 1
            if settling > SETTLING_ROUNDS:
                break
        for task in list(loop._tasks):
            if task not in spared:
                spared.add(task)
                task.cancel()
        remaining = deadline - now()
        if remaining <= 0.0:
            break
        try:
            loop._run_iteration(remaining)
        except BaseException as error:
            loop._failure_streak.survive(loop.name, error)


def shut_down(loop: LoopInternals) -> None:
    """Finish a stopping loop on its own thread (see the module docstring)."""
    with loop._state_lock:
        loop._loop_state = STOPPING
    try:
        deadline = loop._clock.now() + STOP_GRACE_SECONDS
        run_down(loop, deadline)
        close_async_generators(loop)
        run_down(loop, deadline)
        if loop._tasks:
            names = ", ".join(repr(task) for task in loop._tasks)
            report_error(f"{len(loop._tasks)} task(s) ignored cancellation while the loop stopped: {names}")
        report_unretrieved_exceptions(loop)
    except BaseException as error:
        report_error(f"event loop {loop.name!r} failed while stopping", error)
    finally:
        run_close_callbacks(loop)
        with loop._state_lock:
            loop._loop_state = CLOSED
        executor = loop._executor
        if executor is not None:
            executor.shutdown(wait=True)
        loop._reactor.close()
        loop._ready.clear()
        loop._timers.clear()
        loop._readers.clear()
        loop._writers.clear()
        loop._stop_spared.clear()
        sys.set_asyncgen_hooks(firstiter=None, finalizer=None)
        # A later thread may get this thread's ident; it must not pass for the loop thread.
        loop._loop_thread_id = 0


def run_close_callbacks(loop: LoopInternals) -> None:
    """Run (and forget) the callbacks registered with `loop.add_close_callback`, reporting failures."""
    callbacks, loop._close_callbacks = loop._close_callbacks, []
    for callback in callbacks:
        try:
            callback()
        except BaseException as error:
            report_error(f"close callback {callback!r} of event loop {loop.name!r} failed", error)


def create_task_during_stop(loop: LoopInternals, coroutine: Coroutine[Any, Any, object]) -> Task[object]:
    """Queue a task on the loop thread even while stopping; one made while stopping is let finish."""
    task = _new_task(loop, coroutine)
    loop._tasks[task] = None
    if loop._loop_state == STOPPING:
        loop._stop_spared.add(task)  # closing a generator: stop() lets it finish
    loop._ready.append(task)
    return task


def route_async_generators(loop: LoopInternals, router: AsyncGeneratorRouter | None) -> None:
    """Let another face of `loop` close the asynchronous generators first iterated in its world.

    `scarletio.aio` uses it, so that an asyncio generator the garbage collector finalises closes in an
    asyncio task, as on asyncio's own loop. The router is told of every generator first iterated on the
    loop thread and is offered every one being finalised; those it declines close in scarletio tasks.
    One router at a time.

    Raises:
        RuntimeError: If another router is set already.
    """
    if router is not None and loop._asyncgen_router not in (None, router):
        raise RuntimeError(f"event loop {loop.name!r} routes its asynchronous generators elsewhere already")
    loop._asyncgen_router = router


def note_async_generator(loop: LoopInternals, generator: AsyncGenerator[Any, Any]) -> None:
    """Remember an asynchronous generator first iterated on the loop thread (its firstiter hook)."""
    loop._asyncgens.add(generator)
    router = loop._asyncgen_router
    if router is not None:
        router.first_iterated(generator)


def finalize_async_generator(loop: LoopInternals, generator: AsyncGenerator[Any, Any]) -> None:
    """Close an asynchronous generator of `loop` that is being garbage-collected (its finalizer hook).

    The router, if any, closes the ones of its world; the rest close in scarletio tasks.
    """
    loop._asyncgens.discard(generator)
    router = loop._asyncgen_router
    if router is not None and router.finalize(generator):
        return
    if loop._loop_state == STOPPING and get_ident() == loop._loop_thread_id:
        create_task_during_stop(loop, generator.aclose())
    elif loop._loop_state != CLOSED:
        try:
            loop.create_task(generator.aclose())
        except RuntimeError:
            pass


def close_async_generators(loop: LoopInternals) -> list[Task[object]]:
    """Schedule `aclose()` of every open asynchronous generator of `loop`; return the closing tasks."""
    generators = list(loop._asyncgens)
    loop._asyncgens.clear()
    return [create_task_during_stop(loop, generator.aclose()) for generator in generators]


def leave_behind(loop: LoopInternals, parent: int, keep: list[object]) -> None:
    """Leave a loop inherited from `os.fork()` behind in the child process (see `scarletio.core.forking`).

    Nothing of it runs here: its work is the parent's. What it held goes into `keep`, which the child
    never lets go of, so not even a `finally` block of the parent's tasks runs at garbage collection.
    """
    loop._state_lock = threading.Lock()  # another thread of the parent may have held it at the fork
    loop._loop_state = CLOSED
    loop._left_behind_by = parent
    loop._loop_thread_id = 0  # the forking thread may be the loop's own: it is not the loop any more
    keep.append(
        (
            list(loop._tasks),
            list(loop._ready),
            list(loop._timers),
            dict(loop._readers),
            dict(loop._writers),
            loop._executor,
            loop._close_callbacks,
        )
    )
    # Emptied in place: a drain under way in the forking thread holds the very same queue.
    loop._tasks.clear()
    loop._ready.clear()
    loop._timers.clear()
    loop._readers.clear()
    loop._writers.clear()
    loop._stop_spared.clear()
    loop._close_callbacks = []
    loop._executor = None
    loop._reactor.close()  # the child's copies of its descriptors; the parent's stay open
