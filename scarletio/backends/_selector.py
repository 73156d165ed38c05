"""The shared base of the readiness reactors built on a poll-like kernel interface (epoll, poll).

Backends layer: `SelectorReactorBase` holds everything the epoll and poll reactors have in common --
the table of registered descriptors, the self-wakeup socket pair, the retry loop around the kernel
wait and the translation of kernel event bits to `EventMask`. Each concrete reactor only names its
kernel bits and says how to wait. Like every backend module it imports nothing above `scarletio.abc`.
"""

from __future__ import annotations

import errno
import socket
import time
from abc import abstractmethod
from typing import ClassVar, Protocol

from ..core.abc import EventMask, Reactor

__all__ = ("SelectorReactorBase",)

# A wait longer than this is cut short (the caller sees an empty result and simply waits again), so a
# far deadline or `math.inf` never overflows the kernel's millisecond counter.
_MAX_TIMEOUT = 86400.0

_NOTHING = EventMask(0)
_BOTH = EventMask.READ | EventMask.WRITE


# Some facts about the kernel interfaces, and the file descriptor reuse quirk
# ---------------------------------------------------------------------------
#
# poll(2) keeps the watched set in user space: every call passes the fd numbers again, so it always
# watches whatever file currently owns a number. epoll(7) keeps the set in the kernel, keyed by the
# pair (fd number, open file), and forgets an entry by itself once that file is really closed.
#
# That leads to a trap. The scheduler registers fd 7 for a socket; user code closes the socket without
# telling the loop; the kernel silently drops fd 7 from the epoll set; a new socket is opened and gets
# number 7 again. The scheduler still believes 7 is registered and calls `modify(7, READ)` for the new
# socket. If that call only updated our table (the stdlib's selectors skip the system call when the
# mask is unchanged), or gave up on the ENOENT that EPOLL_CTL_MOD returns, the new socket would never
# be watched and its reader would sleep forever. So:
#
# - `modify` always makes the system call, and when the kernel answers ENOENT it adds the fd instead;
# - `register` falls back to a modification when the kernel answers EEXIST (it knows an fd we do not);
# - `unregister` forgets the fd first and ignores EBADF/ENOENT from the kernel: a closed fd is already
#   gone from the kernel's set.
#
# One case cannot be repaired from user space: if the closed fd was duplicated (dup, fork), its open
# file lives on and epoll keeps reporting it under the old number. Unregister before closing.
#
# poll(2) never raises these errors, so the fallbacks cost it nothing. Both interfaces report errors
# and hang-ups whether asked for or not; we report those as READ|WRITE so whichever side is waiting
# wakes up and meets the error in its own system call.


class _Poller(Protocol):
    """The part of `select.epoll` and `select.poll` objects the base uses."""

    def register(self, fd: int, eventmask: int, /) -> None: ...

    def modify(self, fd: int, eventmask: int, /) -> None: ...

    def unregister(self, fd: int, /) -> None: ...


