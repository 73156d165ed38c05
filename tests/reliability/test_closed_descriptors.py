"""Reliability: a descriptor closed while the loop still watches it, and watching a closed one.

The poll backend used to spin on a watched descriptor that was closed without `remove_reader`: the
kernel answers POLLNVAL on every call, about 300,000 reader calls a second at 100 % CPU. Now every
backend does what epoll does (the closed file is no longer watched), the poll backend reports the
slip once, and `add_reader` of a closed descriptor is refused everywhere. The virtual backend watches
real descriptors through a poll reactor, so it is checked too.
"""

from __future__ import annotations

import errno
import logging
import socket

import pytest
from _fixtures import any_loop  # noqa: F401 - a fixture, used by name

from scarletio import EventThread
from scarletio.core.suspension import skip_poll_cycle


def test_a_descriptor_closed_while_watched_does_not_make_the_loop_spin(
    any_loop: EventThread, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    def on_readable(sock: socket.socket) -> None:
        nonlocal calls
        calls += 1
        try:
            sock.recv(1)
        except OSError:
            pass

    async def main() -> tuple[int, int, bool]:
        nonlocal calls
        ours, theirs = socket.socketpair()
        fd = ours.fileno()
        any_loop.add_reader(fd, on_readable, ours)
        theirs.send(b"x")
        while calls == 0:
            await skip_poll_cycle()
        calls = 0
        ours.close()  # the slip: no remove_reader first
        ticks = 0
        while ticks < 50:  # 50 polls; count what the reader gets meanwhile
            await skip_poll_cycle()
            ticks += 1
        counted = calls
        removed = any_loop.remove_reader(fd)
        theirs.close()
        return counted, ticks, removed

    with caplog.at_level(logging.ERROR, logger="scarletio"):
        calls_after_close, ticks, removed = any_loop.run(main(), timeout=10)
    assert ticks == 50
    assert calls_after_close <= 1  # epoll: never; poll: once, so the callback meets its EBADF
    assert removed  # the loop still knew the reader, as with epoll
    slips = [record.getMessage() for record in caplog.records if "was closed while the loop still watched it" in record.getMessage()]
    assert len(slips) == (0 if any_loop.backend.name == "epoll" else 1)


def test_watching_a_closed_descriptor_is_refused(any_loop: EventThread) -> None:
    async def main() -> tuple[OSError, OSError, dict[int, object]]:
        sock = socket.socket()
        fd = sock.fileno()
        sock.close()
        with pytest.raises(OSError) as reading:
            any_loop.add_reader(fd, print)
        with pytest.raises(OSError) as writing:
            any_loop.add_writer(fd, print)
        return reading.value, writing.value, dict(any_loop._readers)

    reading, writing, readers = any_loop.run(main(), timeout=5)
    for error in (reading, writing):
        assert error.errno == errno.EBADF
        assert str(error).endswith("it is not an open descriptor (closed already?)")
    assert readers == {}  # nothing half-registered


def test_a_reused_descriptor_number_is_watched_again_after_the_slip(any_loop: EventThread) -> None:
    async def main() -> bytes:
        first, first_peer = socket.socketpair()
        fd = first.fileno()
        any_loop.add_reader(fd, lambda: None)
        first.close()
        first_peer.close()
        await skip_poll_cycle()  # poll finds the closed number and stops watching it
        second, second_peer = socket.socketpair()
        try:
            received: list[bytes] = []
            # Whatever number the new socket got, watching it works, the reused one included.
            any_loop.add_reader(second.fileno(), lambda: received.append(second.recv(16)))
            second_peer.send(b"hello")
            while not received:
                await skip_poll_cycle()
            any_loop.remove_reader(second.fileno())
            if second.fileno() != fd:
                any_loop.remove_reader(fd)
            return received[0]
        finally:
            second.close()
            second_peer.close()

    assert any_loop.run(main(), timeout=5) == b"hello"
