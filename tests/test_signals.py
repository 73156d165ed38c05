"""Signals: `add_signal_handler` / `remove_signal_handler` run callbacks on the loop thread.

pytest runs tests in the main thread, which is where Python lets signal handlers be installed. Every
test leaves the process's handlers as it found them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import pytest
from _fixtures import LATE, Reports, loop, reports  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.futures import Future
from scarletio.processes.signals import add_signal_handler, remove_signal_handler

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")



@pytest.fixture
def saved_handlers() -> Iterator[None]:
    """Put SIGUSR1, SIGUSR2 and SIGINT's handlers back after the test, whatever it did."""
    numbers = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT)
    saved = {number: signal.getsignal(number) for number in numbers}
    yield
    for number, handler in saved.items():
        signal.signal(number, signal.SIG_DFL if handler is None else handler)


def record_thread(future: Future[threading.Thread]) -> None:
    future.set_result_if_pending(threading.current_thread())


def in_thread(function: Callable[[], object]) -> BaseException | None:
    """Run `function` in a new thread; return what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(LATE)
    return raised[0] if raised else None


def test_handler_registered_from_the_main_thread_runs_on_the_loop_thread(
    no_leaks: None, saved_handlers: None, loop: EventThread
) -> None:
    handled: Future[threading.Thread] = Future(loop)
    add_signal_handler(loop, signal.SIGUSR1, record_thread, handled)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert loop.run(handled, timeout=LATE) is loop
    finally:
        assert remove_signal_handler(loop, signal.SIGUSR1)


def test_removing_the_last_handler_restores_the_previous_one(saved_handlers: None, loop: EventThread) -> None:
    def previous(number: int, frame: FrameType | None) -> None:
        return None

    signal.signal(signal.SIGUSR1, previous)
    add_signal_handler(loop, signal.SIGUSR1, print)
    assert signal.getsignal(signal.SIGUSR1) is not previous
    assert remove_signal_handler(loop, signal.SIGUSR1) is True
    assert signal.getsignal(signal.SIGUSR1) is previous
    assert remove_signal_handler(loop, signal.SIGUSR1) is False


def test_two_loops_both_handle_the_same_signal(no_leaks: None, saved_handlers: None, loop: EventThread) -> None:
    other = EventThread(loop.backend)
    try:
        first: Future[threading.Thread] = Future(loop)
        second: Future[threading.Thread] = Future(other)
        add_signal_handler(loop, signal.SIGUSR1, record_thread, first)
        add_signal_handler(other, signal.SIGUSR1, record_thread, second)
        os.kill(os.getpid(), signal.SIGUSR1)
        assert loop.run(first, timeout=LATE) is loop
        assert other.run(second, timeout=LATE) is other
        assert remove_signal_handler(loop, signal.SIGUSR1)
        assert remove_signal_handler(other, signal.SIGUSR1)
    finally:
        other.stop()
        other.join(LATE)
    assert signal.getsignal(signal.SIGUSR1) is not None


def test_registering_from_another_thread_while_the_main_thread_is_busy_raises_with_the_recipe(
    saved_handlers: None, loop: EventThread
) -> None:
    before = signal.getsignal(signal.SIGUSR2)
    error = in_thread(lambda: add_signal_handler(loop, signal.SIGUSR2, print))  # the main thread joins, not LOOP.run
    assert isinstance(error, RuntimeError)
    assert str(error) == (
        "the first handler of signal SIGUSR2 needs the main thread, which only Python lets install signal "
        "handlers, and it is not waiting in LOOP.run() now; call add_signal_handler(loop, SIGUSR2, ...) from "
        "the main thread, or from a task while the main thread waits in LOOP.run(main())"
    )
    assert signal.getsignal(signal.SIGUSR2) is before


def test_another_thread_may_register_once_the_main_thread_did(
    no_leaks: None, saved_handlers: None, loop: EventThread
) -> None:
    other = EventThread(loop.backend)
    try:
        first: Future[threading.Thread] = Future(loop)
        second: Future[threading.Thread] = Future(other)
        add_signal_handler(loop, signal.SIGUSR2, record_thread, first)
        assert in_thread(lambda: add_signal_handler(other, signal.SIGUSR2, record_thread, second)) is None
        os.kill(os.getpid(), signal.SIGUSR2)
        assert loop.run(first, timeout=LATE) is loop
        assert other.run(second, timeout=LATE) is other
        assert remove_signal_handler(loop, signal.SIGUSR2)
        assert in_thread(lambda: remove_signal_handler(other, signal.SIGUSR2)) is None
    finally:
        other.stop()
        other.join(LATE)


def test_removal_from_another_thread_passes_the_next_signal_to_the_previous_handler(
    saved_handlers: None, loop: EventThread
) -> None:
    received: list[int] = []

    def previous(number: int, frame: FrameType | None) -> None:
        received.append(number)

    signal.signal(signal.SIGUSR1, previous)
    add_signal_handler(loop, signal.SIGUSR1, print)
    assert in_thread(lambda: remove_signal_handler(loop, signal.SIGUSR1)) is None
    assert signal.getsignal(signal.SIGUSR1) is not previous  # only the main thread may put it back
    os.kill(os.getpid(), signal.SIGUSR1)
    assert received == [signal.SIGUSR1]
    assert signal.getsignal(signal.SIGUSR1) is previous


def test_an_exception_in_a_handler_is_reported_and_the_loop_goes_on(
    saved_handlers: None, loop: EventThread, reports: Reports
) -> None:
    handled: Future[None] = Future(loop)

    def fail() -> None:
        handled.set_result_if_pending(None)
        raise ZeroDivisionError("boom")

    add_signal_handler(loop, signal.SIGUSR1, fail)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        loop.run(handled, timeout=LATE)
        assert loop.run(_yield_once(loop), timeout=LATE) == "alive"
    finally:
        remove_signal_handler(loop, signal.SIGUSR1)
    assert len(reports) == 1
    message, exception = reports[0]
    assert message.startswith("exception in the handler of signal SIGUSR1: ")
    assert isinstance(exception, ZeroDivisionError)


async def _yield_once(loop: EventThread) -> str:
    from scarletio.core.suspension import sleep

    await sleep(0.01, loop)
    return "alive"


def test_handlers_of_other_signals_leave_sigint_alone(saved_handlers: None, loop: EventThread) -> None:
    before = signal.getsignal(signal.SIGINT)
    add_signal_handler(loop, signal.SIGUSR1, print)
    assert signal.getsignal(signal.SIGINT) is before
    remove_signal_handler(loop, signal.SIGUSR1)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("number", [signal.SIGKILL, signal.SIGSTOP, 0, signal.NSIG])
def test_signals_that_cannot_be_caught_are_refused(loop: EventThread, number: int) -> None:
    with pytest.raises(ValueError, match=r"^signal \w+ cannot be caught; pass a catchable signal such as SIGTERM$"):
        add_signal_handler(loop, number, print)


def test_a_loop_stopping_with_a_handler_registered_releases_its_signal_pipe(
    no_leaks: None, saved_handlers: None, loop: EventThread
) -> None:
    add_signal_handler(loop, signal.SIGUSR2, print)
    loop.wake_up()  # started, so the pipe is released on the loop thread as it stops
    loop.stop()
    loop.join(5)
    assert remove_signal_handler(loop, signal.SIGUSR2) is False  # forgotten when the loop closed


def test_a_never_started_loop_releases_its_signal_pipe_when_stopped(no_leaks: None, saved_handlers: None) -> None:
    idle = EventThread(name="never-started")
    add_signal_handler(idle, signal.SIGUSR2, print)
    idle.stop()
    assert remove_signal_handler(idle, signal.SIGUSR2) is False
