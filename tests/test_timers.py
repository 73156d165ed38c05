"""The timer heap: ordering, bursts, cancelled entries and compaction, on both real backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scarletio import EventThread, skip_ready_cycle, sleep
from scarletio.event_thread import DRAIN_BUDGET

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
