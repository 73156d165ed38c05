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
    TimeLimitError,
    enter_executor,
    repeat_timeout,
    skip_ready_cycle,
    sleep,
)
from scarletio.backends.virtual import VirtualClock, VirtualReactor, virtual_backend
from scarletio.core.abc import EventMask
from scarletio.core.virtual_trace import TraceEvent


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


# ---- standstill: time moves only while someone waits --------------------------------------------------


async def _tick_forever(ticks: list[float]) -> None:
    loop = threading.current_thread()
    assert isinstance(loop, EventThread)
    while True:
        await sleep(1.0)
        ticks.append(loop.time())


def test_time_stands_still_between_two_runs_while_nobody_waits(loop: EventThread) -> None:
    ticks: list[float] = []

    async def start() -> None:
        loop.create_task(_tick_forever(ticks))
        await sleep(2.5)

    loop.run(start(), timeout=10)
    after_first = loop.time()
    time.sleep(0.05)  # a background ticker would burn through thousands of virtual seconds here
    assert loop.time() == after_first == 2.5
    assert ticks == [1.0, 2.0]
    loop.run(sleep(1.0, loop), timeout=10)
    assert loop.time() == 3.5
    assert ticks == [1.0, 2.0, 3.0]


def test_a_wait_from_a_plain_thread_lets_time_move_and_nothing_else_does(loop: EventThread) -> None:
    async def nap() -> None:
        await sleep(60.0)

    task = loop.create_task_thread_safe(nap())
    time.sleep(0.05)
    assert not task.is_done() and loop.time() == 0.0
    task.sync_wrap().wait(10)
    assert loop.time() == 60.0


def test_a_watched_real_descriptor_does_not_move_a_clock_nobody_waits_on(loop: EventThread) -> None:
    reader, writer = socket.socketpair()

    async def watch() -> None:
        loop.add_reader(reader, lambda: None)
        loop.call_after(5.0, lambda: None)

    try:
        loop.run(watch(), timeout=10)
        time.sleep(0.1)
        assert loop.time() == 0.0
    finally:
        loop.call_soon(loop.remove_reader, reader)
        loop.run(sleep(0, loop), timeout=10)
        reader.close()
        writer.close()


def _stepwise_trace(seed: int) -> list[TraceEvent]:
    loop = EventThread(virtual_backend(seed, tracing=True), name="stepwise")
    ticks: list[float] = []
    try:

        async def start() -> None:
            loop.create_task(_tick_forever(ticks))
            await sleep(10.0)

        loop.run(start(), timeout=10)
        time.sleep(0.05)
        loop.run(sleep(5.0, loop), timeout=10)
        time.sleep(0.05)
        return loop.get_trace()
    finally:
        loop.stop()
        loop.join(5)


def test_runs_driven_in_steps_leave_identical_traces_to_their_very_end() -> None:
    first = _stepwise_trace(4)
    assert first[-1].time == 15.0
    assert _stepwise_trace(4) == first


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
    loop = EventThread(virtual_backend(livelock_steps=1000, livelock_seconds=0.0), name="livelock")

    def rearm() -> None:
        loop.call_after(0.0, rearm)

    async def main() -> None:
        loop.call_after(0.0, rearm)
        await Event(loop).wait()

    try:
        with pytest.raises(LivelockError, match=r"^livelock: the loop ran \d+ steps in [\d.]+s of real time at one virtual instant") as caught:
            loop.run(main(), timeout=10)
    finally:
        loop.stop()
        loop.join(5)
    assert "call test_a_callback_rearming_itself_at_one_instant_is_reported_as_a_livelock.<locals>.rearm" in str(caught.value)


def test_a_sleep_zero_spinner_is_reported_within_seconds_naming_the_task_and_its_line(loop: EventThread) -> None:
    # The default thresholds: about a second of real time spent working at one virtual instant,
    # while a deadline (the setter's) waits for the clock the spinner keeps from moving.
    async def spin(flag: list[bool]) -> None:
        while not flag:
            await sleep(0)  # an already resolved future: the task never yields to the clock
            await skip_ready_cycle()

    async def set_later(flag: list[bool]) -> None:
        await sleep(1.0)
        flag.append(True)

    async def main() -> None:
        flag: list[bool] = []
        loop.create_task(set_later(flag))
        await loop.create_task(spin(flag))

    started = time.monotonic()
    with pytest.raises(LivelockError) as caught:
        loop.run(main(), timeout=60)
    assert time.monotonic() - started < 10.0
    message = str(caught.value)
    assert message.startswith("livelock: the loop ran ")
    assert "task #3 test_a_sleep_zero_spinner_is_reported_within_seconds_naming_the_task_and_its_line.<locals>.spin: " in message
    assert "await skip_ready_cycle()" in message or "await sleep(0)" in message  # its line, from the stack
    assert "set_later (created at test_virtual_time.py:" in message


