"""An aiohttp server and client on a scarletio.aio loop over epoll and 127.0.0.1: asyncio code, unchanged."""

import asyncio

import aiohttp
from aiohttp import web

import scarletio.aio


async def greet(request):
    return web.json_response({'hello': request.match_info['name']})


async def main():
    app = web.Application()
    app.router.add_get('/hello/{name}', greet)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, '127.0.0.1', 0).start()  # any free port
    host, port = runner.addresses[0][:2]
    async with aiohttp.ClientSession() as session:
        async with session.get(f'http://{host}:{port}/hello/epoll') as response:
            print(await response.json())
    loop = asyncio.get_running_loop()
    print(type(loop).__module__, loop.thread.backend.name)  # scarletio.aio.event_loop epoll
    await runner.cleanup()


if __name__ == '__main__':
    scarletio.aio.run(main(), backend='epoll')  # or asyncio.Runner(loop_factory=scarletio.aio.new_event_loop)
