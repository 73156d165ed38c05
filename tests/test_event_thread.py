"""`EventThread`: lifecycle, stopping, scheduling order, cross-thread entry, `run`, errors, executor, fds.

Checklist items 1, 2, 5-8, 10-16 of `seed/reference-behaviour.md`, with the deliberate differences D1
(a stopped loop refuses work), D2/D15 (stop cancels tasks and closes async generators), D4 (FIFO on equal
deadlines), D5 (a bounded drain) and D6 (foreign threads wake the loop). Every test runs on both real
backends through the `loop` fixture unless it builds its own loops.
"""

from __future__ import annotations

import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _fixtures import BACKENDS, LATE, Reports, loop, reports, run  # noqa: F401 - fixtures are used by name

from scarletio import Backend, BackendName, CancelledError, EventMask, Reactor, available_backends, get_backend, get_event_loop
from scarletio import EventThread
from scarletio.core import shutdown
from scarletio.core.futures import Future
from scarletio.core.suspension import skip_poll_cycle, skip_ready_cycle, sleep

REPOSITORY = Path(__file__).resolve().parent.parent


async def answer() -> int:
    return 42


async def set_event(event: threading.Event) -> None:
    event.set()


def make_idle(loop: EventThread) -> None:
    """Start `loop`, let it finish its work and block in the reactor's poll."""
    run(loop, answer())
    time.sleep(0.02)


def stop_and_join(loop: EventThread) -> None:
    loop.stop()
    if loop.ident is not None:
        loop.join(6 * LATE)
    assert not loop.is_alive()


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    reader, writer = socket.socketpair()
    yield reader, writer
    reader.close()
    writer.close()


# ---- lazy start, identity -------------------------------------------------------------------------


def test_new_event_thread_does_not_start_a_thread(loop: EventThread) -> None:
    assert not loop.is_started()
    assert not loop.is_alive()
    assert not loop.is_running()
    assert loop.ident is None


def _start_by_call_soon(loop: EventThread) -> None:
    loop.call_soon(lambda: None)


def _start_by_call_after(loop: EventThread) -> None:
    loop.call_after(10.0, lambda: None)


def _start_by_call_at(loop: EventThread) -> None:
    loop.call_at(loop.time() + 10.0, lambda: None)


def _start_by_create_task(loop: EventThread) -> None:
    loop.create_task(answer())


def _start_by_run(loop: EventThread) -> None:
    assert run(loop, answer()) == 42


def _start_by_wake_up(loop: EventThread) -> None:
    loop.wake_up()


@pytest.mark.parametrize(
    "starter",
    [
        _start_by_call_soon,
        _start_by_call_after,
        _start_by_call_at,
        _start_by_create_task,
        _start_by_run,
        _start_by_wake_up,
    ],
    ids=["call_soon", "call_after", "call_at", "create_task", "run", "wake_up"],
)
def test_first_scheduling_call_starts_the_thread(loop: EventThread, starter: Callable[[EventThread], None]) -> None:
    starter(loop)
    assert loop.is_started()
    assert loop.is_alive()
    assert loop.is_running()


@pytest.mark.parametrize("backend", BACKENDS)
def test_start_later_false_starts_the_thread_at_once(backend: BackendName) -> None:
    loop = EventThread(backend, start_later=False)
    try:
        assert loop.is_alive()
        assert loop.is_running()
    finally:
        stop_and_join(loop)


def test_loop_thread_is_named_thread_n_and_not_daemon_by_default(loop: EventThread) -> None:
    assert re.fullmatch(r"Thread-\d+", loop.name)
    assert not loop.daemon


@pytest.mark.parametrize("backend", BACKENDS)
def test_name_and_daemon_arguments_are_used(backend: BackendName) -> None:
    loop = EventThread(backend, daemon=True, name="worker-loop")
    try:
        assert loop.name == "worker-loop"
        assert loop.daemon
        assert run(loop, answer()) == 42
    finally:
        stop_and_join(loop)


def test_code_inside_a_task_sees_the_loop_as_current_thread_and_event_loop(loop: EventThread) -> None:
    async def main() -> tuple[threading.Thread, EventThread]:
        return threading.current_thread(), get_event_loop()

    thread, found = run(loop, main())
    assert thread is loop
    assert found is loop


