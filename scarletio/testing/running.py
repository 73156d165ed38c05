"""Running a test's coroutine from the test's thread, with every pending task shown when it times out.

Testing layer. `run_with_report` is `loop.run(coroutine, timeout=...)` for tests: when the real-time
limit passes, a watchdog thread first asks the loop for a report of every pending task (what each
waits for, its await stack; see `scarletio.core.task_report`), then cancels the test with a
`TimeoutError` carrying that report, so a hung test says where it hangs. On virtual time most hangs never get
there: a deadlock, a livelock or the virtual-time limit is reported at once by the loop itself.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import traceback
from types import TracebackType
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..core.task_report import describe_tasks, is_library_frame, place_origin
from ..loop.event_thread import EventThread
from .asyncio_mode import in_mode

__all__ = ("REPORT_WAIT_SECONDS", "pending_report", "run_with_report", "without_library_frames")

T = TypeVar("T")

REPORT_WAIT_SECONDS = 1.0
"""How long to wait (real time) for the loop thread to describe its tasks before reading them from outside."""

def _describe(loop: EventThread, headline: str) -> str:
    virtual = loop._virtual
    if virtual is not None:
        return virtual.describe(headline)
    return describe_tasks(loop.get_tasks(), f"{headline} at loop time {loop.time():.6f}", loop.time())


def pending_report(loop: EventThread, headline: str) -> str:
    """Return `headline` with a report of every pending task of `loop`, made on the loop's thread.

    A loop thread that does not answer within `REPORT_WAIT_SECONDS` is stuck inside one step
    (blocking code on the loop thread): the report then shows where it is, and the tasks as seen
    from here.
    """
    outcome: concurrent.futures.Future[str] = concurrent.futures.Future()

    def collect() -> None:
        try:
            outcome.set_result(_describe(loop, headline))
        except BaseException as error:
            outcome.set_exception(error)

    try:
        loop.call_soon(collect)
    except RuntimeError:
        return f"{headline} (the loop is stopped)"
    try:
        return outcome.result(REPORT_WAIT_SECONDS)
    except concurrent.futures.TimeoutError:
        pass
    frame = sys._current_frames().get(loop.ident or 0)
    where = "".join(traceback.format_stack(frame)) if frame is not None else "(unknown)\n"
    return (
        f"{_describe(loop, headline)}\n\n"
        f"the loop thread did not answer within {REPORT_WAIT_SECONDS:g}s: it is blocked inside one step, at\n{where}"
    )


def run_with_report(
    loop: EventThread,
    coroutine: Coroutine[Any, Any, T],
    timeout: float | None,
    *,
    site: Callable[..., object] | None = None,
    on_done: Callable[[], object] | None = None,
    library_frames: bool = False,
) -> T:
    """Run `coroutine` on `loop` and wait for it from this thread, like `loop.run(coroutine, timeout)`.

    Nothing but the coroutine's own task is queued from this thread, and `on_done` runs inside that
    task's last step: the loop makes the same decisions in every run.

    Args:
        loop: A started loop of another thread.
        coroutine: The test's coroutine.
        timeout: Real seconds to wait at most, or `None`.
        site: The function the coroutine comes from: reports say the task was created where it is
            defined (rather than somewhere in pytest).
        on_done: Called on the loop thread, in the task, as the coroutine ends (however it ends).
        library_frames: Keep scarletio's own frames in the traceback of what the coroutine raised
            (they are left out: the test's frames are what its author reads).

    Returns:
        What the coroutine returned.

    Raises:
        TimeoutError: When `timeout` passed; its message lists every pending task (taken before the
            test was cancelled).
        BaseException: Whatever the coroutine raised.
    """
    __tracebackhide__ = True
    body = _body(loop, coroutine, site, on_done)
    watchdog: threading.Timer | None = None
    reports: list[str] = []
    if timeout is not None:
        watchdog = threading.Timer(timeout, _time_out, (loop, body, timeout, reports))
        watchdog.name = "scarletio-watchdog"
        watchdog.daemon = True
        watchdog.start()
    try:
        return loop.run(body)
    except TimeoutError:
        if reports:
            raise TimeoutError(reports[0]) from None
        raise
    except BaseException as error:
        if library_frames:
            raise
        raise error.with_traceback(without_library_frames(error.__traceback__))  # noqa: B904 - the same error
    finally:
        if watchdog is not None:
            watchdog.cancel()


def without_library_frames(chain: TracebackType | None) -> TracebackType | None:
    """Return the traceback `chain` without the entries of scarletio's own code."""
    entries: list[TracebackType] = []
    while chain is not None:
        if not is_library_frame(chain.tb_frame):
            entries.append(chain)
        chain = chain.tb_next
    rebuilt: TracebackType | None = None
    for entry in reversed(entries):
        rebuilt = TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


async def _run_body(
    loop: EventThread, coroutine: Coroutine[Any, Any, T], site: Callable[..., object] | None, on_done: Callable[[], object] | None
) -> T:
    __tracebackhide__ = True
    task = loop.current_task
    if site is not None and task is not None:
        place_origin(task, site)
    try:
        return await in_mode(loop, coroutine)  # an asyncio task in the plugin's asyncio mode
    finally:
        if on_done is not None:
            on_done()


def _body(
    loop: EventThread, coroutine: Coroutine[Any, Any, T], site: Callable[..., object] | None, on_done: Callable[[], object] | None
) -> Coroutine[Any, Any, T]:
    """Wrap `coroutine` for `run_with_report`; the task keeps the coroutine's name."""
    body = _run_body(loop, coroutine, site, on_done)
    for name in ("__name__", "__qualname__"):  # coroutine objects' names are writable
        if hasattr(coroutine, name):
            setattr(body, name, getattr(coroutine, name))
    return body


def _time_out(loop: EventThread, body: Coroutine[Any, Any, object], timeout: float, reports: list[str]) -> None:
    """Describe the pending tasks, then cancel the test's task with that report (on the watchdog)."""
    reports.append(pending_report(loop, f"the test did not finish within {timeout:g} real seconds"))
    error = TimeoutError(reports[0])

    def cancel() -> None:
        for task in loop.get_tasks():
            if task.get_coroutine() is body:
                task.cancel_with(error)

    try:
        loop.call_soon(cancel)
    except RuntimeError:
        pass
