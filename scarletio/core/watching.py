"""File-descriptor watching for `EventThread`: the bookkeeping behind `add_reader` / `add_writer` (core).

The loop keeps one handle per direction and descriptor; the reactor sees one registration per
descriptor with the union of both directions.
"""

from __future__ import annotations

from .abc import EventMask, FileLike
from .handles import Handle
from .states import LoopInternals


__all__ = ("BOTH", "READ", "WRITE", "add_watcher", "fileno", "remove_watcher")

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
    """Register `handle` for `fd` in the direction `same` / `mask`, replacing an earlier one."""
    previous = same.get(fd)
    same[fd] = handle
    if previous is None and fd not in other:
        loop._reactor.register(fd, mask)
    else:
        # Always re-arm, even when the mask is unchanged: the descriptor number may belong to a new
        # file by now, which the kernel's epoll set no longer knows about.
        if previous is not None:
            previous.cancel()
        loop._reactor.modify(fd, BOTH if fd in other else mask)
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
