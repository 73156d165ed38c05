"""Cross-thread wrappers: `future.sync_wrap()` from plain threads, `future.async_wrap(loop)` from other loops."""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from _fixtures import LATE

from scarletio import CancelledError, EventThread, Future, get_event_loop, skip_ready_cycle, sleep
from scarletio.core.wrappers import FutureWrapperAsync, FutureWrapperSync

BACKENDS = ("epoll", "poll")


@pytest.fixture(params=BACKENDS)
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    event_loop = EventThread(request.param, name=f"wrapped-{request.param}")
    yield event_loop
    event_loop.stop()
    if event_loop.ident is not None:
        event_loop.join(5)


@pytest.fixture
def other_loop() -> Iterator[EventThread]:
    event_loop = EventThread(name="other")
    yield event_loop
    event_loop.stop()
    if event_loop.ident is not None:
        event_loop.join(5)


async def answer_after(delay: float, value: int) -> int:
    await sleep(delay)
    return value


async def fail_after(delay: float) -> int:
    await sleep(delay)
    raise ValueError("failed")


def test_sync_wrap_wait_returns_the_result_of_a_task_created_from_another_thread(loop: EventThread) -> None:
    task = loop.create_task_thread_safe(answer_after(0.01, 7))
    assert task.sync_wrap().wait() == 7


def test_sync_wrap_wait_reraises_the_task_exception(loop: EventThread) -> None:
    task = loop.create_task_thread_safe(fail_after(0.01))
    with pytest.raises(ValueError, match="^failed$"):
        task.sync_wrap().wait()


def test_sync_wrap_wait_timeout_raises_and_leaves_the_task_running(loop: EventThread) -> None:
    released = threading.Event()  # the task runs until the test has looked

    async def answer_once_released() -> int:
        while not released.is_set():
            await sleep(0.01)
        return 3

    task = loop.create_task_thread_safe(answer_once_released())
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        task.sync_wrap().wait(0.05)
    assert 0.05 <= time.monotonic() - started < LATE
    assert not task.is_done()
    released.set()
    assert task.sync_wrap().wait(LATE) == 3


def test_sync_wrap_wait_with_propagation_cancels_the_task_and_chains_the_cause(loop: EventThread) -> None:
    task = loop.create_task_thread_safe(answer_after(5, 3))
    with pytest.raises(TimeoutError) as caught:
        task.sync_wrap().wait(0.05, propagate_cancellation=True)
    assert isinstance(caught.value.__cause__, CancelledError)
    assert task.is_cancelled()


def test_sync_wrap_wait_for_completion_reports_whether_it_finished_without_raising(loop: EventThread) -> None:
    slow = loop.create_task_thread_safe(answer_after(5, 1))
    failing = loop.create_task_thread_safe(fail_after(0.01))
    assert slow.sync_wrap().wait_for_completion(0.02) is False
    assert failing.sync_wrap().wait_for_completion(2) is True
    assert isinstance(failing.get_exception(), ValueError)
    slow.sync_wrap().cancel()