def test_long_work_at_one_instant_with_no_deadline_waiting_is_no_livelock() -> None:
    loop = EventThread(virtual_backend(livelock_steps=1000, livelock_seconds=0.0), name="busy")

    async def main() -> int:
        for _ in range(20_000):
            await skip_ready_cycle()
        return 1

    try:
        for _ in range(3):  # and work is counted per wait: runs at one instant do not add up
            assert loop.run(main(), timeout=60) == 1
    finally:
        loop.stop()
        loop.join(5)


def test_spinning_while_an_executor_job_runs_is_no_livelock() -> None:
    loop = EventThread(virtual_backend(livelock_steps=1000, livelock_seconds=0.0), name="busy")

    async def main() -> int:
        job = loop.run_in_executor(time.sleep, 0.2)
        loop.call_after(10.0, lambda: None)  # a deadline waits meanwhile
        spins = 0
        while not job.is_done():
            await skip_ready_cycle()
            spins += 1
        return spins

    try:
        assert loop.run(main(), timeout=60) > 1000
    finally:
        loop.stop()
        loop.join(5)


def test_much_work_at_one_instant_that_ends_is_no_livelock(loop: EventThread) -> None:
    async def main() -> int:
        done = 0
        for _ in range(100_000):
            await skip_ready_cycle()
            done += 1
        return done

    assert run_on(loop, main, timeout=60) == 100_000
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
                await sleep(0.25 * (ord(name) - 96))

    loop = threading.current_thread()
    assert isinstance(loop, EventThread)
    tasks = [loop.create_task(worker(name, 5)) for name in "abcd"]
    for task in tasks:
        await task


def _on_fresh_loop(function: Callable[[EventThread], Coroutine[Any, Any, Any]], seed: int, perturb: bool, **settings: Any) -> Any:
    loop = EventThread(virtual_backend(seed, perturb=perturb, **settings), name="fresh")
    try:
        return loop.run(function(loop), timeout=10)
    finally:
        loop.stop()
        loop.join(5)


def _trace(seed: int, perturb: bool) -> list[TraceEvent]:
    async def traced(loop: EventThread) -> list[TraceEvent]:
        await _interleaving()
        return loop.get_trace()

    result: list[TraceEvent] = _on_fresh_loop(traced, seed, perturb, tracing=True)
    return result


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
    assert any(event["ph"] == "X" and event["name"] == "task #1 test_the_trace_exports_as_chrome_trace_events.<locals>.main" for event in events)
    assert any(event["ph"] == "i" and event["name"].startswith("jump") for event in events)


# ---- perturbation: only what a real loop leaves open ----------------------------------------------------


async def _alternation(loop: EventThread) -> str:
    order: list[str] = []

    async def player(name: str) -> None:
        for _ in range(4):
            order.append(name)
            await skip_ready_cycle()

    first = loop.create_task(player("A"))
    second = loop.create_task(player("B"))
    await first
    await second
    return "".join(order)


def test_perturbation_keeps_the_round_robin_skip_ready_cycle_promises() -> None:
    orders = {_on_fresh_loop(_alternation, seed, True) for seed in range(200)}
    assert orders == {"ABABABAB"}


async def _timer_order(loop: EventThread) -> list[int]:
    fired: list[int] = []
    for index in range(5):
        loop.call_at(3.0, fired.append, index)  # equal deadlines
    loop.call_at(2.0, fired.append, -1)  # an earlier deadline, scheduled later
    await sleep(5.0)
    return fired


def test_perturbation_keeps_timers_in_deadline_order_and_ties_in_scheduling_order() -> None:
    for seed in range(50):
        assert _on_fresh_loop(_timer_order, seed, True) == [-1, 0, 1, 2, 3, 4]


async def _wake_times(loop: EventThread) -> list[float]:
    times: list[float] = []
    for delay in (1.0, 0.5, 2.0, 0.001):
        before = loop.time()
        await sleep(delay)
        times.append(loop.time() - before - delay)
    return times


def test_with_perturbation_a_wakeup_is_never_early_and_at_most_lateness_late() -> None:
    latenesses = [late for seed in range(30) for late in _on_fresh_loop(_wake_times, seed, True, lateness=0.01)]
    assert all(-0.5e-9 <= late <= 0.01 + 1e-9 for late in latenesses), latenesses
    assert len({round(late, 9) for late in latenesses}) > 10  # really drawn, not always the same
    assert [round(late, 9) for late in _on_fresh_loop(_wake_times, 3, False, lateness=0.01)] == [0.0, 0.0, 0.0, 0.0]


