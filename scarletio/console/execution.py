"""Running compiled inputs as tasks on the console's event loop, and Ctrl-C while they run.

Part of the console (high level). Every input runs on the loop thread inside a task, so
`get_event_loop()`, `get_current_task()` and the task APIs behave there as in any task; code with
top-level `await` evaluates to a coroutine, which that task awaits. The main thread blocks until the
task is done. Ctrl-C there cancels the task and gives the prompt back.

The loop thread is started with SIGINT blocked, so the kernel always delivers Ctrl-C to the main
thread: a signal landing on the loop thread would not wake the main thread's wait.
"""

from __future__ import annotations

import inspect
import signal
import sys
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from types import CodeType
from typing import final

from ..core.abc import Backend
from ..loop.event_thread import EventThread
from ..core.tasks import Task
from ..loop.toplevel import create_event_loop

__all__ = ("CANCEL_GRACE_SECONDS", "InputRunner", "Outcome", "start_console_loop")

LOOP_NAME = "scarletio-console"
"""The name of the console loop's thread."""

CANCEL_GRACE_SECONDS = 1.0
"""How long Ctrl-C waits for a cancelled input to finish before giving the prompt back anyway."""


@contextmanager
def _sigint_held_back() -> Generator[None, None, None]:
    """Delay SIGINT in the calling thread until the block is left."""
    if sys.platform == "win32":
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_console_loop(backend: Backend) -> EventThread:
    """Create and start the console's event loop, linked to the calling (main) thread.

    Args:
        backend: The backend the loop runs on.

    Returns:
        The running loop; stop and join it when the console ends.
    """
    with _sigint_held_back():  # a new thread inherits the signal mask of the thread starting it
        return create_event_loop(backend, name=LOOP_NAME, start_later=False)


async def _evaluate(code: CodeType, namespace: dict[str, object]) -> None:
    """Run one input's code in the namespace; await it if it has top-level `await`."""
    result = eval(code, namespace)
    if code.co_flags & inspect.CO_COROUTINE:
        await result


@final
@dataclass(frozen=True)
class Outcome:
    """How an input ended.

    Attributes:
        exception: What it raised (including `SystemExit` from `exit()`), or `None`.
        interrupted: Whether Ctrl-C cancelled it.
        still_running: Whether it was still running when the console stopped waiting for it
            after Ctrl-C (it ignores cancellation, or blocks the loop thread).
    """

    exception: BaseException | None = None
    interrupted: bool = False
    still_running: bool = False


@final
class InputRunner:
    """Runs compiled inputs on a loop, one at a time, blocking the calling thread meanwhile.

    Args:
        loop: The loop to run the inputs on.
        namespace: The globals of every input.
    """

    __slots__ = ("loop", "namespace")

    def __init__(self, loop: EventThread, namespace: dict[str, object]) -> None:
        self.loop: EventThread = loop
        self.namespace: dict[str, object] = namespace

    def run(self, code: CodeType) -> Outcome:
        """Run `code` as a task on the loop and wait until it is done or Ctrl-C is pressed.

        Args:
            code: An input compiled for mode "single".

        Returns:
            How the input ended.

        Raises:
            RuntimeError: If the loop is stopped (an input called `stop()` on it).
        """
        task: Task[None] | None = None
        try:
            # Ctrl-C may come at any moment, also while the task is being made: held back until
            # `task` is set, it then cancels the task instead of leaving it running unnoticed.
            with _sigint_held_back():
                task = self.loop.create_task(_evaluate(code, self.namespace))
            task.sync_wrap().wait_for_completion()
        except KeyboardInterrupt:
            if task is None:
                return Outcome(interrupted=True)
            return self._interrupt(task)
        return Outcome(exception=task.get_exception())

    def _interrupt(self, task: Task[None]) -> Outcome:
        """Cancel the task after Ctrl-C and wait a moment for it to finish."""
        finished = False
        try:
            self.loop.call_soon(task.cancel)
        except RuntimeError:  # the loop stopped meanwhile, which cancels every task anyway
            finished = True
        else:
            try:
                finished = task.sync_wrap().wait_for_completion(CANCEL_GRACE_SECONDS)
            except KeyboardInterrupt:
                pass  # Ctrl-C again: stop waiting
        if finished and not task.is_cancelled():
            exception = task.get_exception()  # it caught the cancellation and failed otherwise
            if exception is not None and not isinstance(exception, KeyboardInterrupt):
                return Outcome(exception=exception, interrupted=True)
        return Outcome(interrupted=True, still_running=not finished)
