"""The poll reactor: the portable real backend on any POSIX system, and the fallback for epoll.

Backends layer: `PollReactor` is `SelectorReactorBase` over a `select.poll` object, and `BACKEND`
bundles it with the monotonic clock and the thread executor. poll(2) passes every fd number to the
kernel on each call, so it has none of epoll's fd reuse trouble; it costs O(registered fds) per wait.
"""

from __future__ import annotations

import math
import select
from typing import final

from ..core.abc import Backend, Reactor
from ._clock import MonotonicClock
from ._executor import ThreadExecutor
from ._selector import SelectorReactorBase

__all__ = ("BACKEND", "PollReactor")

if not hasattr(select, "poll"):
    raise ImportError("select.poll is not available on this platform")


@final
class PollReactor(SelectorReactorBase, Reactor):
    """Watches file descriptors with poll(2).

    A descriptor closed while registered is reported as ready for both (POLLNVAL) until it is
    unregistered.
    """

    __slots__ = ("_poll_object",)

    _READ_BITS = select.POLLIN
    _WRITE_BITS = select.POLLOUT
    _ERROR_BITS = select.POLLERR | select.POLLHUP | select.POLLNVAL

    def __init__(self) -> None:
        self._poll_object = select.poll()
        super().__init__(self._poll_object)

    def _wait(self, timeout: float | None) -> list[tuple[int, int]]:
        # poll(2) counts whole milliseconds; round up so a short timer never becomes a busy `0` wait.
        if timeout is None:
            return self._poll_object.poll(None)
        return self._poll_object.poll(math.ceil(timeout * 1e3))


BACKEND = Backend(
    name="poll",
    reactor_factory=PollReactor,
    clock_factory=MonotonicClock,
    executor_factory=ThreadExecutor,
)
