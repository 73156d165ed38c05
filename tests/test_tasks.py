"""`Task`: starting, finishing, cancellation in all its paths, introspection and context variables.

Covers checklist items 31-42, with our deliberate differences: `cancel_with` is never lost (D9),
awaiting anything but a scarletio Future throws an explanatory `RuntimeError` into the coroutine,
`Task(loop, coroutine)` creates and schedules a task as `create_task` does, and a foreign thread may not cancel a task while its loop runs.
Every test runs once per real backend; bodies are coroutines run on the loop with `loop.run`.
"""

from __future__ import annotations

import asyncio
import gc
import io
import types
from collections.abc import Coroutine, Generator, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import pytest

from scarletio import set_error_reporter
from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.core.suspension import skip_ready_cycle, sleep
from scarletio.core.tasks import Task

T = TypeVar("T")

Report = tuple[str, "BaseException | None"]

COLOUR: ContextVar[str] = ContextVar("COLOUR", default="unset")


@pytest.fixture(params=["epoll", "poll", "virtual"])
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    loop = EventThread(request.param)
    yield loop
    loop.stop()
    if loop.ident is not None:  # a test that never used the loop never started its thread
        loop.join(5)


def run(loop: EventThread, coroutine: Coroutine[Any, Any, T]) -> T:
    return loop.run(coroutine, timeout=5)


async def cycles(count: int = 3) -> None:
    for _ in range(count):
        await skip_ready_cycle()


def pending(loop: EventThread) -> Future[int]:
    """Return a new future of `loop` that nothing will resolve."""
    return loop.create_future()


async def wait_on(future: Future[T]) -> T:
    return await future


# ---- construction and starting (31) ----------------------------------------------------------------------


def test_task_constructor_creates_and_schedules_the_task_like_create_task(loop: EventThread) -> None:
    async def double(value: int) -> int:
        await skip_ready_cycle()
        return value * 2

    async def main() -> tuple[bool, bool, int]:
        task = Task(loop, double(21))
        listed = task in loop.get_tasks()
        started_pending = task.is_pending()
        return listed, started_pending, await task

    assert run(loop, main()) == (True, True, 42)


def test_task_constructor_works_from_a_plain_thread_and_wakes_the_loop(loop: EventThread) -> None:
    async def answer() -> int:
        return 7

    assert Task(loop, answer()).sync_wrap().wait(5) == 7


def test_task_constructor_accepts_the_older_coroutine_first_order(loop: EventThread) -> None:
    async def answer() -> str:
        return "old order"

    task: Task[str] = Task(answer(), loop)  # type: ignore[arg-type]
    assert task.sync_wrap().wait(5) == "old order"


def test_task_constructor_refuses_what_is_not_a_coroutine(loop: EventThread) -> None:
    with pytest.raises(TypeError, match=r"^Task needs a coroutine, got <function .*>; call the async function"):
        Task(loop, cycles)  # type: ignore[arg-type]


def test_task_constructor_on_a_stopped_loop_raises_and_closes_the_coroutine(loop: EventThread) -> None:
    loop.run(cycles(1))
    loop.stop()
    loop.join(5)
    coroutine = wait_on(pending(loop))
    with pytest.raises(RuntimeError, match=r"is stopped"):
        Task(loop, coroutine)
    assert isinstance(coroutine, types.CoroutineType)
    assert coroutine.cr_frame is None  # closed: no "never awaited" warning


def test_task_does_not_run_its_body_before_the_next_ready_cycle(loop: EventThread) -> None:
    async def main() -> tuple[list[str], bool, list[str], int]:
        log: list[str] = []

        async def body() -> int:
            log.append("ran")
            return 4

        task = loop.create_task(body())
        before = list(log)
        pending = task.is_pending()
        await skip_ready_cycle()
        return before, pending, log, task.get_result()

    assert run(loop, main()) == ([], True, ["ran"], 4)


