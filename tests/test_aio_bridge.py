"""The asyncio face (`scarletio.aio`): both-way awaiting, cancellation crossing, running and parking, reports.

Every test runs on every backend; durations are checked exactly on virtual time and, on the real
backends, only as never early and at most `LATE` late (`assert_on_time`).
"""

from __future__ import annotations

import asyncio
import gc
import platform
import resource
import socket
import subprocess
import sys
import threading
import typing
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from _fixtures import LATE, assert_on_time

import scarletio
import scarletio.aio
from scarletio import BackendName, CancelledError, DeadlockError, EventThread, Future, Task
from scarletio.aio import EventLoop, EventLoopPolicy, get_asyncio_loop, new_event_loop

ALL_BACKENDS: tuple[BackendName, ...] = ("epoll", "poll", "virtual")

# Python 3.11 names, looked up so the type checks (run for 3.10) pass.
asyncio_timeout: Any = getattr(asyncio, "timeout", None)
asyncio_runner: Any = getattr(asyncio, "Runner", None)


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> BackendName:
    name: BackendName = request.param
    return name


@pytest.fixture
def aio_loop(backend: BackendName) -> Iterator[EventLoop]:
    loop = new_event_loop(backend)
    try:
        yield loop
    finally:
        loop.close()


# ---- awaiting across ---------------------------------------------------------------------------------


def test_asyncio_task_awaits_scarletio_future_and_task(aio_loop: EventLoop) -> None:
    thread = aio_loop.thread

    async def scarletio_side() -> str:
        await scarletio.sleep(0.01)
        return "from scarletio"

    async def main() -> tuple[str, int]:
        future: Future[int] = Future(thread)
        asyncio.get_running_loop().call_later(0.01, future.set_result, 7)
        task = Task(thread, scarletio_side())
        return await task, await future

    assert aio_loop.run_until_complete(main()) == ("from scarletio", 7)


def test_scarletio_task_awaits_asyncio_future_and_task(aio_loop: EventLoop) -> None:
    async def asyncio_side() -> str:
        await asyncio.sleep(0.01)
        return "from asyncio"

    async def in_scarletio() -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.01, future.set_result, 9)
        task = loop.create_task(asyncio_side())
        return await task, await future

    async def main() -> tuple[str, int]:
        return await Task(aio_loop.thread, in_scarletio())

    assert aio_loop.run_until_complete(main()) == ("from asyncio", 9)


def test_get_running_loop_inside_a_scarletio_task_is_the_threads_asyncio_loop(backend: BackendName) -> None:
    thread = EventThread(backend)
    try:

        async def main() -> bool:
            return asyncio.get_running_loop() is get_asyncio_loop(thread)

        assert thread.run(main(), timeout=LATE)
        assert get_asyncio_loop(thread) is get_asyncio_loop(thread)
    finally:
        thread.stop()
        thread.join()


# ---- cancellation crossing ---------------------------------------------------------------------------


def test_asyncio_timeout_around_a_scarletio_sleep_raises_timeout_error_on_time(aio_loop: EventLoop) -> None:
    async def main() -> tuple[str, float]:
        started = aio_loop.time()
        try:
            async with asyncio_timeout(0.5):
                await scarletio.sleep(10)
        except TimeoutError:
            return "timed out", aio_loop.time() - started
        return "slept", aio_loop.time() - started

    if asyncio_timeout is None:
        pytest.skip("asyncio.timeout needs Python 3.11")
    outcome, elapsed = aio_loop.run_until_complete(main())
    assert outcome == "timed out"
    assert_on_time(aio_loop.thread, elapsed, 0.5)


def test_asyncio_cancel_of_a_scarletio_await_raises_asyncio_cancelled_error(aio_loop: EventLoop) -> None:
    seen: list[type[BaseException]] = []

    async def waiter() -> None:
        try:
            await scarletio.sleep(10)
        except BaseException as error:
            seen.append(type(error))
            raise

    async def main() -> None:
        task = asyncio.get_running_loop().create_task(waiter())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio_loop.run_until_complete(main())
    assert seen == [asyncio.CancelledError]


def test_apply_timeout_on_a_scarletio_task_cancels_the_asyncio_coroutine_with_asyncio_cancelled_error(
    aio_loop: EventLoop,
) -> None:
    seen: list[type[BaseException]] = []

    async def asyncio_coroutine() -> None:
        try:
            await asyncio.sleep(10)
        except BaseException as error:
            seen.append(type(error))
            raise

    async def main() -> float:
        started = aio_loop.time()
        task = Task(aio_loop.thread, asyncio_coroutine())
        scarletio.apply_timeout(task, 0.5)
        with pytest.raises(TimeoutError):
            await task
        return aio_loop.time() - started

    elapsed = aio_loop.run_until_complete(main())
    assert seen == [asyncio.CancelledError]
    assert_on_time(aio_loop.thread, elapsed, 0.5)


