"""Loop discovery and the top-level helpers: `get_event_loop`, `get_or_create_event_loop`, ...

Checklist items 2-4 and 9 of `seed/reference-behaviour.md` (sections 2.3 and 2.5). Discovery is
process-global: a thread is linked to a loop, and a thread without a link scans every live thread for a
running non-daemon loop. So each test body runs in a fresh thread (links are per thread and die with
it), no running non-daemon loop may exist when a test starts, and every loop a test makes is stopped
and joined at its end.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from _fixtures import LATE

import scarletio
from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.core.suspension import sleep
from scarletio.core.tasks import Task
from scarletio.loop.toplevel import (
    create_event_loop,
    create_future,
    create_task,
    get_current_task,
    get_event_loop,
    get_or_create_event_loop,
    set_event_loop,
)

T = TypeVar("T")


def running_non_daemon_loops() -> list[EventThread]:
    return [
        thread
        for thread in threading.enumerate()
        if isinstance(thread, EventThread) and not thread.daemon and thread.is_running()
    ]


@pytest.fixture(autouse=True)
def loops() -> Iterator[list[EventThread]]:
    """Loops the test makes; each is stopped and joined afterwards. Checks no running loop leaks in."""
    assert running_non_daemon_loops() == [], "a running loop left by another test would be discovered here"
    made: list[EventThread] = []
    yield made
    for loop in made:
        loop.stop()
    for loop in made:
        if loop.ident is not None:
            loop.join(5)
            assert not loop.is_alive(), f"{loop!r} did not end within 5 seconds of stop()"


def in_fresh_thread(body: Callable[[], T]) -> T:
    """Run `body` in a new plain thread (with no loop linked) and return its result or raise its error."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(body())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, name="toplevel-test")
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "the test body did not finish within 5 seconds"
    if errors:
        raise errors[0]
    return results[0]


async def current_thread() -> threading.Thread:
    return threading.current_thread()


async def answer() -> int:
    return 42


# ---- get_event_loop ---------------------------------------------------------------------------------


def test_get_event_loop_on_a_plain_thread_without_a_loop_raises_runtime_error() -> None:
    def body() -> tuple[str, str]:
        with pytest.raises(RuntimeError) as caught:
            get_event_loop()
        return str(caught.value), repr(threading.current_thread())

    message, thread = in_fresh_thread(body)
    assert message == f"no running event loop for {thread}; use get_or_create_event_loop() or create_event_loop()"


def test_get_event_loop_inside_a_task_is_that_loop_even_if_the_caller_has_another(loops: list[EventThread]) -> None:
    def body() -> tuple[EventThread, EventThread, EventThread]:
        linked = create_event_loop()
        other = EventThread()
        loops.extend((linked, other))

        async def main() -> EventThread:
            return get_event_loop()

        return linked, other, other.run(main(), timeout=5)

    linked, other, found = in_fresh_thread(body)
    assert found is other
    assert found is not linked


def test_a_running_non_daemon_loop_is_found_from_any_thread(loops: list[EventThread]) -> None:
    loop = EventThread(start_later=False)
    loops.append(loop)
    assert in_fresh_thread(get_event_loop) is loop
    assert in_fresh_thread(get_or_create_event_loop) is loop


def test_a_daemon_loop_is_never_found_by_the_thread_scan(loops: list[EventThread]) -> None:
    loop = EventThread(daemon=True, start_later=False)
    loops.append(loop)
    with pytest.raises(RuntimeError, match=r"^no running event loop for "):
        in_fresh_thread(get_event_loop)


def test_a_stopped_loop_is_no_longer_found(loops: list[EventThread]) -> None:
    def body() -> tuple[bool, bool]:
        loop = EventThread(start_later=False)
        loops.append(loop)
        found_while_running = get_event_loop() is loop  # found by the scan, then linked
        loop.stop()
        loop.join(5)
        try:
            get_event_loop()
        except RuntimeError:
            return found_while_running, False
        return found_while_running, True

    assert in_fresh_thread(body) == (True, False)


# ---- get_or_create_event_loop, create_event_loop, set_event_loop -----------------------------------------


def test_get_or_create_event_loop_returns_the_same_unstarted_loop_on_repeated_calls(
    loops: list[EventThread],
) -> None:
    def body() -> tuple[EventThread, EventThread, EventThread]:
        first = get_or_create_event_loop()
        loops.append(first)
        return first, get_or_create_event_loop(), get_event_loop()

    first, second, found = in_fresh_thread(body)
    assert second is first
    assert found is first
    assert not first.is_started()
    assert not first.daemon


