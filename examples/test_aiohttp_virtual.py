"""An aiohttp server and client on the virtual network: exact latencies, a partition, no ports, milliseconds."""

import asyncio

import aiohttp
import pytest
from aiohttp import web

from scarletio.aio.virtual_network import socket_factory
from scarletio.net.virtual import LinkConditions

pytestmark = pytest.mark.scarletio(asyncio=True)  # asyncio tasks on the test's loop, on virtual time


async def greet(request):
    return web.json_response({'hello': request.match_info['name']})


async def test_a_get_takes_two_round_trips_and_a_partition_times_out(scarletio_network, scarletio_asyncio_loop):
    loop = scarletio_asyncio_loop
    scarletio_network.conditions = LinkConditions(latency=0.05)  # 50 ms each way
    app = web.Application()
    app.router.add_get('/hello/{name}', greet)
    runner = web.AppRunner(app)
    await runner.setup()
    with scarletio_network.add_host('api').use():
        await web.TCPSite(runner, None, 80).start()

    with scarletio_network.add_host('client').use():
        connector = aiohttp.TCPConnector(socket_factory=socket_factory(loop))  # in-memory sockets
        async with aiohttp.ClientSession(connector=connector) as session:
            started = loop.time()
            async with session.get('http://api/hello/ada') as response:
                assert await response.json() == {'hello': 'ada'}
            assert round(loop.time() - started, 9) == 0.2  # connect + request/response: two round trips

            started = loop.time()
            async with session.get('http://api/hello/bob') as response:
                assert response.status == 200
            assert round(loop.time() - started, 9) == 0.1  # the kept-alive connection: one round trip

            scarletio_network.partition(['client'], ['api'])
            started = loop.time()
            with pytest.raises(asyncio.TimeoutError):
                await session.get('http://api/hello/cy', timeout=aiohttp.ClientTimeout(total=2))
            assert round(loop.time() - started, 9) == 2.0  # exactly the timeout, in no real time
    await runner.cleanup()