def test_scarletio_cancel_of_a_task_awaiting_asyncio_finishes_it_cancelled(aio_loop: EventLoop) -> None:
    async def asyncio_coroutine() -> None:
        await asyncio.Event().wait()

    async def main() -> bool:
        task = Task(aio_loop.thread, asyncio_coroutine())
        await scarletio.sleep(0.01)
        task.cancel()
        with pytest.raises(CancelledError):
            await task
        return task.is_cancelled()

    # `main` runs as a scarletio task, so it sees scarletio's CancelledError.
    assert aio_loop.run_until_complete(Task(aio_loop.thread, main()))


def test_run_until_complete_raises_asyncio_cancelled_error(aio_loop: EventLoop) -> None:
    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(1)

    with pytest.raises(asyncio.CancelledError):
        aio_loop.run_until_complete(main())


# ---- running -----------------------------------------------------------------------------------------


def test_run_returns_the_result_and_closes_the_loop(backend: BackendName) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> int:
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0.01)
        return 5

    assert scarletio.aio.run(main(), backend=backend) == 5
    assert isinstance(loops[0], EventLoop) and loops[0].is_closed()


def test_runner_with_new_event_loop_as_factory_runs_twice(backend: BackendName) -> None:
    if asyncio_runner is None:
        pytest.skip("asyncio.Runner needs Python 3.11")

    async def now() -> float:
        await asyncio.sleep(0.25)
        return asyncio.get_running_loop().time()

    with asyncio_runner(loop_factory=lambda: new_event_loop(backend)) as runner:
        first: float = runner.run(now())
        second: float = runner.run(now())
        loop: object = runner.get_loop()
        assert isinstance(loop, EventLoop)
    assert second > first
    assert loop.is_closed()


def test_policy_makes_scarletio_loops_for_asyncio_run(backend: BackendName) -> None:
    async def kind() -> str:
        return type(asyncio.get_running_loop()).__name__

    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(EventLoopPolicy(backend))
    try:
        assert asyncio.run(kind()) == "EventLoop"
    finally:
        asyncio.set_event_loop_policy(previous)


def test_stop_inside_run_forever_ends_it(aio_loop: EventLoop) -> None:
    ran: list[str] = []
    aio_loop.call_soon(ran.append, "first")
    aio_loop.call_soon(aio_loop.stop)
    aio_loop.run_forever()
    assert ran == ["first"]
    assert not aio_loop.is_running()


def test_nothing_runs_between_two_run_until_complete_calls(aio_loop: EventLoop) -> None:
    ran: list[int] = []
    aio_loop.run_until_complete(asyncio.sleep(0))
    aio_loop.call_soon(ran.append, 1)
    # Parked: the callback waits for the next drive, however long the driver takes.
    threading.Event().wait(0.05)
    assert ran == []
    aio_loop.run_until_complete(asyncio.sleep(0))
    assert ran == [1]


def test_virtual_time_does_not_move_between_two_run_until_complete_calls() -> None:
    loop = new_event_loop("virtual")
    try:
        loop.call_later(5.0, lambda: None)  # a deadline the clock could jump to
        loop.run_until_complete(asyncio.sleep(1))
        after_first = loop.time()
        threading.Event().wait(0.05)
        assert loop.time() == after_first
        loop.run_until_complete(asyncio.sleep(1))
        assert loop.time() - after_first == 1.0
    finally:
        loop.close()


def test_same_program_gives_the_same_trace_on_virtual_time() -> None:
    def trace() -> list[tuple[str, float]]:
        events: list[tuple[str, float]] = []

        async def worker(name: str, delay: float) -> None:
            for _ in range(3):
                await asyncio.sleep(delay)
                events.append((name, asyncio.get_running_loop().time()))

        async def main() -> None:
            await asyncio.gather(worker("a", 0.3), worker("b", 0.2), worker("c", 0.3))

        scarletio.aio.run(main(), backend="virtual")
        return events

    first = trace()
    assert first == trace()
    assert first[0] == ("b", 0.2)


# ---- asynchronous generators -------------------------------------------------------------------------