def test_get_or_create_event_loop_returns_a_new_loop_once_the_previous_is_stopped(loops: list[EventThread]) -> None:
    def body() -> tuple[EventThread, EventThread, EventThread]:
        first = get_or_create_event_loop()
        loops.append(first)
        assert first.run(answer(), timeout=5) == 42
        first.stop()
        first.join(5)
        second = get_or_create_event_loop()
        loops.append(second)
        return first, second, get_event_loop()

    first, second, found = in_fresh_thread(body)
    assert second is not first
    assert found is second
    assert re.fullmatch(r"Thread-\d+", second.name)


def test_get_or_create_event_loop_builds_a_new_loop_from_its_arguments(loops: list[EventThread]) -> None:
    def body() -> EventThread:
        loop = get_or_create_event_loop("poll", daemon=True, name="made-here", start_later=False)
        loops.append(loop)
        return loop

    loop = in_fresh_thread(body)
    assert (loop.backend.name, loop.daemon, loop.name, loop.is_alive()) == ("poll", True, "made-here", True)


def test_create_event_loop_always_makes_a_new_loop_and_links_only_the_first(loops: list[EventThread]) -> None:
    def body() -> tuple[EventThread, EventThread, EventThread]:
        first = create_event_loop()
        second = create_event_loop(name="second")
        loops.extend((first, second))
        return first, second, get_event_loop()

    first, second, found = in_fresh_thread(body)
    assert second is not first
    assert found is first
    assert second.name == "second"
    assert not first.is_started()


def test_create_event_loop_with_start_later_false_starts_it(loops: list[EventThread]) -> None:
    def body() -> EventThread:
        loop = create_event_loop(start_later=False)
        loops.append(loop)
        return loop

    assert in_fresh_thread(body).is_alive()


def test_set_event_loop_links_a_loop_to_the_current_thread_only(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)

    def body() -> EventThread:
        set_event_loop(loop)
        return get_event_loop()

    assert in_fresh_thread(body) is loop
    with pytest.raises(RuntimeError, match=r"^no running event loop for "):
        in_fresh_thread(get_event_loop)  # not running, so the scan skips it; the link died with its thread


def test_set_event_loop_on_an_event_loop_thread_raises_runtime_error(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)

    async def main() -> None:
        set_event_loop(loop)

    message = r"^set_event_loop cannot be called on an event loop thread: its loop is itself$"
    with pytest.raises(RuntimeError, match=message):
        loop.run(main(), timeout=5)


# ---- run ------------------------------------------------------------------------------------------


def test_run_without_a_loop_uses_a_daemon_loop_named_scarletio_run_and_stops_it() -> None:
    def body() -> tuple[threading.Thread, bool]:
        thread = scarletio.run(current_thread())
        try:
            get_event_loop()
        except RuntimeError:
            return thread, False
        return thread, True

    thread, linked = in_fresh_thread(body)
    assert isinstance(thread, EventThread)
    assert thread.name == "scarletio.run"
    assert thread.daemon
    assert thread.is_closed()
    assert not thread.is_alive()
    assert not linked


def test_run_with_an_existing_non_daemon_loop_reuses_it_and_leaves_it_running(loops: list[EventThread]) -> None:
    def body() -> tuple[EventThread, threading.Thread]:
        loop = create_event_loop()
        loops.append(loop)
        return loop, scarletio.run(current_thread())

    loop, thread = in_fresh_thread(body)
    assert thread is loop
    assert loop.is_running()


def test_run_reuses_a_running_loop_found_by_the_thread_scan(loops: list[EventThread]) -> None:
    loop = EventThread(start_later=False)
    loops.append(loop)
    assert in_fresh_thread(lambda: scarletio.run(current_thread())) is loop
    assert loop.is_running()


def test_run_with_only_a_daemon_loop_linked_makes_its_own_loop(loops: list[EventThread]) -> None:
    def body() -> tuple[EventThread, threading.Thread]:
        daemon = create_event_loop(daemon=True)
        loops.append(daemon)
        return daemon, scarletio.run(current_thread())

    daemon, thread = in_fresh_thread(body)
    assert thread is not daemon
    assert thread.name == "scarletio.run"
    assert not thread.is_alive()


def test_run_uses_the_backend_it_is_given() -> None:
    def body() -> str:
        thread = scarletio.run(current_thread(), backend="poll")
        assert isinstance(thread, EventThread)
        return thread.backend.name

    assert in_fresh_thread(body) == "poll"


