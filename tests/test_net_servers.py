"""Servers, connecting, and name resolution: `Server`, `create_server_to` / `_with`,
`create_connection_to` errors, and `get_address_info` (the system resolver, D12).

Every test runs on the epoll and the poll backend.
"""

from __future__ import annotations

import socket

import pytest
from _fixtures import Reports, loop, reports, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.net import (
    ReadWriteProtocolBase,
    Server,
    StreamProtocol,
    StreamTransport,
    create_connection_to,
    create_server_to,
    create_server_with,
    get_address_info,
)
from scarletio.core.suspension import skip_ready_cycle, sleep


class Echo(StreamProtocol):
    def connection_made(self, transport: StreamTransport, /) -> None:
        self.transport = transport

    def data_received(self, data: bytes, /) -> None:
        self.transport.write(data)


def port_of(server: Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


async def echo_once(loop: EventThread, port: int, payload: bytes, host: str = "127.0.0.1") -> bytes:
    client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), host, port)
    client.write(payload)
    reply = await client.read_exactly(len(payload))
    client.close_transport()
    return reply


def test_server_is_created_not_serving_and_start_makes_it_accept(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool, bytes, int]:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        serving_before = server.serving
        with pytest.raises(ConnectionRefusedError):  # bound, but not listening yet
            await echo_once(loop, port_of(server), b"early")
        await server.start()
        reply = await echo_once(loop, port_of(server), b"ping")
        serving_after = server.serving
        await sleep(0.001)
        server.close()
        await server.wait_closed()
        return serving_before, serving_after, reply, server.active_count

    assert run(loop, main()) == (False, True, b"ping", 0)


def test_closing_a_server_keeps_live_connections_and_wait_closed_waits_for_them(loop: EventThread) -> None:
    async def main() -> tuple[int, list[socket.socket], bool, bytes, bool, int]:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        await server.start()
        port = port_of(server)
        client = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        await sleep(0.001)
        active = server.active_count
        early = loop.create_task(server.wait_closed())  # waiting before close() is fine too
        await skip_ready_cycle()
        server.close()
        with pytest.raises(ConnectionRefusedError):
            await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port)
        waiting = loop.create_task(server.wait_closed())
        await sleep(0.01)
        still_waiting = not waiting.is_done() and not early.is_done()
        client.write(b"still served")
        reply = await client.read_exactly(12)
        client.close_transport()
        await waiting
        await early
        return active, server.sockets, still_waiting, reply, server.serving, server.active_count

    active, sockets, still_waiting, reply, serving, remaining = run(loop, main())
    assert active == 1
    assert sockets == []
    assert still_waiting
    assert reply == b"still served"
    assert not serving
    assert remaining == 0


def test_wait_closed_on_a_closed_idle_server_returns_at_once(loop: EventThread) -> None:
    async def main() -> bool:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        server.close()
        server.close()  # idempotent
        await server.wait_closed()
        with pytest.raises(RuntimeError, match=r"^cannot start a closed server; create a new one$"):
            await server.start()
        return server.is_closed()

    assert run(loop, main())


def test_server_as_async_context_manager_serves_then_closes(loop: EventThread) -> None:
    async def main() -> tuple[bytes, bool]:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        async with server:
            reply = await echo_once(loop, port_of(server), b"ctx")
        return reply, server.is_closed()

    assert run(loop, main()) == (b"ctx", True)


def test_many_concurrent_clients_are_served(loop: EventThread) -> None:
    async def main() -> list[bytes]:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        await server.start()
        tasks = [loop.create_task(echo_once(loop, port_of(server), b"client %d" % index)) for index in range(40)]
        replies = [await task for task in tasks]
        server.close()
        await server.wait_closed()
        return replies

    assert run(loop, main()) == [b"client %d" % index for index in range(40)]