def test_awaiting_a_task_gives_its_coroutine_return_value(loop: EventThread) -> None:
    async def child() -> str:
        await sleep(0.01)
        return "done"

    async def main() -> str:
        return await loop.create_task(child())

    assert run(loop, main()) == "done"


def test_awaiting_a_task_raises_its_coroutine_exception(loop: EventThread) -> None:
    async def child() -> None:
        await skip_ready_cycle()
        raise KeyError("child failed")

    async def main() -> None:
        task = loop.create_task(child())
        with pytest.raises(KeyError, match="child failed"):
            await task
        assert not task.is_cancelled()

    run(loop, main())


def test_keyboard_interrupt_inside_a_task_becomes_its_exception(loop: EventThread) -> None:
    async def child() -> None:
        raise KeyboardInterrupt

    async def main() -> tuple[type[BaseException] | None, bool]:
        task = loop.create_task(child())
        await task.wait_for_completion()
        exception = task.get_exception()
        return type(exception) if exception is not None else None, task.is_cancelled()

    assert run(loop, main()) == (KeyboardInterrupt, False)


def test_task_name_and_qualname_come_from_the_coroutine(loop: EventThread) -> None:
    async def worker() -> None:
        pass

    async def main() -> tuple[str, str]:
        task = loop.create_task(worker())
        await task
        return task.name, task.qualname

    name, qualname = run(loop, main())
    assert name == "worker"
    assert qualname == "test_task_name_and_qualname_come_from_the_coroutine.<locals>.worker"


def test_task_repr_shows_its_state_and_coroutine(loop: EventThread) -> None:
    async def worker() -> int:
        return 5

    async def main() -> tuple[str, str]:
        task = loop.create_task(worker())
        before = repr(task)
        await task
        return before, repr(task)

    prefix = "test_task_repr_shows_its_state_and_coroutine.<locals>.worker"
    assert run(loop, main()) == (
        f"<Task state = pending, coroutine = {prefix}>",
        f"<Task state = result~return, result = 5, coroutine = {prefix}>",
    )


def test_get_coroutine_returns_the_driven_coroutine(loop: EventThread) -> None:
    async def main() -> None:
        coroutine = wait_on(pending(loop))
        task = loop.create_task(coroutine)
        assert task.get_coroutine() is coroutine
        task.cancel()

    run(loop, main())


# ---- refused operations (32) ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["set_result", "set_result_if_pending", "set_exception", "set_exception_if_pending"])
def test_setting_a_task_outcome_from_outside_raises_runtime_error(loop: EventThread, method: str) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        argument: object = ValueError("outside") if method.startswith("set_exception") else 1
        with pytest.raises(RuntimeError, match=rf"^Task\.{method} is not allowed"):
            getattr(task, method)(argument)
        assert task.is_pending()
        task.cancel()

    run(loop, main())


# ---- cancel (33-37) -----------------------------------------------------------------------------------------


