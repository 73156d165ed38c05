"""The interactive console, `python -m scarletio`, driven as a user drives it.

Section 1 and row D16 of `seed/reference-behaviour.md`. Most tests run the console in a subprocess,
through a pipe (a script fed on stdin must behave like one pasted into a terminal) or through a
pseudo-terminal (prompts, Ctrl-C and Ctrl-D as the terminal driver delivers them). Reads from the
terminal have deadlines, so a console that hangs fails its test instead of stalling the suite.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _fixtures import LATE

import scarletio
from scarletio.console.inputs import InputAssembler

COMMAND = [sys.executable, "-m", "scarletio"]

PIPE_TIMEOUT = 10.0
"""Seconds a piped console run may take at most."""


def console_environment(home: Path | None = None) -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("SCARLETIO_BACKEND", None)
    environment.pop("PYTHONSTARTUP", None)
    environment["PYTHONIOENCODING"] = "utf-8"
    if home is not None:
        environment["HOME"] = str(home)  # where the console keeps its history file
        environment["TERM"] = "dumb"
    return environment


def run_piped(
    script: str, *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console with `script` on its stdin and return what it printed."""
    return subprocess.run(
        [*COMMAND, *arguments],
        input=script,
        capture_output=True,
        text=True,
        timeout=PIPE_TIMEOUT,
        env=console_environment() if environment is None else environment,
    )


def run_quiet(script: str) -> subprocess.CompletedProcess[str]:
    """Run the console without its banner; checks it ended with status 0."""
    completed = run_piped(script, "--no-banner")
    assert completed.returncode == 0, completed.stderr
    return completed


# ---- the banner ---------------------------------------------------------------------------------


def test_piped_console_prints_the_banner_version_and_intro_before_the_first_prompt() -> None:
    completed = run_piped("")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.split("\n")
    intro = lines.index(f"Scarletio interactive console {sys.version.replace(chr(10), '')} on {sys.platform}.")
    art = lines[: intro - 2]
    version = lines[intro - 2]
    assert len(art) >= 4, lines
    assert all(line.strip() for line in art), art
    assert version.strip() == scarletio.__version__
    assert len(version) == max(len(line) for line in art), "the version is right-aligned under the art"
    assert lines[intro - 1] == ""
    assert lines[intro + 1] == 'Use "await" directly.'
    assert lines[intro + 2] == 'Type "help", "copyright", "credits" or "license" for more information.'
    assert lines[intro + 3 :] == ["In [0]: ", ""]
    assert completed.stderr == ""


def test_no_banner_starts_at_the_first_prompt() -> None:
    assert run_quiet("").stdout == "In [0]: \n"


# ---- inputs through a pipe ----------------------------------------------------------------------


def test_await_prints_nothing_and_an_expression_echoes_its_value() -> None:
    completed = run_quiet("await sleep(0.1)\n1 + 1\n")
    assert completed.stdout == "In [0]: In [1]: 2\nIn [2]: \n"
    assert completed.stderr == ""


def test_readme_transcript_defines_a_coroutine_function_and_awaits_it() -> None:
    script = (
        "async def main():\n"
        "    print('hello')\n"
        "    await sleep(0.1)\n"
        "    print('world')\n"
        "\n"
        "main()\n"
        "await main()\n"
    )
    completed = run_quiet(script)
    assert re.fullmatch(
        r"In \[0\]: (   \.\.\.: ){4}In \[1\]: <coroutine object main at 0x[0-9a-f]+>\n"
        r"In \[2\]: hello\nworld\nIn \[3\]: \n",
        completed.stdout,
    ), completed.stdout


def test_piped_blocks_run_at_an_empty_line_or_at_the_next_unindented_statement() -> None:
    script = (
        "async def total(count):\n"
        "    result = 0\n"
        "    for index in range(count):\n"
        "        await sleep(0)\n"
        "        result += index\n"
        "    return result\n"
        "\n"
        "await total(5)\n"
        "for index in range(3):\n"
        "    print(index * 10)\n"
        "print('after')\n"
        "if total:\n"
        "    print('yes')\n"
        "else:\n"
        "    print('no')\n"
    )
    completed = run_quiet(script)
    outputs = re.sub(r"(In \[\d+\]|   \.\.\.): ", "", completed.stdout)
    assert outputs == "10\n0\n10\n20\nafter\n\nyes\n", completed.stdout
    assert completed.stderr == ""


