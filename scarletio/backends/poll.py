"""The poll reactor: the portable real backend on any POSIX system, and the fallback for epoll.

Backends layer: `PollReactor` is `SelectorReactorBase` over a `select.poll` object, and `BACKEND`
bundles it with the monotonic clock and the thread executor. poll(2) passes every fd number to the
kernel on each call, so it has none of epoll's fd reuse trouble; it costs O(registered fds) per wait.

A descriptor closed while it is still registered (the caller forgot `remove_reader`) is where poll
and epoll part ways, and where poll is made to behave like epoll. epoll forgets a closed file by
itself. poll keeps passing the number and the kernel answers POLLNVAL on every call, so the loop
would run the descriptor's callback in a busy loop (hundreds of thousands of calls a second). So a
POLLNVAL is reported once (as ready for both, so whichever callback waits meets the error in its own
system call), then the number is no longer passed to the kernel until `modify` re-arms it, as for
epoll; the slip is logged once on the `scarletio` logger (a backend reports through nothing else).
`register` refuses a descriptor that is not open, with the `EBADF` epoll gives.
"""

from __future__ import annotations

import logging
import math
import os
import select
from typing import final

from ..core.abc import Backend, EventMask, Reactor
from ._clock import MonotonicClock
from ._executor import ThreadExecutor
from ._selector import SelectorReactorBase

__all__ = ("BACKEND", "PollReactor")

if not hasattr(select, "poll"):
    raise ImportError("select.poll is not available on this platform")


@final
class PollReactor(SelectorReactorBase, Reactor):
    """Watches file descriptors with poll(2).

    A descriptor closed while registered is reported once as ready for both (POLLNVAL), then no
    longer watched until `modify` re-arms its number; see the module docstring.
    """

    __slots__ = ("_poll_object",)

    _READ_BITS = select.POLLIN
    _WRITE_BITS = select.POLLOUT
    _ERROR_BITS = select.POLLERR | select.POLLHUP | select.POLLNVAL

    def __init__(self) -> None:
        self._poll_object = select.poll()
        super().__init__(self._poll_object)

    def register(self, fd: int, events: EventMask) -> None:
        """Start watching a file descriptor (see `SelectorReactorBase.register`).

        Raises:
            OSError: `EBADF` if `fd` is not an open descriptor (poll(2) itself would accept it).
        """
        os.fstat(fd)  # raises OSError(EBADF), as epoll's registration does
        super().register(fd, events)

    def _wait(self, timeout: float | None) -> list[tuple[int, int]]:
        # poll(2) counts whole milliseconds; round up so a short timer never becomes a busy `0` wait.
        if timeout is None:
            raw = self._poll_object.poll(None)
        else:
            raw = self._poll_object.poll(math.ceil(timeout * 1e3))
        for _, bits in raw:
            if bits & _NVAL:
                self._stop_watching_closed(raw)
                break
        return raw

    def _stop_watching_closed(self, raw: list[tuple[int, int]]) -> None:
        """Take the descriptors poll found closed (POLLNVAL) out of the kernel's view, and log it."""
        for fd, bits in raw:
            if bits & _NVAL:
                self._poll_object.unregister(fd)  # still in `_registered`: `modify` re-arms it
                _LOGGER.error(
                    "fd %d was closed while the loop still watched it; it is no longer watched. "
                    "Call loop.remove_reader(fd) / loop.remove_writer(fd) before closing a watched descriptor",
                    fd,
                )


_NVAL = select.POLLNVAL
_LOGGER = logging.getLogger("scarletio")


BACKEND = Backend(
    name="poll",
    reactor_factory=PollReactor,
    clock_factory=MonotonicClock,
    executor_factory=ThreadExecutor,
)