def test_cancelling_a_task_blocked_on_a_future_cancels_that_future(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        seen: list[type[BaseException]] = []

        async def child() -> int:
            try:
                return await future
            except BaseException as error:
                seen.append(type(error))
                raise

        task = loop.create_task(child())
        await skip_ready_cycle()
        assert task.cancel() == 1
        assert future.is_cancelled()
        await task.wait_for_completion()
        assert seen == [CancelledError]
        assert task.is_cancelled()
        assert type(task.get_exception()) is CancelledError

    run(loop, main())


def test_cancelling_a_task_before_it_starts_cancels_it_without_running_its_body(loop: EventThread) -> None:
    async def main() -> None:
        log: list[str] = []

        async def child() -> None:
            log.append("body ran")

        task = loop.create_task(child())
        assert task.cancel() == 1
        await task.wait_for_completion()
        assert log == []
        assert task.is_cancelled()

    run(loop, main())


def test_task_catching_the_cancellation_of_its_awaited_future_and_returning_completes_normally(
    loop: EventThread,
) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()

        async def child() -> str:
            try:
                await future
            except CancelledError:
                return "caught"
            return "not cancelled"

        task = loop.create_task(child())
        await skip_ready_cycle()
        task.cancel()
        assert await task == "caught"
        assert not task.is_cancelled()

    run(loop, main())


def test_task_catching_the_cancellation_of_its_awaited_future_may_keep_awaiting(loop: EventThread) -> None:
    async def main() -> None:
        first: Future[int] = loop.create_future()
        second: Future[int] = loop.create_future()

        async def child() -> int:
            try:
                await first
            except CancelledError:
                pass
            return await second

        task = loop.create_task(child())
        await skip_ready_cycle()
        task.cancel()
        await cycles()
        assert task.is_pending()
        second.set_result(8)
        assert await task == 8
        assert not task.is_cancelled()

    run(loop, main())


def test_task_cancelled_while_running_that_then_returns_ends_cancelled_and_drops_the_value(loop: EventThread) -> None:
    async def main() -> None:
        async def child() -> int:
            current = loop.current_task
            assert current is not None
            assert current.cancel() == 1
            return 1

        task = loop.create_task(child())
        await task.wait_for_completion()
        assert task.is_cancelled()
        assert type(task.get_exception()) is CancelledError
        with pytest.raises(CancelledError):
            task.get_result()

    run(loop, main())


def test_task_cancelled_while_running_that_then_raises_ends_with_its_exception(loop: EventThread) -> None:
    async def main() -> None:
        error = ValueError("wins")

        async def child() -> None:
            current = loop.current_task
            assert current is not None
            current.cancel()
            raise error

        task = loop.create_task(child())
        await task.wait_for_completion()
        assert not task.is_cancelled()
        assert task.get_exception() is error

    run(loop, main())


def test_task_cancelled_while_running_gets_cancelled_error_at_its_next_suspension(loop: EventThread) -> None:
    async def main() -> None:
        log: list[str] = []

        async def child() -> None:
            current = loop.current_task
            assert current is not None
            current.cancel()
            log.append("before")
            try:
                await skip_ready_cycle()
            except CancelledError:
                log.append("cancelled")
                raise
            log.append("after")

        task = loop.create_task(child())
        await task.wait_for_completion()
        assert log == ["before", "cancelled"]
        assert task.is_cancelled()

    run(loop, main())


def test_task_catching_a_thrown_cancelled_error_and_returning_completes_normally(loop: EventThread) -> None:
    async def main() -> None:
        async def child() -> str:
            current = loop.current_task
            assert current is not None
            current.cancel()
            try:
                await skip_ready_cycle()
            except CancelledError:
                return "caught"
            return "not cancelled"

        task = loop.create_task(child())
        assert await task == "caught"
        assert not task.is_cancelled()

    run(loop, main())


def test_cancelling_a_task_awaiting_a_task_that_swallows_the_cancellation_resumes_it_normally(
    loop: EventThread,
) -> None:
    async def main() -> None:
        async def stubborn() -> str:
            try:
                await loop.create_future()
            except CancelledError:
                pass
            return "swallowed"

        inner = loop.create_task(stubborn())
        outer = loop.create_task(wait_on(inner))
        await skip_ready_cycle()
        outer.cancel()  # cancels `inner`; `outer` is only woken by it, not flagged
        assert await outer == "swallowed"
        assert not inner.is_cancelled()
        assert not outer.is_cancelled()

    run(loop, main())


def test_coroutine_raising_cancelled_error_itself_ends_its_task_cancelled(loop: EventThread) -> None:
    async def main() -> None:
        error = CancelledError()

        async def child() -> None:
            raise error

        task = loop.create_task(child())
        await task.wait_for_completion()
        assert task.is_cancelled()
        assert task.get_exception() is error

    run(loop, main())


def test_cancel_on_a_done_task_returns_0_and_silences_it(loop: EventThread) -> None:
    async def child() -> int:
        return 1

    async def main() -> None:
        task = loop.create_task(child())
        await task.wait_for_completion()
        assert task.cancel() == 0
        assert task.get_result() == 1
        assert task.get_state_name() == "result~return, silenced"

    run(loop, main())


def test_cancelling_the_awaited_future_directly_cancels_the_awaiting_task(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        task = loop.create_task(wait_on(future))
        await skip_ready_cycle()
        future.cancel()
        await task.wait_for_completion()
        assert task.is_cancelled()

    run(loop, main())


def test_cancel_with_on_the_awaited_future_ends_the_task_with_that_exception_not_cancelled(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        task = loop.create_task(wait_on(future))
        await skip_ready_cycle()
        error = ValueError("through the future")
        future.cancel_with(error)
        await task.wait_for_completion()
        assert not task.is_cancelled()
        assert task.get_exception() is error

    run(loop, main())


def test_cancelling_a_task_awaiting_a_task_cancels_both(loop: EventThread) -> None:
    async def main() -> None:
        inner = loop.create_task(wait_on(pending(loop)))
        outer = loop.create_task(wait_on(inner))
        await skip_ready_cycle()
        outer.cancel()
        await outer.wait_for_completion()
        assert inner.is_cancelled()
        assert outer.is_cancelled()

    run(loop, main())


# ---- cancel_with (38, D9) ------------------------------------------------------------------------------------


def test_cancel_with_ends_the_task_cancelled_with_the_exception_caused_by_a_cancelled_error(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        task = loop.create_task(wait_on(future))
        await skip_ready_cycle()
        error = ValueError("custom")
        assert task.cancel_with(error) == 1
        assert future.is_cancelled()
        await task.wait_for_completion()
        assert task.is_cancelled()
        assert task.get_exception() is error
        assert type(error.__cause__) is CancelledError
        with pytest.raises(ValueError) as caught:
            await task
        assert caught.value is error

    run(loop, main())


def test_cancel_with_is_not_lost_when_the_awaited_future_was_already_done(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        log: list[str] = []

        async def child() -> int:
            value = await future
            log.append("resumed normally")
            return value

        task = loop.create_task(child())
        await skip_ready_cycle()
        future.set_result(1)  # the task is queued to resume, but has not run yet
        error = ValueError("not lost")
        assert task.cancel_with(error) == 1
        await task.wait_for_completion()
        assert log == []
        assert task.is_cancelled()
        assert task.get_exception() is error
        assert type(error.__cause__) is CancelledError

    run(loop, main())


def test_cancel_with_before_the_task_starts_skips_its_body(loop: EventThread) -> None:
    async def main() -> None:
        log: list[str] = []

        async def child() -> None:
            log.append("body ran")

        task = loop.create_task(child())
        error = KeyError("early")
        task.cancel_with(error)
        await task.wait_for_completion()
        assert log == []
        assert task.is_cancelled()
        assert task.get_exception() is error
        assert type(error.__cause__) is CancelledError

    run(loop, main())


def test_cancel_with_a_class_on_a_task_instantiates_it(loop: EventThread) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        await skip_ready_cycle()
        task.cancel_with(KeyError)
        await task.wait_for_completion()
        assert type(task.get_exception()) is KeyError

    run(loop, main())


@pytest.mark.parametrize("stop", [StopIteration, StopIteration("value")], ids=["class", "instance"])
def test_cancel_with_stop_iteration_on_a_task_raises_type_error(
    loop: EventThread, stop: BaseException | type[BaseException]
) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        await skip_ready_cycle()
        with pytest.raises(TypeError, match=r"StopIteration"):
            task.cancel_with(stop)
        assert task.is_pending()
        assert not task.is_cancelling()
        task.cancel()

    run(loop, main())


def test_cancel_with_on_a_done_task_returns_0_and_keeps_its_result(loop: EventThread) -> None:
    async def child() -> int:
        return 2

    async def main() -> None:
        task = loop.create_task(child())
        await task.wait_for_completion()
        assert task.cancel_with(ValueError("late")) == 0
        assert task.get_result() == 2
        assert task.is_silenced()

    run(loop, main())


# ---- apply_timeout (39) -----------------------------------------------------------------------------------


def test_apply_timeout_on_a_task_makes_await_raise_timeout_error_caused_by_cancelled_error(loop: EventThread) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        assert task.apply_timeout(0.02) == 1
        with pytest.raises(TimeoutError) as caught:
            await task
        assert type(caught.value.__cause__) is CancelledError
        assert task.is_cancelled()

    run(loop, main())


def test_apply_timeout_on_a_done_task_returns_0(loop: EventThread) -> None:
    async def child() -> int:
        return 3

    async def main() -> None:
        task = loop.create_task(child())
        await task.wait_for_completion()
        assert task.apply_timeout(0.02) == 0
        assert task.apply_timeout(0.0) == 0
        assert task.get_result() == 3

    run(loop, main())


def test_task_finishing_in_time_keeps_its_result_after_its_timeout_passes(loop: EventThread) -> None:
    async def child() -> int:
        await sleep(0.01)
        return 6

    async def main() -> None:
        task = loop.create_task(child())
        task.apply_timeout(0.03)
        assert await task == 6
        await sleep(0.05)
        assert task.get_state_name() == "result~return"

    run(loop, main())


# ---- is_cancelling (40) ------------------------------------------------------------------------------------


def test_is_cancelling_is_true_from_cancel_until_an_unstarted_task_gets_its_cancelled_error(loop: EventThread) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        assert not task.is_cancelling()
        task.cancel()
        assert task.is_cancelling()
        await task.wait_for_completion()
        assert not task.is_cancelling()

    run(loop, main())


def test_is_cancelling_is_true_while_the_cancelled_awaited_future_has_not_woken_the_task(loop: EventThread) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        await skip_ready_cycle()
        assert not task.is_cancelling()
        task.cancel()
        assert task.is_cancelling()
        await task.wait_for_completion()
        assert not task.is_cancelling()

    run(loop, main())


def test_is_cancelling_is_false_inside_the_except_cancelled_error_block(loop: EventThread) -> None:
    async def main() -> None:
        seen: list[bool] = []

        async def child() -> None:
            current = loop.current_task
            assert current is not None
            try:
                await loop.create_future()
            except CancelledError:
                seen.append(current.is_cancelling())

        task = loop.create_task(child())
        await skip_ready_cycle()
        task.cancel()
        await task
        assert seen == [False]

    run(loop, main())


def test_is_cancelling_is_false_inside_the_except_block_of_a_thrown_cancelled_error(loop: EventThread) -> None:
    async def main() -> None:
        seen: list[bool] = []

        async def child() -> None:
            current = loop.current_task
            assert current is not None
            current.cancel()
            seen.append(current.is_cancelling())
            try:
                await skip_ready_cycle()
            except CancelledError:
                seen.append(current.is_cancelling())

        await loop.create_task(child())
        assert seen == [True, False]

    run(loop, main())


def test_is_cancelling_is_true_when_the_awaited_future_was_cancelled_from_outside(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        task = loop.create_task(wait_on(future))
        await skip_ready_cycle()
        future.cancel()
        assert task.is_cancelling()
        task.cancel()  # the waited future is already done: the task is flagged instead
        await task.wait_for_completion()

    run(loop, main())


def test_is_cancelling_follows_a_cancelled_awaited_task(loop: EventThread) -> None:
    async def main() -> None:
        inner = loop.create_task(wait_on(pending(loop)))
        outer = loop.create_task(wait_on(inner))
        await skip_ready_cycle()
        inner.cancel()
        assert outer.is_cancelling()
        await outer.wait_for_completion()
        assert not outer.is_cancelling()
        assert outer.is_cancelled()

    run(loop, main())


def test_is_cancelling_of_a_done_task_is_false(loop: EventThread) -> None:
    async def child() -> None:
        current = loop.current_task
        assert current is not None
        current.cancel()

    async def main() -> None:
        task = loop.create_task(child())
        await task.wait_for_completion()
        assert task.is_cancelled()
        assert not task.is_cancelling()

    run(loop, main())


# ---- current_task (41) --------------------------------------------------------------------------------------


def test_current_task_is_the_running_task_during_its_step(loop: EventThread) -> None:
    async def main() -> None:
        seen: list[object] = []

        async def child() -> None:
            seen.append(loop.current_task)
            await skip_ready_cycle()
            seen.append(loop.current_task)

        task = loop.create_task(child())
        await task
        assert seen == [task, task]

    run(loop, main())


def test_current_task_is_none_outside_a_task_step(loop: EventThread) -> None:
    async def main() -> list[object]:
        seen: list[object] = []
        loop.call_soon(lambda: seen.append(loop.current_task))
        await skip_ready_cycle()
        return seen

    assert run(loop, main()) == [None]
    assert loop.current_task is None


# ---- awaiting things that are not scarletio futures (42) ----------------------------------------------------


def test_awaiting_an_asyncio_future_throws_runtime_error_into_the_coroutine(loop: EventThread) -> None:
    other_loop = asyncio.new_event_loop()
    try:
        foreign: asyncio.Future[int] = other_loop.create_future()

        async def main() -> str:
            try:
                await foreign
            except RuntimeError as error:
                return str(error)
            return "no error"

        assert "not a scarletio Future" in run(loop, main())
    finally:
        other_loop.close()


def test_yielding_an_arbitrary_object_throws_runtime_error_into_the_coroutine(loop: EventThread) -> None:
    @types.coroutine
    def odd() -> Generator[object, None, None]:
        yield 42

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"the task yielded 42, which is not a scarletio Future"):
            await odd()

    run(loop, main())


def test_awaiting_a_future_of_another_loop_throws_runtime_error_into_the_coroutine(loop: EventThread) -> None:
    other = EventThread(loop.backend)
    try:
        foreign: Future[int] = other.create_future()

        async def main() -> None:
            with pytest.raises(RuntimeError, match=r"belongs to another event loop"):
                await foreign

        run(loop, main())
    finally:
        other.stop()


def test_a_task_awaiting_itself_gets_runtime_error(loop: EventThread) -> None:
    async def main() -> None:
        current = loop.current_task
        assert current is not None
        with pytest.raises(RuntimeError, match=r"^a task cannot await itself$"):
            await current

    run(loop, main())


# ---- stacks --------------------------------------------------------------------------------------------------


async def outer_frame(future: Future[int]) -> int:
    return await inner_frame(future)


async def inner_frame(future: Future[int]) -> int:
    return await future


def test_get_stack_returns_the_coroutine_frames_outermost_first(loop: EventThread) -> None:
    async def main() -> list[str]:
        future: Future[int] = loop.create_future()
        task = loop.create_task(outer_frame(future))
        await skip_ready_cycle()
        names = [frame.f_code.co_name for frame in task.get_stack()]
        future.set_result(1)
        await task
        return names

    assert run(loop, main())[:2] == ["outer_frame", "inner_frame"]


def test_get_stack_limit_keeps_the_outermost_frames(loop: EventThread) -> None:
    async def main() -> list[str]:
        future: Future[int] = loop.create_future()
        task = loop.create_task(outer_frame(future))
        await skip_ready_cycle()
        names = [frame.f_code.co_name for frame in task.get_stack(limit=1)]
        task.cancel()
        await task.wait_for_completion()
        return names

    assert run(loop, main()) == ["outer_frame"]


def test_get_stack_of_a_finished_task_is_empty(loop: EventThread) -> None:
    async def main() -> list[object]:
        future: Future[int] = loop.create_future()
        future.set_result(1)
        task = loop.create_task(outer_frame(future))
        await task
        return list(task.get_stack())

    assert run(loop, main()) == []


def test_format_stack_names_each_coroutine_frame_and_the_awaited_future(loop: EventThread) -> None:
    async def main() -> tuple[str, str]:
        future: Future[int] = loop.create_future()
        task = loop.create_task(outer_frame(future))
        await skip_ready_cycle()
        text = task.format_stack()
        printed = io.StringIO()
        task.print_stack(file=printed)
        task.cancel()
        await task.wait_for_completion()
        return text, printed.getvalue()

    text, printed = run(loop, main())
    lines = text.splitlines()
    assert lines[0].startswith("Stack for <Task state = pending")
    assert lines[1].startswith('  File "') and lines[1].endswith(", in outer_frame")
    assert __file__ in lines[1]
    assert lines[2].endswith(", in inner_frame")
    assert lines[-1] == "  waiting on <Future state = pending, callbacks = 1>"
    assert printed == text + "\n"


# ---- context variables ---------------------------------------------------------------------------------------


def test_task_sees_the_context_variables_present_when_it_was_created(loop: EventThread) -> None:
    async def main() -> str:
        async def child() -> str:
            return COLOUR.get()

        COLOUR.set("red")
        task = loop.create_task(child())
        COLOUR.set("blue")  # changed after creation: the task must not see it
        return await task

    assert run(loop, main()) == "red"


def test_task_changes_to_context_variables_do_not_leak_to_its_creator(loop: EventThread) -> None:
    async def main() -> tuple[str, str]:
        async def child() -> str:
            COLOUR.set("green")
            await skip_ready_cycle()
            return COLOUR.get()

        COLOUR.set("red")
        inside = await loop.create_task(child())
        return inside, COLOUR.get()

    assert run(loop, main()) == ("green", "red")


def test_sibling_tasks_have_separate_contexts(loop: EventThread) -> None:
    async def child(colour: str) -> str:
        COLOUR.set(colour)
        await cycles()
        return COLOUR.get()

    async def main() -> list[str]:
        tasks = [loop.create_task(child(colour)) for colour in ("red", "green", "blue")]
        return [await task for task in tasks]

    assert run(loop, main()) == ["red", "green", "blue"]


# ---- foreign threads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["cancel", "cancel_with"])
def test_cancelling_a_task_from_a_foreign_thread_while_its_loop_runs_raises_runtime_error(
    loop: EventThread, method: str
) -> None:
    task = loop.create_task(wait_on(pending(loop)))
    arguments: tuple[object, ...] = (ValueError("foreign"),) if method == "cancel_with" else ()
    with pytest.raises(RuntimeError, match=rf"^Task\.{method} called from a thread .*call_soon_thread_safe"):
        getattr(task, method)(*arguments)
    assert task.is_pending()
    assert not task.is_cancelling()
    loop.call_soon_thread_safe(task.cancel)
    with pytest.raises(CancelledError):
        loop.run(task, timeout=5)


# ---- unretrieved exceptions ----------------------------------------------------------------------------------


def test_collecting_a_task_with_an_unretrieved_exception_reports_it(loop: EventThread) -> None:
    error = ValueError("nobody awaited me")

    async def child() -> None:
        raise error

    async def main() -> None:
        loop.create_task(child())
        await cycles()
        gc.collect()

    reports: list[Report] = []
    set_error_reporter(lambda message, exception: reports.append((message, exception)))
    try:
        run(loop, main())
        loop.stop()
        loop.join(5)
    finally:
        set_error_reporter(None)
    assert len(reports) == 1
    message, exception = reports[0]
    assert message.startswith("Task exception was never retrieved: <Task state = result~raise, exception = ValueError(")
    assert exception is error


def test_a_cancelled_task_nobody_awaited_is_not_reported(loop: EventThread) -> None:
    async def main() -> None:
        task = loop.create_task(wait_on(pending(loop)))
        await skip_ready_cycle()
        task.cancel()
        await cycles()
        del task
        gc.collect()

    reports: list[Report] = []
    set_error_reporter(lambda message, exception: reports.append((message, exception)))
    try:
        run(loop, main())
        loop.stop()
        loop.join(5)
    finally:
        set_error_reporter(None)
    assert reports == []
