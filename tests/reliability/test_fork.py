"""Reliability: `os.fork()` while a loop runs gives the child a fresh loop, and the parent's loop goes on.

After a fork the child's `get_or_create_event_loop()` used to return the parent's loop, which said
`is_running() == True` but had no thread, so `run()` waited forever; the child also shared the
parent's epoll set and wakeup sockets. Pre-fork servers and `multiprocessing` with fork rely on this,
so it is checked for a fork from the main thread, from a task on the loop thread itself, and through
`multiprocessing`, on epoll, poll and virtual time. A child reports back through a pipe and always
leaves with `os._exit`, so it never returns into pytest.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import scarletio
from scarletio import EventThread, get_event_loop, get_or_create_event_loop
from scarletio.core.futures import Future
from scarletio.core.tasks import Task
from scarletio.core.suspension import sleep
from scarletio.processes.signals import add_signal_handler, remove_signal_handler

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork"),
    pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork.*:DeprecationWarning"),
]

CHILD_SECONDS = 20.0
"""How long a child may take to report before the test fails (it is killed then)."""


@pytest.fixture(params=("epoll", "poll", "virtual"))
def parent_loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    """A started loop of the test process, linked to the main thread as a script's loop is."""
    loop = EventThread(request.param)
    scarletio.set_event_loop(loop)
    loop.wake_up()
    yield loop
    loop.stop()
    loop.join(5)
    assert not loop.is_alive()


async def whoami(tag: str) -> str:
    await sleep(0.01)
    return f"{tag} {os.getpid()}"


def reactor_descriptors(loop: EventThread) -> list[int]:
    """The descriptors of `loop`'s reactor: its wakeup socket, and its epoll set on epoll."""
    reactor: Any = loop._reactor
    reactor = getattr(reactor, "_inner", reactor)  # the virtual reactor watches through a poll reactor
    fds = [reactor._wakeup_reader.fileno(), reactor._wakeup_writer.fileno()]
    epoll = getattr(reactor, "_epoll", None)
    if epoll is not None:
        fds.append(epoll.fileno())
    return fds


def start_child(body: Callable[[], dict[str, object]]) -> tuple[int, int]:
    """Fork; the child runs `body` and writes its result as JSON to a pipe. Return `(pid, read end)`."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return from here
        code = 0
        try:
            os.close(read_fd)
            try:
                result = body()
            except BaseException as error:
                result, code = {"child failed": repr(error)}, 1
            os.write(write_fd, json.dumps(result).encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def collect(pid: int, read_fd: int) -> dict[str, object]:
    """Read the child's report and reap it, failing (and killing it) if it takes too long."""
    deadline = time.monotonic() + CHILD_SECONDS
    chunks: list[bytes] = []
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"the child did not report within {CHILD_SECONDS} s")
            readable, _, _ = select.select([read_fd], [], [], remaining)
            if readable:
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    report: dict[str, object] = json.loads(b"".join(chunks) or b"{}")
    assert "child failed" not in report, report
    return report


def check_the_inherited_loop(parent: EventThread, descriptors: list[int]) -> dict[str, object]:
    """In the child: look at the inherited loop, then get and use a fresh one."""
    report: dict[str, object] = {}
    closed = []
    for fd in descriptors:  # before anything opens new descriptors that could reuse the numbers
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    report["reactor descriptors closed"] = closed == descriptors
    report["inherited loop running"] = parent.is_running()
    coroutine = whoami("never")
    try:
        parent.run(coroutine, timeout=5)
    except RuntimeError as error:
        report["inherited loop refuses"] = str(error)
    fresh = get_or_create_event_loop(parent.backend)
    report["fresh loop"] = fresh is not parent
    report["fresh loop found again"] = get_or_create_event_loop() is fresh
    report["fresh loop runs"] = fresh.run(whoami("child"), timeout=5)
    fresh.stop()
    fresh.join(5)
    report["run() works"] = scarletio.run(whoami("top level"), timeout=5)
    return report


def expected_refusal(loop: EventThread) -> str:
    return (
        f"cannot run: event loop {loop.name!r} belongs to the parent process (pid {os.getpid()}) this process "
        "was forked from; get a loop of this process's own with get_or_create_event_loop()"
    )


