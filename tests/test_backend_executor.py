"""The thread pool of the real backends: results, bounds, the in-flight count and shutdown."""

from __future__ import annotations

import concurrent.futures
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scarletio.backends._executor import ThreadExecutor

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture
def executor() -> Iterator[ThreadExecutor]:
    executor = ThreadExecutor(max_workers=2)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True)


class Gate:
    """A job that reports when it started and then waits until it is released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.released = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        if not self.released.wait(5.0):
            raise TimeoutError("gate never released")
        return threading.current_thread().name


def wait_until(predicate: Callable[[], bool], timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def add(left: int, right: int) -> int:
    return left + right


def fail(message: str) -> None:
    raise ValueError(message)


def test_submit_resolves_the_future_with_the_result(executor: ThreadExecutor) -> None:
    assert executor.submit(add, 2, 3).result(timeout=5) == 5


def test_exception_of_a_job_is_raised_by_its_future(executor: ThreadExecutor) -> None:
    future = executor.submit(fail, "boom")
    with pytest.raises(ValueError, match=r"^boom$"):
        future.result(timeout=5)


def test_in_flight_counts_running_and_queued_jobs_until_they_finish() -> None:
    executor = ThreadExecutor(max_workers=1)
    try:
        assert executor.in_flight == 0
        running, queued = Gate(), Gate()
        futures = [executor.submit(running), executor.submit(queued)]
        assert running.started.wait(5.0)
        assert executor.in_flight == 2
        running.released.set()
        queued.released.set()
        for future in futures:
            future.result(timeout=5)
        assert wait_until(lambda: executor.in_flight == 0)
    finally:
        executor.shutdown(wait=True)


def test_the_finished_callback_runs_each_time_a_job_stops_counting(executor: ThreadExecutor) -> None:
    counts: list[int] = []
    executor.on_job_finished(lambda: counts.append(executor.in_flight))
    for value in range(3):
        assert executor.submit(pow, 2, value).result(timeout=5) == 2**value
        assert wait_until(lambda: len(counts) == value + 1)
    assert counts == [0, 0, 0]  # called after the count dropped, never before


def test_job_still_counts_as_in_flight_inside_its_done_callback(executor: ThreadExecutor) -> None:
    # The loop's done-callback hands the result to the loop; the count must not drop before that.
    seen: list[int] = []
    gate = Gate()
    future = executor.submit(gate)
    future.add_done_callback(lambda _: seen.append(executor.in_flight))
    gate.released.set()
    future.result(timeout=5)
    assert wait_until(lambda: executor.in_flight == 0)
    assert seen == [1]


def test_pool_runs_at_most_max_workers_jobs_at_once(executor: ThreadExecutor) -> None:
    first, second, third = Gate(), Gate(), Gate()
    futures = [executor.submit(first), executor.submit(second), executor.submit(third)]
    assert first.started.wait(5.0) and second.started.wait(5.0)
    assert not third.started.wait(0.05)
    first.released.set()
    assert third.started.wait(5.0)
    second.released.set()
    third.released.set()
    for future in futures:
        future.result(timeout=5)


def test_idle_worker_is_reused(executor: ThreadExecutor) -> None:
    gate = Gate()
    gate.released.set()
    first_thread = executor.submit(gate).result(timeout=5)
    assert wait_until(lambda: executor.in_flight == 0)
    assert executor.submit(gate).result(timeout=5) == first_thread


def test_workers_are_named_daemon_threads(executor: ThreadExecutor) -> None:
    thread = executor.submit(threading.current_thread).result(timeout=5)
    assert thread.daemon
    assert thread.name.startswith("scarletio-executor-")
    assert thread.name.removeprefix("scarletio-executor-").isdigit()


def test_default_size_follows_the_cpu_count() -> None:
    assert ThreadExecutor().max_workers == min(32, (os.cpu_count() or 1) + 4)
    with pytest.raises(ValueError, match=r"^max_workers must be at least 1, got 0$"):
        ThreadExecutor(max_workers=0)


def test_shutdown_with_wait_joins_the_workers() -> None:
    executor = ThreadExecutor(max_workers=2)
    gate = Gate()
    gate.released.set()
    threads = [executor.submit(threading.current_thread).result(timeout=5) for _ in range(2)]
    executor.submit(gate).result(timeout=5)
    executor.shutdown(wait=True)
    assert threads and not any(thread.is_alive() for thread in threads)
    assert executor.in_flight == 0


def test_submit_after_shutdown_raises_runtime_error() -> None:
    executor = ThreadExecutor()
    executor.shutdown()
    executor.shutdown()  # idempotent
    with pytest.raises(RuntimeError, match=r"^cannot submit a job to an executor that was shut down$"):
        executor.submit(add, 1, 2)


def test_shutdown_cancels_queued_jobs_and_lets_running_ones_finish() -> None:
    executor = ThreadExecutor(max_workers=1)
    running, queued = Gate(), Gate()
    running_future = executor.submit(running)
    queued_future = executor.submit(queued)
    assert running.started.wait(5.0)
    executor.shutdown(wait=False)
    assert queued_future.cancelled()
    assert executor.in_flight == 1
    running.released.set()
    assert running_future.result(timeout=5).startswith("scarletio-executor-")
    executor.shutdown(wait=True)
    assert executor.in_flight == 0
    assert not queued.started.is_set()


def test_job_cancelled_before_it_starts_is_skipped(executor: ThreadExecutor) -> None:
    first, second, skipped = Gate(), Gate(), Gate()
    futures = [executor.submit(first), executor.submit(second)]
    waiting = executor.submit(skipped)
    assert waiting.cancel()
    first.released.set()
    second.released.set()
    for future in futures:
        future.result(timeout=5)
    assert wait_until(lambda: executor.in_flight == 0)
    assert not skipped.started.is_set()
    with pytest.raises(concurrent.futures.CancelledError):
        waiting.result(timeout=0)


def test_workers_of_a_forgotten_executor_leave() -> None:
    executor = ThreadExecutor()
    thread = executor.submit(threading.current_thread).result(timeout=5)
    del executor
    gc.collect()
    thread.join(5.0)
    assert not thread.is_alive()


def test_shutdown_without_wait_does_not_keep_the_interpreter_alive() -> None:
    code = (
        "import threading\n"
        "from scarletio.backends._executor import ThreadExecutor\n"
        "executor = ThreadExecutor()\n"
        "executor.submit(threading.Event().wait)\n"
        "executor.shutdown(wait=False)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, check=True, timeout=10)