def test_sync_wrap_wait_on_the_loop_thread_refuses_instead_of_deadlocking(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[int] = loop.create_future()
        try:
            future.sync_wrap().wait()
        except RuntimeError as error:
            return str(error)
        return "no error"

    assert "deadlock" in loop.run(main(), timeout=5)


def test_sync_wrap_forwards_state_changes_to_the_loop_thread(loop: EventThread) -> None:
    future: Future[int] = loop.run(_make_future(loop), timeout=5)
    wrapper = future.sync_wrap()
    assert isinstance(wrapper, FutureWrapperSync)
    assert wrapper.is_pending()
    assert wrapper.set_result_if_pending(5) == 1
    assert wrapper.set_result_if_pending(6) == 0
    assert wrapper.is_done()
    assert wrapper.get_result() == 5
    assert wrapper.cancel() == 0


def test_sync_wrap_cancel_from_another_thread_wakes_an_awaiting_task(loop: EventThread) -> None:
    future: Future[int] = loop.run(_make_future(loop), timeout=5)
    seen: list[str] = []

    async def waiter() -> None:
        try:
            await future
        except CancelledError:
            seen.append("cancelled")

    task = loop.create_task_thread_safe(waiter())
    time.sleep(0.02)
    assert future.sync_wrap().cancel() == 1
    task.sync_wrap().wait(LATE)
    assert seen == ["cancelled"]


async def _make_future(loop: EventThread) -> Future[int]:
    return loop.create_future()


def test_direct_set_result_from_a_foreign_thread_names_the_thread_safe_way(loop: EventThread) -> None:
    future: Future[int] = loop.run(_make_future(loop), timeout=5)
    with pytest.raises(RuntimeError, match="call_soon_thread_safe"):
        future.set_result(1)
    assert future.is_pending()


def test_add_done_callback_from_a_foreign_thread_names_call_soon_thread_safe(loop: EventThread) -> None:
    future: Future[int] = loop.run(_make_future(loop), timeout=5)
    with pytest.raises(RuntimeError, match=r"^Future.add_done_callback called from a thread that is not its loop's; use loop.call_soon_thread_safe\(future.add_done_callback, ...\)$"):
        future.add_done_callback(print)
    seen: list[int] = []
    loop.call_soon_thread_safe(future.add_done_callback, lambda done: seen.append(done.get_result()))
    future.sync_wrap().set_result(4)
    assert future.sync_wrap().wait(LATE) == 4
    loop.run(_settle(), timeout=5)
    assert seen == [4]


async def _settle() -> None:
    for _ in range(3):
        await skip_ready_cycle()


def test_async_wrap_lets_another_loop_await_the_result(loop: EventThread, other_loop: EventThread) -> None:
    task = loop.create_task_thread_safe(answer_after(0.02, 11))

    async def on_other() -> tuple[int, str]:
        wrapper = task.async_wrap(other_loop)
        assert isinstance(wrapper, FutureWrapperAsync)
        value = await wrapper
        return value, threading.current_thread().name

    assert other_loop.run(on_other(), timeout=5) == (11, "other")


def test_async_wrap_propagates_the_exception_to_the_other_loop(loop: EventThread, other_loop: EventThread) -> None:
    task = loop.create_task_thread_safe(fail_after(0.01))

    async def on_other() -> int:
        return await task.async_wrap(other_loop)

    with pytest.raises(ValueError, match="^failed$"):
        other_loop.run(on_other(), timeout=5)


def test_async_wrap_wait_with_timeout_raises_and_can_propagate(loop: EventThread, other_loop: EventThread) -> None:
    task = loop.create_task_thread_safe(answer_after(5, 1))

    async def on_other() -> bool:
        try:
            await task.async_wrap(other_loop).wait(0.05, propagate_cancellation=True)
        except TimeoutError:
            return True
        return False

    assert other_loop.run(on_other(), timeout=5) is True
    assert task.sync_wrap().wait_for_completion(2)
    assert task.is_cancelled()


def test_async_wrap_wait_for_completion_does_not_raise(loop: EventThread, other_loop: EventThread) -> None:
    task = loop.create_task_thread_safe(fail_after(0.01))

    async def on_other() -> bool:
        return await task.async_wrap(other_loop).wait_for_completion()

    assert other_loop.run(on_other(), timeout=5) is True
    assert isinstance(task.get_exception(), ValueError)


def test_loop_enter_pauses_the_loop_inside_the_block(loop: EventThread) -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await sleep(0.005)

    task = loop.create_task_thread_safe(ticker())
    time.sleep(0.05)
    with loop.enter():
        entered = time.monotonic()
        time.sleep(0.1)
        left = time.monotonic()
    time.sleep(0.05)
    task.sync_wrap().cancel()
    inside = [tick for tick in ticks if entered <= tick <= left]
    assert inside == []
    assert any(tick > left for tick in ticks), "the loop did not resume after the block"


# ---- no callback is left behind, whatever the outcome of a wait --------------------------------


def callbacks_of(future: Future[Any]) -> list[object]:
    """The callbacks registered on `future`, read on its loop thread."""
    return future.sync_wrap()._on_owner(lambda: list(future.iter_callbacks()))


async def forever() -> None:
    await get_event_loop().create_future()


def test_async_wrap_wait_timeout_takes_its_callback_off_the_future(loop: EventThread, other_loop: EventThread) -> None:
    future: Future[int] = Future(loop)

    async def on_other() -> list[object]:
        with pytest.raises(TimeoutError):
            await future.async_wrap(other_loop).wait(timeout=0.0)
        return list(future.iter_callbacks())  # already gone when wait() returns

    assert other_loop.run(on_other(), timeout=5) == []
    assert callbacks_of(future) == []
    assert future.is_pending()


def test_async_wrap_wait_timeout_with_propagation_cancels_the_future_and_leaves_nothing(
    loop: EventThread, other_loop: EventThread
) -> None:
    future: Future[int] = Future(loop)

    async def on_other() -> tuple[list[object], bool]:
        with pytest.raises(TimeoutError):
            await future.async_wrap(other_loop).wait(timeout=0.0, propagate_cancellation=True)
        return list(future.iter_callbacks()), future.is_cancelled()

    assert other_loop.run(on_other(), timeout=5) == ([], True)


def test_async_wrap_wait_timeout_with_propagation_waits_for_a_task_to_end_cancelled(
    loop: EventThread, other_loop: EventThread
) -> None:
    task = loop.create_task_thread_safe(forever())

    async def on_other() -> tuple[list[object], bool, BaseException | None]:
        with pytest.raises(TimeoutError) as caught:
            await task.async_wrap(other_loop).wait(timeout=0.0, propagate_cancellation=True)
        return list(task.iter_callbacks()), task.is_cancelled(), caught.value.__cause__

    callbacks, cancelled, cause = other_loop.run(on_other(), timeout=5)
    assert callbacks == []
    assert cancelled
    assert isinstance(cause, CancelledError)


def test_async_wrap_wait_for_completion_timeout_returns_false_and_leaves_nothing(
    loop: EventThread, other_loop: EventThread
) -> None:
    future: Future[int] = Future(loop)

    async def on_other() -> tuple[bool, list[object], bool]:
        finished = await future.async_wrap(other_loop).wait_for_completion(timeout=0.0, propagate_cancellation=True)
        return finished, list(future.iter_callbacks()), future.is_cancelled()

    assert other_loop.run(on_other(), timeout=5) == (False, [], True)


def test_cancelling_a_task_awaiting_an_async_wrapper_takes_the_callback_off(
    loop: EventThread, other_loop: EventThread
) -> None:
    future: Future[int] = Future(loop)

    async def waiting() -> int:
        return await future.async_wrap(other_loop)

    async def on_other() -> tuple[bool, list[object]]:
        task = other_loop.create_task(waiting())
        for _ in range(20):  # until the wrapper's callback is registered on the other loop
            await sleep(0.005)
            if list(future.iter_callbacks()):
                break
        task.cancel()
        with pytest.raises(CancelledError):
            await task
        return task.is_cancelled(), list(future.iter_callbacks())

    assert other_loop.run(on_other(), timeout=5) == (True, [])
    assert future.is_pending()  # cancelling the wait does not cancel the future


def test_async_wrapper_works_with_yield_from_like_a_future(loop: EventThread, other_loop: EventThread) -> None:
    task = loop.create_task_thread_safe(answer_after(0.01, 5))
    assert vars(FutureWrapperAsync)["__iter__"] is vars(FutureWrapperAsync)["__await__"]

    @types.coroutine
    def generator_based() -> Generator[Any, None, int]:
        value: int = yield from task.async_wrap(other_loop)
        return value + 1

    async def on_other() -> int:
        return await generator_based()

    assert other_loop.run(on_other(), timeout=5) == 6


def test_sync_wrap_wait_timeout_takes_its_callback_off_before_returning(loop: EventThread) -> None:
    future: Future[int] = Future(loop)
    loop.run(_settle())  # the loop runs, so the wait registers on its thread
    with pytest.raises(TimeoutError):
        future.sync_wrap().wait(0.01)
    assert list(future.iter_callbacks()) == []
    assert future.sync_wrap().wait_for_completion(0.01) is False
    assert list(future.iter_callbacks()) == []
    with pytest.raises(TimeoutError):
        future.sync_wrap().wait(0.01, propagate_cancellation=True)
    assert list(future.iter_callbacks()) == []
    assert future.is_cancelled()


def test_ensure_future_of_another_loops_future_gives_a_future_of_this_loop(
    loop: EventThread, other_loop: EventThread
) -> None:
    task = loop.create_task_thread_safe(answer_after(0.01, 9))

    async def on_other() -> tuple[bool, int]:
        here = other_loop.ensure_future(task)
        return here.loop is other_loop, await here

    assert other_loop.run(on_other(), timeout=5) == (True, 9)
