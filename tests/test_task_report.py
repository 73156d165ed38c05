"""What a `DeadlockError` says (`scarletio.core.task_report`): readable by a person at a glance.

The summary comes first, one line per pending task with its id, its creation site and what it waits
for (a lock and its holder, an event that is not set, another task); the stacks follow without
scarletio's own frames; the error is not shown as caused by the cancellation that delivered it.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from scarletio import AsyncQueue, DeadlockError, Event, EventThread, Future, Lock, sleep
from scarletio.core.task_report import PACKAGE_DIRECTORY


@pytest.fixture
def loop() -> Iterator[EventThread]:
    event_loop = EventThread("virtual", name="reports")
    yield event_loop
    event_loop.stop()
    if event_loop.ident is not None:
        event_loop.join(5)


class Account:
    def __init__(self, loop: EventThread, name: str) -> None:
        self.name = name
        self.lock = Lock(loop)


async def transfer(source: Account, target: Account) -> None:
    async with source.lock:
        await sleep(1.0)
        async with target.lock:
            pass


def deadlock_of(loop: EventThread, main: Coroutine[Any, Any, None]) -> DeadlockError:
    with pytest.raises(DeadlockError) as caught:
        loop.run(main, timeout=10)
    return caught.value


def test_a_lock_cycle_names_each_task_by_id_and_the_holder_of_the_lock_it_waits_for(loop: EventThread) -> None:
    async def main() -> None:
        one, two = Account(loop, "one"), Account(loop, "two")
        first = loop.create_task(transfer(one, two))
        second = loop.create_task(transfer(two, one))
        await first
        await second

    message = str(deadlock_of(loop, main()))
    lines = message.splitlines()
    assert lines[0] == "deadlock: nothing can ever wake the loop at virtual time 1.000000000"
    assert lines[1] == "3 pending tasks:"
    assert re.fullmatch(
        r"  task #1 test_a_lock_cycle_names_each_task_by_id_and_the_holder_of_the_lock_it_waits_for\.<locals>\.main "
        r"\(created at test_task_report\.py:\d+ in deadlock_of\) waits for task #2 transfer",
        lines[2],
    ), lines[2]
    assert re.fullmatch(
        r"  task #2 transfer \(created at test_task_report\.py:\d+ in main\) waits for Lock 'target\.lock', held by task #3 transfer",
        lines[3],
    ), lines[3]
    assert re.fullmatch(
        r"  task #3 transfer \(created at test_task_report\.py:\d+ in main\) waits for Lock 'target\.lock', held by task #2 transfer",
        lines[4],
    ), lines[4]


def test_the_stacks_follow_the_summary_with_source_lines_and_without_library_frames(loop: EventThread) -> None:
    async def main() -> None:
        one, two = Account(loop, "one"), Account(loop, "two")
        first = loop.create_task(transfer(one, two))
        second = loop.create_task(transfer(two, one))
        await first
        await second

    message = str(deadlock_of(loop, main()))
    assert PACKAGE_DIRECTORY not in message
    stacks = message.split("\n\n")[1:]
    assert [stack.splitlines()[0] for stack in stacks] == [
        "task #1 test_the_stacks_follow_the_summary_with_source_lines_and_without_library_frames.<locals>.main:",
        "task #2 transfer:",
        "task #3 transfer:",
    ]
    assert "\n    async with target.lock:\n" in stacks[1]
    assert re.search(r"\(\d+ scarletio frames? hidden\)", stacks[1])


def test_an_event_nobody_sets_is_named_by_its_variable(loop: EventThread) -> None:
    async def main() -> None:
        ready = Event(loop)
        await ready.wait()

    summary = str(deadlock_of(loop, main())).splitlines()[2]
    assert summary.endswith(" waits for Event 'ready', which is not set"), summary


def test_a_queue_and_a_plain_future_are_named_too(loop: EventThread) -> None:
    async def consume(jobs: AsyncQueue[int]) -> None:
        await jobs.result()

    async def main() -> None:
        jobs: AsyncQueue[int] = AsyncQueue(loop)
        loop.create_task(consume(jobs))
        answer: Future[int] = loop.create_future()
        await answer

    summary = str(deadlock_of(loop, main())).splitlines()
    assert summary[2].endswith(" waits for Future 'answer'"), summary[2]
    assert re.search(r"task #2 \S*consume \(created at .*\) waits for AsyncQueue 'jobs'", summary[3]), summary[3]


def test_the_report_is_not_shown_as_caused_by_the_cancellation_that_delivered_it(loop: EventThread) -> None:
    async def main() -> None:
        await Event(loop).wait()

    error = deadlock_of(loop, main())
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_tasks_of_real_loops_have_no_id_and_are_named_by_their_coroutine() -> None:
    from scarletio.core.task_report import task_label, task_origin

    real = EventThread("poll", name="real")
    try:

        async def labelled() -> tuple[str, str]:
            async def child() -> None:
                pass

            task = real.create_task(child())
            await task
            return task_label(task), task_origin(task)

        assert real.run(labelled(), timeout=10) == ("task test_tasks_of_real_loops_have_no_id_and_are_named_by_their_coroutine.<locals>.labelled.<locals>.child", "")
    finally:
        real.stop()
        real.join(5)
