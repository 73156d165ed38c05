"""Faults of the virtual network (`scarletio.net.virtual.faults`): stalls, one-way cuts, crashes mid-write, duplicates."""

from __future__ import annotations

import pytest

from scarletio import EventThread, sleep
from scarletio.net.virtual import LinkConditions, VirtualNetwork
from test_net_virtual import connect, datagram_pair, stream_server, transport_of

# ---- stalled connections ---------------------------------------------------------------------------


async def test_a_stalled_connection_delivers_nothing_until_resumed_and_loses_nothing(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01)
    server_host, client_host = scarletio_network.add_host("server"), scarletio_network.add_host("client")
    server, accepted = await stream_server(scarletio_loop, server_host)
    client = await connect(scarletio_loop, client_host, "server")
    peer = await accepted
    assert scarletio_network.stall("client") == 1
    client.write(b"held\n")
    reading = scarletio_loop.create_task(peer.read_line())
    await sleep(30.0)
    assert not reading.is_done()
    # A new connection is not stalled: only the ones that existed.
    second = await connect(scarletio_loop, client_host, "server")
    assert scarletio_network.resume() == 2  # both directions of the one stalled connection
    assert await reading == b"held\n"
    transport_of(client).close()
    transport_of(second).close()
    server.close()


async def test_a_connection_cut_in_one_direction_still_carries_the_other(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    server_host, client_host = scarletio_network.add_host("server"), scarletio_network.add_host("client")
    server, accepted = await stream_server(scarletio_loop, server_host)
    client = await connect(scarletio_loop, client_host, "server")
    peer = await accepted
    scarletio_network.stall("client", "server", direction="outgoing")
    client.write(b"lost in the void\n")
    peer.write(b"still heard\n")
    assert await client.read_line() == b"still heard\n"
    reading = scarletio_loop.create_task(peer.read_line())
    await sleep(10.0)
    assert not reading.is_done()
    scarletio_network.resume()
    assert await reading == b"lost in the void\n"
    transport_of(client).close()
    server.close()


async def test_stall_refuses_an_unknown_direction(scarletio_network: VirtualNetwork) -> None:
    scarletio_network.add_host("one")
    with pytest.raises(ValueError, match=r"^direction must be one of 'both', 'outgoing', 'incoming', got 'sideways'$"):
        scarletio_network.stall("one", direction="sideways")


async def test_a_one_way_partition_cuts_only_what_the_first_group_sends(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    server_host, client_host = scarletio_network.add_host("server"), scarletio_network.add_host("client")
    server, accepted = await stream_server(scarletio_loop, server_host)
    client = await connect(scarletio_loop, client_host, "server")
    peer = await accepted
    scarletio_network.partition(["server"], ["client"], one_way=True)
    peer.write(b"from the server\n")
    client.write(b"from the client\n")
    assert await peer.read_line() == b"from the client\n"
    reading = scarletio_loop.create_task(client.read_line())
    await sleep(5.0)
    assert not reading.is_done()
    scarletio_network.heal()
    assert await reading == b"from the server\n"
    transport_of(client).close()
    server.close()


# ---- crashes -------------------------------------------------------------------------------------


async def test_a_host_crashing_mid_write_leaves_its_peer_a_truncated_message_then_end_of_file(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.05)
    server_host, client_host = scarletio_network.add_host("server"), scarletio_network.add_host("client")
    server, accepted = await stream_server(scarletio_loop, server_host)
    writer = await connect(scarletio_loop, client_host, "server")
    peer = await accepted

    async def client_job() -> None:
        writer.write(b"0123456789" * 10)
        await writer.drain()
        await sleep(3600.0)  # never reached: the host is dead

    job = client_host.create_task(client_job())
    scarletio_network.crash_after("client", 25)
    received = await peer.read(200)
    while not peer.is_at_eof():
        received += await peer.read(200)
    assert received == b"0123456789" * 2 + b"01234"
    assert job.is_cancelled()
    assert client_host.crash_budget is None
    server.close()


async def test_crash_after_refuses_a_negative_count(scarletio_network: VirtualNetwork) -> None:
    scarletio_network.add_host("one")
    with pytest.raises(ValueError, match=r"^sent_bytes must not be negative, got -1$"):
        scarletio_network.crash_after("one", -1)


# ---- datagrams -----------------------------------------------------------------------------------


async def test_duplicated_datagrams_arrive_twice_as_often_as_asked(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.01, jitter=0.01, duplicate=0.5)
    sink, source = await datagram_pair(scarletio_loop, scarletio_network.add_host("sink"), scarletio_network.add_host("source"), 9)
    for index in range(200):
        source.transport.send_to(bytes([index]))
    await sleep(1.0)
    payloads = [data for data, _ in sink.received]
    assert sorted(set(payloads)) == [bytes([index]) for index in range(200)]  # none lost
    assert 60 < len(payloads) - 200 < 140
    source.transport.close()
    sink.transport.close()


def test_link_conditions_refuse_a_duplicate_probability_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"^duplicate must be a probability from 0 to 1, got 1\.5$"):
        LinkConditions(duplicate=1.5)


@pytest.mark.scarletio(perturb=True)
async def test_with_perturbation_a_packet_is_late_by_at_most_the_lateness_and_never_early(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    assert scarletio_network.lateness == 1_000_000  # the loop's lateness, in nanoseconds
    scarletio_network.conditions = LinkConditions(latency=0.1)
    sink, source = await datagram_pair(scarletio_loop, scarletio_network.add_host("sink"), scarletio_network.add_host("source"), 9)
    delays = []
    for index in range(50):
        sent = scarletio_loop.time()
        source.transport.send_to(bytes([index]))
        await sink.next(1.0)
        delays.append(scarletio_loop.time() - sent)
    assert all(0.1 - 1e-9 <= delay <= 0.1 + 0.001 + 0.001 + 1e-9 for delay in delays), delays  # + a late wakeup
    assert len({round(delay, 6) for delay in delays}) > 5
    source.transport.close()
    sink.transport.close()


async def test_without_perturbation_packets_take_exactly_their_latency(scarletio_network: VirtualNetwork) -> None:
    assert scarletio_network.lateness == 0