def test_a_fork_from_the_main_thread_gives_the_child_a_fresh_loop(parent_loop: EventThread) -> None:
    assert parent_loop.run(whoami("parent"), timeout=5).startswith("parent")
    descriptors = reactor_descriptors(parent_loop)
    pid, read_fd = start_child(lambda: check_the_inherited_loop(parent_loop, descriptors))
    # The parent's loop works while the child runs, and after.
    assert parent_loop.run(whoami("parent"), timeout=5) == f"parent {os.getpid()}"
    report = collect(pid, read_fd)
    assert report == {
        "reactor descriptors closed": True,
        "inherited loop running": False,
        "inherited loop refuses": expected_refusal(parent_loop),
        "fresh loop": True,
        "fresh loop found again": True,
        "fresh loop runs": f"child {pid}",
        "run() works": f"top level {pid}",
    }
    assert get_event_loop() is parent_loop
    assert parent_loop.run(whoami("parent"), timeout=5) == f"parent {os.getpid()}"


def test_a_fork_from_a_task_on_the_loop_thread_gives_the_child_a_fresh_loop(parent_loop: EventThread) -> None:
    descriptors = reactor_descriptors(parent_loop)

    def in_the_child() -> dict[str, object]:
        report = check_the_inherited_loop(parent_loop, descriptors)
        try:
            parent_loop.call_soon(print, "never")
        except RuntimeError as error:
            report["call_soon refused"] = "belongs to the parent process" in str(error)
        return report

    async def fork_here() -> tuple[int, int]:
        await sleep(0.001)
        return start_child(in_the_child)

    pid, read_fd = parent_loop.run(fork_here(), timeout=5)
    assert parent_loop.run(whoami("parent"), timeout=5) == f"parent {os.getpid()}"
    report = collect(pid, read_fd)
    assert report["reactor descriptors closed"] is True
    assert report["inherited loop refuses"] == expected_refusal(parent_loop)
    assert report["fresh loop"] is True
    assert report["fresh loop runs"] == f"child {pid}"
    assert report["call_soon refused"] is True
    assert parent_loop.is_running()


def test_the_child_runs_none_of_the_parents_work(parent_loop: EventThread) -> None:
    ran_in: list[int] = []

    async def pending_work() -> None:
        try:
            await sleep(0.2)
            ran_in.append(os.getpid())
        finally:
            ran_in.append(-os.getpid())  # a finally block run twice would show up here

    def in_the_child() -> dict[str, object]:
        time.sleep(0.5)  # the parent's timer is due by now
        return {"ran in child": [pid for pid in ran_in if abs(pid) == os.getpid()]}

    async def start_work() -> Task[None]:
        work = parent_loop.create_task(pending_work())
        await sleep(0.001)
        return work

    work = parent_loop.run(start_work(), timeout=5)
    pid, read_fd = start_child(in_the_child)
    report = collect(pid, read_fd)
    assert report == {"ran in child": []}
    # Waiting on the loop (virtual time moves only while somebody waits on a virtual loop).
    parent_loop.run(work.wait_for_completion(), timeout=5)
    assert ran_in == [os.getpid(), -os.getpid()]  # the parent ran it, once


def test_a_signal_sent_to_the_child_never_reaches_the_parents_handler(parent_loop: EventThread) -> None:
    handled: Future[int] = Future(parent_loop)
    parent_loop.run(_noop(), timeout=5)
    add_signal_handler(parent_loop, signal.SIGUSR1, handled.set_result_if_pending, 1)
    try:

        def in_the_child() -> dict[str, object]:
            os.kill(os.getpid(), signal.SIGUSR1)  # the default action now: the child ends here
            time.sleep(1)
            return {"survived": True}

        pid, read_fd = start_child(in_the_child)
        deadline = time.monotonic() + CHILD_SECONDS
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            assert time.monotonic() < deadline, "the child did not end"
            time.sleep(0.01)
        os.close(read_fd)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGUSR1
        time.sleep(0.05)
        assert not handled.is_done()  # the parent's handler did not run for the child's signal
        os.kill(os.getpid(), signal.SIGUSR1)  # and still runs for the parent's own
        assert parent_loop.run(handled, timeout=5) == 1
    finally:
        remove_signal_handler(parent_loop, signal.SIGUSR1)


async def _noop() -> None:
    return None


_PARENT: list[EventThread] = []


def _multiprocessing_child(queue: Any) -> None:
    fresh = get_or_create_event_loop()
    queue.put([fresh is not _PARENT[0], scarletio.run(whoami("worker"), timeout=5)])
    fresh.stop()


def test_multiprocessing_with_fork_gets_a_working_loop_in_the_worker(parent_loop: EventThread) -> None:
    context = multiprocessing.get_context("fork")
    queue = context.SimpleQueue()
    _PARENT[:] = [parent_loop]
    worker = context.Process(target=_multiprocessing_child, args=(queue,))
    worker.start()
    try:
        worker.join(CHILD_SECONDS)
        assert worker.exitcode == 0
        fresh, answer = queue.get()
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
    assert fresh is True
    assert answer == f"worker {worker.pid}"
    assert parent_loop.run(whoami("parent"), timeout=5) == f"parent {os.getpid()}"