def test_repr_shows_name_state_and_backend(loop: EventThread) -> None:
    prefix = f"<EventThread {loop.name}, state = "
    backend = f", backend = {loop.backend.name}, ident = "
    assert repr(loop) == f"{prefix}created{backend}None>"
    run(loop, answer())
    assert repr(loop) == f"{prefix}running{backend}{loop.ident}>"
    stop_and_join(loop)
    assert repr(loop) == f"{prefix}stopped{backend}{loop.ident}>"


def test_get_tasks_lists_the_unfinished_tasks(loop: EventThread) -> None:
    async def sleep_long() -> None:
        await sleep(10)

    async def main() -> tuple[bool, bool]:
        sleeper = loop.create_task(sleep_long())
        finished = loop.create_task(answer())
        await finished
        tasks = loop.get_tasks()
        sleeper.cancel()
        return sleeper in tasks, finished in tasks

    assert run(loop, main()) == (True, False)


def test_get_tasks_lists_them_in_creation_order(loop: EventThread) -> None:
    async def sleep_long() -> None:
        await sleep(10)

    async def main() -> bool:
        created = [loop.create_task(sleep_long()) for _ in range(50)]
        for task in created[::3]:
            task.cancel()
        await sleep(0.001)
        listed = [task for task in loop.get_tasks() if task in created]
        for task in created:
            task.cancel()
        return listed == [task for index, task in enumerate(created) if index % 3]

    assert run(loop, main()) is True


# ---- backend selection --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_is_chosen_by_name(backend: BackendName) -> None:
    loop = EventThread(backend)
    try:
        assert loop.backend.name == backend
        assert run(loop, answer()) == 42
    finally:
        stop_and_join(loop)


def test_backend_is_chosen_by_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "poll")
    loop = EventThread()
    try:
        assert loop.backend.name == "poll"
    finally:
        stop_and_join(loop)


def test_explicit_backend_wins_over_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "poll")
    loop = EventThread("epoll")
    try:
        assert loop.backend.name == "epoll"
    finally:
        stop_and_join(loop)


def test_unknown_backend_name_raises_value_error_listing_the_available_ones() -> None:
    available = re.escape(", ".join(available_backends()))
    with pytest.raises(ValueError, match=rf"^backend 'kqueue' is not available; available: {available}$"):
        EventThread("kqueue")  # type: ignore[arg-type]  # what an untyped caller may pass


def test_unknown_backend_in_environment_raises_value_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "kqueue")
    available = re.escape(", ".join(available_backends()))
    message = rf"^backend 'kqueue' from SCARLETIO_BACKEND is not available; available: {available}$"
    with pytest.raises(ValueError, match=message):
        EventThread()


# ---- a stopped loop refuses work (D1) ------------------------------------------------------------


def stopped_message(loop: EventThread, what: str) -> str:
    name = re.escape(repr(loop.name))
    return rf"^cannot {what}: event loop {name} is stopped; create a new one with create_event_loop\(\)$"


def test_run_after_stop_and_join_raises_runtime_error(loop: EventThread) -> None:
    run(loop, answer())
    stop_and_join(loop)
    coroutine = answer()
    with pytest.raises(RuntimeError, match=stopped_message(loop, "run")):
        loop.run(coroutine, timeout=1)
    coroutine.close()


def test_create_task_after_stop_raises_runtime_error_and_closes_the_coroutine(loop: EventThread) -> None:
    run(loop, answer())
    stop_and_join(loop)
    coroutine = answer()
    with pytest.raises(RuntimeError, match=stopped_message(loop, "create_task")):
        loop.create_task(coroutine)
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED


@pytest.mark.parametrize(
    ("what", "schedule"),
    [
        ("call_soon", lambda loop: loop.call_soon(print)),
        ("call_after", lambda loop: loop.call_after(0.0, print)),
        ("call_at", lambda loop: loop.call_at(loop.time(), print)),
    ],
    ids=["call_soon", "call_after", "call_at"],
)
def test_scheduling_a_callback_after_stop_raises_runtime_error(
    loop: EventThread, what: str, schedule: Callable[[EventThread], object]
) -> None:
    run(loop, answer())
    stop_and_join(loop)
    with pytest.raises(RuntimeError, match=stopped_message(loop, what)):
        schedule(loop)


