"""The `Reactor` contract, run against every real backend (epoll and poll)."""

from __future__ import annotations

import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

import pytest
from _fixtures import LATE

from scarletio.core.abc import EventMask, Reactor
from scarletio.backends import BackendName, get_backend

READ = EventMask.READ
WRITE = EventMask.WRITE
BOTH = EventMask.READ | EventMask.WRITE

SocketPair = tuple[socket.socket, socket.socket]


@pytest.fixture(params=["epoll", "poll"])
def reactor(request: pytest.FixtureRequest) -> Iterator[Reactor]:
    name: BackendName = request.param
    reactor = get_backend(name).reactor_factory()
    try:
        yield reactor
    finally:
        reactor.close()


@pytest.fixture
def make_pair() -> Iterator[Callable[[], SocketPair]]:
    """Return a factory of non-blocking socket pairs; every pair is closed after the test."""
    opened: list[socket.socket] = []

    def make() -> SocketPair:
        left, right = socket.socketpair()
        opened.extend((left, right))
        left.setblocking(False)
        right.setblocking(False)
        return left, right

    try:
        yield make
    finally:
        for sock in opened:
            sock.close()


@pytest.fixture
def pair(make_pair: Callable[[], SocketPair]) -> SocketPair:
    return make_pair()


def fill_send_buffer(sock: socket.socket) -> None:
    try:
        while True:
            sock.send(b"x" * 65536)
    except BlockingIOError:
        pass


# Readiness


