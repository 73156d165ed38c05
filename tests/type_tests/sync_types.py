"""Type tests for task groups, synchronisation and the cross-thread wrappers: checked by mypy and pyright,
never run (see `core_types` for how the wrong calls are pinned)."""

from __future__ import annotations

from typing_extensions import assert_type

from scarletio import (
    AsyncQueue,
    EventThread,
    Future,
    FutureWrapperAsync,
    FutureWrapperSync,
    Lock,
    ScarletExecutor,
    ScarletLock,
    Task,
    TaskGroup,
)


async def number() -> int:
    return 1


async def text() -> str:
    return ""


async def uses_a_group(loop: EventThread) -> None:
    group: TaskGroup[int] = TaskGroup(loop)
    assert_type(group.create_task(number()), Task[int])
    assert_type(group.create_future(), Future[int])
    assert_type(await group.wait_next(), Future[int])
    assert_type(await group.wait_first(), Future[int] | None)
    assert_type(await group.wait_exception(), Future[int] | None)
    assert_type(await group.wait_first_n(2), int)
    assert_type(await group.wait_all(), None)
    assert_type(group.pop_done(), Future[int] | None)
    async for member in group.exhaust():
        assert_type(member, Future[int])
    group.wait_first_n("2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    group.create_task(text())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(group.loop, EventThread)
    assert_type(TaskGroup(loop, [group.create_task(number())]), TaskGroup[int])
    unannotated = TaskGroup(loop)  # type: ignore[var-annotated]  # pyright: ignore[reportUnknownVariableType]
    del unannotated  # (used, for the unused-variable checks)


async def uses_primitives(loop: EventThread) -> None:
    queue: AsyncQueue[str] = AsyncQueue(loop)
    assert_type(queue.set_result("a"), int)
    assert_type(await queue, str)
    assert_type(await queue.set_result_wait("b"), int)
    queue.set_result(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    unannotated = AsyncQueue(loop)  # type: ignore[var-annotated]  # pyright: ignore[reportUnknownVariableType]
    del unannotated  # (used, for the unused-variable checks)
    assert_type(await Lock(loop), None)
    async with Lock(loop):
        pass
    async with ScarletLock(loop, 2):
        pass
    async with ScarletExecutor(2) as executor:
        assert_type(await executor.add(number()), Future[int])


def waits_from_another_thread(loop: EventThread, other: EventThread) -> None:
    task = loop.create_task_thread_safe(number())
    assert_type(task.sync_wrap(), FutureWrapperSync[int])
    assert_type(task.sync_wrap().wait(), int)
    assert_type(task.sync_wrap().wait(1.0, propagate_cancellation=True), int)
    assert_type(task.sync_wrap().wait_for_completion(), bool)
    assert_type(task.async_wrap(other), FutureWrapperAsync[int])


async def awaits_on_another_loop(task: Task[str], loop: EventThread) -> None:
    assert_type(await task.async_wrap(loop), str)
    assert_type(await task.async_wrap(loop).wait(1.0), str)
    assert_type(await task.async_wrap(loop).wait_for_completion(), bool)
