"""Hypothesis for the pytest plugin: `@given` on an `async def` test, and Hypothesis drawing the seed.

Testing layer. Hypothesis turns a decorated test into a synchronous function that calls the original
(`function.hypothesis.inner_test`) once per example; the plugin replaces that inner call with one that
runs the example's coroutine on a fresh loop of the item's backend, so examples never share a loop
or a clock. The plugin's fixtures a test asks for (`scarletio_loop`, `scarletio_clock`,
`scarletio_seed`, `scarletio_network`) are that example's.

When `scarletio_seed` is itself one of the `@given` arguments (`@given(scarletio_seed=seeds())`, with
`scarletio.testing.strategies.seeds`),
Hypothesis draws the virtual loop's seed: a failing schedule is then shrunk, saved in Hypothesis'
database and replayed like any other failing example.

Hypothesis is a test dependency only: without it installed there are no such tests, and this module
needs nothing of it but its settings, and imports nothing of it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

import pytest

from ..loop.event_thread import EventThread
from ..net.virtual import VirtualNetwork
from .asyncio_mode import enter_asyncio_mode, finish_asyncio_tasks
from .running import run_with_report
from .settings import Run

__all__ = ("EXAMPLE_FIXTURES", "adjust_settings", "draws_the_seed", "install_example_runner", "is_async_hypothesis_test")

EXAMPLE_FIXTURES = ("scarletio_loop", "scarletio_clock", "scarletio_seed", "scarletio_network")
"""The plugin's fixtures that are made afresh for every example of a Hypothesis test."""

_ORIGINAL = "_scarletio_inner_test"


def is_async_hypothesis_test(function: object) -> bool:
    """Return whether `function` is a Hypothesis test (`@given`) around an `async def` function."""
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    inner = getattr(function, _ORIGINAL, inner)
    return bool(getattr(function, "is_hypothesis_test", False)) and inspect.iscoroutinefunction(inner)


def draws_the_seed(function: object) -> bool:
    """Return whether a Hypothesis test draws `scarletio_seed` itself (rather than asking the fixture)."""
    inner = getattr(function, _ORIGINAL, None) or getattr(getattr(function, "hypothesis", None), "inner_test", None)
    if inner is None or not is_async_hypothesis_test(function):
        return False
    return "scarletio_seed" in inspect.signature(inner).parameters and "scarletio_seed" not in inspect.signature(function).parameters  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def install_example_runner(item: pytest.Function, run: Run) -> None:
    """Make every example of the item's Hypothesis test run on a fresh loop of `run`."""
    function: Any = item.obj
    holder: Any = getattr(function, "__func__", function)
    original: Callable[..., Any] = getattr(holder, _ORIGINAL, None) or function.hypothesis.inner_test
    setattr(holder, _ORIGINAL, original)
    fixtures = set(inspect.signature(function).parameters)
    full = bool(item.config.getoption("fulltrace"))

    def run_example(*arguments: Any, **keywords: Any) -> None:
        given_seed = "scarletio_seed" in keywords and "scarletio_seed" not in fixtures
        seed = keywords["scarletio_seed"] if given_seed else run.seed
        with run.open_loop(f"scarletio-example {item.nodeid}", seed) as loop:
            if run.asyncio:
                enter_asyncio_mode(loop)
            _give_example_fixtures(keywords, loop, seed)
            run_with_report(loop, original(*arguments, **keywords), run.timeout, library_frames=full)
            if run.asyncio:
                run_with_report(loop, finish_asyncio_tasks(loop), run.timeout)

    run_example.__name__ = getattr(original, "__name__", run_example.__name__)  # Hypothesis names the test by it
    run_example.__qualname__ = getattr(original, "__qualname__", run_example.__qualname__)
    function.hypothesis.inner_test = run_example


def _give_example_fixtures(keywords: dict[str, Any], loop: EventThread, seed: int) -> None:
    if "scarletio_loop" in keywords:
        keywords["scarletio_loop"] = loop
    if "scarletio_clock" in keywords:
        keywords["scarletio_clock"] = loop._clock
    if "scarletio_seed" in keywords:
        keywords["scarletio_seed"] = seed
    if "scarletio_network" in keywords:
        keywords["scarletio_network"] = VirtualNetwork(loop)


def adjust_settings(item: pytest.Function) -> None:
    """Fit an async Hypothesis test's settings to how the plugin runs it.

    - Hypothesis rightly warns that function-scoped fixtures are shared between examples; the
      plugin's are not (they are made for each example), so a test whose function-scoped fixtures
      are all the plugin's is spared the warning.
    - Each example starts and stops a loop, which takes real time that is not the test's, and on
      virtual time real durations mean nothing: Hypothesis' default deadline is lifted (one set
      explicitly stays).

    Set as Hypothesis' own pytest plugin does, on the attribute `@settings` sets. Hypothesis is
    optional and slow to import: it is taken from `sys.modules`, where any Hypothesis test has put it
    by the time its item is set up, so a session without such tests never imports it.
    """
    hypothesis: Any = sys.modules.get("hypothesis")
    if hypothesis is None:
        return
    function: Any = getattr(item.obj, "__func__", item.obj)
    current = getattr(function, "_hypothesis_internal_use_settings", None) or hypothesis.settings()
    changes: dict[str, Any] = {}
    default = hypothesis.settings.default
    if default is None or current.deadline == default.deadline:
        changes["deadline"] = None
    if _only_plugin_fixtures(item):
        changes["suppress_health_check"] = [*current.suppress_health_check, hypothesis.HealthCheck.function_scoped_fixture]
    if changes:
        function._hypothesis_internal_use_settings = hypothesis.settings(current, **changes)


def _only_plugin_fixtures(item: pytest.Function) -> bool:
    definitions = item._fixtureinfo.name2fixturedefs
    names = set(inspect.signature(item.obj).parameters) & set(definitions)
    if not names & set(EXAMPLE_FIXTURES):
        return False
    return all(definitions[name][-1].scope != "function" for name in names - set(EXAMPLE_FIXTURES))
