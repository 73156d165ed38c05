"""`TaskGroup`: membership bookkeeping, every `wait_*` method, exhausting and cancelling.

Every test runs on both real backends. Test bodies are coroutines run on the loop with `loop.run`;
a member's move from `pending` to `done` takes one ready cycle, hence the `cycles()` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from typing_extensions import assert_type

from scarletio import CancelledError, EventThread, Future, Task, skip_poll_cycle, skip_ready_cycle, sleep
from scarletio.core.futures import RETRIEVED
from scarletio.primitives.task_group import TaskGroup

T = TypeVar("T")


@pytest.fixture(params=["epoll", "poll", "virtual"])
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    loop = EventThread(request.param)
    yield loop
    started = loop.is_started()
    loop.stop()
    if started:
        loop.join(5)


def run(loop: EventThread, coroutine: Coroutine[Any, Any, T]) -> T:
    return loop.run(coroutine, timeout=5)


async def cycles(count: int = 3) -> None:
    for _ in range(count):
        await skip_ready_cycle()


def done_future(loop: EventThread, value: int) -> Future[int]:
    future: Future[int] = loop.create_future()
    future.set_result(value)
    return future


def is_retrieved(future: Future[Any]) -> bool:
    return bool(future._state & RETRIEVED)


# ---- 43, 44: construction and bookkeeping --------------------------------------------------------


def test_constructor_sorts_futures_and_puts_one_callback_on_the_pending_one(loop: EventThread) -> None:
    async def body() -> None:
        finished = done_future(loop, 1)
        waiting: Future[int] = loop.create_future()
        group = TaskGroup(loop, [finished, waiting])
        assert group.done == {finished}
        assert group.pending == {waiting}
        assert len(list(waiting.iter_callbacks())) == 1
        assert list(finished.iter_callbacks()) == []
        assert group.loop is loop and group.waiters == {}

    run(loop, body())


def test_a_member_moves_to_done_one_ready_cycle_after_it_completes(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        member = group.create_future()
        member.set_result(1)
        assert member in group.pending and not group.done
        await skip_ready_cycle()
        assert group.done == {member} and not group.pending

    run(loop, body())


def test_adding_a_done_future_files_it_at_once_and_resolves_waiters_synchronously(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        group.create_future()
        waiter = group.wait_first()
        finished = done_future(loop, 2)
        assert group.add_future(finished) is finished
        assert group.done == {finished}
        assert waiter.is_done() and waiter.get_result() is finished
        assert waiter not in group.waiters

    run(loop, body())


def test_adding_a_current_member_again_changes_nothing(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        member = group.create_future()
        assert group.add_task(member) is member
        assert len(list(member.iter_callbacks())) == 1
        counter = group.wait_first_n(2)
        member.set_result(1)
        await cycles()
        assert not counter.is_done()

    run(loop, body())


def test_adding_a_future_of_another_loop_raises_value_error(loop: EventThread) -> None:
    other = EventThread("poll")
    try:
        foreign: Future[int] = other.create_future()
        with pytest.raises(ValueError, match=r"belongs to another event loop; a task group holds futures of its own loop$"):
            TaskGroup(loop, [foreign])
    finally:
        other.stop()


def test_add_awaitable_wraps_a_coroutine_in_a_task_and_keeps_a_future(loop: EventThread) -> None:
    async def seven() -> int:
        return 7

    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        future: Future[int] = loop.create_future()
        assert group.add_awaitable(future) is future
        task = group.add_awaitable(seven())
        assert isinstance(task, Task) and task in group.pending
        assert await task == 7
        await skip_ready_cycle()
        assert group.done == {task}

    run(loop, body())


def test_create_task_returns_a_member_task_with_its_result_type(loop: EventThread) -> None:
    async def seven() -> int:
        return 7

    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        task = assert_type(group.create_task(seven()), Task[int])
        assert group.pending == {task}
        assert assert_type(await group.wait_next(), Future[int]) is task
        assert task.get_result() == 7

    run(loop, body())


def test_pop_done_has_done_and_has_pending_report_the_members(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        assert group.pop_done() is None
        assert not group.has_done() and not group.has_pending()
        member = group.create_future()
        assert group.has_pending() and not group.has_done()
        member.set_result(1)
        await skip_ready_cycle()
        assert group.has_done() and not group.has_pending()
        assert group.pop_done() is member
        assert not group.has_done()

    run(loop, body())


# ---- 45: wait_all ---------------------------------------------------------------------------------


def test_wait_all_is_resolved_at_once_when_nothing_is_pending(loop: EventThread) -> None:
    async def body() -> None:
        empty: TaskGroup[int] = TaskGroup(loop)
        waiter = empty.wait_all()
        assert waiter.is_done() and waiter.get_result() is None
        finished = TaskGroup(loop, [done_future(loop, 1), done_future(loop, 2)])
        assert finished.wait_all().is_done()

    run(loop, body())


def test_wait_all_resolves_with_none_when_the_last_member_completes_without_raising(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        failing = group.create_future()
        last = group.create_future()
        waiter = group.wait_all()
        failing.set_exception(ValueError("boom"))
        await cycles()
        assert not waiter.is_done()
        last.set_result(1)
        await waiter
        assert waiter.get_result() is None
        assert group.done == {failing, last}
        assert not is_retrieved(failing)
        failing.silence()

    run(loop, body())


# ---- 46, 47: wait_first, wait_first_and_pop -------------------------------------------------------


def test_wait_first_on_an_empty_group_is_resolved_with_none_at_once(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        for waiter in (group.wait_first(), group.wait_first_and_pop()):
            assert waiter.is_done() and waiter.get_result() is None

    run(loop, body())


def test_wait_first_with_done_members_is_resolved_at_once_with_one_of_them(loop: EventThread) -> None:
    async def body() -> None:
        members = [done_future(loop, 1), done_future(loop, 2)]
        group = TaskGroup(loop, [*members, loop.create_future()])
        waiter = group.wait_first()
        assert waiter.is_done() and waiter.get_result() in members
        assert group.done == set(members)

    run(loop, body())


@pytest.mark.parametrize("outcome", ["result", "exception", "cancellation"])
def test_wait_first_resolves_with_the_first_member_to_complete_whatever_its_outcome(
    loop: EventThread, outcome: str
) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        first = group.create_future()
        group.create_future()
        waiter = group.wait_first()
        await cycles()
        assert not waiter.is_done()
        if outcome == "result":
            first.set_result(1)
        elif outcome == "exception":
            first.set_exception(ValueError)
        else:
            first.cancel()
        assert await waiter is first
        assert not is_retrieved(first)
        first.silence()

    run(loop, body())


def test_wait_first_and_pop_removes_a_done_member(loop: EventThread) -> None:
    async def body() -> None:
        finished = done_future(loop, 1)
        group = TaskGroup(loop, [finished])
        waiter = group.wait_first_and_pop()
        assert waiter.is_done() and waiter.get_result() is finished
        assert not group.done

    run(loop, body())


def test_wait_first_and_pop_keeps_the_member_it_waited_for_out_of_done(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        member = group.create_future()
        waiter = group.wait_first_and_pop()
        member.set_result(1)
        assert await waiter is member
        await cycles()
        assert not group.done and not group.pending

    run(loop, body())


def test_two_pop_waiters_never_receive_the_same_member(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        first = group.create_future()
        second = group.create_future()
        waiter_1 = group.wait_first_and_pop()
        waiter_2 = group.wait_first_and_pop()
        first.set_result(1)
        await cycles()
        assert waiter_1.get_result() is first and not waiter_2.is_done()
        second.set_result(2)
        assert await waiter_2 is second
        assert not group.done

    run(loop, body())


# ---- 48: wait_next (D7) ----------------------------------------------------------------------------


def test_wait_next_ignores_done_members_and_resolves_with_the_member_that_completes(loop: EventThread) -> None:
    async def body() -> None:
        group = TaskGroup(loop, [done_future(loop, 1)])
        member = group.create_future()
        waiter = group.wait_next()
        await cycles()
        assert not waiter.is_done()
        member.set_result(2)
        assert await waiter is member
        await skip_ready_cycle()
        assert member in group.done

    run(loop, body())


def test_wait_next_stays_pending_on_an_empty_group_until_a_member_completes(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        waiter = group.wait_next()
        await cycles(5)
        assert not waiter.is_done()
        finished = group.add_future(done_future(loop, 3))
        assert waiter.is_done() and waiter.get_result() is finished

    run(loop, body())


# ---- 49: wait_first_n -------------------------------------------------------------------------------


def test_wait_first_n_counts_done_members_plus_one_per_completion(loop: EventThread) -> None:
    async def body() -> None:
        group = TaskGroup(loop, [done_future(loop, 1)])
        first = group.create_future()
        second = group.create_future()
        waiter = group.wait_first_n(3)
        first.set_result(2)
        await cycles()
        assert not waiter.is_done()
        second.set_result(3)
        assert await waiter == 3

    run(loop, body())


def test_wait_first_n_resolves_at_once_with_a_count_that_may_exceed_n(loop: EventThread) -> None:
    async def body() -> None:
        group = TaskGroup(loop, [done_future(loop, value) for value in range(3)])
        assert group.wait_first_n(2).get_result() == 3
        assert group.wait_first_n(3).get_result() == 3
        empty: TaskGroup[int] = TaskGroup(loop)
        assert empty.wait_first_n(0).get_result() == 0
        assert empty.wait_first_n(-1).get_result() == 0

    run(loop, body())


def test_wait_first_n_on_an_empty_group_stays_pending(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        waiter = group.wait_first_n(1)
        await cycles(5)
        assert not waiter.is_done()
        waiter.cancel()

    run(loop, body())


def test_wait_first_n_with_a_non_int_raises_type_error(loop: EventThread) -> None:
    group: TaskGroup[int] = TaskGroup(loop)
    with pytest.raises(TypeError, match=r"^wait_first_n\(\) needs an int count, got '2' of type str$"):
        group.wait_first_n("2")  # type: ignore[arg-type]


# ---- 50: wait_exception and its variants (D8) -------------------------------------------------------


async def _raise_value_error() -> int:
    raise ValueError("task failed")


async def _wait_long() -> int:
    await sleep(5)
    return 0


def _finish_member(group: TaskGroup[int], how: str) -> Future[int]:
    """Add a member to `group` and make it end the way `how` names."""
    if how == "task raises":
        return group.create_task(_raise_value_error())
    if how.startswith("task"):
        task = group.create_task(_wait_long())
        if how == "task cancel_with":
            task.cancel_with(ValueError)
        else:
            task.cancel()
        return task
    future = group.create_future()
    if how == "set_result":
        future.set_result(1)
    elif how == "set_exception":
        future.set_exception(ValueError)
    elif how == "cancel_with":
        future.cancel_with(ValueError)
    elif how == "timeout":
        future.apply_timeout(0)
    else:
        future.cancel()
    return future


# how the member ends -> (counts for wait_exception, counts for wait_exception_or_cancellation)
OUTCOMES = {
    "set_result": (False, False),
    "set_exception": (True, True),
    "cancel_with": (True, True),
    "timeout": (True, True),
    "task raises": (True, True),
    "task cancel_with": (True, True),
    "future cancel": (False, True),
    "task cancel": (False, True),
}
WaitMethod = Callable[[TaskGroup[int]], Future[Future[int] | None]]
# method name -> (method, counts plain cancellation, pops)
WAIT_FAILURE: dict[str, tuple[WaitMethod, bool, bool]] = {
    "wait_exception": (TaskGroup.wait_exception, False, False),
    "wait_exception_and_pop": (TaskGroup.wait_exception_and_pop, False, True),
    "wait_exception_or_cancellation": (TaskGroup.wait_exception_or_cancellation, True, False),
    "wait_exception_or_cancellation_and_pop": (TaskGroup.wait_exception_or_cancellation_and_pop, True, True),
}


@pytest.mark.parametrize("how", OUTCOMES)
@pytest.mark.parametrize("method", WAIT_FAILURE)
def test_wait_exception_variants_resolve_with_a_failing_member_and_skip_the_others(
    loop: EventThread, method: str, how: str
) -> None:
    wait, count_cancellation, pop = WAIT_FAILURE[method]
    counts = OUTCOMES[how][count_cancellation]

    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        keeper = group.create_future()
        waiter = wait(group)
        member = _finish_member(group, how)
        await cycles(4)
        if counts:
            assert waiter.is_done() and waiter.get_result() is member
            assert (member in group.done) is not pop
        else:
            assert not waiter.is_done()
            assert member in group.done
            keeper.set_result(0)
            await waiter
            assert waiter.get_result() is None
        assert not is_retrieved(member)
        member.silence()

    run(loop, body())


@pytest.mark.parametrize("method", WAIT_FAILURE)
def test_wait_exception_variants_pick_a_done_failing_member_at_once(loop: EventThread, method: str) -> None:
    wait, _, pop = WAIT_FAILURE[method]

    async def body() -> None:
        failed: Future[int] = loop.create_future()
        failed.set_exception(ValueError)
        group = TaskGroup(loop, [done_future(loop, 1), failed])
        waiter = wait(group)
        assert waiter.is_done() and waiter.get_result() is failed
        assert (failed in group.done) is not pop
        assert not is_retrieved(failed)
        failed.silence()

    run(loop, body())


def test_two_exception_pop_waiters_never_receive_the_same_member(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        first = group.create_future()
        second = group.create_future()
        waiter_1 = group.wait_exception_and_pop()
        waiter_2 = group.wait_exception_or_cancellation_and_pop()
        first.set_exception(ValueError)
        await cycles()
        assert waiter_1.get_result() is first and not waiter_2.is_done()
        second.cancel()
        assert await waiter_2 is second
        assert not group.done
        first.silence()

    run(loop, body())


def test_wait_exception_resolves_with_none_at_once_when_nothing_is_pending(loop: EventThread) -> None:
    async def body() -> None:
        group = TaskGroup(loop, [done_future(loop, 1)])
        waiter = group.wait_exception()
        assert waiter.is_done() and waiter.get_result() is None

    run(loop, body())


# ---- 51: waiter cancellation ------------------------------------------------------------------------


def test_cancelling_a_waiter_removes_its_handler_after_one_ready_cycle(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        group.create_future()
        waiter = group.wait_next()
        assert waiter in group.waiters
        waiter.cancel()
        await skip_ready_cycle()
        assert waiter not in group.waiters

    run(loop, body())


def test_a_cancelled_pop_waiter_does_not_take_a_member(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        member = group.create_future()
        waiter = group.wait_first_and_pop()
        member.set_result(1)  # the member's callback is queued before the cancelled waiter's
        waiter.cancel()
        await cycles()
        assert group.done == {member}
        assert not group.waiters

    run(loop, body())


# ---- 52: exhaust, exhaust_done, iter_futures -----------------------------------------------------------


def test_exhaust_yields_members_in_completion_order_and_empties_the_group(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        members = [group.create_future() for _ in range(8)]
        order = [members[index] for index in (5, 2, 7, 0, 4, 1, 3, 6)]

        async def complete() -> None:
            await cycles()
            for member in order[:6]:  # in one cycle: the order must still be kept
                member.set_result(0)
            await cycles()
            order[6].set_result(0)
            await cycles()
            order[7].set_result(0)

        completer = loop.create_task(complete())
        seen = [member async for member in group.exhaust()]
        assert seen == order
        assert not group.done and not group.pending and not group.waiters
        await completer

    run(loop, body())


def test_exhaust_closed_early_leaves_no_waiter_and_keeps_the_rest(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        first = group.create_future()
        second = group.create_future()
        first.set_result(1)
        iterator = group.exhaust()
        assert await iterator.__anext__() is first
        await iterator.aclose()
        assert not group.waiters and group.pending == {second}

    run(loop, body())


def test_exhaust_done_pops_only_members_already_done(loop: EventThread) -> None:
    async def body() -> None:
        finished = {done_future(loop, 1), done_future(loop, 2)}
        waiting: Future[int] = loop.create_future()
        group = TaskGroup(loop, [*finished, waiting])
        assert set(group.exhaust_done()) == finished
        assert not group.done and group.pending == {waiting}

    run(loop, body())


def test_iter_futures_lists_done_members_then_pending_ones(loop: EventThread) -> None:
    async def body() -> None:
        finished = {done_future(loop, 1), done_future(loop, 2)}
        waiting: set[Future[int]] = {loop.create_future(), loop.create_future()}
        group = TaskGroup(loop, [*waiting, *finished])
        members = list(group.iter_futures())
        assert set(members[:2]) == finished and set(members[2:]) == waiting

    run(loop, body())


# ---- 53, 54: cancelling members ----------------------------------------------------------------------


def test_cancel_on_exception_gives_the_group_and_cancels_members_when_the_block_raises(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        member = group.create_future()
        with pytest.raises(KeyError):
            with group.cancel_on_exception() as entered:
                assert entered is group
                raise KeyError("out")
        assert member.is_cancelled()

    run(loop, body())


def test_cancel_on_exception_does_nothing_when_the_block_ends_normally(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        member = group.create_future()
        with group.cancel_on_exception():
            pass
        assert member.is_pending()

    run(loop, body())


@pytest.mark.parametrize("method", ["cancel_all", "cancel_pending"])
def test_cancelling_cancels_pending_members_and_leaves_done_ones_done(loop: EventThread, method: str) -> None:
    async def body() -> None:
        finished = done_future(loop, 1)
        group = TaskGroup(loop, [finished])
        waiting = group.create_future()
        task = group.create_task(_wait_long())
        await skip_ready_cycle()
        getattr(group, method)()
        await cycles()
        assert waiting.is_cancelled() and task.is_cancelled()
        assert not finished.is_cancelled() and finished.get_result() == 1
        assert group.done == {finished, waiting, task} and not group.pending

    run(loop, body())


def test_cancel_done_only_silences_done_members(loop: EventThread) -> None:
    async def body() -> None:
        failed: Future[int] = loop.create_future()
        failed.set_exception(ValueError)
        group = TaskGroup(loop, [failed])
        waiting = group.create_future()
        group.cancel_done()
        assert failed.is_silenced() and not failed.is_cancelled()
        assert waiting.is_pending()

    run(loop, body())


# ---- 55: not awaitable ----------------------------------------------------------------------------------


def test_awaiting_a_task_group_raises_type_error_and_it_has_no_async_context_manager(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        with pytest.raises(TypeError, match="can't be used in 'await' expression"):
            await group  # type: ignore[misc]

    run(loop, body())
    assert not hasattr(TaskGroup, "__aenter__") and not hasattr(TaskGroup, "__aexit__")
    assert not hasattr(TaskGroup, "__iter__") and not hasattr(TaskGroup, "__len__")


def test_wait_methods_are_typed_by_the_member_result_type(loop: EventThread) -> None:
    async def body() -> None:
        group: TaskGroup[int] = TaskGroup(loop)
        assert_type(group.wait_next(), Future[Future[int]])
        assert_type(group.wait_first(), Future[Future[int] | None])
        assert_type(group.wait_exception_or_cancellation_and_pop(), Future[Future[int] | None])
        assert_type(group.wait_first_n(1), Future[int])
        assert_type(group.wait_all(), Future[None])
        assert_type(group.pop_done(), Future[int] | None)
        for waiter in list(group.waiters):
            waiter.cancel()

    run(loop, body())
