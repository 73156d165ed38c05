"""`scarletio.net.virtual` below the transports: hosts, link settings, and virtual sockets used directly
with the socket helpers (cancellation included)."""

from __future__ import annotations

import errno
import os
import select
import socket

import pytest

from scarletio import CancelledError, EventThread, sleep
from scarletio.backends.virtual import VirtualClock
from scarletio.net import socket_accept, socket_connect, socket_receive, socket_send_all
from scarletio.net.virtual import LinkConditions, VirtualHost, VirtualNetwork, VirtualStreamSocket
from scarletio.core.tasks import Task


def nanoseconds(loop: EventThread) -> int:
    clock = loop._clock
    assert isinstance(clock, VirtualClock)
    return clock.now_nanoseconds()


async def pair(loop: EventThread, network: VirtualNetwork) -> tuple[socket.socket, socket.socket, socket.socket]:
    """Return (listener, client, accepted): a connected pair from host 'a' to host 'b'."""
    a = network.add_host("a")
    b = network.add_host("b")
    listener = b.socket()
    listener.setblocking(False)
    listener.bind(("0.0.0.0", 80))
    listener.listen()
    client = a.socket()
    client.setblocking(False)
    accepting: Task[tuple[socket.socket, object]] = loop.create_task(socket_accept(loop, listener))
    await socket_connect(loop, client, ("b", 80))
    accepted, _ = await accepting
    return listener, client, accepted


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"latency": -0.1}, r"^latency must be a finite number of seconds >= 0, got -0.1$"),
        ({"jitter": float("inf")}, r"^jitter must be a finite number of seconds >= 0, got inf$"),
        ({"bandwidth": 0}, r"^bandwidth must be a finite number of bytes per second > 0, or None, got 0$"),
        ({"loss": 1.5}, r"^loss must be a probability from 0 to 1, got 1.5$"),
    ],
)
def test_link_conditions_refuse_impossible_values(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkConditions(**settings)


async def test_a_link_can_have_its_own_conditions_each_way(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=1.0)
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    scarletio_network.set_link("a", "b", LinkConditions(latency=0.25), both_ways=False)
    start = nanoseconds(scarletio_loop)
    await socket_send_all(scarletio_loop, client, b"there")
    assert await socket_receive(scarletio_loop, accepted, 10) == b"there"
    assert nanoseconds(scarletio_loop) - start == 250_000_000
    await socket_send_all(scarletio_loop, accepted, b"back")
    assert await socket_receive(scarletio_loop, client, 10) == b"back"
    assert nanoseconds(scarletio_loop) - start == 1_250_000_000  # the way back kept the default
    with pytest.raises(ValueError, match="reaches itself over loopback, which has no conditions"):
        scarletio_network.set_link("a", "a", LinkConditions())
    for sock in (client, accepted, listener):
        sock.close()


async def test_jitter_delays_each_packet_within_its_bound(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.1, jitter=0.05)
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    delays = []
    for _ in range(20):
        start = nanoseconds(scarletio_loop)
        await socket_send_all(scarletio_loop, client, b"?")
        assert await socket_receive(scarletio_loop, accepted, 1) == b"?"
        delays.append(nanoseconds(scarletio_loop) - start)
    assert all(100_000_000 <= delay <= 150_000_000 for delay in delays)
    assert len(set(delays)) > 10
    for sock in (client, accepted, listener):
        sock.close()


async def test_a_cancelled_receive_leaves_no_reader_and_loses_no_data(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    waiting = scarletio_loop.create_task(socket_receive(scarletio_loop, accepted, 100))
    await sleep(1.0)
    waiting.cancel()
    with pytest.raises(CancelledError):
        await waiting
    assert accepted.fileno() not in scarletio_loop._readers
    await socket_send_all(scarletio_loop, client, b"kept")
    assert await socket_receive(scarletio_loop, accepted, 100) == b"kept"
    for sock in (client, accepted, listener):
        sock.close()


async def test_a_cancelled_connect_finishes_when_issued_again(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.5)
    b = scarletio_network.add_host("b")
    listener = b.socket()
    listener.setblocking(False)
    listener.bind(("0.0.0.0", 80))
    listener.listen()
    client = scarletio_network.add_host("a").socket()
    client.setblocking(False)
    attempt = scarletio_loop.create_task(socket_connect(scarletio_loop, client, ("b", 80)))
    await sleep(0.2)
    attempt.cancel()
    with pytest.raises(CancelledError):
        await attempt
    await socket_connect(scarletio_loop, client, ("b", 80))
    assert nanoseconds(scarletio_loop) == 1_000_000_000
    assert client.getpeername() == (b.address, 80)
    client.close()
    listener.close()


async def test_a_sender_stops_when_the_connection_is_full(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.buffer_size = 1000
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    assert client.send(b"x" * 1500) == 1000
    with pytest.raises(BlockingIOError):
        client.send(b"y")
    assert len(await socket_receive(scarletio_loop, accepted, 400)) == 400
    await sleep(0)  # the acknowledgement travels back (no latency here, but by the loop)
    await sleep(0.001)
    assert client.send(b"z" * 1000) == 400
    for sock in (client, accepted, listener):
        sock.close()


async def test_sockets_belong_to_the_host_their_code_runs_on(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    alpha = scarletio_network.add_host("alpha")

    async def where() -> VirtualHost:
        sock = scarletio_network.open_socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
        assert isinstance(sock, socket.socket)
        sock.close()
        return scarletio_network.current_host()

    assert await alpha.create_task(where()) is alpha
    with alpha.use():
        inner = scarletio_loop.create_task(where())  # a task inherits the host it was created on
    assert await inner is alpha
    default = await where()
    assert default is scarletio_network.default_host
    assert (default.name, default.address) == ("default", "10.0.0.2")


async def test_a_full_backlog_holds_connections_until_accepted(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    b = scarletio_network.add_host("b")
    a = scarletio_network.add_host("a")
    listener = b.socket()
    listener.setblocking(False)
    listener.bind(("0.0.0.0", 80))
    listener.listen(1)
    clients = [a.socket() for _ in range(3)]
    connects = []
    for client in clients:
        client.setblocking(False)
        connects.append(scarletio_loop.create_task(socket_connect(scarletio_loop, client, ("b", 80))))
    await sleep(1.0)
    assert sum(task.is_done() for task in connects) == 1  # which one: the order the tasks ran in
    accepted = [(await socket_accept(scarletio_loop, listener))[0] for _ in range(3)]
    for task in connects:
        await task
    assert sorted(sock.getpeername() for sock in accepted) == sorted(client.getsockname() for client in clients)
    for sock in (*accepted, *clients, listener):
        sock.close()


async def test_closing_a_listener_refuses_what_waits_in_its_queue(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    late = scarletio_network.host("a").socket()
    late.setblocking(False)
    await socket_connect(scarletio_loop, late, ("b", 80))  # queued, never accepted
    listener.close()
    await sleep(0.1)
    with pytest.raises(ConnectionResetError):
        await socket_receive(scarletio_loop, late, 1)
    assert isinstance(accepted, VirtualStreamSocket)
    await socket_send_all(scarletio_loop, client, b"still here")  # accepted connections live on
    assert await socket_receive(scarletio_loop, accepted, 100) == b"still here"
    for sock in (late, client, accepted):
        sock.close()


def test_sock_nonblock_makes_a_non_blocking_socket(scarletio_network: VirtualNetwork) -> None:
    host = scarletio_network.add_host("h")
    nonblock: int = getattr(socket, "SOCK_NONBLOCK")  # noqa: B009 - Linux only, and mypy also checks for darwin
    sock = host.socket(socket.AF_INET, socket.SOCK_STREAM | nonblock)
    assert (sock.type, sock.gettimeout(), sock.getblocking()) == (socket.SOCK_STREAM, 0.0, False)
    plain = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    assert (plain.type, plain.gettimeout(), plain.getblocking()) == (socket.SOCK_DGRAM, None, True)
    with pytest.raises(OSError, match="stream and datagram sockets only") as raw:
        host.socket(socket.AF_INET, socket.SOCK_RAW)
    assert raw.value.errno == errno.ESOCKTNOSUPPORT
    sock.close()
    plain.close()


async def test_shutting_down_receiving_discards_data_without_holding_the_sender_back(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.buffer_size = 100
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    accepted.shutdown(socket.SHUT_RD)
    for _ in range(5):
        await socket_send_all(scarletio_loop, client, b"x" * 100)  # would stall after 100 bytes if kept
    assert await socket_receive(scarletio_loop, accepted, 10) == b""
    for sock in (client, accepted, listener):
        sock.close()


def open_descriptors() -> set[int]:
    """Return the process's open descriptors (not counting the one the listing itself used)."""
    listed = {int(name) for name in os.listdir("/proc/self/fd")}
    still_open = set()
    for fd in listed:
        try:
            os.fstat(fd)
        except OSError:
            continue
        still_open.add(fd)
    return still_open


async def test_select_on_a_virtual_socket_fileno_tells_whether_data_waits(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    # What httpcore does before reusing an idle keep-alive connection: select() on its fileno().
    scarletio_network.conditions = LinkConditions(latency=0.05)
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    assert select.select([client.fileno()], [], [], 0)[0] == []
    assert select.select([], [client.fileno()], [], 0)[1] == [client.fileno()]
    await socket_send_all(scarletio_loop, accepted, b"news")
    assert select.select([client.fileno()], [], [], 0)[0] == []  # still in flight
    await sleep(0.05)
    assert select.select([client.fileno()], [], [], 0)[0] == [client.fileno()]
    assert await socket_receive(scarletio_loop, client, 10) == b"news"
    assert select.select([client.fileno()], [], [], 0)[0] == []
    accepted.close()  # the peer closes: end of file is readable too
    await sleep(0.05)
    assert select.select([client.fileno()], [], [], 0)[0] == [client.fileno()]
    for sock in (client, listener):
        sock.close()


async def test_virtual_socket_descriptors_are_real_unique_and_closed_with_their_socket(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    before = open_descriptors()
    listener, client, accepted = await pair(scarletio_loop, scarletio_network)
    numbers = {sock.fileno() for sock in (listener, client, accepted)}
    assert len(numbers) == 3 and numbers <= open_descriptors() - before
    for sock in (client, accepted, listener):
        sock.close()
    await sleep(0)  # let the transports-free helpers drop their registrations
    assert open_descriptors() - before == set()