def test_create_server_with_an_existing_socket(loop: EventThread) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))

    async def main() -> bytes:
        server = await create_server_with(loop, Echo, sock)
        await server.start()
        reply = await echo_once(loop, port_of(server), b"own socket")
        server.close()
        await server.wait_closed()
        return reply

    assert run(loop, main()) == b"own socket"
    assert sock.fileno() == -1  # the server closed it


def test_binding_a_port_in_use_names_the_address(loop: EventThread) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        with pytest.raises(OSError, match=rf"^\[Errno \d+\] cannot bind \('127.0.0.1', {port}\): .*; is another server using it\?$"):
            run(loop, create_server_to(loop, Echo, "127.0.0.1", port, reuse_address=False))
    finally:
        holder.close()


def test_a_failing_protocol_factory_is_reported_and_the_server_goes_on(loop: EventThread, reports: Reports) -> None:
    calls = [0]

    def factory() -> StreamProtocol:
        calls[0] += 1
        if calls[0] == 1:
            raise ValueError("no protocol for you")
        return Echo()

    async def main() -> bytes:
        server = await create_server_to(loop, factory, "127.0.0.1", 0)
        await server.start()
        first = await create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port_of(server))
        assert await first.read() == b""  # closed by the server
        first.close_transport()
        reply = await echo_once(loop, port_of(server), b"second")
        server.close()
        await server.wait_closed()
        return reply

    assert run(loop, main()) == b"second"
    assert len(reports) == 1 and reports[0][0].startswith("protocol factory of <Server serving")


# ---- connecting: errors and name resolution -----------------------------------------------------


def test_connection_refused_raises_connection_refused_error(loop: EventThread) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound and not listening: refused, and nobody else gets the port
    port = holder.getsockname()[1]
    try:
        with pytest.raises(ConnectionRefusedError):
            run(loop, create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", port))
        with pytest.raises(ConnectionRefusedError):  # every address localhost resolves to refuses
            run(loop, create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "localhost", port))
    finally:
        holder.close()


def test_localhost_resolves_with_the_system_resolver(loop: EventThread) -> None:
    async def main() -> bytes:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        await server.start()
        reply = await echo_once(loop, port_of(server), b"by name", host="localhost")
        server.close()
        await server.wait_closed()
        return reply

    assert run(loop, main()) == b"by name"


def test_ip_literals_resolve_on_the_loop_thread_and_names_on_the_executor(loop: EventThread) -> None:
    async def main() -> tuple[bool, object, bool]:
        infos = await get_address_info(loop, "127.0.0.1", 80, type=socket.SOCK_STREAM)
        no_executor = loop._executor is None
        await get_address_info(loop, "localhost", 80, type=socket.SOCK_STREAM)
        return no_executor, infos[0][4], loop._executor is not None

    assert run(loop, main()) == (True, ("127.0.0.1", 80), True)


def test_an_unknown_host_raises_gaierror(loop: EventThread) -> None:
    with pytest.raises(socket.gaierror):
        run(loop, get_address_info(loop, "name.that.does.not.exist.invalid", 80))


def test_cancelling_create_connection_closes_the_socket(loop: EventThread) -> None:
    async def main() -> None:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        await server.start()
        task = loop.create_task(create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), "localhost", port_of(server)))
        await skip_ready_cycle()
        task.cancel()
        with pytest.raises(BaseException):
            await task
        server.close()
        await server.wait_closed()

    run(loop, main())  # a leaked socket would fail the run with a ResourceWarning


def test_closing_a_server_whose_socket_was_closed_behind_its_back_still_unregisters_it(loop: EventThread) -> None:
    async def main() -> tuple[bool, bool]:
        server = await create_server_to(loop, Echo, "127.0.0.1", 0)
        await server.start()
        sock = server.sockets[0]
        fd = sock.fileno()
        registered = fd in loop._readers
        sock.close()  # fileno() is -1 from now on
        server.close()
        return registered, fd in loop._readers

    assert run(loop, main()) == (True, False)