def test_a_syntax_error_inside_a_block_is_reported_where_it_is() -> None:
    completed = run_quiet("def broken():\n    x = = 1\n\n2 + 2\n")
    assert 'File "<In [0]>", line 2' in completed.stderr
    assert "SyntaxError: invalid syntax" in completed.stderr
    assert "Traceback" not in completed.stderr, "a syntax error has no frames to show"
    assert completed.stdout.endswith("4\nIn [2]: \n")


def test_end_of_input_runs_an_unfinished_block() -> None:
    completed = run_quiet("for index in range(2):\n    print(index)")
    assert completed.stdout == "In [0]:    ...:    ...: \n0\n1\n"


def test_a_traceback_shows_the_users_frames_and_not_the_consoles() -> None:
    script = "def fail():\n    raise ValueError('boom')\n\n1/0\nfail()\n3 * 3\n"
    completed = run_quiet(script)
    assert "ZeroDivisionError: division by zero" in completed.stderr
    assert 'File "<In [1]>", line 1, in <module>\n    1/0' in completed.stderr
    assert 'File "<In [0]>", line 2, in fail\n    raise ValueError(\'boom\')' in completed.stderr
    assert "ValueError: boom" in completed.stderr
    package = os.path.dirname(scarletio.__file__)
    assert package not in completed.stderr, "no frame of scarletio itself is on the way to user code"
    assert "console" not in completed.stderr
    assert completed.stdout.endswith("9\nIn [4]: \n")


def test_inputs_run_on_the_loop_thread_inside_a_task() -> None:
    script = (
        "import threading\n"
        "threading.current_thread().name\n"
        "threading.current_thread() is get_event_loop()\n"
        "get_current_task() is not None\n"
        "scarletio.sleep is sleep\n"
    )
    completed = run_quiet(script)
    assert completed.stdout == (
        "In [0]: In [1]: 'scarletio-console'\nIn [2]: True\nIn [3]: True\nIn [4]: True\nIn [5]: \n"
    )


def test_exit_ends_the_console_with_its_status_and_runs_nothing_after_it() -> None:
    completed = run_piped("print('before')\nexit(3)\nprint('after')\n", "--no-banner")
    assert completed.returncode == 3
    assert "before" in completed.stdout
    assert "after" not in completed.stdout
    assert run_piped("quit()\n", "--no-banner").returncode == 0


# ---- the command line ---------------------------------------------------------------------------


def test_help_describes_the_options() -> None:
    completed = run_piped("", "--help")
    assert completed.returncode == 0
    assert "--backend NAME" in completed.stdout
    assert "--no-banner" in completed.stdout


def test_an_unknown_backend_exits_with_status_2_and_lists_the_available_ones() -> None:
    completed = run_piped("1\n", "--backend", "nope")
    assert completed.returncode == 2
    assert re.fullmatch(
        r"python -m scarletio: error: backend 'nope' is not available; available: \w+(, \w+)*\n", completed.stderr
    ), completed.stderr
    assert completed.stdout == ""


def test_an_unknown_backend_in_the_environment_exits_with_status_2() -> None:
    environment = console_environment()
    environment["SCARLETIO_BACKEND"] = "nope"
    completed = run_piped("1\n", environment=environment)
    assert completed.returncode == 2
    assert "backend 'nope' from SCARLETIO_BACKEND is not available" in completed.stderr


@pytest.mark.parametrize("backend", scarletio.available_backends())
def test_backend_option_picks_the_loops_backend(backend: str) -> None:
    completed = run_piped("get_event_loop().backend.name\n", "--no-banner", "--backend", backend)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"In [0]: {backend!r}\nIn [1]: \n"


# ---- inputs in a terminal -----------------------------------------------------------------------