def test_stopping_a_never_started_loop_leaves_it_unstarted_and_refusing_work(loop: EventThread) -> None:
    loop.stop()
    assert not loop.is_started()
    assert not loop.is_alive()
    assert loop.is_stopped()
    assert loop.is_closed()
    with pytest.raises(RuntimeError, match=stopped_message(loop, "call_soon")):
        loop.call_soon(print)
    assert loop.ident is None


def test_state_queries_follow_the_lifecycle(loop: EventThread) -> None:
    states = [(loop.is_running(), loop.is_stopped(), loop.is_closed(), loop.is_alive())]
    run(loop, answer())
    states.append((loop.is_running(), loop.is_stopped(), loop.is_closed(), loop.is_alive()))
    loop.stop()
    assert loop.is_stopped()
    assert not loop.is_running()
    loop.join(5)
    states.append((loop.is_running(), loop.is_stopped(), loop.is_closed(), loop.is_alive()))
    assert states == [(False, False, False, False), (True, False, False, True), (False, True, True, False)]


def test_stop_is_idempotent(loop: EventThread) -> None:
    run(loop, answer())
    loop.stop()
    loop.stop()
    loop.join(5)
    loop.stop()
    assert not loop.is_alive()


def test_stop_from_inside_a_task_ends_the_loop(loop: EventThread) -> None:
    async def main() -> None:
        loop.stop()
        loop.stop()

    loop.create_task(main())
    loop.join(LATE)
    assert not loop.is_alive()
    assert loop.is_closed()


def test_a_thread_reusing_the_dead_loop_threads_ident_cannot_schedule_on_it(loop: EventThread) -> None:
    # The C library hands a finished thread's identifier to the next thread it starts; such a thread
    # must not pass for the loop thread and get its callbacks queued on a dead loop.
    run(loop, answer())
    stop_and_join(loop)
    outcomes: list[str] = []

    def try_to_schedule() -> None:
        if threading.get_ident() != loop.ident:
            return
        try:
            loop.call_soon(print)
        except RuntimeError:
            outcomes.append("refused")
        else:
            outcomes.append("queued on a dead loop")

    for _ in range(50):
        thread = threading.Thread(target=try_to_schedule)
        thread.start()
        thread.join()
        if outcomes:
            break
    # Whether or not a thread happened to get the old identifier, the loop no longer claims it.
    assert loop._loop_thread_id == 0
    assert outcomes in ([], ["refused"])


# ---- stop() runs pending tasks down (D2, D15) --------------------------------------------------------


def test_stop_cancels_pending_tasks_and_lets_their_cleanup_await(loop: EventThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutdown, "STOP_GRACE_SECONDS", 6 * LATE)  # waiting it out would show
    log: list[str] = []

    async def worker() -> None:
        try:
            await sleep(10)
        except CancelledError:
            log.append("cancelled")
            await sleep(0.02)
            log.append("slept after cancellation")
            raise
        finally:
            log.append("finally")

    async def main() -> Future[None]:
        task = loop.create_task(worker())
        await skip_ready_cycle()
        return task

    task = run(loop, main())
    started = time.monotonic()
    stop_and_join(loop)
    assert log == ["cancelled", "slept after cancellation", "finally"]
    assert task.is_cancelled()
    assert time.monotonic() - started < LATE  # no waiting out the grace period once the tasks are done


def test_stop_from_another_thread_returns_at_once_and_join_waits_for_cleanup(
    loop: EventThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutdown, "STOP_GRACE_SECONDS", 6 * LATE)
    log: list[str] = []
    released = threading.Event()  # the cleanup lasts until the test has looked

    async def worker() -> None:
        try:
            await sleep(10)
        finally:
            while not released.is_set():
                await sleep(0.01)
            log.append("finally")

    async def main() -> None:
        loop.create_task(worker())
        await skip_ready_cycle()

    run(loop, main())
    started = time.monotonic()
    loop.stop()
    assert time.monotonic() - started < LATE
    assert loop.is_alive()
    assert log == []
    released.set()
    loop.join(LATE)
    assert not loop.is_alive()
    assert log == ["finally"]


def test_stop_also_cancels_a_task_created_while_stopping(loop: EventThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutdown, "STOP_GRACE_SECONDS", 6 * LATE)  # waiting it out would show
    log: list[str] = []

    async def late() -> None:
        try:
            await sleep(10)
        except CancelledError:
            log.append("late task cancelled")
            raise

    async def worker() -> None:
        try:
            await sleep(10)
        finally:
            loop.create_task(late())

    async def main() -> None:
        loop.create_task(worker())
        await skip_ready_cycle()

    run(loop, main())
    started = time.monotonic()
    stop_and_join(loop)
    assert log == ["late task cancelled"]
    assert time.monotonic() - started < LATE