async def _near_tie(loop: EventThread) -> str:
    """Two events 100 microseconds apart: which comes first depends on how late the first wakeup was."""
    order: list[str] = []

    async def chained() -> None:
        await sleep(0.5)
        await sleep(0.4999)  # due at 0.9999, unless the wakeup at 0.5 was late
        order.append("chained")

    async def single() -> None:
        await sleep(1.0)
        order.append("single")

    first = loop.create_task(chained())
    second = loop.create_task(single())
    await first
    await second
    return " then ".join(order)


def test_perturbation_makes_a_timing_race_reachable_and_its_seed_reproduces_it() -> None:
    assert {_on_fresh_loop(_near_tie, seed, False) for seed in range(20)} == {"chained then single"}
    outcomes = {seed: _on_fresh_loop(_near_tie, seed, True) for seed in range(20)}
    flipped = [seed for seed, order in outcomes.items() if order == "single then chained"]
    assert flipped, outcomes
    assert all(_on_fresh_loop(_near_tie, flipped[0], True) == "single then chained" for _ in range(5))


# ---- time limit, and timeouts the loop could not foresee -------------------------------------------------


def test_a_runaway_heartbeat_ends_at_the_time_limit_with_every_task_listed() -> None:
    loop = EventThread(virtual_backend(time_limit=86400.0), name="limited")

    async def heartbeat() -> None:
        while True:
            await sleep(10.0)

    async def main() -> None:
        loop.create_task(heartbeat())
        await Event(loop).wait()  # nobody will ever set it

    started = time.monotonic()
    try:
        with pytest.raises(TimeLimitError) as caught:
            loop.run(main(), timeout=60)
    finally:
        loop.stop()
        loop.join(5)
    assert time.monotonic() - started < 30.0
    message = str(caught.value)
    assert message.startswith(
        "time limit: the loop was about to pass its virtual-time limit of 86400.000000000s "
        "(next deadline 86410.000000000) at virtual time 86400.000000000\n"
    ), message
    assert "waits for <Event set = False, waiting = 1>, which is not set" in message
    assert "heartbeat (created at test_virtual_time.py:" in message
    assert "sleeps until virtual time 86410.000000000" in message


def test_a_timeout_after_an_idle_jump_names_a_running_plain_thread_and_the_way_out(loop: EventThread) -> None:
    release = threading.Event()

    async def main() -> str:
        answer: Future[int] = loop.create_future()

        def late_caller() -> None:
            release.wait(5)

        thread = threading.Thread(target=late_caller, name="late caller")
        thread.start()
        try:
            answer.apply_timeout(5.0)
            await answer
        except TimeoutError as error:
            return str(error)
        finally:
            release.set()
            thread.join()
        return "no timeout"

    message = run_on(loop, main)
    assert message.startswith("timed out at virtual time 5.000000000: the loop was idle since 0.000000000 with no known outside work"), message
    assert "thread(s) 'late caller' ran" in message
    assert "loop.run_in_executor() or inside enter_executor()" in message


def test_a_timeout_with_no_thread_around_keeps_its_plain_error(loop: EventThread) -> None:
    async def main() -> str:
        answer: Future[int] = loop.create_future()
        answer.apply_timeout(5.0)
        try:
            await answer
        except TimeoutError as error:
            return repr(error)
        return "no timeout"

    assert run_on(loop, main) == "TimeoutError()"


def _ready_order(reactor: VirtualReactor) -> list[int]:
    try:
        descriptors = [reactor.allocate() for _ in range(6)]
        for fd in descriptors:
            reactor.register(fd, EventMask.READ)
            reactor.set_readiness(fd, int(EventMask.READ))
        return [descriptors.index(fd) for fd, _ in reactor.poll(0.0)]
    finally:
        reactor.close()


def test_descriptors_ready_at_once_come_in_allocation_order_or_in_an_order_drawn_from_the_seed() -> None:
    assert _ready_order(VirtualReactor()) == [0, 1, 2, 3, 4, 5]
    drawn = {tuple(_ready_order(VirtualReactor(order_seed=seed))) for seed in range(10)}
    assert len(drawn) > 5 and all(sorted(order) == [0, 1, 2, 3, 4, 5] for order in drawn)
    assert _ready_order(VirtualReactor(order_seed=3)) == _ready_order(VirtualReactor(order_seed=3))
