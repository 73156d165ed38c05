"""A TCP echo server and a client on one loop, with the stream API."""

from scarletio import ReadWriteProtocolBase, get_or_create_event_loop


class Echo(ReadWriteProtocolBase):
    """Server side: send every line back."""

    def connection_made(self, transport):
        super().connection_made(transport)
        LOOP.create_task(self.serve())

    async def serve(self):
        while not self.is_at_eof():
            line = await self.read_line()
            if line:
                self.write(line)
        self.close_transport()


async def main():
    server = await LOOP.create_server_to(lambda: Echo(LOOP), '127.0.0.1', 0)
    await server.start()
    port = server.sockets[0].getsockname()[1]

    client = await LOOP.create_connection_to(lambda: ReadWriteProtocolBase(LOOP), 'localhost', port)
    for word in (b'hello', b'world'):
        client.write(word + b'\n')
        print((await client.read_line()).decode().strip())
    client.close_transport()
    server.close()
    await server.wait_closed()


LOOP = get_or_create_event_loop()
LOOP.run(main())
LOOP.stop()