def test_stop_closes_an_async_generator_suspended_at_a_yield(loop: EventThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutdown, "STOP_GRACE_SECONDS", 6 * LATE)  # waiting it out would show
    log: list[str] = []
    generators: list[AsyncGenerator[int, None]] = []  # kept alive: only stop() can close it

    async def numbers() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        except GeneratorExit:
            log.append("GeneratorExit")
            raise
        finally:
            log.append("finally")

    async def main() -> int:
        generator = numbers()
        generators.append(generator)
        return await generator.__anext__()

    assert run(loop, main()) == 1
    started = time.monotonic()
    stop_and_join(loop)
    assert log == ["GeneratorExit", "finally"]
    assert time.monotonic() - started < LATE


def test_shutdown_async_generators_closes_open_generators_and_counts_them(loop: EventThread) -> None:
    log: list[str] = []

    async def numbers() -> AsyncGenerator[int, None]:
        try:
            yield 1
        finally:
            log.append("finally")

    async def main() -> tuple[int, int]:
        generator = numbers()
        await generator.__anext__()
        closed = await loop.shutdown_async_generators()
        assert log == ["finally"]  # the coroutine returns once the generator is closed
        again = await loop.shutdown_async_generators()
        del generator
        return closed, again

    assert run(loop, main()) == (1, 0)
    assert log == ["finally"]


def test_stop_shuts_the_executor_threads_down(loop: EventThread) -> None:
    async def main() -> threading.Thread:
        return await loop.run_in_executor(threading.current_thread)

    worker = run(loop, main())
    assert worker.is_alive()
    stop_and_join(loop)
    assert not worker.is_alive()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("backend", BACKENDS)
def test_stop_closes_the_reactor_and_releases_its_file_descriptors(backend: BackendName) -> None:
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_descriptors()
    loop = EventThread(backend)
    run(loop, answer())
    assert open_descriptors() > before
    stop_and_join(loop)
    assert open_descriptors() == before


# ---- scheduling order (D4, D5) --------------------------------------------------------------------


def test_call_soon_callbacks_run_in_fifo_order_from_the_loop_thread(loop: EventThread) -> None:
    async def main() -> list[int]:
        order: list[int] = []
        done: Future[None] = loop.create_future()
        for index in range(50):
            loop.call_soon(order.append, index)
        loop.call_soon(done.set_result_if_pending, None)
        await done
        return order

    assert run(loop, main()) == list(range(50))


def test_call_soon_callbacks_run_in_fifo_order_from_a_foreign_thread(loop: EventThread) -> None:
    order: list[int] = []
    done = threading.Event()
    for index in range(50):
        loop.call_soon(order.append, index)
    loop.call_soon(done.set)
    assert done.wait(LATE)
    assert order == list(range(50))


def test_a_cancelled_handle_does_not_run(loop: EventThread) -> None:
    ran: list[str] = []
    done = threading.Event()
    with loop.enter():  # the loop is paused: nothing can run before the cancellations
        soon = loop.call_soon(ran.append, "soon")
        later = loop.call_after(0.01, ran.append, "later")
        soon.cancel()
        later.cancel()
    assert soon.is_cancelled()
    loop.call_after(0.03, done.set)
    assert done.wait(LATE)
    assert ran == []


def test_timers_with_equal_deadlines_run_in_scheduling_order(loop: EventThread) -> None:
    async def main() -> list[int]:
        order: list[int] = []
        done: Future[None] = loop.create_future()
        when = loop.time() + 0.01
        for index in range(20):
            loop.call_at(when, order.append, index)
        loop.call_at(when, done.set_result_if_pending, None)
        await done
        return order

    assert run(loop, main()) == list(range(20))


def test_timers_run_by_deadline_then_by_scheduling_order(loop: EventThread) -> None:
    async def main() -> list[str]:
        order: list[str] = []
        done: Future[None] = loop.create_future()
        now = loop.time()
        for index in range(5):
            loop.call_at(now + 0.02, order.append, f"late{index}")
            loop.call_at(now + 0.01, order.append, f"early{index}")
        loop.call_after(0.03, done.set_result_if_pending, None)
        await done
        return order

    expected = [f"early{index}" for index in range(5)] + [f"late{index}" for index in range(5)]
    assert run(loop, main()) == expected


