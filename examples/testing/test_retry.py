"""A client retries against a server that stays busy for an hour: an hour of virtual time in milliseconds."""

from scarletio import ReadWriteProtocolBase, sleep
from scarletio.testing import buggify

RECOVERS_AT = 3600.0  # the server answers "busy" for the first hour


def busy_server(loop, drops):
    class Busy(ReadWriteProtocolBase):
        def connection_made(self, transport):
            super().connection_made(transport)
            loop.create_task(self.serve())

        async def serve(self):
            while line := await self.read_line():
                if buggify('server drops the connection'):  # only ever under --scarletio-explore
                    drops.append(loop.time())
                    break
                self.write(b'ok\n' if loop.time() >= RECOVERS_AT else b'busy\n')
            self.close_transport()

    return Busy(loop)


async def fetch(loop):
    attempts, delay = 0, 1.0
    while True:
        attempts += 1
        client = await loop.create_connection_to(lambda: ReadWriteProtocolBase(loop), 'server', 8000)
        client.write(b'get\n')
        answer = await client.read_line()  # b'' when the server dropped the connection
        client.close_transport()
        if answer == b'ok\n':
            return attempts
        await sleep(delay)
        delay = min(delay * 2, 60.0)  # exponential backoff, at most a minute


async def test_the_client_retries_until_the_server_recovers_an_hour_later(scarletio_loop, scarletio_network):
    drops = []
    with scarletio_network.add_host('server').use():
        server = await scarletio_loop.create_server_to(lambda: busy_server(scarletio_loop, drops), None, 8000)
        await server.start()
    with scarletio_network.add_host('client').use():
        attempts = await fetch(scarletio_loop)
    late_drops = sum(1 for dropped in drops if dropped >= RECOVERS_AT - 60)
    assert RECOVERS_AT <= scarletio_loop.time() < RECOVERS_AT + 60 * (1 + late_drops)  # a minute per late drop
    assert attempts >= 60
    server.close()
