"""Async fixtures for the pytest plugin: `async def` and async-generator fixtures on the test's loop.

Testing layer (imports pytest). pytest cannot call an async fixture; while one is being set up the
plugin puts a synchronous twin in its place, which asks for the test's loop (`scarletio_loop`) and
runs the fixture's coroutine there, from the test's thread, exactly as the test itself is run. An
async-generator fixture's code after its `yield` runs on the same loop when pytest tears it down,
before the loop is stopped. This works on every backend, and for sync tests too (they get a loop on
virtual time, as when they ask for `scarletio_loop`).

The test's loop is made fresh for each test, so async fixtures are function-scoped; a wider scope
is refused with a message naming the way out.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from ..loop.event_thread import EventThread
from .running import run_with_report
from .settings import Run

__all__ = ("is_async_fixture", "running_async_fixture")

T = TypeVar("T")

RunFinder = Callable[[pytest.FixtureRequest], Run | None]


def is_async_fixture(function: object) -> bool:
    """Return whether `function` is an `async def` or async-generator fixture function."""
    function = getattr(function, "__func__", function)
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _bound(function: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Bind a fixture method to the test's instance, as pytest does for the functions it calls."""
    plain = getattr(function, "__func__", None)
    instance = request.instance
    if plain is not None and instance is not None:
        bound: Callable[..., Any] = plain.__get__(instance)
        return bound
    return function


def _twin(
    function: Callable[..., Any], request: pytest.FixtureRequest, run_of: RunFinder
) -> Callable[..., Any]:
    """Return the synchronous stand-in for an async fixture function."""
    name = request.fixturename

    full = bool(request.config.getoption("fulltrace"))

    def loop_and_timeout() -> tuple[EventThread, float | None]:
        loop = request.getfixturevalue("scarletio_loop")
        assert isinstance(loop, EventThread)
        run = run_of(request)
        return loop, None if run is None else run.timeout

    if inspect.isasyncgenfunction(getattr(function, "__func__", function)):

        def generator_twin(**arguments: Any) -> Generator[Any, None, None]:
            loop, timeout = loop_and_timeout()
            generator: AsyncGenerator[Any, None] = _bound(function, request)(**arguments)
            try:
                value = run_with_report(loop, _await(generator.__anext__()), timeout, site=function, library_frames=full)
            except StopAsyncIteration:
                raise ValueError(f"async fixture {name!r} did not yield a value") from None
            yield value
            try:
                run_with_report(loop, _await(generator.__anext__()), timeout, site=function, library_frames=full)
            except StopAsyncIteration:
                return
            run_with_report(loop, generator.aclose(), timeout, library_frames=full)
            pytest.fail(f"async fixture {name!r} yielded more than once; an async fixture yields its value once", pytrace=False)

        return generator_twin

    def coroutine_twin(**arguments: Any) -> Any:
        loop, timeout = loop_and_timeout()
        return run_with_report(loop, _bound(function, request)(**arguments), timeout, site=function, library_frames=full)

    return coroutine_twin


@contextmanager
def running_async_fixture(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest, run_of: RunFinder) -> Generator[None, None, None]:
    """Put the synchronous twin of an async fixture in place for the duration of its setup.

    Raises:
        pytest.fail: If the fixture is not function-scoped.
    """
    if fixturedef.scope != "function":
        pytest.fail(
            f"async fixture {request.fixturename!r} has scope {fixturedef.scope!r}; scarletio runs each test on a "
            "fresh loop, so async fixtures are function-scoped: drop scope=, or make it a sync fixture "
            "that starts what it needs on a loop of its own",
            pytrace=False,
        )
    # pytest calls `fixturedef.func`; it is typed final, but swapping it during the setup is the way a
    # plugin makes pytest call something else for one fixture (pytest-asyncio does the same).
    original = fixturedef.func
    fixturedef.func = _twin(original, request, run_of)  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    try:
        yield
    finally:
        fixturedef.func = original  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
