"""A TCP server that runs until SIGTERM or Ctrl-C, then closes its connections and stops.

Run it with a port (8888 by default; 0 picks a free one), talk to it with `nc 127.0.0.1 8888`, and
stop it with Ctrl-C or `kill <pid>`.
"""

import signal
import sys

from scarletio import ReadWriteProtocolBase, get_or_create_event_loop


class Echo(ReadWriteProtocolBase):
    """One connection: send every line back, until the client or the server closes it."""

    def connection_made(self, transport):
        super().connection_made(transport)
        LOOP.create_task(self.serve())

    async def serve(self):
        try:
            while not self.is_at_eof():
                line = await self.read_line()
                if line:
                    self.write(line)
                    await self.drain()
        except ConnectionError:
            pass  # the client went away
        finally:
            self.close_transport()


async def main(port):
    server = await LOOP.create_server_to(lambda: Echo(LOOP), '127.0.0.1', port)
    for number in (signal.SIGTERM, signal.SIGINT):
        LOOP.add_signal_handler(number, server.close)
    await server.start()
    print(f'serving on port {server.sockets[0].getsockname()[1]}', flush=True)
    await server.serve_forever()  # returns once a signal closed the server
    server.close_clients()  # idle keep-alive connections end too
    await server.wait_closed()
    print('stopped', flush=True)


LOOP = get_or_create_event_loop()
try:
    LOOP.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8888))
finally:
    LOOP.stop()
