"""`scarletio.net.virtual`: networked code on an in-memory network on virtual time.

Every test here uses the production networking API (servers, connections, protocols, streams,
datagrams, socket helpers); only the sockets under it are virtual. Times are checked exactly, in
whole nanoseconds of the virtual clock.
"""

from __future__ import annotations

import errno
import socket
import ssl
from typing import Any

import pytest
from _fixtures import certificate, client_context, server_context  # noqa: F401 - fixtures are used by name

from scarletio import EventThread, Future, sleep
from scarletio.backends.virtual import VirtualClock
from scarletio.net import (
    DatagramProtocol,
    DatagramTransport,
    ReadWriteProtocolBase,
    Server,
    SocketAddress,
    StreamProtocol,
    StreamTransport,
    Transport,
    create_connection_to,
    create_datagram_connection_to,
    create_server_to,
    get_address_info,
    get_name_info,
    socket_connect,
    socket_receive,
    socket_send_all,
)
from scarletio.net.virtual import LinkConditions, VirtualHost, VirtualNetwork, VirtualSocket
from scarletio.core.tasks import Task
from scarletio.core.virtual_trace import TraceEvent

# ---- helpers -------------------------------------------------------------------------------------


class Echo(StreamProtocol):
    """A callback protocol that sends back whatever it receives."""

    def connection_made(self, transport: Transport, /) -> None:
        assert isinstance(transport, StreamTransport)
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        self.transport.write(data)


def nanoseconds(loop: EventThread) -> int:
    clock = loop._clock
    assert isinstance(clock, VirtualClock)
    return clock.now_nanoseconds()


async def echo_server(loop: EventThread, host: VirtualHost, port: int = 7000) -> Server:
    with host.use():
        server = await create_server_to(loop, Echo, None, port)
        await server.start()
    return server


async def connect(loop: EventThread, host: VirtualHost, target: str, port: int = 7000) -> ReadWriteProtocolBase:
    with host.use():
        return await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), target, port)


async def stream_server(loop: EventThread, host: VirtualHost) -> tuple[Server, Future[ReadWriteProtocolBase]]:
    """Start a server of stream protocols on `host`:7000; the future gets the first connection's protocol."""
    accepted: Future[ReadWriteProtocolBase] = Future(loop)

    def make() -> ReadWriteProtocolBase:
        protocol = ReadWriteProtocolBase(loop)
        accepted.set_result_if_pending(protocol)
        return protocol

    with host.use():
        server = await create_server_to(loop, make, None, 7000)
        await server.start()
    return server, accepted


def transport_of(protocol: ReadWriteProtocolBase) -> StreamTransport:
    transport = protocol.get_transport()
    assert isinstance(transport, StreamTransport)
    return transport


# ---- timing --------------------------------------------------------------------------------------


async def test_request_response_takes_exactly_two_latencies(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.1)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server = await echo_server(scarletio_loop, server_host)
    started = nanoseconds(scarletio_loop)
    client = await connect(scarletio_loop, client_host, "server")
    connected = nanoseconds(scarletio_loop)
    client.write(b"ping\n")
    assert await client.read_line() == b"ping\n"
    answered = nanoseconds(scarletio_loop)
    assert connected - started == 200_000_000  # SYN there, SYN-ACK back
    assert answered - connected == 200_000_000
    assert scarletio_loop.time() == pytest.approx(0.4, abs=1e-12)
    transport_of(client).close()
    server.close()


async def test_one_host_talks_to_itself_over_loopback_without_delay(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=5.0)
    host = scarletio_network.add_host("solo")
    server = await echo_server(scarletio_loop, host)
    client = await connect(scarletio_loop, host, "localhost")
    client.write(b"self\n")
    assert await client.read_line() == b"self\n"
    assert nanoseconds(scarletio_loop) == 0
    assert transport_of(client).get_extra_info("peername") == ("127.0.0.1", 7000)
    transport_of(client).close()
    server.close()


