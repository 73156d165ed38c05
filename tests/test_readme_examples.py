"""Every runnable example of the original README, run as a program on each backend.

The examples live verbatim in `examples/readme/`. Each runs in its own interpreter with
`SCARLETIO_BACKEND` set, under a launcher that stamps every line the example prints with the time it
was printed, taken in the example's process: on the virtual backend the loop's own clock, on the real
ones the seconds since the example's code started. The test checks the exact output and its order;
on virtual time it checks every line's due time exactly (the timing semantics), on the real backends
only that no line came early and none came more than a few seconds late, which a loaded machine
cannot break. The programs run concurrently in a small pool, so the whole module takes about as long
as the slowest one.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "readme"
BACKENDS = ("epoll", "poll", "virtual")
REAL_ONLY = {"07_sleep_forever"}
"""Prints the wall-clock time every 4 s until Ctrl-C: on virtual time a flood, so real backends only."""
LATE_BY_AT_MOST = 5.0
"""Seconds a line (or the program's end) may come after its due time on a real backend: process
scheduling on a busy machine. Lateness beyond this is the only wall-clock failure."""
EARLY_BY_AT_MOST = 0.02
"""Seconds a line may come before its due time on a real backend (clock granularity; timers never fire early)."""

LAUNCHER = """\
import os, runpy, signal, sys, threading, time
from scarletio.core.scheduler import Scheduler

# Ctrl-C must work even when the tests were started with SIGINT ignored (a background job).
signal.signal(signal.SIGINT, signal.default_int_handler)

VIRTUAL = os.environ["SCARLETIO_BACKEND"] == "virtual"
STARTED = time.monotonic()
OUTPUT = sys.stdout


def stamp():
    # On virtual time the loop's clock (which starts at 0), read from whichever thread prints.
    if VIRTUAL:
        thread = threading.current_thread()
        loops = [thread] if isinstance(thread, Scheduler) else [
            candidate for candidate in threading.enumerate() if isinstance(candidate, Scheduler)
        ]
        return loops[0].time() if loops else 0.0
    return time.monotonic() - STARTED


class Stamped:
    def __init__(self):
        self.pending = ""

    def write(self, text):
        self.pending += text
        while "\\n" in self.pending:
            line, self.pending = self.pending.split("\\n", 1)
            OUTPUT.write(f"{stamp():.9f} {line}\\n")
            OUTPUT.flush()
        return len(text)

    def flush(self):
        OUTPUT.flush()


sys.stdout = Stamped()
sys.stderr.write("@start\\n")
sys.stderr.flush()
runpy.run_path(sys.argv[1], run_name="__main__")
"""
"""Runs an example with its standard output stamped (see the module docstring)."""


@dataclass(frozen=True)
class Expected:
    """What one example prints: (text or regular expression, seconds after start) per line."""

    lines: tuple[tuple[str, float], ...]
    regex: bool = False
    interrupt_after_lines: int = 0
    virtual_due: tuple[float, ...] | None = None
    """The due times on virtual time, where they differ (a blocking call in an executor takes no virtual time)."""


EXPECTED: dict[str, Expected] = {
    "01_run": Expected((("hello", 0.0), ("world", 1.0))),
    "02_loop_run": Expected((("hello", 0.0), ("world", 1.0))),
    "03_task": Expected((("hello", 1.0),)),
    "04_tasks": Expected((("hello", 1.0), ("world", 2.0))),
    "05_task_group": Expected((("hello", 1.0), ("world", 2.0))),
    "06_task_cancellation": Expected((("world", 2.0),)),
    "07_sleep_forever": Expected(
        ((r"\d\d:\d\d:\d\d", 0.0), (r"\d\d:\d\d:\d\d", 4.0)), regex=True, interrupt_after_lines=2
    ),
    "08_sleep_in_task_group": Expected((("hello", 1.0), ("world", 2.0))),
    "09_skip_ready_cycle": Expected((("hello", 0.0), ("world", 0.0))),
    "10_skip_poll_cycle": Expected((("hello", 0.0), ("world", 0.0))),
    "11_apply_timeout": Expected((("TIMEOUT!", 1.0),)),
    "12_repeat_timeout": Expected((("hi", 2.0), ("hi", 6.0), ("TIMEOUT!", 11.0))),
    "13_enter_executor": Expected(
        (
            (r"before entering: (\d+)", 0.0),
            (r"after entering: (\d+)", 0.0),
            (r"before exiting: (\d+)", 2.0),
            (r"after exiting: (\d+)", 2.0),
        ),
        regex=True,
        virtual_due=(0.0, 0.0, 0.0, 0.0),
    ),
    "14_create_task_thread_safe": Expected((("hello", 1.0), ("world", 2.0))),
    "15_lock": Expected((("hello", 1.0), ("world", 2.0), ("hello world", 4.0))),
    "16_scarlet_lock": Expected((("hello", 1.0), ("world", 1.0), ("hello world", 3.0))),
    "17_event": Expected((("hello", 2.0), ("world", 2.0))),
}


@dataclass
class Outcome:
    """What a run of an example produced."""

    lines: list[tuple[str, float]] = field(default_factory=list)  # (text, stamp), as the example printed them
    stderr: str = ""
    return_code: int | None = None
    total: float = 0.0


def run_example(name: str, backend: str) -> Outcome:
    """Run one example, timestamping each output line relative to the example's start."""
    expected = EXPECTED[name]
    environment = dict(os.environ, SCARLETIO_BACKEND=backend, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(EXAMPLES / f"{name}.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=ROOT,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    outcome = Outcome()
    watchdog = threading.Timer(expected.lines[-1][1] + 10.0, process.kill)
    watchdog.start()
    try:
        marker = process.stderr.readline()
        started = time.monotonic()
        assert marker == "@start\n", marker
        for line in process.stdout:
            stamp, _, text = line.rstrip("\n").partition(" ")
            outcome.lines.append((text, float(stamp)))
            if expected.interrupt_after_lines and len(outcome.lines) == expected.interrupt_after_lines:
                process.send_signal(signal.SIGINT)
        outcome.return_code = process.wait(timeout=20)
        outcome.total = time.monotonic() - started
        outcome.stderr = marker + process.stderr.read()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    return outcome


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[tuple[str, str], concurrent.futures.Future[Outcome]]]:
    """Start every example on every backend, longest first, a few at a time."""
    order = sorted(EXPECTED, key=lambda name: -EXPECTED[name].lines[-1][1])
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        yield {
            (name, backend): pool.submit(run_example, name, backend)
            for name in order
            for backend in BACKENDS
            if not (backend == "virtual" and name in REAL_ONLY)
        }


def check_lines(expected: Expected, outcome: Outcome, virtual: bool) -> list[re.Match[str]]:
    """Assert the printed lines, their order and when each was printed; return the regex matches (if any)."""
    printed = [text for text, _ in outcome.lines]
    matches: list[re.Match[str]] = []
    if expected.regex:
        assert len(printed) == len(expected.lines), printed
        for (pattern, _), text in zip(expected.lines, printed):
            match = re.fullmatch(pattern, text)
            assert match is not None, f"{text!r} does not match {pattern!r}"
            matches.append(match)
    else:
        assert printed == [text for text, _ in expected.lines], outcome.stderr
    if virtual:
        due_times = expected.virtual_due or tuple(due for _, due in expected.lines)
        for due, (text, seen) in zip(due_times, outcome.lines):
            assert abs(seen - due) < 1e-6, f"{text!r} printed at virtual {seen:.9f} s, due at {due} s"
        return matches
    for (_, due), (text, seen) in zip(expected.lines, outcome.lines):
        assert seen >= due - EARLY_BY_AT_MOST, f"{text!r} printed at {seen:.3f} s, before its due time {due} s"
        assert seen <= due + LATE_BY_AT_MOST, f"{text!r} printed at {seen:.3f} s, due at {due} s: far too late"
    return matches


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        (name, backend)
        for name in sorted(EXPECTED)
        for backend in BACKENDS
        if not (backend == "virtual" and name in REAL_ONLY)
    ],
)
def test_readme_example_prints_what_the_readme_says_on_time(
    name: str, backend: str, outcomes: dict[tuple[str, str], concurrent.futures.Future[Outcome]]
) -> None:
    expected = EXPECTED[name]
    outcome = outcomes[name, backend].result(timeout=60)
    virtual = backend == "virtual"
    matches = check_lines(expected, outcome, virtual)
    if expected.interrupt_after_lines:
        assert outcome.return_code != 0
        assert "KeyboardInterrupt" in outcome.stderr
        assert outcome.total < outcome.lines[-1][1] + LATE_BY_AT_MOST, "the program did not exit after Ctrl-C"
        return
    assert outcome.return_code == 0, outcome.stderr
    assert outcome.stderr == "@start\n", outcome.stderr
    if virtual:
        # The virtual due times were checked above; in real time only blocking calls (time.sleep
        # inside enter_executor) take long, so even 11 s of timeouts end within the lateness allowed.
        real_blocking = 2.0 if name == "13_enter_executor" else 0.0
        assert outcome.total < real_blocking + LATE_BY_AT_MOST, f"the program took {outcome.total:.2f} s on virtual time"
    else:
        assert outcome.total < expected.lines[-1][1] + LATE_BY_AT_MOST, f"the program took {outcome.total:.2f} s to exit"
    if name == "13_enter_executor":
        loop_thread, executor_thread, executor_again, loop_again = (int(match.group(1)) for match in matches)
        assert loop_thread == loop_again
        assert executor_thread == executor_again
        assert loop_thread != executor_thread


@pytest.mark.parametrize("backend", ("epoll", "poll"))
def test_the_echo_example_of_our_readme_round_trips_two_lines(backend: str) -> None:
    environment = dict(os.environ, SCARLETIO_BACKEND=backend)
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "echo.py")], capture_output=True, text=True, env=environment, timeout=20
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "hello\nworld\n"
    assert completed.stderr == ""


def test_the_virtual_network_example_of_our_readme_is_verbatim_and_passes() -> None:
    example = (ROOT / "examples" / "test_virtual_network.py").read_text()
    assert f"```py3\n{example}```" in (ROOT / "README.md").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "examples" / "test_virtual_network.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
