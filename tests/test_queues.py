"""`AsyncQueue` and `AsyncLifoQueue`: order, one getter per element, putters, exceptions (64-65, D10)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from typing_extensions import assert_type

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.primitives.queues import AsyncLifoQueue, AsyncQueue
from scarletio.core.suspension import skip_ready_cycle
from scarletio.core.tasks import Task


@pytest.fixture(params=["epoll", "poll", "virtual"])
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    loop = EventThread(request.param)
    yield loop
    loop.stop()
    if loop.ident is not None:  # a test that never used the loop never started its thread
        loop.join(5)


async def cycles(count: int = 3) -> None:
    for _ in range(count):
        await skip_ready_cycle()


async def get_by_await(queue: AsyncQueue[int]) -> int:
    return await queue


async def get_by_result(queue: AsyncQueue[int]) -> int:
    return await queue.result()


async def get_no_wait(queue: AsyncQueue[int]) -> int:
    return queue.get_result_no_wait()


async def get_by_async_for(queue: AsyncQueue[int]) -> int:
    async for element in queue:
        return element
    raise AssertionError("the queue ended")


GETTERS: list[Callable[[AsyncQueue[int]], Awaitable[int]]] = [
    get_by_await,
    get_by_result,
    get_no_wait,
    get_by_async_for,
]


# ---- order -----------------------------------------------------------------------------------


def test_queue_gets_in_fifo_order(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [1, 2])
        assert queue.set_result(3) == 0
        first = await queue
        assert_type(first, int)
        second = await queue.result()
        return [first, second, queue.get_result_no_wait()]

    assert loop.run(main(), timeout=5) == [1, 2, 3]


def test_lifo_queue_gets_in_lifo_order(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncLifoQueue[int] = AsyncLifoQueue(loop, [1, 2])
        assert queue.set_result(3) == 0
        first = await queue
        assert_type(first, int)
        return [first, await queue.result(), queue.get_result_no_wait()]

    assert loop.run(main(), timeout=5) == [3, 2, 1]


def test_queue_length_copy_reverse_clear_and_repr(loop: EventThread) -> None:
    queue: AsyncQueue[int] = AsyncQueue(loop, [1, 2, 3], max_length=5)
    assert len(queue) == 3
    assert queue.max_length == 5
    copy = queue.copy()
    assert type(copy) is AsyncQueue
    queue.reverse()
    assert repr(queue) == "AsyncQueue([3, 2, 1], max_length = 5)"
    assert repr(copy) == "AsyncQueue([1, 2, 3], max_length = 5)"
    queue.clear()
    assert len(queue) == 0
    assert len(copy) == 3
    assert type(AsyncLifoQueue(loop).copy()) is AsyncLifoQueue
    assert AsyncQueue(loop).max_length is None


# ---- one getter per element -------------------------------------------------------------------


def test_two_waiting_getters_each_get_a_different_element(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop)
        getters = [loop.create_task(get_by_await(queue)), loop.create_task(get_by_result(queue))]
        await cycles()
        assert queue.set_result(1) == 0
        assert queue.set_result(2) == 0
        assert len(queue) == 0
        return [await getter for getter in getters]

    assert loop.run(main(), timeout=5) == [1, 2]


def test_waiting_getters_are_served_in_fifo_order(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop)
        getters = [loop.create_task(getter(queue)) for getter in (get_by_await, get_by_async_for, get_by_result)]
        await cycles()
        assert repr(queue) == "AsyncQueue([], getters = 3)"
        for element in (10, 20, 30):
            queue.set_result(element)
        return [await getter for getter in getters]

    assert loop.run(main(), timeout=5) == [10, 20, 30]


def test_cancelled_waiting_getter_takes_no_element(loop: EventThread) -> None:
    async def main() -> tuple[int, int]:
        queue: AsyncQueue[int] = AsyncQueue(loop)
        cancelled = loop.create_task(get_by_await(queue))
        other = loop.create_task(get_by_await(queue))
        await cycles()
        cancelled.cancel()
        queue.set_result(1)  # the cancelled getter has not run yet: the element goes past it
        result = await other
        await cancelled.wait_for_completion()
        assert cancelled.is_cancelled()
        assert queue.set_result(2) == 0
        return result, len(queue)

    assert loop.run(main(), timeout=5) == (1, 1)


@pytest.mark.parametrize("with_second_getter", [True, False])
def test_getter_cancelled_after_it_was_handed_an_element_passes_it_on(
    loop: EventThread, with_second_getter: bool
) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop)
        first = loop.create_task(get_by_await(queue))
        second = loop.create_task(get_by_await(queue)) if with_second_getter else None
        await cycles()
        queue.set_result(1)  # handed to `first` ...
        first.cancel()  # ... which is cancelled before it gets to run
        await first.wait_for_completion()
        assert first.is_cancelled()
        if second is not None:
            return [await second, len(queue)]
        return [queue.get_result_no_wait(), len(queue)]

    assert loop.run(main(), timeout=5) == [1, 0]


def test_lifo_getter_cancelled_after_hand_off_puts_the_element_back_on_top(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncLifoQueue[int] = AsyncLifoQueue(loop)
        getter = loop.create_task(get_by_await(queue))
        await cycles()
        queue.set_result(1)
        getter.cancel()
        queue.set_result(2)
        await getter.wait_for_completion()
        return [queue.get_result_no_wait(), queue.get_result_no_wait()]

    assert loop.run(main(), timeout=5) == [1, 2]


# ---- limits and putters ----------------------------------------------------------------------


def test_set_result_on_a_full_queue_returns_1_and_keeps_the_queue(loop: EventThread) -> None:
    queue: AsyncQueue[int] = AsyncQueue(loop, [1], max_length=2)
    assert queue.set_result(2) == 0
    assert queue.set_result(3) == 1
    assert repr(queue) == "AsyncQueue([1, 2], max_length = 2)"


def test_set_result_wait_returns_0_when_there_is_room(loop: EventThread) -> None:
    async def main() -> tuple[int, int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, max_length=1)
        return await queue.set_result_wait(1), len(queue)

    assert loop.run(main(), timeout=5) == (0, 1)


@pytest.mark.parametrize("get", GETTERS, ids=lambda get: get.__name__)
def test_any_get_releases_a_blocked_putter(loop: EventThread, get: Callable[[AsyncQueue[int]], Awaitable[int]]) -> None:
    async def main() -> tuple[int, int, list[int]]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [1], max_length=1)
        putter = loop.create_task(queue.set_result_wait(2))
        await cycles()
        assert not putter.is_done()
        assert repr(queue) == "AsyncQueue([1], max_length = 1, putters = 1)"
        got = await get(queue)
        return got, await putter, [queue.get_result_no_wait(), len(queue)]

    assert loop.run(main(), timeout=5) == (1, 2, [2, 0])


def test_blocked_putters_are_admitted_in_fifo_order(loop: EventThread) -> None:
    async def main() -> tuple[list[int], list[int]]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [0], max_length=1)
        putters = [loop.create_task(queue.set_result_wait(element)) for element in (1, 2, 3)]
        await cycles()
        assert queue.set_result(9) == 1  # a plain put cannot overtake the blocked putters
        got = [await queue for _ in range(4)]
        return got, [await putter for putter in putters]

    assert loop.run(main(), timeout=5) == ([0, 1, 2, 3], [2, 2, 2])


def test_cancelled_putter_does_not_queue_its_element(loop: EventThread) -> None:
    async def main() -> tuple[list[int], int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [0], max_length=1)
        cancelled = loop.create_task(queue.set_result_wait(1))
        waiting = loop.create_task(queue.set_result_wait(2))
        await cycles()
        cancelled.cancel()
        await cancelled.wait_for_completion()
        got = [await queue, await queue]
        return got, await waiting

    assert loop.run(main(), timeout=5) == ([0, 2], 2)


def test_clear_admits_blocked_putters(loop: EventThread) -> None:
    async def main() -> tuple[int, list[int]]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [0], max_length=1)
        putter = loop.create_task(queue.set_result_wait(1))
        await cycles()
        queue.clear()
        return await putter, [queue.get_result_no_wait()]

    assert loop.run(main(), timeout=5) == (2, [1])


def test_set_exception_rejects_blocked_putters(loop: EventThread) -> None:
    async def main() -> tuple[int, list[int], int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [0], max_length=1)
        putter = loop.create_task(queue.set_result_wait(1))
        await cycles()
        queue.set_exception(ValueError("end"))
        rejected = await putter
        got = [await queue]
        return rejected, got, await queue.set_result_wait(5)

    assert loop.run(main(), timeout=5) == (1, [0], 1)


# ---- the end of a queue ------------------------------------------------------------------------


def test_get_result_no_wait_on_an_empty_queue_raises_index_error(loop: EventThread) -> None:
    message = r"^AsyncQueue is empty; await the queue to wait for an element, or check len\(queue\) first$"
    with pytest.raises(IndexError, match=message):
        AsyncQueue[int](loop).get_result_no_wait()
    with pytest.raises(IndexError, match=r"^AsyncLifoQueue is empty"):
        AsyncLifoQueue[int](loop).result_no_wait()


def test_exception_is_raised_once_the_queue_is_drained(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [1, 2])
        error = ValueError("end")
        queue.set_exception(error)
        assert queue.set_result(3) == 1
        got = [await queue, queue.get_result_no_wait()]
        for _ in range(2):
            with pytest.raises(ValueError) as raised:
                await queue
            assert raised.value is error
        with pytest.raises(ValueError):
            queue.get_result_no_wait()
        return got

    assert loop.run(main(), timeout=5) == [1, 2]


def test_set_exception_wakes_every_waiting_getter_with_it(loop: EventThread) -> None:
    async def main() -> list[bool]:
        queue: AsyncQueue[int] = AsyncQueue(loop)
        getters = [loop.create_task(get_by_await(queue)) for _ in range(2)]
        await cycles()
        queue.set_exception(KeyError)
        outcomes = []
        for getter in getters:
            with pytest.raises(KeyError):
                await getter
            outcomes.append(getter.is_done())
        return outcomes

    assert loop.run(main(), timeout=5) == [True, True]


def test_exception_given_at_construction_is_raised_when_empty(loop: EventThread) -> None:
    async def main() -> int:
        queue: AsyncQueue[int] = AsyncQueue(loop, [1], exception=LookupError)
        first = await queue
        with pytest.raises(LookupError):
            await queue
        return first

    assert loop.run(main(), timeout=5) == 1


def test_async_for_stops_on_cancelled_error(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [1, 2])
        got: list[int] = []

        async def consume() -> None:
            async for element in queue:
                got.append(element)

        consumer = loop.create_task(consume())
        await cycles()
        queue.set_result(3)
        queue.set_exception(CancelledError())
        await consumer
        return got

    assert loop.run(main(), timeout=5) == [1, 2, 3]


def test_async_for_raises_any_other_exception(loop: EventThread) -> None:
    async def main() -> list[int]:
        queue: AsyncQueue[int] = AsyncQueue(loop, [1], exception=ValueError("end"))
        got: list[int] = []
        with pytest.raises(ValueError, match="^end$"):
            async for element in queue:
                got.append(element)
        return got

    assert loop.run(main(), timeout=5) == [1]


def test_async_for_of_a_cancelled_task_is_cancelled_not_stopped(loop: EventThread) -> None:
    async def main() -> bool:
        queue: AsyncQueue[int] = AsyncQueue(loop)

        async def consume() -> str:
            async for _ in queue:
                pass
            return "stopped"

        consumer: Task[str] = loop.create_task(consume())
        await cycles()
        consumer.cancel()
        await consumer.wait_for_completion()
        return consumer.is_cancelled()

    assert loop.run(main(), timeout=5) is True


# ---- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_length", "error", "message"),
    [
        (
            1.0,
            TypeError,
            r"^max_length must be an int or None, got float 1\.0; "
            r"pass a whole number of at least 1, or None for no limit$",
        ),
        (True, TypeError, r"^max_length must be an int or None, got bool True; "),
        (0, ValueError, r"^max_length must be at least 1, got 0; pass None for a queue without limit$"),
    ],
)
def test_queue_rejects_a_bad_max_length(
    loop: EventThread, max_length: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        AsyncQueue(loop, max_length=max_length)  # type: ignore[arg-type]


def test_queue_refuses_more_initial_elements_than_max_length(loop: EventThread) -> None:
    message = r"^iterable has 3 elements, more than max_length = 2; raise max_length or pass fewer elements$"
    with pytest.raises(ValueError, match=message):
        AsyncQueue(loop, [1, 2, 3], max_length=2)


def test_queue_refuses_stop_iteration_as_its_exception(loop: EventThread) -> None:
    with pytest.raises(TypeError, match=r"StopIteration"):
        AsyncQueue(loop, exception=StopIteration)
    with pytest.raises(TypeError, match=r"StopIteration"):
        AsyncQueue[int](loop).set_exception(StopIteration())
