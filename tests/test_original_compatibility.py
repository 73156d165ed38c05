"""Code written for the original scarletio runs unchanged: the idioms of its own test suite, end to end.

The original's tests (run by its runner, vampytest) build tasks with `Task(loop, coroutine)`, step the
loop with `await skip_ready_cycle()` and look at the outcome with `is_done()` / `get_result()`. Each test
here is such a scenario, written for this project, across the pieces the other test modules cover one
by one (tasks, stream protocols, `enter_executor`, cross-loop wrappers, the top level). Timing-free
scenarios run on the virtual backend; the cross-loop ones on real loops.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator

import pytest

from scarletio import (
    CancelledError,
    EventThread,
    Future,
    ReadProtocolBase,
    Task,
    create_event_loop,
    enter_executor,
    get_event_loop,
    skip_ready_cycle,
)


async def test_a_task_built_by_hand_runs_on_the_next_ready_cycle(scarletio_loop: EventThread) -> None:
    async def body() -> str:
        return "done"

    task = Task(scarletio_loop, body())
    assert not task.is_done()
    await skip_ready_cycle()
    assert task.is_done()
    assert task.get_result() == "done"


async def test_a_task_can_drive_a_futures_await_iterator(scarletio_loop: EventThread) -> None:
    future: Future[int] = Future(scarletio_loop)
    task: Task[int] = Task(scarletio_loop, future.__await__())  # type: ignore[arg-type]
    await skip_ready_cycle()
    assert not task.is_done()
    future.set_result(3)
    await skip_ready_cycle()
    await skip_ready_cycle()
    assert task.get_result() == 3


async def test_the_stream_protocol_scenarios_of_the_original_suite(scarletio_loop: EventThread) -> None:
    loop = get_event_loop()

    protocol = ReadProtocolBase(loop)
    task = Task(loop, protocol.read_exactly(1))
    await skip_ready_cycle()
    protocol.connection_lost(None)
    await skip_ready_cycle()
    assert task.is_done()
    with pytest.raises(ConnectionError):
        task.get_result()

    protocol = ReadProtocolBase(loop)
    for chunk in (b"hey", b" sis", b"ter"):
        protocol.data_received(chunk)
    task = Task(loop, protocol.read(5))
    await skip_ready_cycle()
    assert task.get_result() == b"hey s"
    task = Task(loop, protocol.read_once())
    await skip_ready_cycle()
    assert task.get_result() == b"is"  # the rest of the chunk b" sis", not merged with b"ter"

    protocol = ReadProtocolBase(loop)
    protocol.set_exception(ValueError())
    for read in (protocol.read(0), protocol.read_exactly(0), protocol.read_until(b"")):
        task = Task(loop, read)
        await skip_ready_cycle()
        assert task.is_done()
        with pytest.raises(ValueError):
            task.get_result()

    protocol = ReadProtocolBase(loop)
    task = Task(loop, protocol.read_until(b""))
    await skip_ready_cycle()
    assert task.get_result() == b""
    assert protocol.get_extra_info("mister") is None
    protocol.close()


async def _cancelled_inside_the_block(ready: Future[None], inside: Future[None], outside: Future[None]) -> None:
    future: Future[None] = Future(get_event_loop())
    try:
        async with enter_executor():
            ready.set_result(None)  # resolving a loop future on the executor thread
            try:
                await future
            except CancelledError:
                inside.set_result(None)
                raise
    except CancelledError:
        outside.set_result(None)
        raise


async def test_enter_executor_cancellation_scenario_of_the_original_suite(scarletio_loop: EventThread) -> None:
    loop = get_event_loop()
    ready: Future[None] = Future(loop)
    inside: Future[None] = Future(loop)
    outside: Future[None] = Future(loop)
    task = Task(loop, _cancelled_inside_the_block(ready, inside, outside))
    await ready
    task.cancel()
    with pytest.raises(CancelledError):
        await task
    assert inside.is_done()
    assert outside.is_done()


async def test_shutdown_async_generators_is_awaited(scarletio_loop: EventThread) -> None:
    closed: list[str] = []

    async def generator() -> AsyncGenerator[int, None]:
        try:
            yield 1
        finally:
            closed.append("closed")

    iterator = generator()
    assert await iterator.__anext__() == 1
    assert await scarletio_loop.shutdown_async_generators() == 1
    assert closed == ["closed"]


@pytest.fixture
def other_loop() -> Iterator[EventThread]:
    loop = create_event_loop(name="other")
    yield loop
    loop.stop()
    if loop.ident is not None:
        loop.join(5)


@pytest.mark.scarletio(backend="epoll")
async def test_the_wrapper_scenarios_of_the_original_suite(scarletio_loop: EventThread, other_loop: EventThread) -> None:
    done: Future[str] = Future(other_loop)
    done.set_result("ready")  # the other loop has not started yet: any thread may resolve its futures

    future: Future[int] = Future(other_loop)
    with pytest.raises(TimeoutError):
        await future.async_wrap(get_event_loop()).wait(timeout=0.0)
    assert [*future.iter_callbacks()] == []

    async def waits() -> None:
        waiter: Future[None] = Future(get_event_loop())
        waiter.silence()
        await waiter

    task = Task(other_loop, waits())
    assert await task.async_wrap(get_event_loop()).wait_for_completion(timeout=0.0, propagate_cancellation=True) is False
    assert [*task.iter_callbacks()] == []
    assert task.is_cancelled()

    assert await done.async_wrap(get_event_loop()) == "ready"
    assert await scarletio_loop.ensure_future(done) == "ready"