async def _recording_generator(seen: list[object], pause: Callable[[], Awaitable[None]]) -> AsyncGenerator[int, None]:
    """A generator whose `finally` records which kind of task it runs in, awaits `pause()`, then records "closed"."""
    try:
        yield 1
        yield 2
    finally:
        seen.append(("asyncio task", asyncio.current_task() is not None))
        seen.append(("scarletio task", scarletio.get_current_task() is not None))
        await pause()
        seen.append("closed")


async def _asyncio_pause() -> None:
    """A pause that needs an asyncio task around it (`asyncio.timeout`)."""
    async with asyncio_timeout(1):
        await asyncio.sleep(0.01)


def _closing_generator(seen: list[object]) -> AsyncGenerator[int, None]:
    """An asyncio generator whose `finally` needs an asyncio task and records where it ran."""
    return _recording_generator(seen, _asyncio_pause)


@pytest.mark.skipif(asyncio_timeout is None, reason="asyncio.timeout is new in Python 3.11")
def test_asyncio_generator_finalised_by_the_gc_closes_in_an_asyncio_task(aio_loop: EventLoop) -> None:
    seen: list[object] = []

    async def main() -> None:
        generator = _closing_generator(seen)
        assert await generator.__anext__() == 1
        del generator  # abandoned unfinished: the gc finalises it
        gc.collect()
        for _ in range(100):  # bounded: a generator closed nowhere fails the test instead of hanging it
            if "closed" in seen:
                break
            await asyncio.sleep(0.01)

    aio_loop.run_until_complete(main())
    assert seen == [("asyncio task", True), ("scarletio task", False), "closed"]


@pytest.mark.skipif(asyncio_timeout is None, reason="asyncio.timeout is new in Python 3.11")
def test_shutdown_asyncgens_closes_an_asyncio_generator_in_an_asyncio_task(aio_loop: EventLoop) -> None:
    seen: list[object] = []
    kept: list[AsyncGenerator[int, None]] = []

    async def main() -> None:
        generator = _closing_generator(seen)
        kept.append(generator)
        assert await generator.__anext__() == 1

    aio_loop.run_until_complete(main())
    assert seen == []
    aio_loop.run_until_complete(aio_loop.shutdown_asyncgens())
    assert seen == [("asyncio task", True), ("scarletio task", False), "closed"]


def test_generator_first_iterated_in_a_scarletio_task_still_closes_in_a_scarletio_task(aio_loop: EventLoop) -> None:
    seen: list[object] = []
    thread = aio_loop.thread

    async def in_scarletio() -> None:
        iterated = _recording_generator(seen, lambda: scarletio.sleep(0.01))
        assert await iterated.__anext__() == 1
        del iterated
        gc.collect()
        for _ in range(100):
            if "closed" in seen:
                break
            await scarletio.sleep(0.01)

    async def main() -> None:
        await Task(thread, in_scarletio())

    aio_loop.run_until_complete(main())
    assert seen == [("asyncio task", False), ("scarletio task", True), "closed"]


def test_finished_asyncio_generators_leave_nothing_behind_in_the_router(aio_loop: EventLoop) -> None:
    keys: dict[int, object] = getattr(aio_loop, "_generators")._keys

    async def counting() -> AsyncGenerator[int, None]:
        yield 1

    async def main() -> list[int]:
        finished = [counting() for _ in range(100)]
        for index in range(len(finished)):
            async for _ in finished[index]:
                pass
        noted = len(keys)
        del finished  # finished ones die without a finaliser call: only their weak references tell
        gc.collect()
        following = counting()
        await following.__anext__()  # noting it sweeps the dead keys first
        sizes = [noted, len(keys), int(id(following) in keys)]
        await following.aclose()
        return sizes

    assert aio_loop.run_until_complete(main()) == [100, 1, 1]


def test_a_thread_takes_one_async_generator_router(aio_loop: EventLoop) -> None:
    class Other:
        def first_iterated(self, generator: Any, /) -> None:
            pass

        def finalize(self, generator: Any, /) -> bool:
            return False

    with pytest.raises(RuntimeError, match="routes its asynchronous generators elsewhere already"):
        aio_loop.thread.route_async_generators(Other())
    aio_loop.thread.route_async_generators(getattr(aio_loop, "_generators"))  # the same one again is fine


# ---- reports -----------------------------------------------------------------------------------------


