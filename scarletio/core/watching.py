"""File-descriptor watching for `EventThread`: `add_reader` / `add_writer` and their bookkeeping (core).

The loop keeps one handle per direction and descriptor; the reactor sees one registration per
descriptor with the union of both directions. The four public functions take the loop first and are
the scheduler's methods of the same names.
"""

from __future__ import annotations

import errno
from _thread import get_ident
from collections.abc import Callable

from typing_extensions import TypeVarTuple, Unpack

from .abc import EventMask, FileLike
from .handles import Handle, WatchHandle
from .states import CREATED, LoopInternals


__all__ = (
    "BOTH",
    "READ",
    "WRITE",
    "add_reader",
    "add_watcher",
    "add_writer",
    "fileno",
    "remove_reader",
    "remove_watcher",
    "remove_writer",
)

Ts = TypeVarTuple("Ts")

READ = EventMask.READ
WRITE = EventMask.WRITE
BOTH = EventMask.READ | EventMask.WRITE


def fileno(file: FileLike) -> int:
    """Return the descriptor number of `file` (an int or an object with `fileno()`)."""
    fd: object
    if isinstance(file, int):
        fd = file
    else:
        method = getattr(file, "fileno", None)
        if not callable(method):
            raise TypeError(f"expected a file descriptor or an object with fileno(), got {file!r}")
        fd = method()
    if not isinstance(fd, int) or fd < 0:
        raise ValueError(f"invalid file descriptor {fd!r}; pass an open file, socket or non-negative integer")
    return fd


def add_watcher(
    loop: LoopInternals, fd: int, handle: Handle, same: dict[int, Handle], other: dict[int, Handle], mask: EventMask
) -> Handle:
    """Register `handle` for `fd` in the direction `same` / `mask`, replacing an earlier one.

    The reactor is told first: when it refuses (the descriptor is not open), nothing is recorded.
    """
    previous = same.get(fd)
    try:
        if previous is None and fd not in other:
            loop._reactor.register(fd, mask)
        else:
            # Always re-arm, even when the mask is unchanged: the descriptor number may belong to a
            # new file by now, which the kernel's epoll set no longer knows about.
            loop._reactor.modify(fd, BOTH if fd in other else mask)
    except OSError as error:
        if error.errno != errno.EBADF:
            raise
        raise OSError(errno.EBADF, f"cannot watch fd {fd}: it is not an open descriptor (closed already?)") from None
    if previous is not None:
        previous.cancel()
    same[fd] = handle
    return handle


def remove_watcher(
    loop: LoopInternals, fd: int, same: dict[int, Handle], other: dict[int, Handle], other_mask: EventMask
) -> bool:
    """Drop the handle of `fd` in the direction `same`; return whether there was one."""
    handle = same.pop(fd, None)
    if handle is None:
        return False
    handle.cancel()
    if fd in other:
        loop._reactor.modify(fd, other_mask)
    else:
        loop._reactor.unregister(fd)
    return True


def _watch_handle(callback: Callable[[Unpack[Ts]], object], args: tuple[Unpack[Ts]]) -> Handle:
    """The handle of a watcher: one that calls `callback` directly when there are no arguments."""
    if args:
        return Handle(callback, args)
    return WatchHandle(callback)  # pyright: ignore[reportArgumentType]  # no arguments: `callback()` is the call


def _check_fd_thread(loop: LoopInternals, what: str) -> None:
    if get_ident() != loop._loop_thread_id and loop._loop_state != CREATED:
        raise RuntimeError(
            f"{what} must be called on the loop thread; use loop.call_soon_thread_safe(loop.{what}, ...)"
        )


def add_reader(loop: LoopInternals, file: FileLike, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
    """Call `callback(*args)` whenever `file` is readable (or has an error or hang-up).

    Replaces an earlier reader of the same descriptor. Call it on the loop thread.

    Args:
        loop: The loop (this is the method `loop.add_reader`).
        file: A file descriptor or an object with `fileno()`.
        callback: The function to call.
        *args: Its positional arguments.

    Returns:
        The handle the loop queues on readiness.
    """
    _check_fd_thread(loop, "add_reader")
    return add_watcher(loop, fileno(file), _watch_handle(callback, args), loop._readers, loop._writers, READ)


def add_writer(loop: LoopInternals, file: FileLike, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
    """Call `callback(*args)` whenever `file` is writable (or has an error or hang-up).

    Replaces an earlier writer of the same descriptor. Call it on the loop thread.

    Args:
        loop: The loop (this is the method `loop.add_writer`).
        file: A file descriptor or an object with `fileno()`.
        callback: The function to call.
        *args: Its positional arguments.

    Returns:
        The handle the loop queues on readiness.
    """
    _check_fd_thread(loop, "add_writer")
    return add_watcher(loop, fileno(file), _watch_handle(callback, args), loop._writers, loop._readers, WRITE)


def remove_reader(loop: LoopInternals, file: FileLike) -> bool:
    """Stop watching `file` for reading.

    Args:
        loop: The loop (this is the method `loop.remove_reader`).
        file: A file descriptor or an object with `fileno()`.

    Returns:
        Whether a reader was registered.
    """
    _check_fd_thread(loop, "remove_reader")
    return remove_watcher(loop, fileno(file), loop._readers, loop._writers, WRITE)


def remove_writer(loop: LoopInternals, file: FileLike) -> bool:
    """Stop watching `file` for writing.

    Args:
        loop: The loop (this is the method `loop.remove_writer`).
        file: A file descriptor or an object with `fileno()`.

    Returns:
        Whether a writer was registered.
    """
    _check_fd_thread(loop, "remove_writer")
    return remove_watcher(loop, fileno(file), loop._writers, loop._readers, READ)
