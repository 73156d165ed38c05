"""Suite-wide pytest fixtures: `no_leaks`, which fails a test that leaks descriptors or threads.

Request it first in a test's parameters (or via `pytest.mark.usefixtures("no_leaks")` before other
fixtures) so that it is set up before, and checked after, every other fixture of the test, including
a loop fixture that stops and joins its thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

_FD_DIRECTORY = "/proc/self/fd"
_GRACE_SECONDS = 1.0


def _open_fds() -> set[str] | None:
    try:
        directory = os.open(_FD_DIRECTORY, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # no /proc (macOS): descriptors are not checked there
        return None
    try:
        return set(os.listdir(directory)) - {str(directory)}  # not the descriptor doing the listing
    finally:
        os.close(directory)


def _non_daemon_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if not thread.daemon and thread.is_alive()}


def _describe_fd(name: str) -> str:
    try:
        return f"{name} -> {os.readlink(os.path.join(_FD_DIRECTORY, name))}"
    except OSError:
        return name


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves file descriptors open or non-daemon threads running.

    Things closed or ended asynchronously get a short grace period before the check fails.
    """
    fds_before = _open_fds()
    threads_before = _non_daemon_threads()
    yield
    deadline = time.monotonic() + _GRACE_SECONDS
    while True:
        fds_after = _open_fds()
        leaked_fds = set() if fds_before is None or fds_after is None else fds_after - fds_before
        leaked_threads = _non_daemon_threads() - threads_before
        if not (leaked_fds or leaked_threads) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked_fds, f"the test leaked file descriptors: {sorted(map(_describe_fd, leaked_fds))}"
    assert not leaked_threads, f"the test leaked non-daemon threads: {sorted(thread.name for thread in leaked_threads)}"
