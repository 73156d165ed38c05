"""The read-run-print loop: prompts, Ctrl-C and Ctrl-D, and what an input's end looks like.

Part of the console (high level). Lines are read with `input()` (so `readline` editing applies when it
is on), collected into inputs by `InputAssembler`, run by `InputRunner`, and their exceptions printed
by `print_input_exception`. Piped input goes through the same path as typed input, so a script fed
on stdin behaves like one pasted into a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import final

from .execution import CANCEL_GRACE_SECONDS, InputRunner
from .inputs import InputAssembler, Submission
from .tracebacks import print_input_exception

__all__ = ("InteractiveConsole", "exit_status")


def exit_status(exit: SystemExit) -> int:
    """Return the process exit status a `SystemExit` asks for, printing a non-numeric message.

    Args:
        exit: The exception, from `exit()`, `quit()` or `sys.exit()`.

    Returns:
        0 for no code, the code if it is an integer, else 1 (the code is printed to stderr).
    """
    code = exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@final
class InteractiveConsole:
    """Reads inputs, runs them on the loop and prints what they raise, until end of input or exit.

    Args:
        runner: Runs each compiled input.
        read: Reads one line after printing the prompt; `input` by default.
    """

    __slots__ = ("_assembler", "_read", "_runner")

    def __init__(self, runner: InputRunner, read: Callable[[str], str] = input) -> None:
        self._runner = runner
        self._read = read
        self._assembler = InputAssembler()

    def prompt(self) -> str:
        """Return the prompt for the next line: `In [N]: `, or `...: ` aligned under it in a block."""
        main = f"In [{self._assembler.count}]: "
        if self._assembler.continuing:
            return "...: ".rjust(len(main))
        return main

    def interact(self, banner: str | None = None) -> int:
        """Run the console until end of input or `exit()`.

        Args:
            banner: Text to print before the first prompt.

        Returns:
            The exit status: 0 at end of input, else what `exit(...)` asked for.
        """
        if banner:
            sys.stdout.write(banner)
            sys.stdout.flush()
        while True:
            try:
                status = self._step()
            except KeyboardInterrupt:
                self._assembler.discard()
                self._write_interrupt()
                continue
            if status is not None:
                return status

    def _step(self) -> int | None:
        """Read one line and run the inputs it completes; return an exit status to end with."""
        line: str | None
        try:
            line = self._read(self.prompt())
        except EOFError:
            line = None
        if line is not None:
            return self._run_all(self._assembler.feed(line))
        # End of input (outside the `except` block: an input's error must not chain the EOFError).
        sys.stdout.write("\n")
        sys.stdout.flush()
        return self._run_all(self._assembler.finish()) or 0

    def _run_all(self, submissions: list[Submission]) -> int | None:
        for submission in submissions:
            status = self._run(submission)
            if status is not None:
                return status
        return None

    def _run(self, submission: Submission) -> int | None:
        """Run one input and show how it ended; return an exit status if the console must end."""
        if submission.code is None:
            assert submission.error is not None
            print_input_exception(submission.error)
            return None
        loop = self._runner.loop
        try:
            if loop.is_stopped():
                raise RuntimeError(f"event loop {loop.name!r} is stopped")
            outcome = self._runner.run(submission.code)
        except RuntimeError as error:
            sys.stderr.write(f"{error}; the console ends, run python -m scarletio to start a new one\n")
            return 1
        sys.stdout.flush()
        exception = outcome.exception
        if isinstance(exception, SystemExit):
            return exit_status(exception)
        if exception is not None:
            print_input_exception(exception)
        if outcome.interrupted:
            self._write_interrupt()
            if outcome.still_running:
                sys.stderr.write(
                    f"the input did not stop within {CANCEL_GRACE_SECONDS} seconds of its cancellation: it "
                    "ignores cancellation or blocks the event loop thread, and goes on in the background\n"
                )
        return None

    @staticmethod
    def _write_interrupt() -> None:
        sys.stdout.flush()
        sys.stderr.write("\nKeyboardInterrupt\n")
        sys.stderr.flush()
