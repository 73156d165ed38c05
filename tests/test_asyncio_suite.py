"""CPython's own asyncio tests against `scarletio.aio`, one subprocess per (backend, module).

Each case runs `tests/asyncio_suite/runner.py BACKEND MODULE` with this interpreter and asserts it
reported no failure and no error, that the module ran tests, and (for the modules that build their
loops through asyncio's factories) that those loops were scarletio's. Modules the interpreter's
version lacks are skipped, saying so; an interpreter without `test.test_asyncio` fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent / "asyncio_suite" / "runner.py"

MODULES = (
    "test_tasks",
    "test_futures",
    "test_futures2",
    "test_taskgroups",
    "test_timeouts",
    "test_waitfor",
    "test_queues",
    "test_locks",
    "test_pep492",
    "test_context",
    "test_runners",
    "test_threads",
    "test_streams",
    "test_sock_lowlevel",
    "test_server",
    "test_events",
    "test_subprocess",
)

# These build every loop themselves (`test_utils.TestLoop`, mocks): none of them is ours, which is fine.
OWN_LOOPS = {"test_futures", "test_pep492", "test_runners"}
if sys.version_info < (3, 11):
    OWN_LOOPS.add("test_queues")  # before 3.11 its tests build `test_utils.TestLoop`s

TIMEOUT = 600.0
"""Generous: one module on a loaded two-core machine."""


def _has_suite() -> bool:
    try:
        return importlib.util.find_spec("test.test_asyncio") is not None
    except ImportError:
        return False


PARALLEL = 4
"""Modules run at once: most of their time is spent waiting (real sleeps, subprocesses)."""

ALL_BACKENDS = ("epoll", "poll", "virtual")


def _backends() -> tuple[str, ...]:
    """The backends to run the suite on: all, or those `SCARLETIO_ASYNCIO_SUITE_BACKENDS` names.

    CI runs all three on the default interpreter and two on the others (`.ci/run`): the poll backend
    shares everything with epoll but the system call, and the suite is CI's largest single cost.
    """
    chosen = os.environ.get("SCARLETIO_ASYNCIO_SUITE_BACKENDS")
    if not chosen:
        return ALL_BACKENDS
    names = tuple(chosen.replace(",", " ").split())
    unknown = [name for name in names if name not in ALL_BACKENDS]
    if unknown or not names:
        raise ValueError(f"SCARLETIO_ASYNCIO_SUITE_BACKENDS names {unknown or chosen!r}; choose from {', '.join(ALL_BACKENDS)}")
    return names


BACKENDS = _backends()

_results: dict[tuple[str, str], subprocess.CompletedProcess[str]] = {}


def _run(backend: str, module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), backend, module], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _result(backend: str, module: str) -> subprocess.CompletedProcess[str]:
    """Return the run of (backend, module); the first call runs every module, `PARALLEL` at a time."""
    if not _results:
        cases = [(b, m) for b in BACKENDS for m in MODULES if _available(m)]
        with ThreadPoolExecutor(PARALLEL) as pool:
            for case, completed in zip(cases, pool.map(lambda case: _run(*case), cases)):
                _results[case] = completed
    return _results[backend, module] if (backend, module) in _results else _run(backend, module)


def _available(module: str) -> bool:
    return not _has_suite() or importlib.util.find_spec(f"test.test_asyncio.{module}") is not None


# The first case runs every module (`_result`), so it may take the whole suite's time.
@pytest.mark.timeout(3 * TIMEOUT)
@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_cpython_asyncio_module_passes_on_scarletio(backend: str, module: str) -> None:
    if not _available(module):
        pytest.skip(f"Python {sys.version_info.major}.{sys.version_info.minor} has no test.test_asyncio.{module}")
    completed = _result(backend, module)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 3, output  # the interpreter lacks CPython's test package
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert lines, output[-4000:]
    counts = json.loads(lines[-1])
    assert counts["failures"] == 0 and counts["errors"] == 0, output[-8000:]
    assert counts["unexpected_successes"] == 0, output[-4000:]
    assert counts["ran"] > counts["skipped"], counts
    if module not in OWN_LOOPS:
        assert counts["scarletio_loops"] > 0, counts
    assert completed.returncode == 0, output[-4000:]
