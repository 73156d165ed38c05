"""A payment is retried with the same idempotency key; a retry that arrives mid-charge charges twice.

The server checks the key before it charges and records it after: a retry that lands in between
charges again. The client retries after a one-second timeout, which is exactly as long as the charge
takes, so the race hangs on which of two events at one instant comes first. Plain runs always see
the same order; perturbation makes wakeups as late as a real loop's, and finds the double charge:

    python -m pytest examples/testing/test_idempotency.py --scarletio-explore 50 --scarletio-perturb
"""

from scarletio import ReadWriteProtocolBase, sleep
from scarletio.net.virtual import LinkConditions

CHARGE_TAKES = 1.0


def payment_server(loop, charges, done):
    class Payments(ReadWriteProtocolBase):
        def connection_made(self, transport):
            super().connection_made(transport)
            loop.create_task(self.serve())

        async def serve(self):
            while key := (await self.read_line()).strip():
                loop.create_task(self.charge(key))

        async def charge(self, key):
            if key not in done:  # check ...
                await sleep(CHARGE_TAKES)  # ... the card is charged meanwhile ...
                charges.append(key)
                done.add(key)  # ... then act
            self.write(b'charged ' + key + b'\n')

    return Payments(loop)


async def pay(loop, key):
    client = await loop.create_connection_to(lambda: ReadWriteProtocolBase(loop), 'payments', 443)
    for _ in range(3):
        client.write(key + b'\n')
        reply = loop.create_task(client.read_line())
        reply.apply_timeout(CHARGE_TAKES)
        try:
            return await reply
        except TimeoutError:
            pass  # retry with the same key: the server must not charge twice
    raise TimeoutError('no answer after three tries')


async def test_a_retried_payment_is_charged_once(scarletio_loop, scarletio_network):
    scarletio_network.conditions = LinkConditions(latency=0.05)
    charges, done = [], set()
    with scarletio_network.add_host('payments').use():
        server = await scarletio_loop.create_server_to(lambda: payment_server(scarletio_loop, charges, done), None, 443)
        await server.start()
    with scarletio_network.add_host('shop').use():
        assert await pay(scarletio_loop, b'order-17') == b'charged order-17\n'
    await sleep(5.0)
    assert charges == [b'order-17']
    server.close()
