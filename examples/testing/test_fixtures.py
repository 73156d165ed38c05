"""Async fixtures run on the test's loop: a server started before the test and closed after it."""

import pytest

from scarletio import ReadWriteProtocolBase


@pytest.fixture
async def echo_host(scarletio_loop, scarletio_network):
    class Echo(ReadWriteProtocolBase):
        def data_received(self, data):
            self.write(data)

    with scarletio_network.add_host('echo').use():
        server = await scarletio_loop.create_server_to(lambda: Echo(scarletio_loop), None, 7)
        await server.start()
    yield 'echo'
    server.close()  # the teardown runs on the same loop, before it stops
    await server.wait_closed()


async def test_the_echo_server_answers(scarletio_loop, echo_host):
    client = await scarletio_loop.create_connection_to(lambda: ReadWriteProtocolBase(scarletio_loop), echo_host, 7)
    client.write(b'ping\n')
    assert await client.read_line() == b'ping\n'
    client.close_transport()
