"""Reliability: bad arguments fail at the call with a clear error, and the loop survives its own faults.

A NaN delay used to reach the reactor's `poll` and kill the loop thread (every task cancelled, every
later call "stopped"); non-numbers failed with operator errors from deep inside; `call_soon(None)` and
`call_soon(coroutine)` were accepted and failed later, in the log. Every call here is checked on the
epoll, poll and virtual backends, and the loop is shown to go on working afterwards.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterator

import pytest
from _fixtures import any_loop  # noqa: F401 - a fixture, used by name
from _fixtures import Reports, reports  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.backends import get_backend
from scarletio.core import recovery
from scarletio.core.abc import Backend, EventMask, Reactor
from scarletio.core.futures import Future
from scarletio.core.suspension import sleep


async def still_works(loop: EventThread) -> str:
    """Prove the loop still runs tasks and timers."""
    await sleep(0.001, loop)
    done: Future[str] = Future(loop)
    loop.call_after(0.001, done.set_result, "alive")
    return await done


async def never() -> None:
    """A coroutine function passed where a callback belongs."""


def ignore(*_: object) -> None:
    """A callback that does nothing."""


BAD_CALLS: list[tuple[str, Callable[[EventThread], object], type[Exception], str]] = [
    ("sleep(nan)", lambda loop: sleep(math.nan, loop), ValueError,
     "sleep got a delay of nan; a NaN delay never comes due, pass a number of seconds (math.inf waits until cancelled)"),
    ("sleep('x')", lambda loop: sleep("x", loop), TypeError,  # type: ignore[arg-type]
     "sleep needs the delay in seconds as an int or a float, got 'x'"),
    ("sleep(None)", lambda loop: sleep(None, loop), TypeError,  # type: ignore[arg-type]
     "sleep needs the delay in seconds as an int or a float, got None"),
    ("call_after(nan)", lambda loop: loop.call_after(math.nan, ignore), ValueError,
     "call_after got a delay of nan; a NaN delay never comes due, pass a number of seconds (math.inf waits until cancelled)"),
    ("call_after(None)", lambda loop: loop.call_after(None, ignore), TypeError,  # type: ignore[arg-type]
     "call_after needs the delay in seconds as an int or a float, got None"),
    ("call_after('x')", lambda loop: loop.call_after("x", ignore), TypeError,  # type: ignore[arg-type]
     "call_after needs the delay in seconds as an int or a float, got 'x'"),
    ("call_at(nan)", lambda loop: loop.call_at(math.nan, ignore), ValueError,
     "call_at got the deadline nan; a NaN deadline never comes due, pass a reading of loop.time() (math.inf waits until cancelled)"),
    ("call_at(None)", lambda loop: loop.call_at(None, ignore), TypeError,  # type: ignore[arg-type]
     "call_at needs the deadline as a reading of loop.time() (an int or a float), got None"),
    ("call_soon(None)", lambda loop: loop.call_soon(None), TypeError,  # type: ignore[arg-type]
     "call_soon needs a callable, got None; pass the function and its arguments: call_soon(function, *args)"),
    ("call_after(1, None)", lambda loop: loop.call_after(1, None), TypeError,  # type: ignore[arg-type]
     "call_after needs a callable, got None; pass the function and its arguments: call_after(function, *args)"),
    ("call_at(0, 'f')", lambda loop: loop.call_at(0, "f"), TypeError,  # type: ignore[arg-type]
     "call_at needs a callable, got 'f'; pass the function and its arguments: call_at(function, *args)"),
]


@pytest.mark.parametrize(("call", "expected", "message"), [entry[1:] for entry in BAD_CALLS], ids=[entry[0] for entry in BAD_CALLS])
@pytest.mark.parametrize("where", ["loop thread", "other thread"])
def test_a_bad_argument_fails_at_the_call_and_the_loop_goes_on(
    any_loop: EventThread, reports: Reports, where: str,
    call: Callable[[EventThread], object], expected: type[Exception], message: str,
) -> None:
    async def on_the_loop() -> BaseException:
        with pytest.raises(expected) as caught:
            call(any_loop)
        return caught.value

    if where == "loop thread":
        error = any_loop.run(on_the_loop(), timeout=5)
    else:
        with pytest.raises(expected) as caught:
            call(any_loop)
        error = caught.value
    assert str(error) == message
    assert any_loop.run(still_works(any_loop), timeout=5) == "alive"
    assert any_loop.is_running()
    assert reports == []


@pytest.mark.parametrize("method", ["call_soon", "call_after", "call_at"])
def test_a_coroutine_passed_as_a_callback_is_refused_and_closed(any_loop: EventThread, method: str) -> None:
    coroutine = never()
    with pytest.raises(TypeError, match=rf"^{method} needs a callable, got the coroutine <coroutine object never at 0x[0-9a-f]+>; "
                       r"run a coroutine as a task with loop\.create_task\(coroutine\)$"):
        if method == "call_soon":
            any_loop.call_soon(coroutine)  # type: ignore[arg-type]
        elif method == "call_after":
            any_loop.call_after(0, coroutine)  # type: ignore[arg-type]
        else:
            any_loop.call_at(0, coroutine)  # type: ignore[arg-type]
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED  # no "never awaited" warning later
    assert any_loop.run(still_works(any_loop), timeout=5) == "alive"


def test_good_numbers_of_every_kind_are_still_accepted(any_loop: EventThread) -> None:
    async def main() -> list[str]:
        fired: list[str] = []
        done: Future[None] = Future(any_loop)
        any_loop.call_after(0, fired.append, "int delay")
        any_loop.call_after(True, fired.append, "bool delay")
        any_loop.call_at(0, fired.append, "int deadline")
        forever = any_loop.call_after(math.inf, fired.append, "never")
        any_loop.call_after(1.5, done.set_result, None)
        await sleep(0)
        await sleep(-1)
        await done
        forever.cancel()
        endless = sleep(math.inf)
        endless.cancel()
        return sorted(fired)

    assert any_loop.run(main(), timeout=10) == ["bool delay", "int deadline", "int delay"]


# ---- the loop's own machinery failing ---------------------------------------------------------------


class FlakyReactor(Reactor):
    """A real reactor whose `poll` raises the exceptions queued in `failures`, one per call."""

    def __init__(self, inner: Reactor) -> None:
        self.inner = inner
        self.failures: list[BaseException] = []

    def register(self, fd: int, events: EventMask) -> None:
        self.inner.register(fd, events)

    def modify(self, fd: int, events: EventMask) -> None:
        self.inner.modify(fd, events)

    def unregister(self, fd: int) -> None:
        self.inner.unregister(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        if self.failures:
            raise self.failures.pop(0)
        return self.inner.poll(timeout)

    def wakeup(self) -> None:
        self.inner.wakeup()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(params=("epoll", "poll"))
def flaky_loop(request: pytest.FixtureRequest) -> Iterator[tuple[EventThread, FlakyReactor]]:
    real = get_backend(request.param)
    reactors: list[FlakyReactor] = []

    def make_reactor() -> Reactor:
        reactors.append(FlakyReactor(real.reactor_factory()))
        return reactors[-1]

    backend = Backend(f"flaky {real.name}", make_reactor, real.clock_factory, real.executor_factory)
    loop = EventThread(backend)
    yield loop, reactors[0]
    loop.stop()
    if loop.ident is not None:
        loop.join(5)
        assert not loop.is_alive()


def test_the_loop_survives_an_exception_from_its_own_iteration(
    flaky_loop: tuple[EventThread, FlakyReactor], reports: Reports
) -> None:
    loop, reactor = flaky_loop

    async def main() -> str:
        pending = loop.create_task(still_works(loop))
        reactor.failures.append(ValueError("Invalid timeout"))
        return await pending

    assert loop.run(main(), timeout=5) == "alive"
    assert loop.is_running()
    assert [message for message, _ in reports] == [
        f"event loop {loop.name!r} failed in its own iteration; the loop goes on"
    ]
    assert isinstance(reports[0][1], ValueError)


def test_a_repeating_failure_of_the_iteration_is_reported_sparingly_and_slows_the_loop(
    flaky_loop: tuple[EventThread, FlakyReactor], reports: Reports, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop, reactor = flaky_loop
    monkeypatch.setattr(recovery, "STREAK_GAP", 3600.0)  # one streak, however slow a busy machine is

    async def main() -> str:
        reactor.failures.extend(OSError(9, "Bad file descriptor") for _ in range(20))
        while reactor.failures:
            await sleep(0.001)
        return await still_works(loop)

    assert loop.run(main(), timeout=10) == "alive"
    counts = [re.search(r"\((\d+) failures in a row", message) for message, _ in reports]
    assert [int(match.group(1)) if match else 1 for match in counts] == [1, 2, 4, 8, 16]
