"""`sleep`, `skip_ready_cycle`, `skip_poll_cycle`, `shield`, `repeat_timeout` and `apply_timeout`.

Checklist items 56-58 and 60 of `seed/reference-behaviour.md`, plus the scheduling promises of D5: all
ready work runs before the next poll (so `skip_ready_cycle` interleaves round-robin), while
`skip_poll_cycle` waits for the poll. Every test runs on both real backends.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator

import pytest
from _fixtures import LATE, assert_on_time, loop, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.core.suspension import shield, skip_poll_cycle, skip_ready_cycle, sleep
from scarletio.primitives.timeouts import apply_timeout, repeat_timeout
from scarletio.testing import virtual_loop


async def value_after(delay: float, value: str) -> str:
    await sleep(delay)
    return value


def live_timers(loop: EventThread) -> int:
    """How many timers in the loop's heap are still armed."""
    return sum(1 for entry in loop._timers if not entry[2]._cancelled)


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    reader, writer = socket.socketpair()
    yield reader, writer
    reader.close()
    writer.close()


# ---- sleep -----------------------------------------------------------------------------------------


def test_sleep_returns_a_future_resolved_with_none_after_the_delay(loop: EventThread) -> None:
    async def main() -> tuple[bool, object, float]:
        started = loop.time()
        future = sleep(0.03)
        await future
        return isinstance(future, Future), future.get_result(), loop.time() - started

    is_future, result, elapsed = run(loop, main())
    assert is_future
    assert result is None
    assert_on_time(loop, elapsed, 0.03)


def test_sleep_uses_the_running_loop_by_default(loop: EventThread) -> None:
    async def main() -> bool:
        future = sleep(0.001)
        await future
        return future.loop is loop

    assert run(loop, main())


@pytest.mark.parametrize("delay", [0.0, -1.0])
def test_sleep_of_zero_or_less_is_already_done_and_schedules_nothing(loop: EventThread, delay: float) -> None:
    future = sleep(delay, loop)
    assert future.is_done()
    assert future.get_result() is None
    assert not loop.is_started()


def test_awaiting_sleep_zero_does_not_yield_to_other_tasks(loop: EventThread) -> None:
    log: list[str] = []

    async def count(name: str) -> None:
        for index in range(3):
            log.append(f"{name}{index}")
            await sleep(0)

    async def main() -> None:
        first = loop.create_task(count("A"))
        second = loop.create_task(count("B"))
        await first
        await second

    run(loop, main())
    assert log == ["A0", "A1", "A2", "B0", "B1", "B2"]


def test_cancelling_sleep_disarms_its_timer(loop: EventThread) -> None:
    async def main() -> tuple[int, int, int, bool]:
        before = live_timers(loop)
        future = sleep(10)
        armed = live_timers(loop)
        cancelled = future.cancel()
        return before, armed, cancelled, future.is_cancelled()

    before, armed, cancelled, is_cancelled = run(loop, main())
    assert armed == before + 1
    assert (cancelled, is_cancelled) == (1, True)
    assert live_timers(loop) == before


def test_a_cancelled_sleep_raises_cancelled_error_in_its_awaiter(loop: EventThread) -> None:
    async def main() -> str:
        future = sleep(10)
        loop.call_after(0.01, future.cancel)
        try:
            await future
        except CancelledError:
            return "cancelled"
        return "slept"

    assert run(loop, main()) == "cancelled"


def test_sleep_on_a_stopped_loop_raises_runtime_error(loop: EventThread) -> None:
    loop.stop()
    with pytest.raises(RuntimeError, match=r"^cannot sleep: event loop .* is stopped"):
        sleep(0.1, loop)


# ---- skip_ready_cycle, skip_poll_cycle ----------------------------------------------------------------


def test_skip_ready_cycle_interleaves_tasks_round_robin(loop: EventThread) -> None:
    log: list[str] = []

    async def count(name: str) -> None:
        for index in range(3):
            log.append(f"{name}{index}")
            await skip_ready_cycle()

    async def main() -> None:
        tasks = [loop.create_task(count(name)) for name in "ABC"]
        for task in tasks:
            await task

    run(loop, main())
    assert log == ["A0", "B0", "C0", "A1", "B1", "C1", "A2", "B2", "C2"]