async def test_bandwidth_limits_how_fast_bytes_arrive(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01, bandwidth=1_000_000)
    scarletio_network.buffer_size = 1 << 20  # room for everything: the link alone limits the pace
    sender = scarletio_network.add_host("sender")
    receiver = scarletio_network.add_host("receiver")
    with receiver.use():
        listener = receiver.socket()
        listener.bind(("0.0.0.0", 9000))
        listener.listen()
        listener.setblocking(False)
    with sender.use():
        client = await create_connection_to(scarletio_loop, lambda: ReadWriteProtocolBase(scarletio_loop), "receiver", 9000)
    accepted, _ = listener.accept()
    accepted.setblocking(False)
    start = nanoseconds(scarletio_loop)
    payload = bytes(range(256)) * 1000  # 256,000 bytes
    client.write(payload)
    received = bytearray()
    while len(received) < len(payload):
        received += await socket_receive(scarletio_loop, accepted, 1 << 20)
    # 0.256 s on the wire plus one latency; the first segments arrive earlier, the last one then
    assert nanoseconds(scarletio_loop) - start == 256_000_000 + 10_000_000
    assert bytes(received) == payload
    accepted.close()
    listener.close()
    transport_of(client).close()


# ---- loss and timeouts ---------------------------------------------------------------------------


class Collector(DatagramProtocol):
    """A datagram protocol that keeps what it receives and resolves a future per datagram."""

    def __init__(self, loop: EventThread) -> None:
        self.loop = loop
        self.received: list[tuple[bytes, SocketAddress]] = []
        self.errors: list[OSError] = []
        self.waiter: Future[bytes] = Future(loop)

    def connection_made(self, transport: DatagramTransport, /) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address: SocketAddress, /) -> None:
        self.received.append((data, address))
        self.waiter.set_result_if_pending(data)

    def error_received(self, exception: OSError, /) -> None:
        self.errors.append(exception)
        self.waiter.set_exception_if_pending(exception)

    async def next(self, timeout: float) -> bytes:
        self.waiter = Future(self.loop)
        self.waiter.apply_timeout(timeout)
        return await self.waiter


async def datagram_pair(
    loop: EventThread, sink_host: VirtualHost, source_host: VirtualHost, port: int, kind: type[Collector] = Collector
) -> tuple[Collector, Collector]:
    """Return an endpoint of `kind` bound to `port` on `sink_host` and a `Collector` on `source_host` connected to it."""
    with sink_host.use():
        sink = await create_datagram_connection_to(loop, lambda: kind(loop), ("0.0.0.0", port), None)
    with source_host.use():
        source = await create_datagram_connection_to(loop, lambda: Collector(loop), None, (sink_host.name, port))
    return sink, source


class DatagramEcho(Collector):
    def datagram_received(self, data: bytes, address: SocketAddress, /) -> None:
        super().datagram_received(data, address)
        self.transport.send_to(data, address)


async def test_with_total_loss_a_client_with_a_five_second_timeout_fails_at_virtual_five(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.05, loss=1.0)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server, client = await datagram_pair(scarletio_loop, server_host, client_host, 5353, DatagramEcho)
    client.transport.send_to(b"anyone?")
    with pytest.raises(TimeoutError):
        await client.next(5.0)
    assert nanoseconds(scarletio_loop) == 5_000_000_000
    assert server.received == []
    assert scarletio_network.dropped == 1
    client.transport.close()
    server.transport.close()


async def test_datagram_echo_without_loss_takes_one_round_trip(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.03)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server, client = await datagram_pair(scarletio_loop, server_host, client_host, 5353, DatagramEcho)
    client.transport.send_to(b"marco")
    assert await client.next(1.0) == b"marco"
    assert nanoseconds(scarletio_loop) == 60_000_000
    assert server.received[0][1] == (client_host.address, client.transport.get_extra_info("sockname")[1])  # type: ignore[index]
    client.transport.close()
    server.transport.close()