# The console must own its terminal for Ctrl-C to reach it: a new session, with the pseudo-terminal
# made its controlling terminal before Python starts the console.
BOOTSTRAP = (
    "import fcntl, os, signal, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    # Ctrl-C must work even when the tests were started with SIGINT ignored (a background job):
    # Python installs its KeyboardInterrupt handler only over the default disposition.
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'scarletio', *sys.argv[1:]])\n"
)


class Terminal:
    """A console on a pseudo-terminal, read with deadlines."""

    def __init__(self, home: Path, *arguments: str) -> None:
        master, slave = os.openpty()
        self.master = master
        self.output = b""
        self.transcript = b""
        """Everything the console wrote, for failure messages."""
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", BOOTSTRAP, *arguments],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                env=console_environment(home),
            )
        finally:
            os.close(slave)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, pattern: bytes, timeout: float = 2 * LATE) -> bytes:
        """Read until `pattern` matches the output not consumed yet; return the output up to its end."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.output)
            if match is not None:
                consumed = self.output[: match.end()]
                self.output = self.output[match.end() :]
                return consumed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{pattern!r} did not appear within {timeout} s; transcript: {self.transcript!r}")
            readable, _, _ = select.select([self.master], [], [], remaining)
            if readable:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the console closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(
                        f"the console ended before {pattern!r} appeared; transcript: {self.transcript!r}"
                    )
                self.output += chunk
                self.transcript += chunk

    def wait(self, timeout: float = 2 * LATE) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    console = Terminal(tmp_path)
    try:
        yield console
    finally:
        console.close()


PROMPT = rb"In \[%d\]: "


def test_terminal_shows_the_banner_and_prompt_and_echoes_values(terminal: Terminal) -> None:
    banner = terminal.expect(PROMPT % 0)
    assert b"Use \"await\" directly." in banner
    assert scarletio.__version__.encode() in banner
    terminal.send(b"1 + 1\r")
    terminal.expect(rb"\r\n2\r\n")
    terminal.expect(PROMPT % 1)
    terminal.send(b"\x04")
    assert terminal.wait() == 0


def test_terminal_ctrl_c_cancels_the_running_await_and_the_console_goes_on(terminal: Terminal) -> None:
    terminal.expect(PROMPT % 0)
    started = time.monotonic()
    terminal.send(b"print('sleeping'); await sleep(100); print('woke')\r")
    terminal.expect(rb"sleeping\r\n")
    terminal.send(b"\x03")
    terminal.expect(rb"KeyboardInterrupt\r\n")
    terminal.expect(PROMPT % 1)
    terminal.send(b"2 + 3\r")
    terminal.expect(rb"\r\n5\r\n")
    terminal.expect(PROMPT % 2)
    terminal.send(b"len(get_event_loop().get_tasks())\r")
    terminal.expect(rb"\r\n1\r\n")  # only this input's task: the sleeping one was cancelled
    terminal.expect(PROMPT % 3)
    assert time.monotonic() - started < 90  # the 100 s sleep was not waited out (a loaded machine may be slow)
    terminal.send(b"\x04")
    assert terminal.wait() == 0
    assert b"woke\r\n" not in terminal.transcript


def test_terminal_ctrl_c_gives_the_prompt_back_while_an_input_blocks_the_loop_thread(terminal: Terminal) -> None:
    terminal.expect(PROMPT % 0)
    # Blocked for longer than a busy machine could delay the prompt: the order of the output shows it.
    terminal.send(b"import time; print('blocking'); time.sleep(%d); print('unblocked')\r" % (LATE + 3))
    terminal.expect(rb"blocking\r\n")
    terminal.send(b"\x03")
    terminal.expect(rb"KeyboardInterrupt\r\n")
    terminal.expect(rb"did not stop within [0-9.]+ seconds")
    terminal.expect(PROMPT % 1)
    assert b"\nunblocked\r\n" not in terminal.transcript, "the prompt came back only once the loop thread was free"
    terminal.send(b"'next'\r")
    terminal.expect(rb"unblocked\r\n'next'\r\n", 3 * LATE)
    terminal.expect(PROMPT % 2)
    terminal.send(b"\x04")
    assert terminal.wait() == 0


def test_terminal_ctrl_c_at_the_prompt_discards_the_line(terminal: Terminal) -> None:
    terminal.expect(PROMPT % 0)
    terminal.send(b"for index in range(3):\r")
    terminal.expect(rb"   \.\.\.: ")
    terminal.send(b"    print(index)")
    terminal.expect(rb"print\(index\)")
    terminal.send(b"\x03")
    try:
        terminal.expect(rb"KeyboardInterrupt\r\n", 1.0)
    except AssertionError:
        # CPython's readline module notices a signal only when it interrupts its wait for input; one
        # landing just before that wait stays pending until the next signal. Press Ctrl-C again.
        terminal.send(b"\x03")
        terminal.expect(rb"KeyboardInterrupt\r\n")
    terminal.expect(PROMPT % 0)
    terminal.send(b"6 * 7\r")
    terminal.expect(rb"\r\n42\r\n")
    terminal.expect(PROMPT % 1)
    terminal.send(b"\x04")
    assert terminal.wait() == 0


def test_terminal_runs_a_block_at_an_empty_line(terminal: Terminal) -> None:
    terminal.expect(PROMPT % 0)
    terminal.send(b"for index in range(2):\r")
    terminal.expect(rb"   \.\.\.: ")
    terminal.send(b"    print(index + 100)\r")
    terminal.expect(rb"   \.\.\.: ")
    terminal.send(b"\r")
    terminal.expect(rb"100\r\n101\r\n")
    terminal.expect(PROMPT % 1)
    terminal.send(b"\x04")
    assert terminal.wait() == 0


def test_terminal_tab_completes_the_names_of_the_console(terminal: Terminal) -> None:
    pytest.importorskip("readline")
    terminal.expect(PROMPT % 0)
    terminal.send(b"scarle\t")
    terminal.expect(rb"scarletio")
    terminal.send(b".__name__\r")
    terminal.expect(rb"\r\n'scarletio'\r\n")
    terminal.expect(PROMPT % 1)
    terminal.send(b"\x04")
    assert terminal.wait() == 0


# ---- the pieces ---------------------------------------------------------------------------------


def sources(assembler: InputAssembler, *lines: str) -> list[tuple[int, str, bool]]:
    """Feed the lines; return (number, source, compiled) of each completed input."""
    done = [submission for line in lines for submission in assembler.feed(line)]
    return [(submission.number, submission.source, submission.code is not None) for submission in done]


def test_assembler_completes_a_block_at_an_empty_line_and_allows_top_level_await() -> None:
    assembler = InputAssembler()
    assert sources(assembler, "await sleep(1)") == [(0, "await sleep(1)", True)]
    assert sources(assembler, "async def f():", "    await g()") == []
    continuing_in_the_block = assembler.continuing
    assert sources(assembler, "") == [(1, "async def f():\n    await g()\n", True)]
    assert (continuing_in_the_block, assembler.continuing) == (True, False)
    assert sources(assembler, "", "   ") == [], "empty lines at the prompt are no input"
    assert assembler.count == 2


def test_assembler_ends_a_block_at_an_unindented_statement_but_not_at_else_or_a_bracket() -> None:
    assembler = InputAssembler()
    assert sources(assembler, "if x:", "    pass", "else:", "    pass", "y = (", "1", ")") == [
        (0, "if x:\n    pass\nelse:\n    pass", True),
        (1, "y = (\n1\n)", True),
    ]


def test_assembler_reports_a_typo_in_a_block_as_one_failed_input() -> None:
    assembler = InputAssembler()
    [(number, source, compiled)] = sources(assembler, "def f():", "    x = = 1")
    assert (number, source, compiled) == (0, "def f():\n    x = = 1", False)
    assert sources(assembler, "1") == [(1, "1", True)]


def test_assembler_finish_reports_an_unclosed_bracket() -> None:
    assembler = InputAssembler()
    assert sources(assembler, "(1,") == []
    [submission] = assembler.finish()
    assert isinstance(submission.error, SyntaxError)
    assert submission.error.__traceback__ is None
    assert assembler.finish() == []
