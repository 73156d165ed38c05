"""The virtual network against the real thing: the same scenarios over 127.0.0.1 and between virtual hosts.

Each scenario is written once against sockets from `open_socket` and the socket helpers, and runs on
the epoll and poll backends with real sockets and on the virtual backend with a `VirtualNetwork`; the
outcomes must be the same (connection refused, end of file after the data, reset after closing with
unread data, half-close).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import pytest

from scarletio import EventThread, sleep
from scarletio.net import socket_accept, socket_connect, socket_receive, socket_send_all
from scarletio.net._socket_factory import open_socket
from scarletio.net.virtual import VirtualNetwork
from scarletio.testing import virtual_loop


@dataclass
class Place:
    """Where a scenario runs: how to be on the server or the client, and the server's address."""

    loop: EventThread
    server: Callable[[], AbstractContextManager[object]]
    client: Callable[[], AbstractContextManager[object]]
    target: str

    def stream(self) -> socket.socket:
        sock = open_socket(self.loop, socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock

    async def listener(self) -> tuple[socket.socket, int]:
        with self.server():
            sock = self.stream()
            sock.bind(("127.0.0.1" if self.target == "127.0.0.1" else "0.0.0.0", 0))
            sock.listen()
        return sock, sock.getsockname()[1]

    async def pair(self) -> tuple[socket.socket, socket.socket, socket.socket]:
        listener, port = await self.listener()
        with self.client():
            client = self.stream()
        accepting = self.loop.create_task(socket_accept(self.loop, listener))
        await socket_connect(self.loop, client, (self.target, port))
        accepted, _ = await accepting
        return listener, client, accepted


@pytest.fixture(params=["epoll", "poll", "virtual"])
def place(request: pytest.FixtureRequest) -> Iterator[Place]:
    if request.param != "virtual":
        loop = EventThread(request.param, daemon=True)
        try:
            yield Place(loop, nullcontext, nullcontext, "127.0.0.1")
        finally:
            loop.stop()
            loop.join(5)
        return
    with virtual_loop() as loop:
        network = VirtualNetwork(loop)
        server = network.add_host("server")
        client = network.add_host("client")
        yield Place(loop, server.use, client.use, "server")


def run(place: Place, scenario: Callable[[Place], Coroutine[Any, Any, object]]) -> object:
    return place.loop.run(scenario(place), timeout=10)


async def refused(place: Place) -> type[BaseException] | None:
    listener, port = await place.listener()
    listener.close()  # bound once, listening never: nothing is there now
    with place.client():
        client = place.stream()
    try:
        await socket_connect(place.loop, client, (place.target, port))
    except OSError as error:
        return type(error)
    finally:
        client.close()
    return None


async def data_then_end_of_file(place: Place) -> list[bytes]:
    listener, client, accepted = await place.pair()
    await socket_send_all(place.loop, accepted, b"all of it")
    accepted.close()
    received = []
    while True:
        chunk = await socket_receive(place.loop, client, 100)
        received.append(chunk)
        if not chunk:
            break
    client.close()
    listener.close()
    return [b"".join(received), received[-1]]


async def reset_after_closing_with_unread_data(place: Place) -> type[BaseException] | None:
    listener, client, accepted = await place.pair()
    await socket_send_all(place.loop, client, b"never read")
    await sleep(0.05)
    accepted.close()
    await sleep(0.05)
    try:
        await socket_receive(place.loop, client, 100)
    except OSError as error:
        return type(error)
    finally:
        after = await socket_receive(place.loop, client, 100)  # reported once, then end of file
        with pytest.raises(BrokenPipeError):
            client.send(b"too late")
        client.close()
        listener.close()
        assert after == b""
    return None


async def half_close(place: Place) -> list[bytes]:
    listener, client, accepted = await place.pair()
    await socket_send_all(place.loop, client, b"question")
    client.shutdown(socket.SHUT_WR)
    asked = await socket_receive(place.loop, accepted, 100)
    end = await socket_receive(place.loop, accepted, 100)
    await socket_send_all(place.loop, accepted, b"answer")
    accepted.close()
    answer = await socket_receive(place.loop, client, 100)
    client.close()
    listener.close()
    return [asked, end, answer]


async def back_pressure(place: Place) -> list[object]:
    listener, client, accepted = await place.pair()
    chunk = b"\x01" * 65536
    sent = 0
    blocked = False
    while sent < 64 << 20:  # the kernel's buffers are far smaller than 64 MiB
        try:
            sent += client.send(chunk)
        except BlockingIOError:
            blocked = True
            break

    async def read_all() -> int:
        total = 0
        while data := await socket_receive(place.loop, accepted, 1 << 20):
            total += len(data)
        return total

    reading = place.loop.create_task(read_all())
    await socket_send_all(place.loop, client, chunk * 16)  # waits for the reader to make room
    client.shutdown(socket.SHUT_WR)
    received = await reading
    for sock in (client, accepted, listener):
        sock.close()
    return [blocked, received == sent + 16 * 65536]


def test_a_reader_that_does_not_read_stops_the_sender_and_nothing_is_lost(place: Place) -> None:
    assert run(place, back_pressure) == [True, True]


def test_connecting_where_nothing_listens_is_refused(place: Place) -> None:
    assert run(place, refused) is ConnectionRefusedError


def test_a_peer_that_closes_delivers_its_data_then_end_of_file(place: Place) -> None:
    assert run(place, data_then_end_of_file) == [b"all of it", b""]


def test_closing_with_unread_data_resets_the_connection(place: Place) -> None:
    assert run(place, reset_after_closing_with_unread_data) is ConnectionResetError


def test_a_half_closed_connection_still_carries_the_answer(place: Place) -> None:
    assert run(place, half_close) == [b"question", b"", b"answer"]