def test_a_burst_of_equal_deadline_timers_keeps_scheduling_order(loop: EventThread) -> None:
    # Many timers due at once, with one not due yet, take the loop's bulk path instead of popping one by one.
    async def main() -> list[int]:
        order: list[int] = []
        done: Future[None] = loop.create_future()
        when = loop.time() + 0.01
        far = loop.call_at(when + 60.0, order.append, -1)
        for index in range(300):
            loop.call_at(when, order.append, index)
        loop.call_at(when, done.set_result_if_pending, None)
        await done
        far.cancel()
        return order

    assert run(loop, main()) == list(range(300))


def test_equal_deadline_timers_from_a_foreign_thread_run_in_scheduling_order(loop: EventThread) -> None:
    order: list[int] = []
    done = threading.Event()
    when = loop.time() + 0.02
    for index in range(20):
        loop.call_at(when, order.append, index)
    loop.call_at(when, done.set)
    assert done.wait(LATE)
    assert order == list(range(20))


def test_a_task_yielding_forever_does_not_starve_a_zero_delay_timer(loop: EventThread) -> None:
    async def main() -> int:
        fired: list[bool] = []
        loop.call_after(0.0, fired.append, True)
        spins = 0
        while not fired and spins < 100_000:
            spins += 1
            await skip_ready_cycle()
        return spins

    assert run(loop, main()) < 100_000


