"""Reliability: what a user sees of `LOOP.run` when they press Ctrl-C, or ask `help()` about it.

A KeyboardInterrupt while the main thread waits in `LOOP.run(main())` (or `run(main())`) cancels the
task and re-raises in the caller, with the task's `CancelledError` as its cause. The printed
traceback used to be two chained tracebacks of loop internals (the futures the task passed through,
the wait on a lock inside the scheduler); now the cause shows the user's coroutines, where the task
was, and the interrupt shows the caller's line and the one `run` frame that raised it. pytest runs
tests in the main thread, so a SIGINT sent to it raises a real KeyboardInterrupt there.

`help(EventThread.run)` used to show `threading.Thread.run`'s docstring, because the scheduler's
thread body is also called `run`.
"""

from __future__ import annotations

import inspect
import pydoc
import signal
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from _fixtures import loop  # noqa: F401 - fixtures are used by name

import scarletio
from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.core.suspension import sleep

PACKAGE = str(Path(scarletio.__file__).resolve().parent)


async def handle_request(loop: EventThread) -> None:
    await sleep(3600, loop)


async def serve(loop: EventThread) -> None:
    await handle_request(loop)


def interrupt_soon(loop: EventThread) -> threading.Timer:
    """Interrupt the main thread once the loop runs the task (a real KeyboardInterrupt)."""

    def fire() -> None:
        while not loop.get_tasks():
            threading.Event().wait(0.001)
        main = threading.main_thread().ident
        assert main is not None
        signal.pthread_kill(main, signal.SIGINT)  # Ctrl-C, to the thread Python handles it in

    timer = threading.Timer(0.05, fire)
    timer.start()
    return timer


def frames_of(error: BaseException) -> list[tuple[str, str]]:
    """Return `(file, function)` for every frame of `error`'s traceback, scarletio's files shortened."""
    found: list[tuple[str, str]] = []
    for frame in traceback.extract_tb(error.__traceback__):
        filename = str(Path(frame.filename).resolve())
        short = "scarletio/" + Path(filename).relative_to(PACKAGE).as_posix() if filename.startswith(PACKAGE) else Path(filename).name
        found.append((short, frame.name))
    return found


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param(lambda loop: loop.run(serve(loop), timeout=30), id="LOOP.run"),
        pytest.param(lambda loop: scarletio.run(serve(loop), timeout=30), id="run"),
    ],
)
def test_a_keyboard_interrupt_shows_the_users_frames(loop: EventThread, caller: Callable[[EventThread], object]) -> None:
    scarletio.set_event_loop(loop)  # what `run()` uses, as for a script's `get_or_create_event_loop()`
    timer = interrupt_soon(loop)
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            caller(loop)
    finally:
        timer.cancel()
    interrupt = caught.value
    here = Path(__file__).name
    frames = frames_of(interrupt)
    assert frames[0] == (here, "test_a_keyboard_interrupt_shows_the_users_frames")
    library = [frame for frame in frames if frame[0].startswith("scarletio/")]
    assert len(library) == 1, frames  # the `run` that raised it, nothing of the wait inside
    cause = interrupt.__cause__
    assert isinstance(cause, CancelledError)
    assert frames_of(cause) == [(here, "serve"), (here, "handle_request")]


def test_ctrl_c_that_lands_on_the_loop_thread_still_interrupts_run(loop: EventThread) -> None:
    async def main() -> None:
        # The kernel may hand the SIGINT of Ctrl-C to any thread of the process: here, the loop's.
        loop.call_after(0.01, signal.pthread_kill, threading.get_ident(), signal.SIGINT)
        await sleep(3600, loop)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as caught:
        loop.run(main(), timeout=60)
    # Before, the main thread noticed only when its wait ended for another reason (here: the timeout).
    assert time.monotonic() - started < 20
    assert isinstance(caught.value.__cause__, CancelledError)


def test_help_on_event_thread_run_shows_its_own_docstring_and_signature() -> None:
    text = pydoc.render_doc(EventThread.run, renderer=pydoc.TextDoc())
    assert "Run `awaitable` on the loop and block the calling thread until it finishes." in text
    assert "Method representing the thread's activity" not in text
    assert inspect.getdoc(EventThread.run) == inspect.getdoc(scarletio.EventThread.run)
    assert list(inspect.signature(EventThread.run).parameters) == ["self", "awaitable", "timeout"]


def test_run_still_starts_the_thread_and_runs_work(loop: EventThread) -> None:
    async def answer() -> int:
        return 42

    assert loop.run(answer(), timeout=5) == 42
    assert loop.is_alive()
    with pytest.raises(TypeError, match=r"^EventThread\.run\(\) needs the awaitable to run$"):
        loop.run()  # type: ignore[call-arg]
