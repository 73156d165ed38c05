"""`enter_executor()`: a task's coroutine continues on an executor thread inside the block."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from scarletio import CancelledError, EventThread, Future, InvalidStateError, enter_executor, sleep

BACKENDS = ("epoll", "poll")


@pytest.fixture(params=BACKENDS)
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    event_loop = EventThread(request.param, name=f"hop-{request.param}")
    yield event_loop
    event_loop.stop()
    if event_loop.ident is not None:
        event_loop.join(5)


def test_the_block_runs_on_another_thread_and_returns_to_the_loop_after(loop: EventThread) -> None:
    async def main() -> list[threading.Thread]:
        threads = [threading.current_thread()]
        async with enter_executor():
            threads.append(threading.current_thread())
            time.sleep(0.01)
            threads.append(threading.current_thread())
        threads.append(threading.current_thread())
        return threads

    before, inside, inside_again, after = loop.run(main(), timeout=5)
    assert before is loop and after is loop
    assert inside is inside_again
    assert not isinstance(inside, EventThread)


def test_the_loop_keeps_running_while_the_block_blocks(loop: EventThread) -> None:
    ticks: list[int] = []

    async def ticker() -> None:
        for index in range(5):
            ticks.append(index)
            await sleep(0.01)

    async def main() -> int:
        ticking = loop.create_task(ticker())
        async with enter_executor():
            time.sleep(0.15)
            seen = len(ticks)
        await ticking
        return seen

    assert loop.run(main(), timeout=5) == 5


def test_awaits_inside_the_block_work_and_propagate_exceptions(loop: EventThread) -> None:
    async def failing() -> None:
        await sleep(0.01)
        raise ValueError("inside")

    async def main() -> tuple[int, str]:
        async with enter_executor():
            await sleep(0.01)
            value = await loop.create_task_thread_safe(_answer())
            message = "not raised"
            try:
                await loop.create_task_thread_safe(failing())
            except ValueError as error:
                message = str(error)
        return value, message

    assert loop.run(main(), timeout=5) == (42, "inside")


async def _answer() -> int:
    await sleep(0.01)
    return 42


def test_an_exception_raised_in_the_block_propagates_on_the_loop_thread(loop: EventThread) -> None:
    async def main() -> threading.Thread:
        try:
            async with enter_executor():
                raise KeyError("boom")
        except KeyError:
            return threading.current_thread()
        raise AssertionError("not raised")

    assert loop.run(main(), timeout=5) is loop


def test_cancelling_the_task_delivers_cancellation_inside_the_block_then_outside(loop: EventThread) -> None:
    seen: list[str] = []

    async def main() -> None:
        try:
            async with enter_executor():
                try:
                    await sleep(10)
                except CancelledError:
                    seen.append(f"inside on {threading.current_thread().name}")
                    raise
        except CancelledError:
            seen.append(f"outside on {threading.current_thread().name}")
            raise

    async def driver() -> bool:
        task = loop.create_task(main())
        await sleep(0.05)
        task.cancel()
        await task.wait_for_completion()
        return task.is_cancelled()

    assert loop.run(driver(), timeout=5) is True
    assert len(seen) == 2
    assert seen[0].startswith("inside on scarletio-executor")
    assert seen[1] == f"outside on {loop.name}"


def test_enter_executor_outside_a_task_raises(loop: EventThread) -> None:
    async def main() -> None:
        async with enter_executor():
            pass

    coroutine = main()
    with pytest.raises(RuntimeError, match="inside a task"):
        coroutine.send(None)
    coroutine.close()


# ---- resolving futures inside the block (as the original allows) ----------------------------------


def test_set_result_inside_the_block_wakes_a_waiting_task_on_the_loop(loop: EventThread) -> None:
    async def waiter(future: Future[int]) -> tuple[int, threading.Thread]:
        value = await future
        return value, threading.current_thread()

    async def main() -> tuple[tuple[int, threading.Thread], bool, int]:
        future: Future[int] = loop.create_future()
        waiting = loop.create_task(waiter(future))
        async with enter_executor():
            future.set_result(5)
            done_at_once = future.is_done()  # applied on the loop thread before set_result returned
            again = future.set_result_if_pending(6)
        return await waiting, done_at_once, again

    (value, woken_on), done_at_once, again = loop.run(main(), timeout=5)
    assert (value, woken_on) == (5, loop)
    assert done_at_once is True
    assert again == 0


def test_set_exception_and_cancel_inside_the_block_land_on_the_loop(loop: EventThread) -> None:
    async def main() -> tuple[BaseException | None, bool, bool, int, int]:
        failed: Future[int] = loop.create_future()
        cancelled: Future[int] = loop.create_future()
        spare: Future[int] = loop.create_future()
        sleeper = loop.create_task(_sleep_long())
        async with enter_executor():
            failed.set_exception(ValueError("from the executor"))
            first = cancelled.cancel()
            second = cancelled.cancel()
            spare.set_exception_if_pending(KeyError)
            sleeper.cancel()
        with pytest.raises(CancelledError):
            await sleeper
        assert isinstance(spare.get_exception(), KeyError)
        return failed.get_exception(), cancelled.is_cancelled(), sleeper.is_cancelled(), first, second

    exception, cancelled, sleeper_cancelled, first, second = loop.run(main(), timeout=5)
    assert isinstance(exception, ValueError) and str(exception) == "from the executor"
    assert (cancelled, sleeper_cancelled, first, second) == (True, True, 1, 0)


def test_set_result_twice_inside_the_block_raises_invalid_state_there(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[int] = loop.create_future()
        async with enter_executor():
            future.set_result(1)
            try:
                future.set_result(2)
            except InvalidStateError:
                return "refused"
        return "accepted"

    assert loop.run(main(), timeout=5) == "refused"


def test_many_resolutions_inside_the_block_lose_nothing(loop: EventThread) -> None:
    async def main() -> list[int]:
        futures: list[Future[int]] = [loop.create_future() for _ in range(200)]
        collector = loop.create_task(_gather(futures))
        async with enter_executor():
            for index, future in enumerate(futures):
                future.set_result(index)
        return await collector

    assert loop.run(main(), timeout=10) == list(range(200))


async def _sleep_long() -> None:
    await sleep(60)


async def _gather(futures: list[Future[int]]) -> list[int]:
    return [await future for future in futures]


def test_a_plain_thread_still_may_not_resolve_a_future_of_a_running_loop(loop: EventThread) -> None:
    future: Future[int] = loop.run(_make_future(loop), timeout=5)
    with pytest.raises(RuntimeError, match=r"called from a thread that is not its loop's"):
        future.set_result(1)


async def _make_future(loop: EventThread) -> Future[int]:
    return loop.create_future()
