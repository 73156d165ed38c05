from scarletio import ReadWriteProtocolBase, sleep
from scarletio.net import StreamProtocol
from scarletio.net.virtual import LinkConditions


class Shout(StreamProtocol):
    """Server side: send everything back in capitals."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data.upper())


async def test_shouting_takes_one_round_trip_and_survives_a_partition(scarletio_loop, scarletio_network):
    scarletio_network.conditions = LinkConditions(latency=0.1)  # each way
    with scarletio_network.add_host('server').use():
        server = await scarletio_loop.create_server_to(Shout, None, 7000)
        await server.start()
    with scarletio_network.add_host('client').use():
        client = await scarletio_loop.create_connection_to(lambda: ReadWriteProtocolBase(scarletio_loop), 'server', 7000)

    started = scarletio_loop.time()
    client.write(b'hello\n')
    assert await client.read_line() == b'HELLO\n'
    assert round(scarletio_loop.time() - started, 9) == 0.2  # exactly: virtual time counts nanoseconds

    scarletio_network.partition(['client'], ['server'])
    client.write(b'anyone?\n')
    reply = scarletio_loop.create_task(client.read_line())
    await sleep(60)
    assert not reply.is_done()  # held back by the partition; a stream loses nothing
    scarletio_network.heal()
    assert await reply == b'ANYONE?\n'

    client.close_transport()
    server.close()
