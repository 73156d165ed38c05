"""`ScarletExecutor`: the limit, waiting at exit, and failure propagation (reference 3.6)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from _fixtures import LATE, assert_on_time

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.futures import Future
from scarletio.primitives.scarlet_executor import ScarletExecutor
from scarletio.core.suspension import skip_ready_cycle, sleep


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


def test_four_sleeps_with_limit_two_take_two_rounds(loop: EventThread) -> None:
    async def main() -> float:
        start = loop.time()
        async with ScarletExecutor(2) as executor:
            for _ in range(4):
                await executor.add(sleep(0.05))
        return loop.time() - start

    elapsed = loop.run(main(), timeout=6 * LATE)
    assert_on_time(loop, elapsed, 0.1)


def test_never_more_than_limit_members_run_at_once(loop: EventThread) -> None:
    async def main() -> tuple[int, list[int]]:
        running = [0]
        peak = [0]
        results: list[Future[int]] = []

        async def member(value: int) -> int:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            await cycles(value % 3 + 1)
            running[0] -= 1
            return value

        async with ScarletExecutor(3, loop=loop) as executor:
            for value in range(10):
                results.append(await executor.add(member(value)))
                assert executor.get_active() < 3
        assert running[0] == 0
        return peak[0], [result.get_result() for result in results]

    assert loop.run(main(), timeout=5) == (3, list(range(10)))


def test_add_blocks_until_a_slot_is_free(loop: EventThread) -> None:
    async def main() -> list[str]:
        log: list[str] = []

        async def member(name: str) -> None:
            await cycles()
            log.append(f"{name} done")

        async with ScarletExecutor(1) as executor:
            await executor.add(member("a"))
            log.append("a added")
            await executor.add(member("b"))
            log.append("b added")
        log.append("exited")
        return log

    assert loop.run(main(), timeout=5) == ["a done", "a added", "b done", "b added", "exited"]


def test_exit_waits_for_every_member(loop: EventThread) -> None:
    async def main() -> tuple[list[bool], str]:
        async with ScarletExecutor() as executor:
            members = [await executor.add(sleep(0.01 * index)) for index in range(1, 4)]
            text = repr(executor)
        assert repr(executor) == "<ScarletExecutor limit = 10, closed>"
        return [member.is_done() for member in members], text

    assert loop.run(main(), timeout=5) == ([True, True, True], "<ScarletExecutor limit = 10, active = 3>")


def test_a_failing_member_cancels_the_others_and_is_raised_at_exit(loop: EventThread) -> None:
    async def main() -> tuple[list[str], bool, bool]:
        log: list[str] = []
        error = ValueError("member failed")

        async def fail() -> None:
            await cycles(1)
            raise error

        async def slow() -> None:
            try:
                await sleep(1.0)
            finally:
                log.append("slow ended")

        with pytest.raises(ValueError) as raised:
            async with ScarletExecutor(3) as executor:
                slow_member = await executor.add(slow())
                await executor.add(fail())
                await cycles(5)
                log.append("add after failure")
                late = sleep(1.0)
                with pytest.raises(CancelledError):
                    await executor.add(late)
                log.append("add raised")
                raise CancelledError()  # what the owner's `add` raises when it blocks during a failure
        assert raised.value is error
        return log, slow_member.is_cancelled(), late.is_cancelled()  # pyright: ignore  # both bound: the block ran

    log, slow_cancelled, late_cancelled = loop.run(main(), timeout=5)
    assert log == ["slow ended", "add after failure", "add raised"]
    assert slow_cancelled and late_cancelled


def test_add_blocked_at_the_limit_raises_cancelled_error_when_a_member_fails(loop: EventThread) -> None:
    async def main() -> list[str]:
        log: list[str] = []

        async def fail() -> None:
            await sleep(0.01)
            raise KeyError("boom")

        with pytest.raises(KeyError):
            async with ScarletExecutor(2) as executor:
                await executor.add(sleep(6 * LATE))  # cancelled, not waited for
                try:
                    await executor.add(fail())
                except CancelledError:
                    log.append("add cancelled")
                    raise
        return log

    started = time.monotonic()
    assert loop.run(main(), timeout=12 * LATE) == ["add cancelled"]
    assert time.monotonic() - started < LATE


def test_a_cancelled_member_is_not_a_failure(loop: EventThread) -> None:
    async def main() -> bool:
        async with ScarletExecutor(2) as executor:
            member = await executor.add(sleep(1.0))
            done = await executor.add(sleep(0.01))
            member.cancel()
        return member.is_cancelled() and done.is_done()

    assert loop.run(main(), timeout=5) is True


def test_an_exception_in_the_block_cancels_the_members_and_propagates(loop: EventThread) -> None:
    async def main() -> bool:
        member: Future[None] | None = None
        with pytest.raises(LookupError):
            async with ScarletExecutor(2) as executor:
                member = await executor.add(sleep(1.0))
                raise LookupError("in the block")
        assert member is not None
        return member.is_cancelled()

    assert loop.run(main(), timeout=5) is True


def test_cancelling_the_owner_cancels_the_members(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        members: list[Future[None]] = []

        async def owner() -> None:
            async with ScarletExecutor(2) as executor:
                members.append(await executor.add(sleep(1.0)))
                await executor.add(sleep(1.0))  # blocks: two members run

        task = loop.create_task(owner())
        await cycles()
        task.cancel()
        await task.wait_for_completion()
        await cycles()
        return task.is_cancelled(), len(members) == 1 and members[0].is_cancelled()

    assert loop.run(main(), timeout=5) == (True, True)


def test_add_outside_the_block_raises_runtime_error(loop: EventThread) -> None:
    async def main() -> None:
        executor = ScarletExecutor(loop=loop)
        coroutine = sleep(0.01)
        await executor.add(coroutine)

    with pytest.raises(RuntimeError, match=r"^ScarletExecutor\.add called on <ScarletExecutor limit = 10, closed>, "):
        loop.run(main(), timeout=5)


@pytest.mark.parametrize(
    ("limit", "error", "message"),
    [
        (2.0, TypeError, r"^ScarletExecutor limit must be an int, got float 2\.0; pass a whole number of at least 1$"),
        (False, TypeError, r"^ScarletExecutor limit must be an int, got bool False; "),
        (0, ValueError, r"^ScarletExecutor limit must be at least 1, got 0; pass a whole number of at least 1$"),
    ],
)
def test_executor_rejects_a_bad_limit(limit: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ScarletExecutor(limit)  # type: ignore[arg-type]
