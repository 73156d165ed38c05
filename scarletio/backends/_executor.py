"""The thread pool that runs blocking functions for the real backends.

Backends layer: `ThreadExecutor` implements the `Executor` contract with a bounded pool of daemon
threads fed by a `queue.SimpleQueue`. Besides running jobs it keeps an exact count of the jobs in
flight, which the scheduler reads to decide whether the loop is idle.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar, final

from typing_extensions import TypeVarTuple, Unpack

from ..core.abc import Executor

__all__ = ("ThreadExecutor",)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# Worker names are unique in the process, so a name in a traceback points at one thread.
_worker_numbers = itertools.count()


class _Work(Protocol):
    def run(self) -> None: ...

    def cancel(self) -> None: ...


class _Job(Generic[T, Unpack[Ts]]):
    """One submitted call and the future that receives its outcome."""

    __slots__ = ("args", "function", "future")

    def __init__(
        self,
        future: concurrent.futures.Future[T],
        function: Callable[[Unpack[Ts]], T],
        args: tuple[Unpack[Ts]],
    ) -> None:
        self.future = future
        self.function = function
        self.args = args

    def run(self) -> None:
        future = self.future
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = self.function(*self.args)
        except BaseException as error:
            future.set_exception(error)
            # The traceback keeps this frame alive; it must not keep the future (and so itself) alive.
            del self, future
        else:
            future.set_result(result)

    def cancel(self) -> None:
        self.future.cancel()


_Queue = queue.SimpleQueue[_Work | None]


def _work(jobs: _Queue, executor_ref: weakref.ref[ThreadExecutor]) -> None:
    # `None` in the queue means "leave": each worker puts it back for the next one, so one `None`
    # stops the whole pool (after `shutdown`, or once the executor was garbage collected; jobs queued
    # before that still run, as somebody may hold their futures).
    while True:
        job = jobs.get()
        if job is None:
            jobs.put(None)
            return
        job.run()
        del job
        executor = executor_ref()
        if executor is not None:
            executor._job_finished()
            del executor


@final
class ThreadExecutor(Executor):
    """A bounded pool of daemon worker threads named `scarletio-executor-N`.

    Workers start lazily, one per submitted job while no worker is idle, up to `max_workers`, and are
    reused afterwards. They are daemon threads: after `shutdown(wait=False)` a job that is still
    running does not keep the interpreter from exiting.

    `in_flight` counts jobs that were submitted and are not finished: queued, running, or cancelled
    but not yet dropped. A job is counted as finished only *after* its future is resolved and the
    future's done-callbacks have returned (callbacks run in the worker thread). So a thread woken by
    `result()` may still see the job counted for a moment, but nobody ever sees `in_flight` drop
    before the callbacks ran. That order is what makes an idle check exact: the loop's done-callback
    publishes the result to the loop before the count drops, so a scheduler that reads `in_flight`
    first and its cross-thread queue second never finds both empty while a result is on its way.

    Args:
        max_workers: The most threads the pool runs at once; by default
            `min(32, os.cpu_count() + 4)`.

    Raises:
        ValueError: If `max_workers` is smaller than 1.
    """

    # No __slots__: one pool per loop, and the weak reference below needs `__weakref__`.

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        elif max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers!r}")
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._jobs: _Queue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        # Workers that finished a job and have not been promised to a newer submission yet.
        self._idle = 0
        self._shut_down = False
        self._finished_callback: Callable[[], object] | None = None
        jobs = self._jobs
        # Workers hold only this weak reference, so a forgotten executor is collected and its
        # workers are told to leave.
        self._self_ref = weakref.ref(self, lambda _: jobs.put(None))

    @property
    def max_workers(self) -> int:
        """The most worker threads this pool runs at once."""
        return self._max_workers

    @property
    def in_flight(self) -> int:
        """How many submitted jobs have not finished yet (see the class docstring for the exact moment)."""
        return self._in_flight

    def submit(self, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> concurrent.futures.Future[T]:
        """Run `function(*args)` on a worker thread.

        Args:
            function: The blocking function.
            *args: Its positional arguments.

        Returns:
            A future resolved with the function's result or exception.

        Raises:
            RuntimeError: If the executor was shut down.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        job = _Job(future, function, args)
        with self._lock:
            if self._shut_down:
                raise RuntimeError("cannot submit a job to an executor that was shut down")
            self._in_flight += 1
            self._jobs.put(job)
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self._max_workers:
                self._start_worker()
        return future

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=_work,
            args=(self._jobs, self._self_ref),
            name=f"scarletio-executor-{next(_worker_numbers)}",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    def on_job_finished(self, callback: Callable[[], object]) -> None:
        """Call `callback()` each time a job stops counting in `in_flight` (see `Executor`).

        Args:
            callback: A thread-safe function; replaces an earlier one.
        """
        self._finished_callback = callback

    def _job_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._idle += 1
        callback = self._finished_callback
        if callback is not None:
            callback()

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new jobs, cancel queued ones and stop the workers; idempotent.

        Jobs already running are not interrupted. Cancelled jobs stop counting in `in_flight` after
        their futures' done-callbacks ran.

        Args:
            wait: Whether to wait for running jobs to finish and the workers to exit.
        """
        dropped: list[_Work] = []
        with self._lock:
            if not self._shut_down:
                self._shut_down = True
                while True:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is not None:
                        dropped.append(job)
                self._jobs.put(None)
            threads = tuple(self._threads)
        # Callbacks run outside the lock: they may call back into this executor.
        for job in dropped:
            job.cancel()
        if dropped:
            with self._lock:
                self._in_flight -= len(dropped)
            callback = self._finished_callback
            if callback is not None:
                callback()
        if wait:
            current = threading.current_thread()
            for thread in threads:
                if thread is not current:
                    thread.join()
