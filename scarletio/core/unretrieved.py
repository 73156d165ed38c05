"""The futures that hold an exception nobody retrieved yet, so a stopping loop can report them (core layer).

A future is reported when it is garbage-collected with its exception unretrieved (`Future.__del__`),
and also when its loop stops, for futures that are still alive then: this registry is how the loop
finds them. Only the failure path ever touches it.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from .abc import EventLoop
from .forking import on_fork_in_child

if TYPE_CHECKING:
    from .futures import Future

__all__ = ("remember_failed", "report_unretrieved_exceptions")

# Futures holding an exception, so the loop can report the unretrieved ones when it stops (and not
# only when they are garbage-collected). Only the failure path ever touches this set. Every loop
# thread adds to it, so adding and copying take a lock: a set that grows while another thread copies
# it makes the copy raise "Set changed size during iteration".
# Weak references with a callback of our own rather than a `WeakSet`: a `WeakSet` forgets dead entries
# from whatever thread collects them, without our lock, which can break a copy under way elsewhere.
_FAILED: set[weakref.ref[Future[Any]]] = set()
_FAILED_LOCK = threading.RLock()


def _reset_after_fork() -> None:
    global _FAILED_LOCK
    _FAILED_LOCK = threading.RLock()  # pyright: ignore[reportConstantRedefinition]  # another thread of the parent may have held it at the fork


on_fork_in_child(_reset_after_fork)


def _forget_failed(reference: weakref.ref[Future[Any]]) -> None:
    with _FAILED_LOCK:
        _FAILED.discard(reference)


def remember_failed(future: Future[Any]) -> None:
    """Note that `future` holds an exception (until it is collected)."""
    with _FAILED_LOCK:
        _FAILED.add(weakref.ref(future, _forget_failed))


def report_unretrieved_exceptions(loop: EventLoop) -> int:
    """Report every future of `loop` whose exception nobody retrieved; used when the loop stops.

    Args:
        loop: The stopping loop.

    Returns:
        How many reports were made.
    """
    count = 0
    with _FAILED_LOCK:
        references = list(_FAILED)  # copied in one C call: no collection (and no callback) mid-way
    failed = [future for future in (reference() for reference in references) if future is not None]
    for future in failed:
        if future._loop is loop and future._report_if_unretrieved():
            count += 1
    return count

