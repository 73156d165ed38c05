"""Finding the event loop of the current context (core layer).

Inside a loop thread the loop is that thread. Elsewhere it is the loop linked to the current thread
(by `link`: `get_or_create_event_loop`, `create_event_loop` and `set_event_loop` do this), unless that
loop is stopped, else the first running non-daemon loop among all threads, which is then linked.
Daemon loops, like the one `run()` makes, are never found by that scan, nor are loops a child process
inherited from `os.fork()` (they belong to the parent; see `forking`).

`sleep`, `skip_poll_cycle` and `shield` find their loop here; the public `get_event_loop` family
(`scarletio.loop.toplevel`) builds on the same lookup, asking for the public `EventThread` class.
"""

from __future__ import annotations

import threading
import weakref
from typing import TypeVar

from .forking import on_fork_in_child
from .scheduler import Scheduler

__all__ = ("current_loop", "current_loop_thread", "find_loop", "link", "no_loop_error")

S = TypeVar("S", bound=Scheduler)

_links: weakref.WeakKeyDictionary[threading.Thread, Scheduler] = weakref.WeakKeyDictionary()
_links_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _links_lock
    _links_lock = threading.Lock()  # another thread of the parent may have held it at the fork


on_fork_in_child(_reset_after_fork)


def current_loop_thread() -> Scheduler | None:
    """Return the loop whose thread this is, if any.

    A loop left behind in a child process (the forking thread was its thread) does not count: the
    thread is a plain thread of the child now, which may link a loop of its own.
    """
    thread = threading.current_thread()
    if isinstance(thread, Scheduler) and not thread._left_behind_by:
        return thread
    return None


def find_loop(kind: type[S]) -> S | None:
    """Return the loop of the current context if it is a `kind`, else `None` (see the module docstring)."""
    thread = threading.current_thread()
    own = current_loop_thread()
    if own is not None:
        return own if isinstance(own, kind) else None
    with _links_lock:
        loop = _links.get(thread)
        if loop is not None and not loop.is_stopped():
            return loop if isinstance(loop, kind) else None
        for candidate in threading.enumerate():
            if isinstance(candidate, kind) and not candidate.daemon and candidate.is_running():
                _links[thread] = candidate
                return candidate
    return None


def no_loop_error() -> RuntimeError:
    """The error for code that needs a loop where there is none."""
    return RuntimeError(
        f"no running event loop for {threading.current_thread()!r}; "
        "use get_or_create_event_loop() or create_event_loop()"
    )


def current_loop() -> Scheduler:
    """Return the loop of the current context.

    Raises:
        RuntimeError: If there is none.
    """
    loop = find_loop(Scheduler)
    if loop is None:
        raise no_loop_error()
    return loop


def link(loop: Scheduler, *, only_if_unlinked: bool = False) -> None:
    """Link `loop` to the current thread, so the lookup finds it here.

    Args:
        loop: The loop.
        only_if_unlinked: Link only if the current context has no loop yet.

    Raises:
        RuntimeError: If called on a loop thread (its loop is always itself).
    """
    thread = threading.current_thread()
    if current_loop_thread() is not None:
        raise RuntimeError("set_event_loop cannot be called on an event loop thread: its loop is itself")
    if only_if_unlinked and find_loop(Scheduler) is not None:
        return
    with _links_lock:
        _links[thread] = loop
