"""The timer heap: ordering, bursts, cancelled entries and compaction, on both real backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scarletio import EventThread, skip_ready_cycle, sleep
from scarletio.core.scheduler import DRAIN_BUDGET

BACKENDS = ("epoll", "poll", "virtual")


@pytest.fixture(params=BACKENDS)
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    event_loop = EventThread(request.param, name=f"timers-{request.param}")
    yield event_loop
    event_loop.stop()
    if event_loop.ident is not None:
        event_loop.join(5)


def test_cancelling_every_timer_compacts_the_heap_and_the_loop_keeps_running(loop: EventThread) -> None:
    async def main() -> int:
        handles = [loop.call_after(100.0, print) for _ in range(600)]
        for handle in handles:
            handle.cancel()
        # Yield past one drain's budget: the next iteration finds a heap of dead timers only, and
        # compacting it to nothing must leave the loop sane.
        for _ in range(DRAIN_BUDGET + 10):
            await skip_ready_cycle()
        return len(loop._timers)

    assert loop.run(main(), timeout=5) == 0


def test_cancelled_sleeps_are_compacted_away(loop: EventThread) -> None:
    async def main() -> int:
        sleepers = [sleep(3600.0) for _ in range(2000)]
        for sleeper in sleepers:
            sleeper.cancel()
        await sleep(0.01)
        return len(loop._timers)

    assert loop.run(main(), timeout=5) < 100


def test_a_burst_of_due_timers_runs_in_deadline_order_with_ties_in_scheduling_order(loop: EventThread) -> None:
    async def main() -> list[int]:
        order: list[int] = []
        base = loop.time() + 0.02
        # 5000 timers, 10 per deadline, scheduled with the deadlines shuffled: all become due together.
        for index in range(5000):
            deadline_slot = (index * 7919) % 500
            loop.call_at(base + deadline_slot * 1e-6, order.append, deadline_slot * 10000 + index)
        await sleep(0.05)
        return order

    order = loop.run(main(), timeout=5)
    assert len(order) == 5000
    assert order == sorted(order)


def test_a_sleep_that_fires_after_being_cancelled_does_nothing(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        sleeper = sleep(0.01)
        sleeper.cancel()
        await sleep(0.03)
        return sleeper.is_cancelled(), loop._timer_cancelled_count >= 0

    assert loop.run(main(), timeout=5) == (True, True)


@pytest.mark.parametrize("size", [10, 1500, 6000])
@pytest.mark.parametrize("due_share", [0.0005, 0.03, 0.07, 0.3, 1.0])  # 6000 x 0.07: the fallback sort
def test_collecting_due_timers_gives_deadline_order_with_ties_first_come_on_every_path(size: int, due_share: float) -> None:
    # White-box: fill an unstarted loop's heap directly, so each of collect_due_timers' paths (all
    # due, a sampled burst, pops with the sort as fallback) meets ties, cancelled entries and a rest.
    import random
    from heapq import heappush

    from scarletio.core.timers import collect_due_timers
    from scarletio.core.handles import TimerHandle

    generator = random.Random(size * 7919 + int(due_share * 10_000))
    loop = EventThread("poll")
    try:
        current = 100.0
        entries = []
        for sequence in range(size):
            if generator.random() < due_share:
                when = current - generator.choice((0.0, 1.0, 2.0, 3.0))  # few values: many ties
            else:
                when = current + generator.choice((0.5, 1.0, 7.0)) + generator.random()
            handle = TimerHandle(when, print, (), loop)
            if generator.random() < 0.1:
                handle.cancel()
            entry = (when, sequence, handle)
            entries.append(entry)
            heappush(loop._timers, entry)
        loop._timer_latest = max(entry[0] for entry in entries)
        collect_due_timers(loop, current)
        expected = sorted((entry for entry in entries if entry[0] <= current), key=lambda entry: (entry[0], entry[1]))
        assert list(loop._ready) == [entry[2] for entry in expected]
        rest = loop._timers
        assert sorted(rest, key=lambda entry: entry[1]) == [entry for entry in entries if entry[0] > current]
        assert all(rest[index] <= rest[child] for index in range(len(rest)) for child in (2 * index + 1, 2 * index + 2) if child < len(rest))
    finally:
        loop.stop()
