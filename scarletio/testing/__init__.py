"""Helpers for testing code on virtual time: run a coroutine function on a fresh loop, explore seeds.

Testing layer, on top of the scheduler and the `virtual` backend. Each helper builds a new
`EventThread` on `virtual_backend(seed, ...)`, so a run is isolated from every other loop and the same
seed makes the same scheduling decisions on every run. Seeds decide the virtual network's jitter and
losses, the fault injection points (`buggify()`, on under `explore`) and, with `perturb`, how late
each wakeup is and the order of descriptors ready at once: `explore` sweeps seeds to find the one that
breaks a test.

The pytest plugin (`scarletio.testing.plugin`, registered as an entry point) builds on the same
pieces; this module and `buggify` do not import pytest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable
from contextlib import contextmanager
from typing import Any, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from ..core.abc import Backend
from ..backends.virtual import virtual_backend
from ..loop.event_thread import EventThread
from ..core.exceptions import CancelledError
from .buggify import buggify as buggify
from .buggify import buggify_delay as buggify_delay
from .buggify import buggify_fail as buggify_fail

__all__ = ("buggify", "buggify_delay", "buggify_fail", "explore", "run_virtual", "virtual_loop")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

JOIN_SECONDS = 10.0
"""How long leaving a loop waits (in real time) for its thread to end after `stop()`."""


@contextmanager
def _running_loop(backend: Backend, *, name: str) -> Generator[EventThread, None, None]:
    """Start a loop on `backend` for a `with` block; stop it and wait for its thread on exit.

    The loop is a daemon thread, so a loop that never ends cannot keep the process alive.

    Args:
        backend: The backend the loop runs on.
        name: The loop thread's name.

    Yields:
        The started loop.

    Raises:
        RuntimeError: If the loop thread did not end within `JOIN_SECONDS` of `stop()`.
    """
    loop = EventThread(backend, daemon=True, name=name, start_later=False)
    try:
        yield loop
    finally:
        loop.stop()
        loop.join(JOIN_SECONDS)
        if loop.is_alive():
            raise RuntimeError(
                f"event loop {loop.name!r} did not end within {JOIN_SECONDS} seconds of stop(); "
                "a task ignores cancellation or an executor job blocks"
            )


@contextmanager
def virtual_loop(
    seed: int = 0, *, perturb: bool = False, tracing: bool = False, buggify: bool = False, time_limit: float | None = None
) -> Generator[EventThread, None, None]:
    """Open a fresh, started loop on virtual time: `with virtual_loop(3) as loop: ...`.

    On exit the loop is stopped (its pending tasks are cancelled) and its thread joined.

    Args:
        seed: Seeds every choice the loop makes that is not fixed.
        perturb: Explore what a real loop leaves open: late wakeups, the order of descriptors ready
            at once (see `virtual_backend`).
        tracing: Record the loop's decisions (`loop.get_trace()`, `loop.export_chrome_trace()`).
        buggify: Let `buggify()` fire on this loop.
        time_limit: The virtual time the loop may not pass (`TimeLimitError`), or `None`.

    Yields:
        The started loop.

    Raises:
        RuntimeError: On exit, if the loop thread did not end within `JOIN_SECONDS` of `stop()`.
    """
    backend = virtual_backend(seed, perturb=perturb, tracing=tracing, buggify=buggify, time_limit=time_limit)
    with _running_loop(backend, name=f"scarletio-virtual-seed{seed}") as loop:
        yield loop


def run_virtual(
    coroutine_function: Callable[[Unpack[Ts]], Awaitable[T]],
    *args: Unpack[Ts],
    seed: int = 0,
    perturb: bool = False,
    tracing: bool = False,
    buggify: bool = False,
    timeout: float | None = 60.0,
) -> T:
    """Run `coroutine_function(*args)` on a fresh virtual-time loop and return its result.

    Sleeps take no real time: the loop's clock jumps whenever nothing is ready. The loop is stopped
    and its thread joined before this returns.

    Args:
        coroutine_function: The async function to run.
        *args: Its positional arguments.
        seed: Seeds every choice the loop makes that is not fixed.
        perturb: Explore late wakeups and the order of descriptors ready at once.
        tracing: Record the loop's decisions; the coroutine can read them with
            `get_event_loop().get_trace()`.
        buggify: Let `buggify()` fire.
        timeout: Real seconds to wait at most, or `None` to wait as long as it takes.

    Returns:
        What the coroutine returned.

    Raises:
        DeadlockError: If the coroutine waits for something that can never happen.
        TimeoutError: If `timeout` real seconds passed; the coroutine was cancelled.
        BaseException: Whatever the coroutine raised.
    """
    with virtual_loop(seed, perturb=perturb, tracing=tracing, buggify=buggify) as loop:
        return loop.run(coroutine_function(*args), timeout=timeout)


def explore(
    coroutine_function: Callable[[], Awaitable[Any]],
    seeds: Iterable[int] = range(100),
    perturb: bool = False,
    *,
    buggify: bool = True,
    timeout: float | None = 60.0,
) -> int | None:
    """Run `coroutine_function()` once per seed and return the first seed whose run raises.

    Each run gets a fresh loop (see `run_virtual`), so the seed alone decides the run:
    `run_virtual(coroutine_function, seed=found, perturb=..., buggify=...)` with the same settings
    fails the same way every time.

    Args:
        coroutine_function: The async function to run; it should raise when an invariant breaks.
        seeds: The seeds to try, in order.
        perturb: Also explore late wakeups and the order of descriptors ready at once (timing
            races); without it the seed decides jitter, losses and fault injection only.
        buggify: Let `buggify()` fire.
        timeout: Real seconds each run may take at most.

    Returns:
        The first seed whose run raised an exception (a cancellation, a deadlock or a timeout count
        too), or `None` if every run succeeded.
    """
    for seed in seeds:
        try:
            run_virtual(coroutine_function, seed=seed, perturb=perturb, buggify=buggify, timeout=timeout)
        except (Exception, CancelledError):
            return seed
    return None