def test_registered_reader_is_reported_once_its_peer_writes(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    reactor.register(sock.fileno(), READ)
    assert reactor.poll(0) == []
    peer.send(b"x")
    assert reactor.poll(1.0) == [(sock.fileno(), READ)]


def test_registered_writer_is_reported_while_there_is_buffer_space(reactor: Reactor, pair: SocketPair) -> None:
    sock, _ = pair
    reactor.register(sock.fileno(), WRITE)
    assert reactor.poll(0) == [(sock.fileno(), WRITE)]


def test_writer_with_a_full_buffer_is_not_reported(reactor: Reactor, pair: SocketPair) -> None:
    sock, _ = pair
    fill_send_buffer(sock)
    reactor.register(sock.fileno(), WRITE)
    assert reactor.poll(0) == []


def test_both_directions_are_reported_together(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    peer.send(b"x")
    reactor.register(sock.fileno(), BOTH)
    assert reactor.poll(0) == [(sock.fileno(), BOTH)]


def test_modify_switches_from_read_to_write(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    peer.send(b"x")
    reactor.register(sock.fileno(), READ)
    assert reactor.poll(0) == [(sock.fileno(), READ)]
    reactor.modify(sock.fileno(), WRITE)
    assert reactor.poll(0) == [(sock.fileno(), WRITE)]


def test_unregister_stops_reporting(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    peer.send(b"x")
    reactor.register(sock.fileno(), READ)
    reactor.unregister(sock.fileno())
    assert reactor.poll(0) == []


def test_register_twice_raises_value_error(reactor: Reactor, pair: SocketPair) -> None:
    fd = pair[0].fileno()
    reactor.register(fd, READ)
    with pytest.raises(ValueError, match=rf"^fd {fd} is already registered; use modify$"):
        reactor.register(fd, WRITE)


def test_modify_of_an_unknown_fd_raises_key_error(reactor: Reactor, pair: SocketPair) -> None:
    with pytest.raises(KeyError, match=rf"fd {pair[0].fileno()} is not registered"):
        reactor.modify(pair[0].fileno(), READ)


def test_unregister_of_an_unknown_fd_raises_key_error(reactor: Reactor, pair: SocketPair) -> None:
    with pytest.raises(KeyError, match=rf"fd {pair[0].fileno()} is not registered"):
        reactor.unregister(pair[0].fileno())


# Errors and hang-ups


def test_hang_up_wakes_a_reader_for_both_directions(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    reactor.register(sock.fileno(), READ)
    peer.close()  # the kernel reports HUP (plus EOF): the contract says READ|WRITE
    assert reactor.poll(1.0) == [(sock.fileno(), BOTH)]


def test_hang_up_wakes_a_blocked_writer_for_both_directions(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    fill_send_buffer(sock)
    reactor.register(sock.fileno(), WRITE)
    assert reactor.poll(0) == []
    peer.close()  # ERR|HUP, although only WRITE was asked for and the buffer is still full
    assert reactor.poll(1.0) == [(sock.fileno(), BOTH)]


def test_half_close_by_the_peer_is_plain_end_of_file(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    reactor.register(sock.fileno(), READ)
    peer.shutdown(socket.SHUT_WR)  # no hang-up: we may still write
    assert reactor.poll(1.0) == [(sock.fileno(), READ)]


# File descriptor reuse


def test_modify_rearms_a_reused_fd_number(reactor: Reactor, make_pair: Callable[[], SocketPair]) -> None:
    # stdlib asyncio's selector loses this wakeup on epoll: modify() with an unchanged mask makes no
    # system call, but the kernel dropped the closed socket from the epoll set, so the new socket with
    # the same number is never watched.
    old, _ = make_pair()
    fd = old.fileno()
    reactor.register(fd, READ)
    old.close()
    for _ in range(10):
        new, peer = make_pair()
        if peer.fileno() == fd:
            new, peer = peer, new
        if new.fileno() == fd:
            break
    else:
        pytest.fail(f"no new socket got the fd number {fd} back")
    reactor.modify(fd, READ)
    peer.send(b"x")
    assert reactor.poll(1.0) == [(fd, READ)]


def test_unregister_of_a_closed_fd_does_not_raise(reactor: Reactor, make_pair: Callable[[], SocketPair]) -> None:
    sock, _ = make_pair()
    fd = sock.fileno()
    reactor.register(fd, READ)
    sock.close()
    reactor.unregister(fd)
    again, _ = make_pair()
    reactor.register(again.fileno(), READ)  # the reactor forgot the old fd completely


def test_epoll_register_adopts_an_fd_the_kernel_already_watches(pair: SocketPair) -> None:
    reactor = get_backend("epoll").reactor_factory()
    try:
        sock, peer = pair
        # Make the kernel know the fd behind the reactor's back (what a lost unregister looks like).
        getattr(reactor, "_epoll").register(sock.fileno(), 0)
        reactor.register(sock.fileno(), READ)
        peer.send(b"x")
        assert reactor.poll(1.0) == [(sock.fileno(), READ)]
    finally:
        reactor.close()


# Timeouts


def test_poll_zero_returns_at_once_when_nothing_is_ready(reactor: Reactor, pair: SocketPair) -> None:
    reactor.register(pair[0].fileno(), READ)
    start = time.monotonic()
    assert reactor.poll(0) == []
    assert reactor.poll(-1.0) == []
    assert time.monotonic() - start < LATE


def test_poll_waits_for_its_timeout(reactor: Reactor) -> None:
    start = time.monotonic()
    assert reactor.poll(0.05) == []
    elapsed = time.monotonic() - start
    assert 0.05 <= elapsed < 0.05 + LATE


def test_poll_accepts_an_endless_timeout(reactor: Reactor) -> None:
    reactor.wakeup()
    assert reactor.poll(math.inf) == []
    reactor.wakeup()
    assert reactor.poll(1e300) == []


def test_poll_rounds_a_sub_millisecond_timeout_up(reactor: Reactor) -> None:
    # Rounded down to 0, a short timer would make the loop spin instead of sleeping.
    for _ in range(5):
        start = time.monotonic()
        assert reactor.poll(0.0004) == []
        assert time.monotonic() - start >= 0.0004


def test_poll_retries_an_interrupted_wait_with_the_remaining_time(
    reactor: Reactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = type(reactor)
    original: Callable[[Reactor, float | None], list[tuple[int, int]]] = getattr(cls, "_wait")
    timeouts: list[float | None] = []

    def interrupted_once(self: Reactor, timeout: float | None) -> list[tuple[int, int]]:
        timeouts.append(timeout)
        if len(timeouts) == 1:
            time.sleep(0.05)
            raise InterruptedError
        return original(self, timeout)

    monkeypatch.setattr(cls, "_wait", interrupted_once)
    start = time.monotonic()
    assert reactor.poll(0.2) == []
    assert time.monotonic() - start >= 0.2
    first, second = timeouts
    assert first == 0.2
    assert second is not None and second <= 0.15  # the time left, not the whole timeout again


@pytest.mark.parametrize("timeout", [None, 0.0, -1.0])
def test_poll_retries_an_interrupted_unbounded_or_immediate_wait_as_it_was(
    reactor: Reactor, pair: SocketPair, monkeypatch: pytest.MonkeyPatch, timeout: float | None
) -> None:
    sock, peer = pair
    reactor.register(sock.fileno(), READ)
    peer.send(b"x")
    cls = type(reactor)
    original: Callable[[Reactor, float | None], list[tuple[int, int]]] = getattr(cls, "_wait")
    timeouts: list[float | None] = []

    def interrupted_once(self: Reactor, wait: float | None) -> list[tuple[int, int]]:
        timeouts.append(wait)
        if len(timeouts) == 1:
            raise InterruptedError
        return original(self, wait)

    monkeypatch.setattr(cls, "_wait", interrupted_once)
    assert reactor.poll(timeout) == [(sock.fileno(), READ)]
    expected = None if timeout is None else 0.0  # a negative timeout is "do not block"
    assert timeouts == [expected, expected]


def test_several_ready_descriptors_are_reported_beside_a_wakeup(
    reactor: Reactor, make_pair: Callable[[], SocketPair]
) -> None:
    pairs = [make_pair() for _ in range(3)]
    for sock, peer in pairs:
        reactor.register(sock.fileno(), READ)
        peer.send(b"x")
    expected = sorted((sock.fileno(), READ) for sock, _ in pairs)
    reactor.wakeup()
    assert sorted(reactor.poll(1.0)) == expected
    sock, _ = pairs[0]
    sock.recv(1)  # one descriptor ready and a wakeup: the wakeup is still never reported
    for other, _ in pairs[1:]:
        other.recv(1)
    pairs[0][1].send(b"y")
    reactor.wakeup()
    assert reactor.poll(1.0) == [(sock.fileno(), READ)]


def test_a_wakeup_alone_is_an_empty_answer(reactor: Reactor) -> None:
    reactor.wakeup()
    assert reactor.poll(1.0) == []
    assert reactor.poll(0) == []  # and it was drained


def test_poll_keeps_waiting_through_a_signal(reactor: Reactor) -> None:
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGUSR1, handler)
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        start = time.monotonic()
        timer.start()
        assert reactor.poll(0.3) == []
        elapsed = time.monotonic() - start
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGUSR1, previous)
    assert received == [signal.SIGUSR1]
    assert 0.3 <= elapsed < 0.3 + LATE


# Wakeup


@pytest.mark.timeout(5)
def test_wakeup_from_another_thread_ends_a_blocking_poll(reactor: Reactor) -> None:
    timer = threading.Timer(0.05, reactor.wakeup)
    start = time.monotonic()
    timer.start()
    try:
        assert reactor.poll(None) == []
    finally:
        timer.join()
    assert time.monotonic() - start < LATE


def test_wakeup_before_poll_makes_the_next_poll_return_at_once(reactor: Reactor) -> None:
    reactor.wakeup()
    start = time.monotonic()
    assert reactor.poll(2 * LATE) == []
    assert time.monotonic() - start < LATE


def test_many_wakeups_coalesce_and_are_drained(reactor: Reactor) -> None:
    for _ in range(10000):
        reactor.wakeup()
    assert reactor.poll(0) == []
    start = time.monotonic()
    assert reactor.poll(0.01) == []
    assert time.monotonic() - start >= 0.01


class _CountingSender:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sends = 0

    def send(self, data: bytes) -> int:
        self.sends += 1
        return self.sock.send(data)

    def close(self) -> None:
        self.sock.close()


def test_pending_wakeup_sends_no_second_byte(reactor: Reactor, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = _CountingSender(getattr(reactor, "_wakeup_writer"))
    monkeypatch.setattr(reactor, "_wakeup_writer", sender)
    for _ in range(1000):
        reactor.wakeup()
    assert sender.sends == 1
    reactor.poll(0)
    reactor.wakeup()
    assert sender.sends == 2


class _RacingReceiver:
    """Calls `wakeup` once in the middle of the drain, as another thread could."""

    def __init__(self, reactor: Reactor, sock: socket.socket) -> None:
        self.reactor = reactor
        self.sock = sock
        self.raced = False

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        if not self.raced:
            self.raced = True
            self.reactor.wakeup()
        return data

    def close(self) -> None:
        self.sock.close()


def test_wakeup_racing_with_the_drain_is_not_lost(reactor: Reactor, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = _RacingReceiver(reactor, getattr(reactor, "_wakeup_reader"))
    monkeypatch.setattr(reactor, "_wakeup_reader", receiver)
    reactor.wakeup()
    assert reactor.poll(0) == []  # the racing wakeup's work is looked at after this return
    assert receiver.raced
    reactor.wakeup()  # must still arm: a flag left set with no byte pending would swallow it
    start = time.monotonic()
    assert reactor.poll(2 * LATE) == []
    assert time.monotonic() - start < LATE


def test_wakeup_fd_is_never_reported(reactor: Reactor, pair: SocketPair) -> None:
    sock, peer = pair
    reactor.register(sock.fileno(), READ)
    peer.send(b"x")
    reactor.wakeup()
    assert reactor.poll(1.0) == [(sock.fileno(), READ)]


# Closing


def test_close_is_idempotent_and_wakeup_after_close_is_harmless(reactor: Reactor) -> None:
    reactor.close()
    reactor.close()
    reactor.wakeup()


def test_use_after_close_raises_runtime_error(reactor: Reactor, pair: SocketPair) -> None:
    fd = pair[0].fileno()
    reactor.register(fd, READ)
    reactor.close()
    with pytest.raises(RuntimeError, match=r"^cannot poll a closed reactor$"):
        reactor.poll(0)
    with pytest.raises(RuntimeError, match=r"closed reactor"):
        reactor.register(pair[1].fileno(), READ)
    with pytest.raises(RuntimeError, match=r"closed reactor"):
        reactor.modify(fd, WRITE)
    with pytest.raises(RuntimeError, match=r"closed reactor"):
        reactor.unregister(fd)
