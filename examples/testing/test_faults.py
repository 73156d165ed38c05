"""Stream and datagram faults of the virtual network: stalls, one-way cuts, a crash mid-write, duplicates."""

from scarletio import ReadWriteProtocolBase, sleep
from scarletio.net import DatagramProtocol
from scarletio.net.virtual import LinkConditions


async def connected_pair(loop, network):
    accepted = []

    def server_side():
        accepted.append(ReadWriteProtocolBase(loop))
        return accepted[-1]

    with network.add_host('server').use():
        server = await loop.create_server_to(server_side, None, 5000)
        await server.start()
    client_host = network.add_host('client')
    with client_host.use():
        client = await loop.create_connection_to(lambda: ReadWriteProtocolBase(loop), 'server', 5000)
    await sleep(1.0)
    return server, client_host, client, accepted[0]


async def test_a_stalled_connection_holds_its_data_until_it_resumes(scarletio_loop, scarletio_network):
    server, _, client, peer = await connected_pair(scarletio_loop, scarletio_network)
    scarletio_network.stall('client')  # both directions, nothing lost
    client.write(b'later\n')
    line = scarletio_loop.create_task(peer.read_line())
    await sleep(60)
    assert not line.is_done()
    scarletio_network.resume()
    assert await line == b'later\n'
    server.close()


async def test_a_connection_cut_one_way_still_carries_the_other(scarletio_loop, scarletio_network):
    server, _, client, peer = await connected_pair(scarletio_loop, scarletio_network)
    scarletio_network.stall('client', direction='outgoing')  # a half-open connection
    peer.write(b'you hear me\n')
    assert await client.read_line() == b'you hear me\n'
    client.write(b'but I am not heard\n')
    line = scarletio_loop.create_task(peer.read_line())
    await sleep(60)
    assert not line.is_done()
    scarletio_network.resume()
    assert await line == b'but I am not heard\n'
    server.close()


async def test_a_peer_crashing_mid_write_leaves_half_a_message(scarletio_loop, scarletio_network):
    server, client_host, client, peer = await connected_pair(scarletio_loop, scarletio_network)
    scarletio_network.crash_after(client_host, 6)  # dies after 6 more bytes
    client.write(b'{"order": 17}\n')
    assert await peer.read_line() == b'{"orde'  # then end of file: a torn message
    server.close()


class Sink(DatagramProtocol):
    def __init__(self):
        self.seen = []

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, address):
        self.seen.append(data)


async def test_datagrams_can_arrive_twice(scarletio_loop, scarletio_network):
    scarletio_network.conditions = LinkConditions(latency=0.01, duplicate=1.0)
    with scarletio_network.add_host('sink').use():
        sink = await scarletio_loop.create_datagram_connection_to(Sink, ('0.0.0.0', 53), None)
    with scarletio_network.add_host('source').use():
        source = await scarletio_loop.create_datagram_connection_to(Sink, None, ('sink', 53))
    source.transport.send_to(b'once')
    await sleep(1.0)
    assert sink.seen == [b'once', b'once']
