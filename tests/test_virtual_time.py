"""The virtual-time backend: exact autojump, real work holding time still, deadlocks, determinism."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from _fixtures import LATE

from scarletio import (
    CancelledError,
    DeadlockError,
    Event,
    EventThread,
    Future,
    LivelockError,
    enter_executor,
    repeat_timeout,
    skip_ready_cycle,
    sleep,
)
from scarletio.backends.virtual import VirtualClock, virtual_backend


@pytest.fixture
def loop() -> Iterator[EventThread]:
    event_loop = EventThread("virtual", name="virtual")
    yield event_loop
    event_loop.stop()
    if event_loop.ident is not None:
        event_loop.join(5)


def run_on(backend_loop: EventThread, function: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 10.0) -> Any:
    return backend_loop.run(function(), timeout=timeout)


# ---- the clock --------------------------------------------------------------------------------------


def test_virtual_clock_counts_whole_nanoseconds_from_a_fixed_epoch() -> None:
    clock = VirtualClock()
    assert clock.now() == 0.0
    clock.advance(0.1)
    clock.advance(0.2)
    assert clock.now_nanoseconds() == 300_000_000
    clock.jump_to(1.5)
    clock.jump_to(1.0)  # never backwards
    assert clock.now_nanoseconds() == 1_500_000_000
    assert clock.resolution == 1e-9


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_virtual_clock_refuses_to_move_backwards_or_without_bound(bad: float) -> None:
    with pytest.raises(ValueError, match="only moves forward by a finite amount"):
        VirtualClock().advance(bad)


# ---- autojump ---------------------------------------------------------------------------------------


def test_an_hour_of_sleep_in_a_hundred_tasks_takes_milliseconds(loop: EventThread) -> None:
    async def nap() -> None:
        await sleep(3600.0)

    async def main() -> float:
        started = loop.time()
        tasks = [loop.create_task(nap()) for _ in range(100)]
        for task in tasks:
            await task
        return loop.time() - started

    wall = time.monotonic()
    advanced = run_on(loop, main)
    assert time.monotonic() - wall < LATE
    assert advanced == pytest.approx(3600.0, abs=1e-6)


def test_sleeps_wake_in_deadline_order_at_exact_virtual_times(loop: EventThread) -> None:
    async def main() -> list[tuple[str, float]]:
        seen: list[tuple[str, float]] = []

        async def sleeper(name: str, delay: float) -> None:
            await sleep(delay)
            seen.append((name, loop.time()))

        tasks = [loop.create_task(sleeper(name, delay)) for name, delay in [("c", 3.0), ("a", 1.0), ("b", 2.0)]]
        for task in tasks:
            await task
        return seen

    assert run_on(loop, main) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]


def test_repeat_timeout_readme_case_fails_at_exactly_eleven_virtual_seconds(loop: EventThread) -> None:
    async def main() -> float:
        after = 2
        try:
            with repeat_timeout(5) as rounds:
                for _ in rounds:
                    await sleep(after)
                    after += 2
        except TimeoutError:
            return loop.time()
        return -1.0

    assert run_on(loop, main) == pytest.approx(11.0, abs=1e-6)


def test_an_executor_job_holds_virtual_time_still(loop: EventThread) -> None:
    async def main() -> tuple[str, float]:
        job = loop.run_in_executor(time.sleep, 0.05)
        job.apply_timeout(300.0)
        await job
        return "finished", loop.time()

    result, at = run_on(loop, main)
    assert result == "finished"
    assert at < 1.0, "virtual time jumped while the job ran"


def test_a_finished_job_never_leaves_the_loop_asleep_before_its_next_timer(loop: EventThread) -> None:
    # The job's result reaches the loop before the executor stops counting the job; a loop that got
    # there first saw work in flight and waited: the executor must wake it when the count drops.
    async def main() -> float:
        await loop.run_in_executor(pow, 2, 10)
        before = loop.time()
        await sleep(0.3)
        return loop.time() - before

    for _ in range(2000):
        assert round(loop.run(main(), timeout=30.0), 9) == 0.3


def test_a_job_that_outlives_its_timeout_in_real_time_is_not_cut_off_by_a_jump(loop: EventThread) -> None:
    async def main() -> list[str]:
        events: list[str] = []

        async def ticker() -> None:
            await sleep(1.0)
            events.append("tick at 1s")

        ticking = loop.create_task(ticker())
        job = loop.run_in_executor(time.sleep, 0.1)
        job.apply_timeout(300.0)
        await job
        events.append("job done")
        await ticking
        return events

    assert run_on(loop, main) == ["job done", "tick at 1s"]


def test_awaiting_inside_enter_executor_lets_virtual_time_run(loop: EventThread) -> None:
    async def main() -> float:
        async with enter_executor():
            await sleep(100.0)
        return loop.time()

    wall = time.monotonic()
    assert run_on(loop, main) == pytest.approx(100.0, abs=1e-6)
    assert time.monotonic() - wall < LATE


def test_a_deadline_between_two_nanoseconds_is_reached_while_a_real_socket_is_watched(loop: EventThread) -> None:
    # While a real descriptor is watched, time flows at real speed up to the deadline; the last bit
    # of the wait is less than a nanosecond, and the clock must still get there.
    reader, writer = socket.socketpair()

    async def main() -> tuple[float, float]:
        loop.add_reader(reader, lambda: None)
        try:
            fired: Future[float] = loop.create_future()
            deadline = 0.3002347584  # not a whole nanosecond, as time() + delay often is
            loop.call_at(deadline, lambda: fired.set_result(loop.time()))
            return deadline, await fired
        finally:
            loop.remove_reader(reader)

    try:
        deadline, fired_at = run_on(loop, main, timeout=30.0)
    finally:
        reader.close()
        writer.close()
    assert abs(fired_at - deadline) <= 0.5e-9
    assert round(fired_at * 1e9) == round(deadline * 1e9)


def test_a_real_socket_peer_answering_from_a_thread_gets_no_false_timeout(loop: EventThread) -> None:
    left, right = socket.socketpair()
    left.setblocking(False)

    def peer() -> None:
        request = right.recv(16)
        time.sleep(0.05)  # real work before answering
        right.sendall(request.upper())

    thread = threading.Thread(target=peer)
    thread.start()

    async def main() -> bytes:
        answer: Future[bytes] = loop.create_future()

        def readable() -> None:
            loop.remove_reader(left)
            answer.set_result(left.recv(16))

        left.send(b"ping")
        loop.add_reader(left, readable)
        answer.apply_timeout(5.0)
        result: bytes = await answer
        return result

    try:
        assert run_on(loop, main) == b"PING"
    finally:
        thread.join()
        left.close()
        right.close()


# ---- deadlock and livelock ----------------------------------------------------------------------------


def test_waiting_on_an_event_nobody_sets_raises_deadlock_naming_the_task(loop: EventThread) -> None:
    async def waits_forever() -> None:
        await Event(loop).wait()

    started = time.monotonic()
    with pytest.raises(DeadlockError) as caught:
        loop.run(waits_forever(), timeout=6 * LATE)
    assert time.monotonic() - started < LATE
    message = str(caught.value)
    assert message.startswith("deadlock: nothing can ever wake the loop at virtual time")
    assert "waits_forever" in message
    assert "test_virtual_time.py" in message


def test_a_deadlock_lists_every_pending_task(loop: EventThread) -> None:
    async def stuck_helper(event: Event) -> None:
        await event.wait()

    async def main() -> None:
        event = Event(loop)
        loop.create_task(stuck_helper(event))
        await event.wait()

    with pytest.raises(DeadlockError) as caught:
        loop.run(main(), timeout=10)
    assert "stuck_helper" in str(caught.value)
    assert "main" in str(caught.value)


def test_a_callback_rearming_itself_at_one_instant_is_reported_as_a_livelock() -> None:
    loop = EventThread(virtual_backend(livelock_iterations=1000), name="livelock")

    def rearm() -> None:
        loop.call_after(0.0, rearm)

    async def main() -> None:
        loop.call_after(0.0, rearm)
        await Event(loop).wait()

    try:
        with pytest.raises(LivelockError, match="^livelock: the loop ran 1000 iterations at one instant"):
            loop.run(main(), timeout=10)
    finally:
        loop.stop()
        loop.join(5)


def test_cancellation_still_reaches_a_task_after_a_deadlock_report(loop: EventThread) -> None:
    async def main() -> str:
        try:
            await Event(loop).wait()
        except CancelledError:
            return "saw the cancellation"
        return "no"

    assert run_on(loop, main) == "saw the cancellation"


# ---- determinism --------------------------------------------------------------------------------------


async def _interleaving() -> None:
    async def worker(name: str, rounds: int) -> None:
        for index in range(rounds):
            await skip_ready_cycle()
            if index % 2:
                await sleep(0.0)

    loop = threading.current_thread()
    assert isinstance(loop, EventThread)
    tasks = [loop.create_task(worker(name, 5)) for name in "abcd"]
    for task in tasks:
        await task


def _trace(seed: int, perturb: bool) -> list[tuple[str, float, str]]:
    loop = EventThread(virtual_backend(seed, perturb=perturb, tracing=True), name="traced")
    try:
        loop.run(_interleaving(), timeout=10)
        return loop.get_trace()
    finally:
        loop.stop()
        loop.join(5)


def test_the_same_program_and_seed_give_identical_traces() -> None:
    first = _trace(7, perturb=True)
    assert first, "nothing was traced"
    assert _trace(7, perturb=True) == first


def test_different_seeds_with_perturbation_give_different_traces() -> None:
    traces = {tuple(_trace(seed, perturb=True)) for seed in range(5)}
    assert len(traces) > 1


def test_without_perturbation_the_order_is_fifo_whatever_the_seed() -> None:
    assert _trace(1, perturb=False) == _trace(2, perturb=False)


def test_the_trace_exports_as_chrome_trace_events() -> None:
    import json

    loop = EventThread(virtual_backend(tracing=True), name="chrome")
    try:

        async def main() -> None:
            await sleep(1.0)

        loop.run(main(), timeout=10)
        document = json.loads(loop.export_chrome_trace())
    finally:
        loop.stop()
        loop.join(5)
    events = document["traceEvents"]
    assert any(event["ph"] == "X" and event["name"] == "task test_the_trace_exports_as_chrome_trace_events.<locals>.main" for event in events)
    assert any(event["ph"] == "i" and event["name"].startswith("jump") for event in events)


def _racy_counter(seed: int) -> int:
    """Two tasks check then act on a shared counter; some interleavings lose an update."""
    loop = EventThread(virtual_backend(seed, perturb=True), name="race")

    async def main() -> int:
        state = {"counter": 0}

        async def increment() -> None:
            seen = state["counter"]
            await skip_ready_cycle()
            state["counter"] = seen + 1

        async def other() -> None:
            await skip_ready_cycle()
            state["counter"] += 1

        first = loop.create_task(increment())
        second = loop.create_task(other())
        await first
        await second
        return state["counter"]

    try:
        result: int = loop.run(main(), timeout=10)
        return result
    finally:
        loop.stop()
        loop.join(5)


def test_a_planted_race_is_found_within_a_hundred_seeds_and_reproduces() -> None:
    failing = next((seed for seed in range(100) if _racy_counter(seed) != 2), None)
    assert failing is not None, "no seed exposed the lost update"
    assert all(_racy_counter(failing) != 2 for _ in range(10))
