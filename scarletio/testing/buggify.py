"""Fault injection points in the code under test: `buggify()`, as FoundationDB's simulator has it.

Testing layer, but meant to stay in production code: `if buggify(): ...` marks a place where a rare
thing may happen (a slow disk, a dropped cache, an error from a dependency). It is `False`
everywhere except on a virtual-time loop with buggify on (`virtual_backend(buggify=True)`; the pytest
plugin turns it on under `--scarletio-explore`, or with `--scarletio-buggify`), so production runs
never take such a branch, and it costs one thread check there.

On such a loop every point (named, or the caller's file and line) is switched on for the run with
probability `ENABLE_PROBABILITY` when first reached, and a point that is on fires with its
`probability` each time it is reached. Every draw comes from a generator seeded from the loop's
seed: exploring seeds explores fault schedules, and a seed that failed fails the same way again.
With tracing on, each firing is in the loop's trace (kind `"buggify"`).
"""

from __future__ import annotations

import random
import sys
import threading
import weakref
from typing import final

from ..backends.virtual import VirtualClock
from ..core.suspension import sleep
from ..loop.event_thread import EventThread

__all__ = ("ENABLE_PROBABILITY", "FIRE_PROBABILITY", "buggify", "buggify_delay", "buggify_fail")

ENABLE_PROBABILITY = 0.25
"""The chance that a fault injection point is on for a run (drawn when the run first reaches it)."""

FIRE_PROBABILITY = 0.25
"""By default, the chance that a point that is on fires each time it is reached."""


@final
class _Points:
    """The fault injection state of one loop: its generator and which points are on."""

    __slots__ = ("enabled", "random")

    def __init__(self, seed: int) -> None:
        self.random = random.Random(f"scarletio.buggify:{seed}")
        self.enabled: dict[str, bool] = {}


_STATES: weakref.WeakKeyDictionary[EventThread, _Points] = weakref.WeakKeyDictionary()


def _check_probability(probability: float) -> None:
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be from 0 to 1, got {probability!r}")


def _fires(name: str | None, probability: float, depth: int) -> tuple[bool, str, EventThread | None, random.Random | None]:
    """Draw whether the point fires; return that, its name, the loop and the point's generator."""
    loop = threading.current_thread()
    if not isinstance(loop, EventThread):
        return False, name or "", None, None
    clock = loop._clock
    if not (isinstance(clock, VirtualClock) and clock.buggify):
        return False, name or "", None, None
    state = _STATES.get(loop)
    if state is None:
        state = _STATES[loop] = _Points(clock.seed)
    if name is None:
        caller = sys._getframe(depth)
        name = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    enabled = state.enabled.get(name)
    if enabled is None:
        enabled = state.enabled[name] = state.random.random() < ENABLE_PROBABILITY
    if not enabled or state.random.random() >= probability:
        return False, name, loop, state.random
    virtual = loop._virtual
    if virtual is not None:
        virtual.record("buggify", f"{name} fired")
    return True, name, loop, state.random


def buggify(name: str | None = None, probability: float = FIRE_PROBABILITY) -> bool:
    """Return whether to take a rarely taken path here, now: only ever `True` under exploration.

    Args:
        name: Names the point (points of one name are on or off together); by default the
            caller's file and line.
        probability: The chance it fires when the point is on.

    Returns:
        `True` with a seeded probability on a virtual-time loop with buggify on, else `False`.

    Raises:
        ValueError: If `probability` is not from 0 to 1.
    """
    _check_probability(probability)
    return _fires(name, probability, 2)[0]


async def buggify_delay(name: str | None = None, seconds: float = 1.0, probability: float = FIRE_PROBABILITY) -> None:
    """Sleep for up to `seconds` here, sometimes, under exploration (see `buggify`); else return at once.

    Args:
        name: Names the point; by default the caller's file and line.
        seconds: The longest delay; the delay is drawn uniformly from 0 to it.
        probability: The chance it fires when the point is on.

    Raises:
        ValueError: If `probability` is not from 0 to 1, or `seconds` is negative.
    """
    _check_probability(probability)
    if not seconds >= 0.0:
        raise ValueError(f"seconds must not be negative, got {seconds!r}")
    fired, _, loop, generator = _fires(name, probability, 2)
    if fired and loop is not None and generator is not None:
        await sleep(generator.uniform(0.0, seconds), loop)


def buggify_fail(
    exception: BaseException | type[BaseException] = OSError, name: str | None = None, probability: float = FIRE_PROBABILITY
) -> None:
    """Raise `exception` here, sometimes, under exploration (see `buggify`); else do nothing.

    Args:
        exception: The exception (or class) to raise; `OSError` by default.
        name: Names the point; by default the caller's file and line.
        probability: The chance it fires when the point is on.

    Raises:
        BaseException: `exception`, when the point fires.
        ValueError: If `probability` is not from 0 to 1.
    """
    _check_probability(probability)
    fired, point, _, _ = _fires(name, probability, 2)
    if fired:
        if isinstance(exception, type):
            raise exception(f"injected by buggify_fail() at {point}")
        raise exception