async def test_partial_loss_drops_datagrams_by_the_seed(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(loss=0.5)
    a = scarletio_network.add_host("a")
    b = scarletio_network.add_host("b")
    sink, source = await datagram_pair(scarletio_loop, b, a, 9)
    for index in range(200):
        source.transport.send_to(index.to_bytes(2, "big"))
    await sleep(1.0)
    assert 60 < len(sink.received) < 140
    assert len(sink.received) + scarletio_network.dropped == 200
    source.transport.close()
    sink.transport.close()


async def test_a_connected_datagram_socket_hears_that_nothing_listens(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    scarletio_network.add_host("quiet")
    client_host = scarletio_network.add_host("client")
    with client_host.use():
        client = await create_datagram_connection_to(scarletio_loop, lambda: Collector(scarletio_loop), None, ("quiet", 4000))
    client.transport.send_to(b"hello?")
    with pytest.raises(ConnectionRefusedError):
        await client.next(1.0)
    assert nanoseconds(scarletio_loop) == 20_000_000
    client.transport.close()


async def test_a_broadcast_reaches_every_host_listening_on_the_port(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    hosts = [scarletio_network.add_host(name) for name in ("a", "b", "c", "d")]
    listeners = []
    for host in hosts[1:3]:
        with host.use():
            listeners.append(await create_datagram_connection_to(scarletio_loop, lambda: Collector(scarletio_loop), ("0.0.0.0", 9999), None))
    with hosts[0].use():
        announcer = await create_datagram_connection_to(
            scarletio_loop, lambda: Collector(scarletio_loop), None, ("255.255.255.255", 9999), allow_broadcast=True
        )
        plain = await create_datagram_connection_to(scarletio_loop, lambda: Collector(scarletio_loop), None, ("255.255.255.255", 9999))
    announcer.transport.send_to(b"who is there?")
    plain.transport.send_to(b"not allowed")
    await sleep(1.0)
    assert [[data for data, _ in listener.received] for listener in listeners] == [[b"who is there?"]] * 2
    assert announcer.errors == []  # hosts with nobody on the port stay silent: no ICMP for broadcasts
    assert [type(error) for error in plain.errors] == [PermissionError]
    for endpoint in (*listeners, announcer, plain):
        endpoint.transport.close()


# ---- partitions ----------------------------------------------------------------------------------


async def test_a_partition_holds_stream_traffic_and_healing_delivers_it(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.1)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server = await echo_server(scarletio_loop, server_host)
    client = await connect(scarletio_loop, client_host, "server")
    client.write(b"before\n")
    assert await client.read_line() == b"before\n"

    scarletio_network.partition([server_host], [client_host])
    client.write(b"during\n")
    reply: Task[bytes] = scarletio_loop.create_task(client.read_line())
    await sleep(30.0)
    assert not reply.is_done()
    healed = nanoseconds(scarletio_loop)
    scarletio_network.heal()
    assert await reply == b"during\n"
    assert nanoseconds(scarletio_loop) - healed == 200_000_000  # resent at the heal, then one round trip
    transport_of(client).close()
    server.close()


async def test_datagrams_sent_across_a_partition_are_lost_and_traffic_resumes_after_healing(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    hosts = [scarletio_network.add_host(name) for name in ("a", "b", "c")]
    sink, source = await datagram_pair(scarletio_loop, hosts[1], hosts[0], 9)
    scarletio_network.partition(["a"], ["b", "c"])
    source.transport.send_to(b"lost")
    await sleep(1.0)
    assert sink.received == []
    scarletio_network.heal(["a"], ["b", "c"])
    source.transport.send_to(b"found")
    await sleep(1.0)
    assert [data for data, _ in sink.received] == [b"found"]
    assert scarletio_network.dropped == 1
    source.transport.close()
    sink.transport.close()


async def test_partition_and_heal_check_their_groups(scarletio_network: VirtualNetwork) -> None:
    scarletio_network.add_host("a")
    scarletio_network.add_host("b")
    with pytest.raises(ValueError, match=r"^name at least two groups of hosts to cut apart, got 1$"):
        scarletio_network.partition(["a", "b"])
    with pytest.raises(ValueError, match=r"is in more than one group$"):
        scarletio_network.partition(["a"], ["a", "b"])
    with pytest.raises(KeyError, match="no virtual host 'z'; the hosts are: a, b"):
        scarletio_network.partition(["a"], ["z"])
    with pytest.raises(ValueError, match=r"^name at least two groups of hosts to cut apart, got 1$"):
        scarletio_network.heal(["a"])


def test_the_network_is_changed_from_the_loop_thread_only(scarletio_network: VirtualNetwork) -> None:
    scarletio_network.add_host("a")
    scarletio_network.add_host("b")
    with pytest.raises(RuntimeError, match=r"^partition\(\) must run on the loop's thread \(in a task or callback of "):
        scarletio_network.partition("a", "b")


# ---- connection life cycle -----------------------------------------------------------------------


async def test_connecting_to_a_port_nobody_listens_on_is_refused_after_a_round_trip(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.025)
    scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    with pytest.raises(ConnectionRefusedError):
        await connect(scarletio_loop, client_host, "server", 81)
    assert nanoseconds(scarletio_loop) == 50_000_000


async def test_connecting_to_an_address_nobody_has_fails_at_once(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    client_host = scarletio_network.add_host("client")
    with pytest.raises(OSError, match="no host on the virtual network has the address '10.9.9.9'") as caught:
        await connect(scarletio_loop, client_host, "10.9.9.9", 80)
    assert caught.value.errno == errno.EHOSTUNREACH


async def test_closing_sends_end_of_file_after_the_data(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server, accepted = await stream_server(scarletio_loop, server_host)
    client = await connect(scarletio_loop, client_host, "server")
    client.write(b"last words")
    transport_of(client).close()
    peer = await accepted
    assert await peer.read() == b"last words"
    assert peer.is_at_eof()
    server.close()


async def test_write_eof_half_closes_and_the_reply_still_arrives(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")

    class Shouter(ReadWriteProtocolBase):
        def eof_received(self) -> bool | None:
            super().eof_received()
            self.write(b"bye")
            self.write_eof()
            return True

    with server_host.use():
        server = await create_server_to(scarletio_loop, lambda: Shouter(scarletio_loop), None, 7000)
        await server.start()
    client = await connect(scarletio_loop, client_host, "server")
    client.write_eof()
    assert await client.read() == b"bye"
    server.close()


async def test_a_reset_fails_both_ends_with_connection_reset(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server = await echo_server(scarletio_loop, server_host)
    client = await connect(scarletio_loop, client_host, "server")
    assert scarletio_network.reset_connections("client", "server") == 1
    with pytest.raises(ConnectionResetError):
        await client.read()
    assert server.active_count == 0 or await _until(lambda: server.active_count == 0)
    server.close()


async def _until(predicate: Any) -> bool:
    for _ in range(100):
        if predicate():
            return True
        await sleep(0.001)
    return bool(predicate())


async def test_closing_with_unread_data_resets_the_peer(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    a = scarletio_network.add_host("a")
    b = scarletio_network.add_host("b")
    with b.use():
        listener = b.socket()
        listener.setblocking(False)
        listener.bind(("0.0.0.0", 80))
        listener.listen()
    with a.use():
        client = a.socket()
        client.setblocking(False)
        await socket_connect(scarletio_loop, client, ("b", 80))
    accepted, address = listener.accept()
    assert address == client.getsockname()
    await socket_send_all(scarletio_loop, client, b"unread")
    await sleep(0.1)
    accepted.close()  # with "unread" still queued: a RST, not a FIN
    await sleep(0.1)
    with pytest.raises(ConnectionResetError):
        await socket_receive(scarletio_loop, client, 10)
    client.close()
    listener.close()


# ---- back-pressure -------------------------------------------------------------------------------


async def test_a_slow_reader_fills_the_connection_and_drain_waits(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    server, accepted = await stream_server(scarletio_loop, server_host)
    writer = await connect(scarletio_loop, client_host, "server")
    reader = await accepted
    chunk = b"x" * 65536
    drains = 0
    drain: Task[None] | None = None
    for _ in range(40):  # 2.5 MiB, far more than the connection and both buffers hold
        writer.write(chunk)
        drain = scarletio_loop.create_task(writer.drain())
        await sleep(0.5)
        if not drain.is_done():
            drains += 1
            break
    assert drains == 1 and drain is not None, "drain() never waited: nothing pushed back"
    buffered = transport_of(writer).get_write_buffer_size()
    assert 0 < buffered <= 40 * 65536
    received = 0
    while not drain.is_done():
        received += len(await reader.read_once())
    await drain
    assert received > 0
    transport_of(writer).close()
    server.close()


async def test_a_crashed_host_loses_its_tasks_and_connections_until_restarted(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")

    async def serve() -> None:
        server = await create_server_to(scarletio_loop, Echo, None, 7000)
        await server.start()
        try:
            await Future(scarletio_loop)  # serve until cancelled
        finally:
            server.close()

    service = server_host.create_task(serve())
    await sleep(0.1)
    client = await connect(scarletio_loop, client_host, "server")
    client.write(b"one\n")
    assert await client.read_line() == b"one\n"

    assert scarletio_network.crash("server") == 1
    assert await client.read() == b""  # the dead process's sockets were closed: end of file
    await sleep(0.1)
    assert service.is_cancelled()
    with pytest.raises(ConnectionRefusedError):
        await connect(scarletio_loop, client_host, "server")

    server_host.create_task(serve())  # the restart
    await sleep(0.1)
    again = await connect(scarletio_loop, client_host, "server")
    again.write(b"two\n")
    assert await again.read_line() == b"two\n"
    transport_of(again).close()
    assert scarletio_network.crash(server_host) == 1


# ---- determinism and a ring ----------------------------------------------------------------------


def _lossy_jittery_run(seed: int, perturb: bool) -> list[TraceEvent]:
    from scarletio.testing import virtual_loop

    with virtual_loop(seed=seed, perturb=perturb, tracing=True) as loop:
        network = VirtualNetwork(loop, conditions=LinkConditions(latency=0.02, jitter=0.03, loss=0.3))
        a = network.add_host("a")
        b = network.add_host("b")

        async def main() -> list[TraceEvent]:
            server = await echo_server(loop, b)
            client = await connect(loop, a, "b")
            sink, source = await datagram_pair(loop, b, a, 9)
            for index in range(20):
                source.transport.send_to(bytes([index]))
                client.write(b"%d\n" % index)
            for index in range(20):
                assert await client.read_line() == b"%d\n" % index  # streams keep order under jitter
            await sleep(1.0)
            source.transport.close()
            sink.transport.close()
            transport_of(client).close()
            server.close()
            await sleep(1.0)  # the closing handshakes finish
            return loop.get_trace()  # taken on the loop, so nothing runs after it

        return loop.run(main())


@pytest.mark.parametrize("perturb", [False, True])
def test_the_same_seed_gives_the_same_trace_and_another_seed_another(perturb: bool) -> None:
    first = _lossy_jittery_run(7, perturb)
    assert first == _lossy_jittery_run(7, perturb)
    assert any(event.kind == "net" for event in first)
    assert first != _lossy_jittery_run(8, perturb)


class RingNode:
    """Forwards every line it receives to the next node, reconnecting when its link is reset."""

    def __init__(self, loop: EventThread, host: VirtualHost, next_name: str, seen: list[tuple[str, bytes]]) -> None:
        self.loop = loop
        self.host = host
        self.next_name = next_name
        self.seen = seen
        self.outgoing: ReadWriteProtocolBase | None = None

    async def serve(self) -> Server:
        node = self

        class Inbound(ReadWriteProtocolBase):
            def data_received(self, data: bytes, /) -> None:
                for line in data.splitlines():
                    node.seen.append((node.host.name, line))
                    node.loop.create_task(node.forward(line))

        with self.host.use():
            server = await create_server_to(self.loop, lambda: Inbound(self.loop), None, 7000)
            await server.start()
        return server

    async def forward(self, line: bytes) -> None:
        hops = int(line.split(b":")[1])
        if hops == 0:
            return
        message = line.split(b":")[0] + b":%d\n" % (hops - 1)
        for _ in range(5):
            outgoing = self.outgoing
            if outgoing is None or outgoing.is_at_eof() or transport_of(outgoing).is_closing():
                outgoing = self.outgoing = await connect(self.loop, self.host, self.next_name)
            outgoing.write(message)
            try:
                await outgoing.drain()
                await sleep(0)
                return
            except ConnectionError:
                self.outgoing = None
        raise AssertionError("the ring could not forward a message")


async def test_a_three_node_echo_ring_survives_a_reset(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    names = ["n1", "n2", "n3"]
    hosts = [scarletio_network.add_host(name) for name in names]
    seen: list[tuple[str, bytes]] = []
    nodes = [RingNode(scarletio_loop, host, names[(index + 1) % 3], seen) for index, host in enumerate(hosts)]
    servers = [await node.serve() for node in nodes]
    await nodes[0].forward(b"first:7")
    await sleep(1.0)
    assert [name for name, _ in seen] == ["n2", "n3", "n1", "n2", "n3", "n1", "n2"]

    assert scarletio_network.reset_connections("n2", "n3") == 1
    await sleep(0.1)
    seen.clear()
    await nodes[0].forward(b"second:7")
    await sleep(1.0)
    assert [name for name, _ in seen] == ["n2", "n3", "n1", "n2", "n3", "n1", "n2"]
    assert [line for _, line in seen][-1] == b"second:0"
    for node in nodes:
        if node.outgoing is not None:
            transport_of(node.outgoing).close()
    for server in servers:
        server.close()


# ---- names and sockets ---------------------------------------------------------------------------


async def test_names_resolve_to_virtual_hosts_without_the_system_resolver(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    web = scarletio_network.add_host("web", "192.168.7.10")
    infos = await get_address_info(scarletio_loop, "WEB", 80, type=socket.SOCK_STREAM)
    assert infos == [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("192.168.7.10", 80))]
    assert (await get_address_info(scarletio_loop, "localhost", "http", type=socket.SOCK_STREAM))[0][4] == ("127.0.0.1", 80)
    assert await get_name_info(scarletio_loop, (web.address, 443)) == ("web", "443")
    with pytest.raises(socket.gaierror, match=r"'example\.com' is not a host on the virtual network \(hosts: web\)"):
        await get_address_info(scarletio_loop, "example.com", 80)
    with pytest.raises(socket.gaierror, match="IPv4 addresses only"):
        await get_address_info(scarletio_loop, "web", 80, family=socket.AF_INET6)


def test_hosts_get_unique_names_and_addresses(scarletio_network: VirtualNetwork) -> None:
    first = scarletio_network.add_host("first")
    second = scarletio_network.add_host("second")
    assert (first.address, second.address) == ("10.0.0.1", "10.0.0.2")
    assert scarletio_network.host("FIRST") is first
    assert scarletio_network.host("10.0.0.2") is second
    with pytest.raises(ValueError, match="^the virtual network has a host named 'First' already$"):
        scarletio_network.add_host("First")
    with pytest.raises(ValueError, match="^the address '10.0.0.1' belongs to <VirtualHost 'first' 10.0.0.1> already$"):
        scarletio_network.add_host("third", "10.0.0.1")
    with pytest.raises(ValueError, match="must be an IPv4 address"):
        scarletio_network.add_host("fourth", "::1")


def test_binding_follows_the_rules_of_real_ports(scarletio_network: VirtualNetwork) -> None:
    host = scarletio_network.add_host("h")
    one = host.socket()
    one.bind(("0.0.0.0", 80))
    two = host.socket()
    with pytest.raises(OSError, match="port 80 is already in use") as caught:
        two.bind(("10.0.0.1", 80))
    assert caught.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError, match="cannot bind '10.0.0.2'") as wrong:
        two.bind(("10.0.0.2", 81))
    assert wrong.value.errno == errno.EADDRNOTAVAIL
    datagram = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    datagram.bind(("0.0.0.0", 80))  # another kind: another port space
    sharing = [host.socket() for _ in range(2)]
    for sock in sharing:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("0.0.0.0", 8080))
    for sock in (one, two, datagram, *sharing):
        sock.close()
    again = host.socket()
    again.bind(("0.0.0.0", 80))  # closing released the port
    again.close()


def test_virtual_sockets_refuse_what_they_cannot_do(scarletio_network: VirtualNetwork) -> None:
    host = scarletio_network.add_host("h")
    with pytest.raises(OSError, match=r"IPv4 \(AF_INET\) only") as family:
        host.socket(socket.AF_INET6)
    assert family.value.errno == errno.EAFNOSUPPORT
    sock = host.socket()
    assert isinstance(sock, VirtualSocket) and isinstance(sock, socket.socket)
    sock.bind(("0.0.0.0", 0))
    sock.listen()
    with pytest.raises(RuntimeError, match=r"a virtual socket cannot block the loop's thread; call setblocking\(False\)"):
        sock.accept()
    sock.close()
    with pytest.raises(OSError, match="closed") as closed:
        sock.getsockname()
    assert closed.value.errno == errno.EBADF
    assert sock.fileno() == -1


def test_a_virtual_network_needs_a_virtual_loop() -> None:
    loop = EventThread("poll")
    try:
        with pytest.raises(TypeError, match=r"^a virtual network needs a loop on the virtual backend, got 'poll'; "):
            VirtualNetwork(loop)
    finally:
        loop.stop()


def test_one_network_per_loop(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    with pytest.raises(RuntimeError, match="already has a virtual network"):
        VirtualNetwork(scarletio_loop)


async def test_waiting_on_a_virtual_socket_never_holds_the_clock(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    server_host = scarletio_network.add_host("server")
    client_host = scarletio_network.add_host("client")
    with server_host.use():
        server = await create_server_to(scarletio_loop, lambda: ReadWriteProtocolBase(scarletio_loop), None, 7000)
        await server.start()
    client = await connect(scarletio_loop, client_host, "server")
    waiting = scarletio_loop.create_task(client.read_exactly(1))
    await sleep(3600.0)  # an hour of virtual time passes at once: nothing holds the clock
    assert not waiting.is_done()
    assert nanoseconds(scarletio_loop) == 3600_000_000_000
    waiting.cancel()
    transport_of(client).close()
    server.close()


def test_a_client_waiting_for_a_reply_that_never_comes_is_reported_as_a_deadlock() -> None:
    from scarletio import DeadlockError
    from scarletio.testing import virtual_loop

    with virtual_loop() as loop:
        network = VirtualNetwork(loop, conditions=LinkConditions(latency=0.1))

        async def main() -> bytes:
            with network.add_host("server").use():
                server = await create_server_to(loop, lambda: ReadWriteProtocolBase(loop), None, 7000)
                await server.start()
            client = await connect(loop, network.add_host("client"), "server")
            client.write(b"hello?")
            return await client.read_exactly(1)

        # the request arrives at 0.3 and its acknowledgement at 0.4; then nothing is in flight
        with pytest.raises(DeadlockError, match="deadlock: nothing can ever wake the loop at virtual time 0.400000000"):
            loop.run(main())


async def test_tls_runs_over_the_virtual_network_unchanged(
    scarletio_loop: EventThread,
    scarletio_network: VirtualNetwork,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.05)
    with scarletio_network.add_host("server").use():
        server = await create_server_to(scarletio_loop, Echo, None, 443, ssl_context=server_context)
        await server.start()
    with scarletio_network.add_host("client").use():
        client = await create_connection_to(
            scarletio_loop,
            lambda: ReadWriteProtocolBase(scarletio_loop),
            "server",
            443,
            ssl_context=client_context,
            server_host_name="localhost",  # the name on the test certificate
        )
    handshaken = nanoseconds(scarletio_loop)
    client.write(b"secret\n")
    assert await client.read_line() == b"secret\n"
    assert nanoseconds(scarletio_loop) - handshaken == 100_000_000  # one round trip, like plain TCP
    assert transport_of(client).get_extra_info("peercert") is not None
    transport_of(client).close()
    server.close()