def test_a_task_yielding_forever_does_not_starve_a_ready_reader(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, writer = socket_pair

    async def main() -> int:
        received: list[bytes] = []
        writer.send(b"x")
        loop.add_reader(reader, lambda: received.append(reader.recv(16)))
        spins = 0
        while not received and spins < 100_000:
            spins += 1
            await skip_ready_cycle()
        loop.remove_reader(reader)
        return spins

    assert run(loop, main()) < 100_000


# ---- foreign threads wake the loop (D6) --------------------------------------------------------------


def _wake_by_call_soon(loop: EventThread, done: threading.Event) -> None:
    loop.call_soon(done.set)


def _wake_by_call_after(loop: EventThread, done: threading.Event) -> None:
    loop.call_after(0.0, done.set)


def _wake_by_call_at(loop: EventThread, done: threading.Event) -> None:
    loop.call_at(loop.time(), done.set)


def _wake_by_create_task(loop: EventThread, done: threading.Event) -> None:
    loop.create_task(set_event(done))


@pytest.mark.parametrize(
    "schedule",
    [_wake_by_call_soon, _wake_by_call_after, _wake_by_call_at, _wake_by_create_task],
    ids=["call_soon", "call_after", "call_at", "create_task"],
)
def test_scheduling_from_a_foreign_thread_wakes_an_idle_loop_promptly(
    loop: EventThread, schedule: Callable[[EventThread, threading.Event], None]
) -> None:
    make_idle(loop)
    done = threading.Event()
    schedule(loop, done)
    assert done.wait(LATE)


def test_scheduling_from_a_non_main_thread_wakes_an_idle_loop_promptly(loop: EventThread) -> None:
    make_idle(loop)
    done = threading.Event()
    thread = threading.Thread(target=lambda: loop.call_soon(done.set))
    thread.start()
    thread.join()
    assert done.wait(LATE)


# ---- LOOP.run(...) from another thread -------------------------------------------------------------


def test_run_returns_the_coroutine_result(loop: EventThread) -> None:
    assert run(loop, answer()) == 42


def test_run_reraises_the_coroutine_exception_in_the_caller(loop: EventThread) -> None:
    error = ValueError("from the loop")

    async def failing() -> None:
        raise error

    with pytest.raises(ValueError) as caught:
        run(loop, failing())
    assert caught.value is error


def test_run_accepts_a_future_and_an_object_with_await(loop: EventThread) -> None:
    class Awaitable:
        def __await__(self) -> Any:
            return answer().__await__()

    future: Future[str] = loop.create_future()
    loop.call_after(0.01, future.set_result, "later")
    assert loop.run(future, timeout=LATE) == "later"
    assert loop.run(Awaitable(), timeout=LATE) == 42


def test_run_from_the_loop_thread_raises_runtime_error(loop: EventThread) -> None:
    async def main() -> None:
        coroutine = answer()
        try:
            loop.run(coroutine)
        finally:
            coroutine.close()

    with pytest.raises(RuntimeError, match=r"should not be called from itself"):
        run(loop, main())


def test_run_with_a_timeout_cancels_the_task_and_raises_timeout_error_caused_by_cancellation(
    loop: EventThread,
) -> None:
    seen: list[str] = []

    async def slow() -> None:
        try:
            await sleep(10)
        except CancelledError:
            seen.append("cancelled")
            raise

    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        loop.run(slow(), timeout=0.05)
    elapsed = time.monotonic() - started
    assert isinstance(caught.value.__cause__, CancelledError)
    assert seen == ["cancelled"]
    assert 0.05 <= elapsed < LATE  # the task would sleep 10 s
    assert loop.is_running()


class HesitantReactor(Reactor):
    """A real backend's reactor whose `wakeup` from a foreign thread then waits for `resume`.

    It freezes the calling thread right after it queued work and woke the loop, as a preempted thread
    would be, so a race with the loop thread plays out the same way every time.
    """

    def __init__(self, inner: Reactor) -> None:
        self.inner = inner
        self.resume: threading.Event | None = None
        self.loop_thread_id = 0

    def register(self, fd: int, events: EventMask) -> None:
        self.inner.register(fd, events)

    def modify(self, fd: int, events: EventMask) -> None:
        self.inner.modify(fd, events)

    def unregister(self, fd: int) -> None:
        self.inner.unregister(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        self.loop_thread_id = threading.get_ident()
        return self.inner.poll(timeout)

    def wakeup(self) -> None:
        self.inner.wakeup()
        resume = self.resume
        if resume is not None and threading.get_ident() != self.loop_thread_id:
            self.resume = None
            resume.wait(LATE)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_of_a_coroutine_that_stops_the_loop_returns_its_result(backend: BackendName) -> None:
    # The task may finish, and stop the loop, right after `run` queued it: `run` must not need the
    # loop's help afterwards to learn the outcome.
    real = get_backend(backend)
    reactors: list[HesitantReactor] = []

    def make_reactor() -> Reactor:
        reactors.append(HesitantReactor(real.reactor_factory()))
        return reactors[-1]

    hesitant = Backend("hesitant", make_reactor, real.clock_factory, real.executor_factory)
    loop = EventThread(hesitant)
    stopped = threading.Event()

    async def stopping() -> str:
        loop.stop()
        stopped.set()
        return "finished"

    try:
        run(loop, answer())
        reactors[0].resume = stopped
        assert run(loop, stopping()) == "finished"
    finally:
        stop_and_join(loop)


_SIGINT_SCRIPT = """
import os, signal, threading
from scarletio import CancelledError, EventThread, sleep

signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the tests run with SIGINT ignored

LOOP = EventThread()

async def main():
    try:
        await sleep(10)
    except CancelledError:
        print("coroutine saw CancelledError", flush=True)
        raise

threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    LOOP.run(main())
finally:
    LOOP.stop()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_keyboard_interrupt_while_blocked_in_run_cancels_the_task_and_chains_the_cancellation() -> None:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    finished = subprocess.run(  # uninterrupted, the task would sleep 10 s and print nothing
        [sys.executable, "-c", _SIGINT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=6 * LATE,
        cwd=REPOSITORY,
        env=environment,
    )
    assert finished.stdout == "coroutine saw CancelledError\n"
    chain = (
        r"\S*CancelledError\n\n"
        r"The above exception was the direct cause of the following exception:\n\n"
        r"Traceback \(most recent call last\):\n(?:  .*\n)*"
        r"KeyboardInterrupt\n$"
    )
    assert re.search(chain, finished.stderr), finished.stderr
    assert finished.returncode == -signal.SIGINT


# ---- errors in callbacks ---------------------------------------------------------------------------


def test_exception_in_a_callback_is_reported_naming_it_and_the_loop_goes_on(
    loop: EventThread, reports: Reports
) -> None:
    error = ValueError("boom")

    def failing_callback() -> None:
        raise error

    done = threading.Event()
    loop.call_soon(failing_callback)
    loop.call_soon(done.set)
    assert done.wait(LATE)
    assert len(reports) == 1
    message, reported = reports[0]
    assert "failing_callback" in message
    assert reported is error
    assert run(loop, answer()) == 42


@pytest.mark.parametrize("exception_type", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_in_a_callback_are_reported_and_swallowed(
    loop: EventThread, reports: Reports, exception_type: type[BaseException]
) -> None:
    def interrupting_callback() -> None:
        raise exception_type()

    done = threading.Event()
    loop.call_soon(interrupting_callback)
    loop.call_soon(done.set)
    assert done.wait(LATE)
    assert [(("interrupting_callback" in message), type(exception)) for message, exception in reports] == [
        (True, exception_type)
    ]
    assert loop.is_alive()
    assert run(loop, answer()) == 42


# ---- executor --------------------------------------------------------------------------------------


def test_run_in_executor_runs_the_function_with_its_arguments_off_the_loop_thread(loop: EventThread) -> None:
    def multiply(left: int, right: int) -> tuple[threading.Thread, int]:
        return threading.current_thread(), left * right

    async def main() -> tuple[threading.Thread, int]:
        return await loop.run_in_executor(multiply, 6, 7)

    thread, product = run(loop, main())
    assert product == 42
    assert thread is not loop
    assert thread is not threading.current_thread()


def test_run_in_executor_propagates_the_exception(loop: EventThread) -> None:
    error = OSError("disk on fire")

    def failing() -> None:
        raise error

    async def main() -> None:
        await loop.run_in_executor(failing)

    with pytest.raises(OSError) as caught:
        run(loop, main())
    assert caught.value is error


def test_run_in_executor_turns_stop_iteration_into_runtime_error(loop: EventThread) -> None:
    def stopping() -> None:
        raise StopIteration

    async def main() -> None:
        await loop.run_in_executor(stopping)

    with pytest.raises(RuntimeError, match=r"^executor function raised StopIteration\(\)$"):
        run(loop, main())


def test_run_in_executor_off_the_loop_thread_raises_runtime_error(loop: EventThread) -> None:
    message = (
        r"^run_in_executor must be called on the loop thread; from other threads use "
        r"loop\.call_soon_thread_safe\(\.\.\.\) or run the function yourself$"
    )
    with pytest.raises(RuntimeError, match=message):
        loop.run_in_executor(print)
    run(loop, answer())
    with pytest.raises(RuntimeError, match=message):
        loop.run_in_executor(print)


# ---- file descriptors ------------------------------------------------------------------------------


def test_reader_fires_when_data_arrives(loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = socket_pair

    async def main() -> bytes:
        received: Future[bytes] = loop.create_future()
        loop.add_reader(reader, lambda: received.set_result_if_pending(reader.recv(16)))
        try:
            writer.send(b"ping")
            received.apply_timeout(1)
            return await received
        finally:
            loop.remove_reader(reader)

    assert run(loop, main()) == b"ping"


def test_add_reader_replaces_the_previous_reader(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, writer = socket_pair

    async def main() -> tuple[int, bytes]:
        first_calls: list[None] = []
        received: Future[bytes] = loop.create_future()
        loop.add_reader(reader, first_calls.append, None)
        loop.add_reader(reader, lambda: received.set_result_if_pending(reader.recv(16)))
        try:
            writer.send(b"second")
            received.apply_timeout(1)
            data = await received
            return len(first_calls), data
        finally:
            loop.remove_reader(reader)

    assert run(loop, main()) == (0, b"second")


def test_remove_reader_returns_whether_one_was_registered_and_stops_the_calls(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, writer = socket_pair

    async def main() -> tuple[bool, bool, bool, int]:
        calls: list[None] = []
        never = loop.remove_reader(reader)
        loop.add_reader(reader, calls.append, None)
        writer.send(b"unread")  # level-triggered: fires on every poll while unread
        while not calls:
            await skip_poll_cycle()
        removed = loop.remove_reader(reader)
        count = len(calls)
        for _ in range(3):
            await skip_poll_cycle()
        again = loop.remove_reader(reader)
        return never, removed, again, len(calls) - count

    assert run(loop, main()) == (False, True, False, 0)


def test_of_two_readers_ready_in_one_poll_that_remove_each_other_only_one_runs(loop: EventThread) -> None:
    first_pair, second_pair = socket.socketpair(), socket.socketpair()
    try:
        ran: list[str] = []

        def first() -> None:  # readers without arguments run their callback directly (`WatchHandle`)
            ran.append("first")
            first_pair[0].recv(16)
            loop.remove_reader(second_pair[0])

        def second() -> None:
            ran.append("second")
            second_pair[0].recv(16)
            loop.remove_reader(first_pair[0])

        async def main() -> tuple[list[str], bool, bool]:
            first_handle = loop.add_reader(first_pair[0], first)
            second_handle = loop.add_reader(second_pair[0], second)
            assert first_handle.callback is first and not first_handle.is_cancelled()
            first_pair[1].send(b"x")
            second_pair[1].send(b"x")
            while not ran:
                await skip_poll_cycle()
            for _ in range(3):
                await skip_poll_cycle()
            loop.remove_reader(first_pair[0])
            loop.remove_reader(second_pair[0])
            return ran, first_handle.is_cancelled(), second_handle.is_cancelled()

        calls, first_cancelled, second_cancelled = run(loop, main())
        assert calls in (["first"], ["second"])  # both were readable in the same poll; one removed the other
        assert first_cancelled and second_cancelled
    finally:
        for one in (*first_pair, *second_pair):
            one.close()


def test_writer_fires_when_writable_and_removing_it_keeps_the_reader(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, writer = socket_pair

    async def main() -> tuple[bool, int, bytes]:
        writable: list[None] = []
        received: Future[bytes] = loop.create_future()
        loop.add_reader(reader, lambda: received.set_result_if_pending(reader.recv(16)))
        loop.add_writer(reader, writable.append, None)
        try:
            while not writable:
                await skip_poll_cycle()
            removed = loop.remove_writer(reader)
            count = len(writable)
            for _ in range(3):
                await skip_poll_cycle()
            writer.send(b"still read")
            received.apply_timeout(1)
            data = await received
            return removed, len(writable) - count, data
        finally:
            loop.remove_reader(reader)
            loop.remove_writer(reader)

    assert run(loop, main()) == (True, 0, b"still read")


def test_remove_writer_without_a_writer_returns_false(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, _ = socket_pair

    async def main() -> bool:
        return loop.remove_writer(reader)

    assert run(loop, main()) is False


def test_reader_of_a_reused_descriptor_number_fires_for_the_new_socket(loop: EventThread) -> None:
    # The old socket is closed without remove_reader; the kernel drops it from an epoll set by itself,
    # and a new socket gets the same number. The loop must watch the new socket, not trust its table.
    async def main() -> bytes:
        old_reader, old_writer = socket.socketpair()
        number = old_reader.fileno()
        loop.add_reader(old_reader, lambda: None)
        await skip_poll_cycle()
        old_reader.close()
        old_writer.close()
        first, second = socket.socketpair()
        new_reader, new_writer = (first, second) if first.fileno() == number else (second, first)
        try:
            assert new_reader.fileno() == number
            received: Future[bytes] = loop.create_future()
            loop.add_reader(new_reader, lambda: received.set_result_if_pending(new_reader.recv(16)))
            new_writer.send(b"new socket")
            received.apply_timeout(1)
            return await received
        finally:
            loop.remove_reader(new_reader)
            new_reader.close()
            new_writer.close()

    assert run(loop, main()) == b"new socket"


def test_add_reader_from_another_thread_of_a_running_loop_raises_runtime_error(
    loop: EventThread, socket_pair: tuple[socket.socket, socket.socket]
) -> None:
    reader, _ = socket_pair
    run(loop, answer())
    message = (
        r"^add_reader must be called on the loop thread; "
        r"use loop\.call_soon_thread_safe\(loop\.add_reader, \.\.\.\)$"
    )
    with pytest.raises(RuntimeError, match=message):
        loop.add_reader(reader, print)


def test_close_callbacks_run_on_the_loop_thread_in_order_when_it_stops(loop: EventThread, reports: Reports) -> None:
    seen: list[str] = []

    def failing() -> None:
        raise ValueError("close failed")

    loop.add_close_callback(lambda: seen.append(f"first on {threading.current_thread().name}"))
    loop.add_close_callback(failing)
    loop.add_close_callback(lambda: seen.append("second"))
    run(loop, answer())
    stop_and_join(loop)
    assert seen == [f"first on {loop.name}", "second"]
    assert len(reports) == 1
    assert "close callback" in reports[0][0]