class SelectorReactorBase(Reactor):
    """A `Reactor` on top of a poll-like kernel object; subclasses name the bits and do the waiting.

    A subclass sets `_READ_BITS`, `_WRITE_BITS` and `_ERROR_BITS` (the kernel's flags for "readable",
    "writable" and "error or hang-up"), passes its kernel object to `__init__`, and implements `_wait`
    (and `_release_poller` when the kernel object must be closed). The translation tables are derived
    from the three bit sets once, when the subclass is created.

    Calling `register`, `modify`, `unregister` or `poll` after `close` raises `RuntimeError`; `wakeup`
    and `close` are harmless then.
    """

    __slots__ = (
        "_closed",
        "_poller",
        "_registered",
        "_wakeup_armed",
        "_wakeup_fd",
        "_wakeup_reader",
        "_wakeup_writer",
    )

    _READ_BITS: ClassVar[int]
    _WRITE_BITS: ClassVar[int]
    _ERROR_BITS: ClassVar[int]
    # Derived by `__init_subclass__`: kernel interest bits indexed by `EventMask` value, and the
    # `EventMask` for every combination of reported bits (indexed by `raw & _REPORTED_BITS`).
    _INTEREST: ClassVar[tuple[int, int, int, int]]
    _REPORTED_BITS: ClassVar[int]
    _READY: ClassVar[tuple[EventMask, ...]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        read, write, error = cls._READ_BITS, cls._WRITE_BITS, cls._ERROR_BITS
        cls._INTEREST = (0, read, write, read | write)  # pyright: ignore[reportConstantRedefinition]
        cls._REPORTED_BITS = reported = read | write | error  # pyright: ignore[reportConstantRedefinition]
        table: list[EventMask] = []
        for raw in range(reported + 1):
            if raw & error:
                table.append(_BOTH)
                continue
            events = _NOTHING
            if raw & read:
                events |= EventMask.READ
            if raw & write:
                events |= EventMask.WRITE
            table.append(events)
        cls._READY = tuple(table)  # pyright: ignore[reportConstantRedefinition]

    def __init__(self, poller: _Poller) -> None:
        """Set up the descriptor table and the self-wakeup socket pair around a kernel object.

        Args:
            poller: The subclass's kernel object; it is released by `close`.
        """
        self._poller = poller
        self._registered: dict[int, EventMask] = {}
        self._closed = False
        # True from the moment a wakeup byte is (about to be) sent until `poll` has drained it.
        self._wakeup_armed = False
        reader, writer = socket.socketpair()
        try:
            reader.setblocking(False)
            writer.setblocking(False)
            poller.register(reader.fileno(), self._READ_BITS)
        except BaseException:
            reader.close()
            writer.close()
            raise
        self._wakeup_reader = reader
        self._wakeup_writer = writer
        self._wakeup_fd = reader.fileno()

    @abstractmethod
    def _wait(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait in the kernel once and return its raw `(fd, bits)` pairs.

        Args:
            timeout: Seconds, never negative and never above a day; `None` blocks.

        Returns:
            The raw readiness reported by the kernel, rounded up to its granularity so the wait is
            never shorter than asked.
        """

    def _release_poller(self) -> None:
        """Release the kernel object; nothing to do for objects that hold no descriptor."""

    def register(self, fd: int, events: EventMask) -> None:
        """Start watching a file descriptor.

        Args:
            fd: The file descriptor.
            events: What to wait for; never empty.

        Raises:
            ValueError: If `fd` is already registered.
            RuntimeError: If the reactor is closed.
        """
        if self._closed:
            raise RuntimeError("cannot register an fd with a closed reactor")
        registered = self._registered
        if fd in registered:
            raise ValueError(f"fd {fd} is already registered; use modify")
        bits = self._INTEREST[events]
        try:
            self._poller.register(fd, bits)
        except FileExistsError:
            self._poller.modify(fd, bits)
        registered[fd] = events

    def modify(self, fd: int, events: EventMask) -> None:
        """Change what a registered file descriptor is watched for, re-arming a reused fd number.

        The kernel is always told, even when `events` did not change (see the fd reuse note above).

        Args:
            fd: A registered file descriptor.
            events: What to wait for now; never empty.

        Raises:
            KeyError: If `fd` is not registered.
            RuntimeError: If the reactor is closed.
        """
        if self._closed:
            raise RuntimeError("cannot modify an fd of a closed reactor")
        registered = self._registered
        if fd not in registered:
            raise KeyError(f"fd {fd} is not registered")
        bits = self._INTEREST[events]
        try:
            self._poller.modify(fd, bits)
        except FileNotFoundError:
            self._poller.register(fd, bits)
        registered[fd] = events

    def unregister(self, fd: int) -> None:
        """Stop watching a file descriptor; harmless when it was already closed.

        Args:
            fd: A registered file descriptor.

        Raises:
            KeyError: If `fd` is not registered.
            RuntimeError: If the reactor is closed.
        """
        if self._closed:
            raise RuntimeError("cannot unregister an fd of a closed reactor")
        try:
            del self._registered[fd]
        except KeyError:
            raise KeyError(f"fd {fd} is not registered") from None
        try:
            self._poller.unregister(fd)
        except KeyError:
            pass  # poll: a descriptor found closed was already taken out of the kernel's view
        except OSError as error:
            if error.errno not in (errno.EBADF, errno.ENOENT):
                raise

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        """Wait until a registered descriptor is ready, `wakeup` is called, or the timeout passes.

        Args:
            timeout: Seconds to wait at most; `None` waits until something happens, `0` or a negative
                value does not block. An interrupted wait is resumed with the remaining time.

        Returns:
            The ready descriptors with what they are ready for; errors and hang-ups count as both.
            Empty after a timeout or a wakeup.

        Raises:
            RuntimeError: If the reactor is closed.
        """
        if self._closed:
            raise RuntimeError("cannot poll a closed reactor")
        if timeout is not None and timeout > 0.0:
            raw = self._wait_until(timeout)
        else:
            # Blocking until something happens, or not at all: the common cases need no deadline,
            # and an interrupted wait is simply made again.
            if timeout is not None:
                timeout = 0.0
            while True:
                try:
                    raw = self._wait(timeout)
                except InterruptedError:
                    continue
                break
        if not raw:
            return []
        wakeup_fd = self._wakeup_fd
        if len(raw) == 1:  # one descriptor ready: the usual answer of a busy connection
            fd, bits = raw[0]
            if fd == wakeup_fd:
                self._consume_wakeup()
                return []
            return [(fd, self._READY[bits & self._REPORTED_BITS])]
        table = self._READY
        reported = self._REPORTED_BITS
        ready: list[tuple[int, EventMask]] = []
        append = ready.append
        for fd, bits in raw:
            if fd == wakeup_fd:
                self._consume_wakeup()
            else:
                append((fd, table[bits & reported]))
        return ready

    def _wait_until(self, timeout: float) -> list[tuple[int, int]]:
        """Wait in the kernel at most `timeout` seconds (positive), resuming an interrupted wait."""
        if timeout > _MAX_TIMEOUT:
            timeout = _MAX_TIMEOUT
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._wait(timeout)
            except InterruptedError:
                timeout = max(deadline - time.monotonic(), 0.0)

    def _consume_wakeup(self) -> None:
        # Drain first, disarm second. While the flag is still set, a concurrent `wakeup` skips sending:
        # that is safe because this `poll` is about to return and the caller then looks at the work
        # that thread published before calling `wakeup`. Disarming first would let a concurrent
        # `wakeup` send a byte that this drain swallows, leaving the flag set with no byte pending, and
        # every later `wakeup` would be skipped: a lost wakeup.
        #
        # One `recv` is enough: while armed at most one byte is sent (two racing callers may send two),
        # and a byte that comes in after it only makes the next `poll` return early. Reading until
        # `BlockingIOError` would cost a second system call and an exception on every wakeup, on the
        # critical path of every call from another thread.
        try:
            self._wakeup_reader.recv(4096)
        except BlockingIOError:
            pass
        self._wakeup_armed = False

    def wakeup(self) -> None:
        """Make a blocked or upcoming `poll` return at once; safe to call from any thread.

        Calls coalesce: while a wakeup is pending no further byte is sent. A caller publishes its work
        before calling this, and the loop looks at published work after `poll` returns.
        """
        if self._wakeup_armed:
            return
        self._wakeup_armed = True
        try:
            self._wakeup_writer.send(b"\0")
        except OSError:
            # BlockingIOError cannot happen with at most one byte pending; after `close` the socket
            # raises EBADF, and a wakeup of a closed reactor has nothing to wake.
            pass

    def close(self) -> None:
        """Release the kernel object and the wakeup sockets; idempotent."""
        if self._closed:
            return
        self._closed = True
        # Later `wakeup` calls return before touching the closed socket.
        self._wakeup_armed = True
        self._registered.clear()
        try:
            self._release_poller()
        finally:
            self._wakeup_reader.close()
            self._wakeup_writer.close()