def test_run_reraises_the_exception_and_stops_its_loop() -> None:
    error = KeyError("from the coroutine")
    threads: list[threading.Thread] = []

    async def failing() -> None:
        threads.append(threading.current_thread())
        raise error

    with pytest.raises(KeyError) as caught:
        in_fresh_thread(lambda: scarletio.run(failing()))
    assert caught.value is error
    assert [thread.is_alive() for thread in threads] == [False]


def test_run_with_a_timeout_cancels_the_coroutine_and_raises_timeout_error() -> None:
    seen: list[str] = []

    async def slow() -> None:
        try:
            await sleep(10)
        except CancelledError:
            seen.append("cancelled")
            raise

    with pytest.raises(TimeoutError) as caught:
        in_fresh_thread(lambda: scarletio.run(slow(), timeout=0.05))
    assert isinstance(caught.value.__cause__, CancelledError)
    assert seen == ["cancelled"]


def test_run_inside_an_event_loop_raises_runtime_error(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)

    async def main() -> None:
        coroutine = answer()
        try:
            scarletio.run(coroutine)
        finally:
            coroutine.close()

    message = r"^run\(\) cannot be called on an event loop thread; await the awaitable instead$"
    with pytest.raises(RuntimeError, match=message):
        loop.run(main(), timeout=5)


# ---- create_task, create_future, get_current_task -----------------------------------------------------


def test_create_task_create_future_and_get_current_task_use_the_running_loop(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)

    async def main() -> tuple[bool, bool, int]:
        current = get_current_task()
        task = create_task(answer())
        future: Future[int] = create_future()
        return isinstance(current, Task) and current.loop is loop, future.loop is loop, await task

    assert loop.run(main(), timeout=5) == (True, True, 42)
    assert get_current_task(loop) is None


def test_create_task_with_an_explicit_loop_works_from_a_plain_thread(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)
    done = threading.Event()

    async def signal() -> None:
        done.set()

    def body() -> bool:
        task = create_task(signal(), loop)
        return task.loop is loop and create_future(loop).loop is loop

    assert in_fresh_thread(body)
    assert done.wait(LATE)


# ---- names of the original scarletio: run_coroutine, get_tasks, LOOP_TIME, future_or_timeout ------------


def test_run_coroutine_from_a_plain_thread_blocks_and_returns_the_result(loops: list[EventThread]) -> None:
    def body() -> tuple[int, int]:
        loop = create_event_loop()
        loops.append(loop)
        from_detected = scarletio.run_coroutine(answer())
        from_given = scarletio.run_coroutine(answer(), loop)
        assert isinstance(from_detected, int) and isinstance(from_given, int)
        return from_detected, from_given

    assert in_fresh_thread(body) == (42, 42)


def test_run_coroutine_from_a_plain_thread_raises_the_coroutines_exception(loops: list[EventThread]) -> None:
    async def failing() -> int:
        raise LookupError("nothing here")

    def body() -> None:
        loops.append(create_event_loop())
        scarletio.run_coroutine(failing())

    with pytest.raises(LookupError, match=r"^nothing here$"):
        in_fresh_thread(body)


def test_run_coroutine_on_the_loops_own_thread_returns_the_task(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)

    async def main() -> tuple[bool, int]:
        task = scarletio.run_coroutine(answer())
        assert isinstance(task, Task)
        return task.loop is loop, await task

    assert loop.run(main(), timeout=5) == (True, 42)


def test_run_coroutine_from_another_loop_returns_a_wrapper_to_await(loops: list[EventThread]) -> None:
    target = EventThread(name="target")
    caller = EventThread(name="caller")
    loops.extend((target, caller))

    async def main() -> tuple[str, str]:
        waitable = scarletio.run_coroutine(current_thread(), target)
        assert isinstance(waitable, scarletio.FutureWrapperAsync)
        ran_on = await waitable
        return ran_on.name, threading.current_thread().name

    assert caller.run(main(), timeout=5) == ("target", "caller")


async def nap() -> None:
    await sleep(60)


def test_get_tasks_lists_the_unfinished_tasks_of_the_loop(loops: list[EventThread]) -> None:
    loop = EventThread()
    loops.append(loop)

    async def main() -> tuple[bool, bool, bool]:
        sleeper = loop.create_task(nap())
        current = get_current_task()
        listed = scarletio.get_tasks()
        given = scarletio.get_tasks(loop)
        sleeper.cancel()
        return sleeper in listed, current in listed, listed == given

    assert loop.run(main(), timeout=5) == (True, True, True)


def test_loop_time_is_the_real_backends_clock() -> None:
    assert scarletio.LOOP_TIME is time.monotonic
    assert scarletio.LOOP_TIME_RESOLUTION == time.get_clock_info("monotonic").resolution
    assert scarletio.future_or_timeout is scarletio.apply_timeout
