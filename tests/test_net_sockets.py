"""`scarletio.net.sockets`: awaitable socket system calls, and the cancellation races of the original.

A cancelled helper must drop its reader / writer at once, so that the same operation issued again on
the same socket works, meets no stale callback, and leaves nothing registered. Every test runs on the
epoll and the poll backend.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from _fixtures import Reports, loop, reports, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.net.sockets import (
    Readiness,
    socket_accept,
    socket_connect,
    socket_receive,
    socket_receive_into,
    socket_send_all,
)
from scarletio.core.suspension import skip_ready_cycle, sleep


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    yield left, right
    left.close()
    right.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def fill(sock: socket.socket) -> int:
    """Send until the kernel refuses more; return how many bytes went out."""
    sent = 0
    try:
        while True:
            sent += sock.send(b"\0" * 65536)
    except BlockingIOError:
        return sent


def drain(sock: socket.socket) -> bytes:
    """Receive everything the kernel holds right now."""
    parts = []
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            parts.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(parts)


def watched(loop: EventThread, sock: socket.socket) -> tuple[bool, bool]:
    fd = sock.fileno()
    return fd in loop._readers, fd in loop._writers


# ---- plain operation ----------------------------------------------------------------------------


def test_socket_receive_waits_for_data_sent_later(loop: EventThread, pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair

    async def main() -> bytes:
        loop.call_after(0.01, right.send, b"hello")
        return await socket_receive(loop, left, 100)

    assert run(loop, main()) == b"hello"
    assert watched(loop, left) == (False, False)


def test_socket_receive_into_fills_the_buffer(loop: EventThread, pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    buffer = bytearray(8)

    async def main() -> int:
        loop.call_after(0.01, right.send, b"abc")
        return await socket_receive_into(loop, left, buffer)

    assert run(loop, main()) == 3
    assert buffer[:3] == b"abc"


def test_socket_receive_returns_empty_bytes_at_eof(loop: EventThread, pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    right.shutdown(socket.SHUT_WR)
    assert run(loop, socket_receive(loop, left, 10)) == b""


def test_socket_send_all_sends_more_than_the_kernel_buffer(
    loop: EventThread, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    payload = bytes(range(256)) * 16384  # 4 MiB

    async def reader() -> bytes:
        parts = []
        received = 0
        while received < len(payload):
            chunk = await socket_receive(loop, right, 1 << 20)
            parts.append(chunk)
            received += len(chunk)
        return b"".join(parts)

    async def main() -> bytes:
        task = loop.create_task(reader())
        await socket_send_all(loop, left, payload)
        return await task

    assert run(loop, main()) == payload


def test_socket_accept_and_connect_make_a_working_connection(loop: EventThread, listener: socket.socket) -> None:
    client = socket.socket()
    client.setblocking(False)

    async def main() -> tuple[bytes, bool, object, object]:
        accepting = loop.create_task(socket_accept(loop, listener))
        await socket_connect(loop, client, listener.getsockname())
        connection, address = await accepting
        with connection:
            await socket_send_all(loop, client, b"ping")
            data = await socket_receive(loop, connection, 10)
            return data, connection.gettimeout() == 0, address, client.getsockname()

    try:
        data, non_blocking, address, client_address = run(loop, main())
    finally:
        client.close()
    assert data == b"ping"
    assert non_blocking
    assert address == client_address


def test_socket_connect_resolves_a_host_name(loop: EventThread, listener: socket.socket) -> None:
    client = socket.socket(socket.AF_INET)
    client.setblocking(False)
    port = listener.getsockname()[1]
    try:
        run(loop, socket_connect(loop, client, ("localhost", port)))
        assert client.getpeername() == ("127.0.0.1", port)
    finally:
        client.close()


def test_socket_connect_to_a_closed_port_raises_connection_refused(loop: EventThread) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    client = socket.socket()
    client.setblocking(False)
    try:
        with pytest.raises(ConnectionRefusedError):
            run(loop, socket_connect(loop, client, holder.getsockname()))
        assert watched(loop, client) == (False, False)
    finally:
        client.close()
        holder.close()


def test_helpers_refuse_a_blocking_socket(loop: EventThread) -> None:
    left, right = socket.socketpair()
    with left, right:
        with pytest.raises(ValueError, match=r"^the socket must be non-blocking, got .*; call sock.setblocking\(False\) first$"):
            run(loop, socket_receive(loop, left, 1))


def test_a_second_concurrent_receive_on_one_socket_is_refused(
    loop: EventThread, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair

    async def main() -> bytes:
        first = loop.create_task(socket_receive(loop, left, 10))
        await skip_ready_cycle()
        with pytest.raises(RuntimeError, match=r"^fd \d+ already has a reader registered; wait on a socket from one task"):
            await socket_receive(loop, left, 10)
        right.send(b"x")
        return await first

    assert run(loop, main()) == b"x"


# ---- cancellation races ---------------------------------------------------------------------------


def test_cancelled_receive_drops_its_reader_at_once_and_a_new_receive_gets_the_data(
    loop: EventThread, pair: tuple[socket.socket, socket.socket], reports: Reports
) -> None:
    left, right = pair

    async def main() -> tuple[tuple[bool, bool], tuple[bool, bool], bool, bytes, tuple[bool, bool]]:
        task = loop.create_task(socket_receive(loop, left, 100))
        await skip_ready_cycle()
        registered = watched(loop, left)
        task.cancel()
        after_cancel = watched(loop, left)  # synchronously, before the task even resumes
        try:
            await task
        except CancelledError:
            pass
        right.send(b"data")
        await sleep(0.01)  # a poll in which a stale reader would have fired
        data = await socket_receive(loop, left, 100)
        return registered, after_cancel, task.is_cancelled(), data, watched(loop, left)

    registered, after_cancel, cancelled, data, finally_watched = run(loop, main())
    assert registered == (True, False)
    assert after_cancel == (False, False)
    assert cancelled
    assert data == b"data"
    assert finally_watched == (False, False)
    assert reports == []


def test_cancelled_receive_into_then_a_new_one_on_the_same_socket_works(
    loop: EventThread, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    buffer = bytearray(64)

    async def main() -> int:
        task = loop.create_task(socket_receive_into(loop, left, memoryview(buffer)[:32]))
        await skip_ready_cycle()
        task.cancel()
        right.send(b"hello")
        count = await socket_receive_into(loop, left, memoryview(buffer)[32:])
        with pytest.raises(CancelledError):
            await task
        return count

    count = run(loop, main())
    assert buffer[32 : 32 + count] == b"hello"
    assert buffer[:32] == bytes(32)  # the cancelled receive consumed nothing
    assert watched(loop, left) == (False, False)


def test_cancelled_send_all_drops_its_writer_and_a_new_send_all_goes_through(
    loop: EventThread, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair

    async def main() -> tuple[tuple[bool, bool], tuple[bool, bool], bytes]:
        fill(left)
        task = loop.create_task(socket_send_all(loop, left, b"hello"))
        await skip_ready_cycle()
        registered = watched(loop, left)
        task.cancel()
        after_cancel = watched(loop, left)
        drain(right)
        await socket_send_all(loop, left, b"world")
        received = b""
        while not received.endswith(b"world"):
            received += await socket_receive(loop, right, 1 << 20)
        return registered, after_cancel, received

    registered, after_cancel, received = run(loop, main())
    assert registered == (False, True)
    assert after_cancel == (False, False)
    assert received.endswith(b"world")
    assert watched(loop, left) == (False, False)


def test_cancelled_connect_then_connect_again_completes_the_connection(
    loop: EventThread, listener: socket.socket
) -> None:
    client = socket.socket()
    client.setblocking(False)

    async def main() -> tuple[tuple[bool, bool], tuple[bool, bool], bytes]:
        task = loop.create_task(socket_connect(loop, client, listener.getsockname()))
        await skip_ready_cycle()
        registered = watched(loop, client)
        task.cancel()
        after_cancel = watched(loop, client)
        await socket_connect(loop, client, listener.getsockname())
        connection, _ = await socket_accept(loop, listener)
        with connection:
            await socket_send_all(loop, client, b"over")
            return registered, after_cancel, await socket_receive(loop, connection, 10)

    try:
        registered, after_cancel, data = run(loop, main())
    finally:
        client.close()
    assert registered == (False, True)
    assert after_cancel == (False, False)
    assert data == b"over"


def test_readiness_cancelled_after_someone_else_took_the_fd_leaves_their_registration(
    loop: EventThread, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, _ = pair

    async def main() -> bool:
        waiter = Readiness(loop, left.fileno(), False)
        loop.remove_reader(left.fileno())
        loop.add_reader(left.fileno(), print)  # another owner now
        waiter.cancel()
        still_there = left.fileno() in loop._readers
        loop.remove_reader(left.fileno())
        return still_there

    assert run(loop, main())
