"""Two nodes take turns holding a lease from a lock service; a node whose clock is behind holds on too long.

The bug: a node keeps the lock service's expiry time and compares it with its own clock. It passes
as long as clocks agree; exploration gives some hosts skewed clocks and finds the seeds where two
nodes believe they hold the lease at once:

    python -m pytest examples/testing/test_lease.py --scarletio-explore 100

The fix: count the lease from the node's own clock, from when it asked (`asked + LEASE - margin`).
"""

import random

from scarletio import ReadWriteProtocolBase, sleep
from scarletio.testing import buggify

LEASE = 10.0


def lock_service(loop, log):
    """Grant one lease at a time, by this host's clock; log writes from a node not holding it."""
    state = {'holder': None, 'expiry': 0.0}

    class Service(ReadWriteProtocolBase):
        def connection_made(self, transport):
            super().connection_made(transport)
            loop.create_task(self.serve())

        async def serve(self):
            while line := await self.read_line():
                command, name = line.decode().split()
                now = loop.time()
                if command == 'acquire':
                    if state['holder'] in (None, name) or now >= state['expiry']:
                        state['holder'], state['expiry'] = name, now + LEASE
                        self.write(f"granted {state['expiry']}\n".encode())
                    else:
                        self.write(b'denied\n')
                elif state['holder'] != name or now >= state['expiry']:
                    log.append(f'{name} wrote at {now:.3f} without the lease')

    return Service(loop)


async def node(loop, name):
    service = await loop.create_connection_to(lambda: ReadWriteProtocolBase(loop), 'lock', 9000)
    for _ in range(20):
        service.write(f'acquire {name}\n'.encode())
        reply = (await service.read_line()).split()
        if reply[0] == b'granted':
            expiry = float(reply[1])  # the bug: the lock service's clock, not ours
            while loop.time() < expiry - 1.0:  # a second of margin "for safety"
                service.write(f'write {name}\n'.encode())
                await sleep(0.5)
            await sleep(3.0)  # let the other node have a turn
        else:
            await sleep(1.0)
    service.close_transport()


async def test_only_the_lease_holder_writes(scarletio_loop, scarletio_network, scarletio_seed):
    scarletio_network.add_host('lock')
    with scarletio_network.host('lock').use():
        log = []
        server = await scarletio_loop.create_server_to(lambda: lock_service(scarletio_loop, log), None, 9000)
        await server.start()
    skews = random.Random(scarletio_seed)
    nodes = []
    for name in ('a', 'b'):
        host = scarletio_network.add_host(name)
        if buggify('clock skew', probability=1.0):  # never in a plain run, a quarter of hosts when exploring
            host.clock.skew = skews.uniform(-3.0, 3.0)
        nodes.append(host.create_task(node(scarletio_loop, name)))
    for task in nodes:
        await task
    assert log == []
    server.close()
