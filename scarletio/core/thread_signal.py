"""`ThreadSignal`: a one-shot flag another thread can block on (core layer).

What `threading.Event` does for the single-waiter case of waiting on a loop from a plain thread, built
on one raw lock: no condition variable and no waiter list, so a wait costs one lock acquisition.
"""

from __future__ import annotations

from _thread import allocate_lock
from typing import final

__all__ = ("ThreadSignal",)


@final
class ThreadSignal:
    """A flag that is set once; `wait` blocks until it is. `set` may come from any thread."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = allocate_lock()
        self._lock.acquire()
        self._set = False

    def set(self, _: object = None) -> None:
        """Set the flag and release the waiter; later calls do nothing (usable as a done-callback)."""
        if not self._set:
            self._set = True
            self._lock.release()

    def is_set(self) -> bool:
        """Return whether the flag is set."""
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or `timeout` seconds pass; return whether it is set."""
        if self._set:
            return True
        if self._lock.acquire(True, -1 if timeout is None else max(timeout, 0.0)):
            self._lock.release()  # stay open for later waits
            return True
        return self._set