def _readiness_order(
    loop: EventThread, pair: tuple[socket.socket, socket.socket], suspend: Callable[[], Awaitable[None]]
) -> list[str]:
    """Make a reader ready, suspend with `suspend`, and tell whether the task or the reader ran first."""
    reader, writer = pair

    def on_readable() -> None:
        reader.recv(16)
        log.append("reader")

    log: list[str] = []

    async def main() -> None:
        writer.send(b"x")
        loop.add_reader(reader, on_readable)
        try:
            await suspend()
            log.append("resumed")
            while "reader" not in log:
                await skip_poll_cycle()
        finally:
            loop.remove_reader(reader)

    run(loop, main())
    return log


def test_skip_ready_cycle_resumes_before_the_next_poll(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    assert _readiness_order(loop, socket_pair, skip_ready_cycle) == ["resumed", "reader"]


def test_skip_poll_cycle_resumes_after_the_next_poll(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    assert _readiness_order(loop, socket_pair, skip_poll_cycle) == ["reader", "resumed"]


def _timer_order(loop: EventThread, suspend: Callable[[], Awaitable[None]]) -> list[str]:
    async def main() -> list[str]:
        log: list[str] = []
        fired: Future[None] = loop.create_future()

        def on_timer() -> None:
            log.append("timer")
            fired.set_result(None)

        loop.call_after(0.0, on_timer)
        await suspend()
        log.append("resumed")
        await fired
        return log

    return run(loop, main())


def test_skip_ready_cycle_resumes_before_a_due_timer(loop: EventThread) -> None:
    assert _timer_order(loop, skip_ready_cycle) == ["resumed", "timer"]


def test_skip_poll_cycle_lets_a_due_timer_run_first(loop: EventThread) -> None:
    assert _timer_order(loop, skip_poll_cycle) == ["timer", "resumed"]


def test_skip_poll_cycle_returns_a_future_of_the_running_loop(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        future = skip_poll_cycle()
        await future
        return isinstance(future, Future), future.loop is loop

    assert run(loop, main()) == (True, True)


# ---- repeat_timeout -------------------------------------------------------------------------------


def test_repeat_timeout_outside_an_event_loop_thread_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match=r"^repeat_timeout must be used inside a task on an event loop thread$"):
        repeat_timeout(1.0)


def test_repeat_timeout_in_a_plain_callback_raises_runtime_error(loop: EventThread) -> None:
    async def main() -> BaseException | None:
        outcome: Future[BaseException | None] = loop.create_future()

        def callback() -> None:
            try:
                repeat_timeout(1.0)
            except RuntimeError as error:
                outcome.set_result(error)
            else:
                outcome.set_result(None)

        loop.call_soon(callback)
        return await outcome

    error = run(loop, main())
    assert isinstance(error, RuntimeError)
    assert str(error) == "repeat_timeout must be used inside a task, not in a plain callback"


def test_repeat_timeout_lets_quick_rounds_run_and_break_leaves_without_a_later_cancel(loop: EventThread) -> None:
    async def main() -> tuple[int, str]:
        rounds = 0
        with repeat_timeout(0.05) as limited:
            for _ in limited:
                await sleep(0.01)
                rounds += 1
                if rounds == 6:  # longer in total than one timeout: the timer re-arms
                    break
        await sleep(0.07)  # a timer left armed would cancel this task meanwhile
        return rounds, "finished"

    assert run(loop, main()) == (6, "finished")


def test_repeat_timeout_raises_timeout_error_when_one_round_takes_too_long(loop: EventThread) -> None:
    async def main() -> tuple[TimeoutError, float, int]:
        rounds = 0
        started = loop.time()
        try:
            with repeat_timeout(0.03) as limited:
                for _ in limited:
                    rounds += 1
                    await sleep(10)
        except TimeoutError as error:
            return error, loop.time() - started, rounds
        raise AssertionError("no TimeoutError")

    error, elapsed, rounds = run(loop, main())
    assert str(error) == "a round took longer than the 0.03 second repeat_timeout"
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert rounds == 1
    assert_on_time(loop, elapsed, 0.03)


def test_repeat_timeout_measures_each_round_from_its_start() -> None:
    # The README example scaled down: a 5 s limit and rounds of 2, 4 and 6 s time out at 11 s. On
    # virtual time: on a busy machine a real 0.02 s round may well take longer than 0.05 s.
    with virtual_loop() as loop:
        elapsed, started_rounds = loop.run(_rounds_of_repeat_timeout(loop), timeout=6 * LATE)
    assert started_rounds == 3
    assert_on_time(loop, elapsed, 0.11)


async def _rounds_of_repeat_timeout(loop: EventThread) -> tuple[float, int]:
    started_rounds = 0
    started = loop.time()
    try:
        with repeat_timeout(0.05) as limited:
            for delay in (0.02, 0.04, 0.06, 0.06):
                next(limited)
                started_rounds += 1
                await sleep(delay)
    except TimeoutError:
        return loop.time() - started, started_rounds
    raise AssertionError("no TimeoutError")


def test_repeat_timeout_passes_an_outside_cancellation_through(loop: EventThread) -> None:
    async def limited() -> None:
        with repeat_timeout(1.0) as rounds:
            for _ in rounds:
                await sleep(10)

    async def main() -> tuple[bool, BaseException | None, int]:
        task = loop.create_task(limited())
        await skip_ready_cycle()
        armed = live_timers(loop)
        task.cancel()
        await task.wait_for_completion()
        return task.is_cancelled(), task.get_exception(), armed - live_timers(loop)

    cancelled, exception, disarmed = run(loop, main())
    assert cancelled
    assert isinstance(exception, CancelledError)
    assert disarmed == 2  # the sleep's timer and the repeat_timeout's timer


# ---- apply_timeout --------------------------------------------------------------------------------


def test_apply_timeout_cancels_a_slow_future_with_timeout_error(loop: EventThread) -> None:
    async def main() -> tuple[int, BaseException | None, bool]:
        future: Future[None] = loop.create_future()
        applied = apply_timeout(future, 0.02)
        await future.wait_for_completion()
        return applied, future.get_exception(), future.is_cancelled()

    applied, exception, cancelled = run(loop, main())
    assert applied == 1
    assert isinstance(exception, TimeoutError)
    assert cancelled


def test_apply_timeout_on_a_done_future_returns_zero(loop: EventThread) -> None:
    future = sleep(0, loop)
    assert apply_timeout(future, 1.0) == 0
    assert future.get_result() is None


# ---- shield ---------------------------------------------------------------------------------------


def test_cancelling_a_shield_leaves_the_inner_task_running_to_completion(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool, bool, str]:
        task = loop.create_task(value_after(0.02, "inner done"))
        outer = shield(task, loop)
        outer.cancel()
        result = await task
        return outer is task, outer.is_cancelled(), task.is_cancelled(), result

    assert run(loop, main()) == (False, True, False, "inner done")


def test_a_task_cancelled_while_awaiting_a_shield_leaves_the_inner_task_running(loop: EventThread) -> None:
    async def guarded(inner: Future[str]) -> str:
        return await shield(inner)

    async def main() -> tuple[bool, str]:
        inner = loop.create_task(value_after(0.02, "inner done"))
        waiter = loop.create_task(guarded(inner))
        await skip_ready_cycle()
        waiter.cancel()
        await waiter.wait_for_completion()
        return waiter.is_cancelled(), await inner

    assert run(loop, main()) == (True, "inner done")


def test_shield_follows_the_inner_result(loop: EventThread) -> None:
    async def main() -> str:
        return await shield(value_after(0.01, "shielded"))

    assert run(loop, main()) == "shielded"


def test_shield_follows_the_inner_exception(loop: EventThread) -> None:
    error = LookupError("inner failed")

    async def failing() -> None:
        await sleep(0.01)
        raise error

    async def main() -> None:
        await shield(failing())

    with pytest.raises(LookupError) as caught:
        run(loop, main())
    assert caught.value is error


def test_shield_is_cancelled_when_the_inner_task_is(loop: EventThread) -> None:
    async def main() -> bool:
        inner = loop.create_task(value_after(10, "never"))
        outer = shield(inner)
        await skip_ready_cycle()
        inner.cancel()
        await outer.wait_for_completion()
        return outer.is_cancelled()

    assert run(loop, main())


def test_shield_of_a_done_future_returns_that_future(loop: EventThread) -> None:
    done = sleep(0, loop)
    assert shield(done, loop) is done