def test_failed_asyncio_task_nobody_awaits_is_reported_at_its_next_turn_without_the_gc(aio_loop: EventLoop) -> None:
    reports: list[dict[str, Any]] = []

    async def fails() -> None:
        raise ZeroDivisionError("unretrieved")

    async def main() -> bool:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: reports.append(context))
        loop.create_task(fails())
        await asyncio.sleep(0)  # the task fails in this turn; nothing may keep it alive after it
        return bool(reports)

    gc_was_enabled = gc.isenabled()
    gc.disable()  # the report must come from the task being freed, not from a collection
    try:
        assert aio_loop.run_until_complete(main())
    finally:
        if gc_was_enabled:
            gc.enable()
    assert reports[0]["message"] == "Task exception was never retrieved"
    assert str(reports[0]["exception"]) == "unretrieved"


def test_exception_in_a_callback_goes_to_the_exception_handler_naming_the_callback(aio_loop: EventLoop) -> None:
    reports: list[dict[str, Any]] = []

    def broken() -> None:
        raise ValueError("from a callback")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: reports.append(context))
        handle = loop.call_soon(broken)
        later = loop.call_later(0.01, broken)
        await asyncio.sleep(0.05)
        assert reports[0]["handle"] is handle and reports[1]["handle"] is later

    aio_loop.run_until_complete(main())
    assert len(reports) == 2
    for context in reports:
        assert context["message"].startswith("Exception in callback ")
        assert "broken()" in context["message"]
        assert isinstance(context["exception"], ValueError)


def test_deadlocked_asyncio_program_raises_deadlock_error_naming_its_tasks() -> None:
    async def stuck() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        await asyncio.get_running_loop().create_task(stuck(), name="the-waiter")

    with pytest.raises(DeadlockError) as caught:
        scarletio.aio.run(main(), backend="virtual")
    message = str(caught.value)
    assert "asyncio task 'the-waiter'" in message
    assert f"{__file__}:" in message and "in stuck" in message


def test_executor_job_holds_virtual_time_still() -> None:
    gate = threading.Event()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        job = loop.run_in_executor(None, gate.wait, LATE)
        loop.call_later(0.01, gate.set)  # would fire at once if time jumped while the job runs
        threading.Timer(0.2, gate.set).start()
        await job
        return loop.time() - started

    assert scarletio.aio.run(main(), backend="virtual") < 0.2


def test_timer_not_on_a_whole_nanosecond_fires_while_a_real_descriptor_is_watched() -> None:
    left, right = socket.socketpair()
    try:

        async def main() -> float:
            loop = asyncio.get_running_loop()
            loop.add_reader(left.fileno(), lambda: None)
            fired = loop.create_future()
            deadline = loop.time() + 0.1000000003  # asyncio's time() + delay: not a whole nanosecond
            loop.call_at(deadline, fired.set_result, None)
            await asyncio.wait_for(fired, LATE)
            loop.remove_reader(left.fileno())
            return loop.time() - deadline

        assert scarletio.aio.run(main(), backend="virtual") >= -1e-9
    finally:
        left.close()
        right.close()


# ---- types -------------------------------------------------------------------------------------------


def test_public_aio_api_has_resolvable_type_hints() -> None:
    for name in scarletio.aio.__all__:
        value = getattr(scarletio.aio, name)
        targets = [value] if not isinstance(value, type) else [getattr(value, attribute) for attribute in vars(value) if callable(getattr(value, attribute)) and not attribute.startswith("__")]
        for target in targets:
            typing.get_type_hints(target)


_READ_FAULTS = """
import resource, socket, sys, threading
if sys.argv[1] == "loop":
    import scarletio.aio
    scarletio.aio.new_event_loop("poll").close()
def reads(out):
    first, second = socket.socketpair()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(500):
        first.send(b"x" * 64)
        second.recv(256 * 1024)  # as asyncio's socket transport reads
    out.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
out = []
thread = threading.Thread(target=reads, args=(out,))
thread.start()
thread.join()
print(out[0])
"""


@pytest.mark.skipif(
    not hasattr(resource, "RUSAGE_THREAD") or platform.libc_ver()[0] != "glibc",
    reason="counts a thread's page faults under glibc's allocator (Linux)",
)
def test_asyncio_reads_on_a_thread_stop_mapping_fresh_pages_once_a_loop_exists() -> None:
    """glibc maps a fresh block for each `recv(256 KiB)` on a thread until an aio loop settles its thresholds."""

    def faults(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", _READ_FAULTS, mode], capture_output=True, text=True, check=True)
        return int(done.stdout)

    assert faults("bare") >= 400  # a page fault per read: the quirk is there to be fixed
    assert faults("loop") < 100
