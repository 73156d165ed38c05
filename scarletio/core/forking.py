"""What a child process makes of the event loops it inherits from `os.fork()` (core layer).

Some facts about fork, and what they mean for a loop:

- Only the thread that called `fork()` exists in the child. Every loop of the parent lives on in the
  child's memory, but its thread is gone, so it claims to run and every `run()` on it would wait
  forever.
- The child has copies of the parent's descriptors that share the same kernel objects. A loop's
  epoll set is one such object: registering or unregistering through the child's copy changes the
  parent's set. Its wakeup socket pair is another: a byte the child reads is a wakeup the parent
  loses.
- Locks held by any other thread at the moment of the fork stay held in the child forever.
- The work queued in an inherited loop is the parent's: the parent goes on running it, and running it
  in the child too (even just the `finally` blocks of its tasks) would do everything twice.

So every loop is *left behind* in a child: it is closed without running anything, its copies of the
reactor's descriptors are closed (the parent's stay open, so the parent's loop keeps working), its
queues are emptied into a list the child keeps for good (so the parent's coroutines are never
finalized, and their `finally` blocks never run, in the child), its lock is replaced, and every later
call on it raises an error that says it belongs to the parent and how to get a loop of the child's
own. Loop discovery passes over it, so `get_or_create_event_loop()` in the child makes a fresh loop.

The hook is registered with `os.register_at_fork` when the first loop is created, not at import:
importing scarletio changes nothing in the process. Modules with process-wide state of their own (a
lock, the signal dispatcher's pipes) add a reset with `on_fork_in_child`.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ("LeftBehind", "left_behind", "on_fork_in_child", "track_loop")


class LeftBehind(Protocol):
    """A loop, as the fork hook sees it: it can leave itself behind in a child process."""

    def _leave_behind_after_fork(self, parent: int, keep: list[object]) -> None: ...


_loops: weakref.WeakSet[LeftBehind] = weakref.WeakSet()
_resets: list[Callable[[], None]] = []
_installed = False
_install_lock = threading.Lock()

left_behind: list[object] = []
"""What the inherited loops held in a child process: kept, so none of it is ever finalized there."""


def track_loop(loop: LeftBehind) -> None:
    """Remember `loop`, so a child process forked later leaves it behind; installs the hook once."""
    global _installed
    _loops.add(loop)
    if not _installed and hasattr(os, "register_at_fork"):
        with _install_lock:
            if not _installed:
                os.register_at_fork(after_in_child=_after_fork_in_child)
                _installed = True


def on_fork_in_child(reset: Callable[[], None]) -> None:
    """Call `reset()` in every child process forked from now on, once the inherited loops are left behind."""
    _resets.append(reset)


def _after_fork_in_child() -> None:
    # Runs in the child right after the fork, before any other Python code: nothing here may wait for
    # a lock another thread of the parent could have held, and nothing may raise.
    parent = os.getppid()
    for loop in list(_loops):
        try:
            loop._leave_behind_after_fork(parent, left_behind)
        except BaseException:  # a half-left loop is still better than a child that cannot start
            pass
    for reset in _resets:
        try:
            reset()
        except BaseException:
            pass
