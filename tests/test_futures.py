"""`Future`: states, outcomes, callbacks, timeouts, awaiting and unretrieved-exception reports.

Covers checklist items 17-30 and 66, with our deliberate differences: callbacks run FIFO (D3),
unretrieved exceptions go to the error reporter at garbage collection and when the loop stops (D13),
and a foreign thread may not complete a future while its loop runs. Every test runs once per real
backend; most bodies are coroutines run on the loop with `loop.run`, since a future is used from its
loop's thread.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import gc
import logging
import subprocess
import sys
import threading
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from _fixtures import LATE, assert_on_time

from scarletio import set_error_reporter
from scarletio import EventThread
from scarletio.core.exceptions import CancelledError, InvalidStateError
from scarletio.core.futures import Future, report_unretrieved_exceptions
from scarletio.core.suspension import skip_ready_cycle, sleep

T = TypeVar("T")

Report = tuple[str, "BaseException | None"]


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


async def outcome_of(awaitable: Awaitable[object]) -> object:
    """Await `awaitable` and return what it gave, whatever its declared type."""
    return await awaitable


@contextmanager
def captured_reports() -> Iterator[list[Report]]:
    """Collect every error report made inside the block instead of logging it."""
    reports: list[Report] = []
    set_error_reporter(lambda message, exception: reports.append((message, exception)))
    try:
        yield reports
    finally:
        set_error_reporter(None)


# ---- 17: a new future -----------------------------------------------------------------------------


def test_new_future_is_pending_not_done_and_not_cancelled(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool, bool, bool]:
        future: Future[int] = Future(loop)
        return future.is_pending(), future.is_done(), future.is_cancelled(), future.is_silenced()

    assert run(loop, main()) == (True, False, False, False)


def test_new_future_repr_is_state_pending(loop: EventThread) -> None:
    async def main() -> str:
        return repr(Future(loop))

    assert run(loop, main()) == "<Future state = pending>"


def test_loop_create_future_returns_a_pending_future_of_that_loop(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = loop.create_future()
        assert type(future) is Future
        assert future.loop is loop
        assert future.is_pending()

    run(loop, main())


# ---- repr texts -------------------------------------------------------------------------------------


def test_repr_of_a_resolved_future_shows_its_result(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[str] = Future(loop)
        future.set_result("value")
        return repr(future)

    assert run(loop, main()) == "<Future state = result~return, result = 'value'>"


def test_repr_of_a_failed_future_shows_the_exception_and_whether_it_was_retrieved(loop: EventThread) -> None:
    async def main() -> tuple[str, str]:
        future: Future[int] = Future(loop)
        future.set_exception(ValueError("boom"))
        before = repr(future)
        future.get_exception()
        return before, repr(future)

    assert run(loop, main()) == (
        "<Future state = result~raise, exception = ValueError('boom')>",
        "<Future state = result~raise~retrieved, exception = ValueError('boom')>",
    )


def test_repr_of_a_cancelled_future_is_state_cancelled(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[int] = Future(loop)
        future.cancel()
        return repr(future)

    assert run(loop, main()) == "<Future state = cancelled>"


def test_repr_of_a_future_cancelled_with_an_exception_shows_the_cancellation_exception(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[int] = Future(loop)
        future.cancel_with(TimeoutError)
        return repr(future)

    assert run(loop, main()) == "<Future state = cancelled, cancellation_exception = TimeoutError()>"


def test_repr_of_a_pending_future_counts_its_callbacks(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[int] = Future(loop)
        future.add_done_callback(lambda _: None)
        future.add_done_callback(lambda _: None)
        return repr(future)

    assert run(loop, main()) == "<Future state = pending, callbacks = 2>"


def test_repr_of_a_silenced_future_says_silenced(loop: EventThread) -> None:
    async def main() -> str:
        future: Future[int] = Future(loop)
        future.silence()
        return repr(future)

    assert run(loop, main()) == "<Future state = pending, silenced>"


# ---- 18 and InvalidStateError -----------------------------------------------------------------------


def test_get_result_on_pending_future_raises_invalid_state_at_get_result(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        with pytest.raises(InvalidStateError) as caught:
            future.get_result()
        assert caught.value.future is future
        assert caught.value.location == "get_result"

    run(loop, main())


def test_get_exception_on_pending_future_raises_invalid_state_at_get_exception(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        with pytest.raises(InvalidStateError) as caught:
            future.get_exception()
        assert caught.value.future is future
        assert caught.value.location == "get_exception"

    run(loop, main())


def test_invalid_state_error_default_message_names_the_method_and_the_state(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        message = r"^`Future\.get_result` is not allowed while the future is pending: <Future state = pending>$"
        with pytest.raises(InvalidStateError, match=message):
            future.get_result()

    run(loop, main())


def test_invalid_state_error_keeps_a_custom_message(loop: EventThread) -> None:
    async def main() -> None:
        error = InvalidStateError(Future(loop), "get_result", "custom text")
        assert str(error) == "custom text"
        assert error.message == "custom text"

    run(loop, main())


def test_invalid_state_errors_for_the_same_future_and_location_are_equal_with_equal_hashes(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        first = InvalidStateError(future, "get_result")
        second = InvalidStateError(future, "get_result")
        assert first is not second
        assert first == second
        assert hash(first) == hash(second)
        assert len({first, second}) == 1

    run(loop, main())


def test_invalid_state_errors_differ_by_future_location_or_custom_message(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        other: Future[int] = Future(loop)
        base = InvalidStateError(future, "get_result")
        assert base != InvalidStateError(other, "get_result")
        assert base != InvalidStateError(future, "get_exception")
        assert base != InvalidStateError(future, "get_result", "custom text")

    run(loop, main())


# ---- 19: completing a done future -------------------------------------------------------------------


def test_set_result_on_done_future_raises_invalid_state_and_keeps_the_result(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_result(1)
        with pytest.raises(InvalidStateError) as caught:
            future.set_result(2)
        assert caught.value.location == "set_result"
        assert future.get_result() == 1

    run(loop, main())


def test_set_exception_on_done_future_raises_invalid_state_and_keeps_the_result(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_result(1)
        with pytest.raises(InvalidStateError) as caught:
            future.set_exception(ValueError("late"))
        assert caught.value.location == "set_exception"
        assert future.get_result() == 1

    run(loop, main())


def test_set_result_if_pending_returns_1_then_0_and_keeps_the_first_result(loop: EventThread) -> None:
    async def main() -> tuple[int, int, int]:
        future: Future[int] = Future(loop)
        return future.set_result_if_pending(1), future.set_result_if_pending(2), future.get_result()

    assert run(loop, main()) == (1, 0, 1)


def test_set_exception_if_pending_returns_1_then_0_and_keeps_the_first_exception(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        first = ValueError("first")
        assert future.set_exception_if_pending(first) == 1
        assert future.set_exception_if_pending(KeyError("second")) == 0
        assert future.get_exception() is first

    run(loop, main())


def test_set_exception_if_pending_on_a_resolved_future_returns_0_and_keeps_the_result(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_result(1)
        assert future.set_exception_if_pending(ValueError("late")) == 0
        assert future.get_result() == 1

    run(loop, main())


# ---- 20: exception classes and StopIteration ---------------------------------------------------------


@pytest.mark.parametrize("method", ["set_exception", "set_exception_if_pending", "cancel_with"])
def test_an_exception_class_passed_to_the_future_is_instantiated(loop: EventThread, method: str) -> None:
    async def main() -> BaseException | None:
        future: Future[int] = Future(loop)
        getattr(future, method)(KeyError)
        return future.get_exception()

    exception = run(loop, main())
    assert type(exception) is KeyError


@pytest.mark.parametrize("method", ["set_exception", "set_exception_if_pending", "cancel_with"])
@pytest.mark.parametrize("stop", [StopIteration, StopIteration("value")], ids=["class", "instance"])
def test_stop_iteration_is_rejected_with_type_error_and_the_future_stays_pending(
    loop: EventThread, method: str, stop: BaseException | type[BaseException]
) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        with pytest.raises(TypeError, match=r"StopIteration"):
            getattr(future, method)(stop)
        assert future.is_pending()

    run(loop, main())


# ---- 21, 22: cancel ---------------------------------------------------------------------------------------


def test_cancel_on_pending_future_returns_1_and_cancels_it(loop: EventThread) -> None:
    async def main() -> tuple[int, bool, bool]:
        future: Future[int] = Future(loop)
        return future.cancel(), future.is_cancelled(), future.is_done()

    assert run(loop, main()) == (1, True, True)


def test_cancel_on_cancelled_future_returns_0(loop: EventThread) -> None:
    async def main() -> int:
        future: Future[int] = Future(loop)
        future.cancel()
        return future.cancel()

    assert run(loop, main()) == 0


def test_cancel_on_resolved_future_returns_0_keeps_the_result_and_silences_it(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_result(1)
        assert future.cancel() == 0
        assert not future.is_cancelled()
        assert future.get_result() == 1
        assert future.get_state_name() == "result~return, silenced"

    run(loop, main())


def test_cancel_on_failed_future_keeps_the_exception_and_silences_it(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        error = ValueError("kept")
        future.set_exception(error)
        assert not future.is_silenced()
        assert future.cancel() == 0
        assert future.is_silenced()
        assert not future.is_cancelled()
        assert future.get_exception() is error

    run(loop, main())


def test_get_result_of_cancelled_future_raises_cancelled_error(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.cancel()
        with pytest.raises(CancelledError):
            future.get_result()

    run(loop, main())


def test_get_exception_of_cancelled_future_returns_a_cancelled_error(loop: EventThread) -> None:
    async def main() -> BaseException | None:
        future: Future[int] = Future(loop)
        future.cancel()
        return future.get_exception()

    assert type(run(loop, main())) is CancelledError


def test_get_cancellation_exception_is_a_cancelled_error_only_once_cancelled(loop: EventThread) -> None:
    async def main() -> None:
        pending: Future[int] = Future(loop)
        assert pending.get_cancellation_exception() is None
        resolved: Future[int] = Future(loop)
        resolved.set_result(1)
        assert resolved.get_cancellation_exception() is None
        cancelled: Future[int] = Future(loop)
        cancelled.cancel()
        assert type(cancelled.get_cancellation_exception()) is CancelledError

    run(loop, main())


def test_cancelled_error_is_a_base_exception_and_not_asyncio_cancelled_error() -> None:
    assert issubclass(CancelledError, BaseException)
    assert not issubclass(CancelledError, Exception)
    assert not issubclass(CancelledError, asyncio.CancelledError)
    assert not issubclass(asyncio.CancelledError, CancelledError)


# ---- 23: cancel_with ------------------------------------------------------------------------------------


def test_cancel_with_cancels_the_future_so_that_it_raises_the_given_exception(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        error = ValueError("custom")
        assert future.cancel_with(error) == 1
        assert future.is_cancelled()
        assert future.is_done()
        with pytest.raises(ValueError) as caught:
            future.get_result()
        assert caught.value is error
        assert future.get_exception() is error
        assert future.get_cancellation_exception() is error

    run(loop, main())


def test_cancel_with_on_done_future_returns_0_keeps_the_result_and_silences_it(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_result(1)
        assert future.cancel_with(ValueError("late")) == 0
        assert not future.is_cancelled()
        assert future.get_result() == 1
        assert future.get_state_name() == "result~return, silenced"

    run(loop, main())


# ---- silencing ---------------------------------------------------------------------------------------------


def test_silence_marks_a_failed_future_silenced(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        future: Future[int] = Future(loop)
        future.set_exception(ValueError("quiet"))
        before = future.is_silenced()
        future.silence()
        return before, future.is_silenced()

    assert run(loop, main()) == (False, True)


def test_retrieving_the_exception_silences_the_future(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        future: Future[int] = Future(loop)
        future.set_exception(ValueError("read"))
        before = future.is_silenced()
        future.get_exception()
        return before, future.is_silenced()

    assert run(loop, main()) == (False, True)


# ---- 24, 25: callbacks -----------------------------------------------------------------------------------


def test_done_callbacks_run_on_a_later_ready_cycle_not_inside_set_result(loop: EventThread) -> None:
    async def main() -> tuple[list[str], list[str]]:
        future: Future[int] = Future(loop)
        log: list[str] = []
        future.add_done_callback(lambda _: log.append("called"))
        future.set_result(1)
        inline = list(log)
        await skip_ready_cycle()
        return inline, log

    assert run(loop, main()) == ([], ["called"])


def test_callback_added_to_a_done_future_is_queued_not_called_inline(loop: EventThread) -> None:
    async def main() -> tuple[list[str], list[str]]:
        future: Future[int] = Future(loop)
        future.set_result(1)
        log: list[str] = []
        future.add_done_callback(lambda _: log.append("called"))
        inline = list(log)
        await skip_ready_cycle()
        return inline, log

    assert run(loop, main()) == ([], ["called"])


def test_done_callback_receives_the_future(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        received: list[Future[int]] = []
        future.add_done_callback(received.append)
        future.set_result(1)
        await skip_ready_cycle()
        assert len(received) == 1
        assert received[0] is future

    run(loop, main())


def note(log: list[int], value: int, future: Future[int]) -> None:
    log.append(value)


def test_done_callbacks_run_in_registration_order(loop: EventThread) -> None:
    async def main() -> list[int]:
        future: Future[int] = Future(loop)
        order: list[int] = []
        for index in range(4):
            future.add_done_callback(functools.partial(note, order, index))
        future.set_result(1)
        await skip_ready_cycle()
        return order

    assert run(loop, main()) == [0, 1, 2, 3]


def test_tasks_awaiting_one_future_wake_in_the_order_they_started_waiting(loop: EventThread) -> None:
    async def main() -> list[str]:
        future: Future[int] = Future(loop)
        order: list[str] = []

        async def waiter(name: str) -> None:
            await future
            order.append(name)

        for name in ("a", "b", "c"):
            loop.create_task(waiter(name))
            await skip_ready_cycle()  # let this waiter reach its await before the next one starts
        future.set_result(1)
        await cycles()
        return order

    assert run(loop, main()) == ["a", "b", "c"]


def test_callbacks_and_waiting_tasks_run_in_one_registration_order(loop: EventThread) -> None:
    async def main() -> list[str]:
        future: Future[int] = Future(loop)
        order: list[str] = []

        async def waiter() -> None:
            await future
            order.append("task")

        future.add_done_callback(lambda _: order.append("first"))
        loop.create_task(waiter())
        await skip_ready_cycle()
        future.add_done_callback(lambda _: order.append("last"))
        future.set_result(1)
        await cycles()
        return order

    assert run(loop, main()) == ["first", "task", "last"]


# ---- 26: removing and listing callbacks -------------------------------------------------------------------


def test_remove_done_callback_removes_every_copy_and_returns_the_count(loop: EventThread) -> None:
    async def main() -> tuple[int, list[str]]:
        future: Future[int] = Future(loop)
        log: list[str] = []

        def removed(_: Future[int]) -> None:
            log.append("removed")

        def kept(_: Future[int]) -> None:
            log.append("kept")

        future.add_done_callback(removed)
        future.add_done_callback(kept)
        future.add_done_callback(removed)
        count = future.remove_done_callback(removed)
        future.set_result(1)
        await skip_ready_cycle()
        return count, log

    assert run(loop, main()) == (2, ["kept"])


def test_remove_done_callback_of_an_unregistered_callback_returns_0(loop: EventThread) -> None:
    async def main() -> tuple[int, int]:
        future: Future[int] = Future(loop)
        future.add_done_callback(lambda _: None)
        return future.remove_done_callback(print), len(list(future.iter_callbacks()))

    assert run(loop, main()) == (0, 1)


def test_removing_the_only_callback_leaves_none(loop: EventThread) -> None:
    async def main() -> tuple[int, list[Callable[..., object]], str]:
        future: Future[int] = Future(loop)

        def callback(_: Future[int]) -> None:
            pass

        future.add_done_callback(callback)
        return future.remove_done_callback(callback), list(future.iter_callbacks()), repr(future)

    assert run(loop, main()) == (1, [], "<Future state = pending>")


def test_iter_callbacks_yields_the_registered_callbacks_in_order(loop: EventThread) -> None:
    def first(_: Future[int]) -> None:
        pass

    def second(_: Future[int]) -> None:
        pass

    async def main() -> list[Callable[..., object]]:
        future: Future[int] = Future(loop)
        future.add_done_callback(first)
        future.add_done_callback(second)
        future.add_done_callback(first)
        return list(future.iter_callbacks())

    assert run(loop, main()) == [first, second, first]


def test_iter_callbacks_of_a_future_is_empty_once_it_is_done(loop: EventThread) -> None:
    async def main() -> list[Callable[..., object]]:
        future: Future[int] = Future(loop)
        future.add_done_callback(lambda _: None)
        future.set_result(1)
        return list(future.iter_callbacks())

    assert run(loop, main()) == []


# ---- 27: apply_timeout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0.0, -1.0])
def test_apply_timeout_of_zero_or_less_cancels_at_once_with_timeout_error(loop: EventThread, timeout: float) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        assert future.apply_timeout(timeout) == 1
        assert future.is_cancelled()
        assert type(future.get_cancellation_exception()) is TimeoutError
        with pytest.raises(TimeoutError):
            future.get_result()

    run(loop, main())


def test_apply_timeout_on_done_future_returns_0_and_changes_nothing(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_result(1)
        assert future.apply_timeout(0.0) == 0
        assert future.apply_timeout(0.01) == 0
        assert repr(future) == "<Future state = result~return, result = 1>"

    run(loop, main())


def test_awaiting_a_future_with_a_timeout_raises_timeout_error_after_about_the_timeout(loop: EventThread) -> None:
    async def main() -> tuple[int, type[BaseException] | None, float]:
        future: Future[int] = Future(loop)
        started = loop.time()
        applied = future.apply_timeout(0.05)
        raised: type[BaseException] | None = None
        try:
            await future
        except BaseException as error:
            raised = type(error)
        return applied, raised, loop.time() - started

    applied, raised, elapsed = run(loop, main())
    assert applied == 1
    assert raised is TimeoutError
    assert_on_time(loop, elapsed, 0.05)


def test_the_earliest_of_several_timeouts_wins(loop: EventThread) -> None:
    async def main() -> float:
        future: Future[int] = Future(loop)
        started = loop.time()
        assert future.apply_timeout(6 * LATE) == 1
        assert future.apply_timeout(0.02) == 1
        assert future.apply_timeout(3 * LATE) == 1
        with pytest.raises(TimeoutError):
            await future
        return loop.time() - started

    assert_on_time(loop, run(loop, main()), 0.02)


def test_completing_a_future_disarms_its_timeout(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.apply_timeout(0.02)
        future.set_exception(ValueError("in time"))
        await sleep(0.05)
        # A timer left armed would call cancel_with on the done future, which silences it.
        assert future.get_state_name() == "result~raise"
        future.get_exception()

    run(loop, main())


def test_completing_a_future_disarms_all_of_its_timeouts(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.apply_timeout(0.02)
        future.apply_timeout(0.03)
        future.set_exception(ValueError("in time"))
        await sleep(0.05)
        assert future.get_state_name() == "result~raise"
        future.get_exception()

    run(loop, main())


def test_timeout_error_of_apply_timeout_is_the_builtin_one(loop: EventThread) -> None:
    async def main() -> BaseException | None:
        future: Future[int] = Future(loop)
        future.apply_timeout(0.01)
        await future.wait_for_completion()
        return future.get_exception()

    exception = run(loop, main())
    assert type(exception) is builtins.TimeoutError


# ---- 28, 29: awaiting ---------------------------------------------------------------------------------------


def test_awaiting_a_pending_future_suspends_until_its_result_is_set(loop: EventThread) -> None:
    async def main() -> int:
        future: Future[int] = Future(loop)
        loop.call_after(0.01, future.set_result, 7)
        return await future

    assert run(loop, main()) == 7


def test_awaiting_a_done_future_returns_without_suspending(loop: EventThread) -> None:
    async def main() -> tuple[int, list[str]]:
        future: Future[int] = Future(loop)
        future.set_result(3)
        log: list[str] = []

        async def other() -> None:
            log.append("other ran")

        loop.create_task(other())
        result = await future
        seen = list(log)  # `other` would have run had the await suspended
        await skip_ready_cycle()
        assert log == ["other ran"]
        return result, seen

    assert run(loop, main()) == (3, [])


def test_awaiting_a_failed_future_raises_its_exception_and_marks_it_retrieved(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        error = ValueError("awaited")
        future.set_exception(error)
        with pytest.raises(ValueError) as caught:
            await future
        assert caught.value is error
        assert future.get_state_name() == "result~raise~retrieved"

    run(loop, main())


def test_yield_from_a_future_in_a_generator_based_coroutine_waits_for_its_result(loop: EventThread) -> None:
    @types.coroutine
    def legacy(future: Future[int]) -> Generator[Any, None, int]:
        return (yield from future)

    async def main() -> int:
        future: Future[int] = Future(loop)
        loop.call_after(0.01, future.set_result, 11)
        return await legacy(future)

    assert run(loop, main()) == 11


def test_wait_for_completion_returns_none_without_retrieving_the_exception(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        loop.call_after(0.01, future.set_exception, ValueError("not read"))
        assert await outcome_of(future.wait_for_completion()) is None
        assert future.get_state_name() == "result~raise"
        assert not future.is_silenced()
        future.get_exception()

    run(loop, main())


def test_wait_for_completion_returns_none_instead_of_the_result(loop: EventThread) -> None:
    async def main() -> tuple[object, bool]:
        future: Future[int] = Future(loop)
        loop.call_after(0.01, future.set_result, 5)
        outcome = await outcome_of(future.wait_for_completion())
        return outcome, future.is_done()

    assert run(loop, main()) == (None, True)


def test_wait_for_completion_of_a_cancelled_future_does_not_raise(loop: EventThread) -> None:
    async def main() -> bool:
        future: Future[int] = Future(loop)
        loop.call_after(0.01, future.cancel)
        await future.wait_for_completion()
        return future.is_cancelled()

    assert run(loop, main()) is True


# ---- foreign threads -----------------------------------------------------------------------------------------

FOREIGN_CALLS: dict[str, Callable[[Future[int]], object]] = {
    "set_result": lambda future: future.set_result(1),
    "set_result_if_pending": lambda future: future.set_result_if_pending(1),
    "set_exception": lambda future: future.set_exception(ValueError("foreign")),
    "set_exception_if_pending": lambda future: future.set_exception_if_pending(ValueError("foreign")),
    "cancel": lambda future: future.cancel(),
    "cancel_with": lambda future: future.cancel_with(ValueError("foreign")),
}


@pytest.mark.parametrize("method", list(FOREIGN_CALLS))
def test_completing_a_future_from_a_foreign_thread_while_its_loop_runs_raises_runtime_error(
    loop: EventThread, method: str
) -> None:
    loop.wake_up()
    future: Future[int] = loop.create_future()
    with pytest.raises(RuntimeError, match=rf"^Future\.{method} called from a thread .*call_soon_thread_safe"):
        FOREIGN_CALLS[method](future)
    assert future.is_pending()


def test_completing_a_future_from_another_thread_before_its_loop_started_works(loop: EventThread) -> None:
    future: Future[int] = loop.create_future()
    future.set_result(1)
    assert future.get_result() == 1
    assert not loop.is_started()


def test_completing_a_future_from_another_thread_after_its_loop_stopped_works(loop: EventThread) -> None:
    loop.wake_up()
    future: Future[int] = loop.create_future()
    loop.stop()
    loop.join(5)
    future.cancel_with(ValueError("late"))
    assert future.is_cancelled()


def test_call_soon_thread_safe_completes_a_future_from_a_foreign_thread(loop: EventThread) -> None:
    async def main(future: Future[int]) -> int:
        return await future

    future: Future[int] = loop.create_future()
    task = loop.create_task(main(future))
    loop.call_soon_thread_safe(future.set_result, 9)
    assert loop.run(task, timeout=5) == 9


# ---- 30, D13: reporting unretrieved exceptions ------------------------------------------------------------------


def test_collecting_a_future_with_an_unretrieved_exception_reports_it_once(loop: EventThread) -> None:
    error = ValueError("lost")

    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_exception(error)
        del future
        gc.collect()

    with captured_reports() as reports:
        run(loop, main())
        loop.stop()
        loop.join(5)
    assert reports == [("Future exception was never retrieved: <Future state = result~raise, exception = ValueError('lost')>", error)]


def test_collecting_a_pending_future_with_callbacks_reports_it_still_pending(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.add_done_callback(lambda _: None)
        del future
        gc.collect()

    with captured_reports() as reports:
        run(loop, main())
    assert reports == [("Future is not finished, but still pending: <Future state = pending, callbacks = 1>", None)]


def test_collecting_a_pending_future_without_callbacks_reports_nothing(loop: EventThread) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        del future
        gc.collect()

    with captured_reports() as reports:
        run(loop, main())
    assert reports == []


QUIETING: dict[str, Callable[[Future[int]], object]] = {
    "get_exception": lambda future: future.get_exception(),
    "get_result": lambda future: pytest.raises(ValueError, future.get_result),
    "silence": lambda future: future.silence(),
    "cancel": lambda future: future.cancel(),
}


@pytest.mark.parametrize("how", list(QUIETING))
def test_collecting_a_retrieved_or_silenced_failed_future_reports_nothing(loop: EventThread, how: str) -> None:
    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_exception(ValueError("handled"))
        QUIETING[how](future)
        del future
        gc.collect()

    with captured_reports() as reports:
        run(loop, main())
        loop.stop()
        loop.join(5)
    assert reports == []


def test_stopping_the_loop_reports_an_unretrieved_exception_once(loop: EventThread) -> None:
    error = ValueError("kept alive")

    async def main() -> Future[int]:
        future: Future[int] = Future(loop)
        future.set_exception(error)
        return future

    with captured_reports() as reports:
        future = run(loop, main())
        assert reports == []
        loop.stop()
        loop.join(5)
        assert reports == [
            ("Future exception was never retrieved: <Future state = result~raise, exception = ValueError('kept alive')>", error)
        ]
        del future
        gc.collect()
    assert len(reports) == 1


def test_stopping_the_loop_does_not_report_a_retrieved_exception(loop: EventThread) -> None:
    async def main() -> Future[int]:
        future: Future[int] = Future(loop)
        future.set_exception(ValueError("read"))
        future.get_exception()
        return future

    with captured_reports() as reports:
        future = run(loop, main())
        loop.stop()
        loop.join(5)
    assert reports == []
    assert future.is_done()


def test_collecting_a_failed_future_after_its_loop_stopped_reports_nothing(loop: EventThread) -> None:
    loop.wake_up()
    loop.stop()
    loop.join(5)
    with captured_reports() as reports:
        future: Future[int] = loop.create_future()
        future.set_exception(ValueError("after stop"))
        del future
        gc.collect()
    assert reports == []


def test_reporting_unretrieved_exceptions_is_safe_while_another_thread_fails_futures(loop: EventThread) -> None:
    # Every loop records its failed futures in one registry; the stopping loop copies it while other
    # threads keep adding to it. A tiny switch interval makes the threads interleave inside the copy.
    other = EventThread(loop.backend)  # never started: any thread may complete its futures
    kept: list[Future[int]] = []
    for index in range(2000):
        future: Future[int] = Future(loop)
        future.set_exception(ValueError(index))
        future.silence()
        kept.append(future)
    finished = threading.Event()

    def fail_futures() -> None:
        while not finished.is_set():
            failed: Future[int] = Future(other)
            failed.set_exception(ValueError("elsewhere"))
            failed.silence()

    worker = threading.Thread(target=fail_futures)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    worker.start()
    try:
        for _ in range(50):
            assert report_unretrieved_exceptions(loop) == 0
    finally:
        finished.set()
        worker.join(5)
        sys.setswitchinterval(interval)
        other.stop()


def test_default_reporter_logs_an_unretrieved_exception_to_the_scarletio_logger_at_error(
    loop: EventThread, caplog: pytest.LogCaptureFixture
) -> None:
    error = ValueError("logged")

    async def main() -> None:
        future: Future[int] = Future(loop)
        future.set_exception(error)
        del future
        gc.collect()

    with caplog.at_level(logging.ERROR, logger="scarletio"):
        run(loop, main())
    records = [record for record in caplog.records if record.name == "scarletio"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].getMessage().startswith("Future exception was never retrieved: ")
    assert records[0].exc_info is not None
    assert records[0].exc_info[1] is error


def test_importing_scarletio_leaves_the_global_exception_hooks_alone() -> None:
    code = (
        "import sys, threading\n"
        "before = (sys.excepthook, threading.excepthook, sys.get_asyncgen_hooks())\n"
        "import scarletio\n"
        "after = (sys.excepthook, threading.excepthook, sys.get_asyncgen_hooks())\n"
        "print(before == after)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert completed.stdout.strip() == "True"
