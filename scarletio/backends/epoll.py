"""The epoll reactor: the production backend on Linux.

Backends layer: `EpollReactor` is `SelectorReactorBase` over a `select.epoll` object, and `BACKEND`
bundles it with the monotonic clock and the thread executor. The registry imports this module lazily,
by name, and treats an `ImportError` here as "not available". Why `modify` re-adds an fd the kernel
forgot is explained in `_selector.py` ("the file descriptor reuse quirk").
"""

import sys
from typing import TYPE_CHECKING

assert not TYPE_CHECKING or sys.platform == "linux"

import select
from typing import final

from ..core.abc import Backend, Reactor
from ._clock import MonotonicClock
from ._executor import ThreadExecutor
from ._selector import SelectorReactorBase

__all__ = ("BACKEND", "EpollReactor")

if not hasattr(select, "epoll"):
    raise ImportError("select.epoll is not available on this platform")


@final
class EpollReactor(SelectorReactorBase, Reactor):
    """Watches file descriptors with Linux epoll (level-triggered).

    Raises:
        OSError: From the constructor, if the kernel refuses to create an epoll instance.
    """

    __slots__ = ("_epoll",)

    _READ_BITS = select.EPOLLIN
    _WRITE_BITS = select.EPOLLOUT
    _ERROR_BITS = select.EPOLLERR | select.EPOLLHUP

    def __init__(self) -> None:
        self._epoll = select.epoll()
        try:
            super().__init__(self._epoll)
        except BaseException:
            self._epoll.close()
            raise

    def _wait(self, timeout: float | None) -> list[tuple[int, int]]:
        # epoll_wait counts whole milliseconds. `epoll.poll` itself rounds a float timeout up to the
        # next millisecond (CPython does so since 3.4), so a sub-millisecond timer never turns into a
        # busy `0` wait. Rounding here too would round twice: `ceil(t * 1e3) / 1e3` is not always
        # exact in binary and then costs an extra millisecond.
        return self._epoll.poll(timeout)

    def _release_poller(self) -> None:
        self._epoll.close()


BACKEND = Backend(
    name="epoll",
    reactor_factory=EpollReactor,
    clock_factory=MonotonicClock,
    executor_factory=ThreadExecutor,
)
