"""Datagram endpoints: `create_datagram_connection_to` / `_with` and `DatagramSocketTransport`.

Every test runs on the epoll and the poll backend over UDP on 127.0.0.1 (and Unix datagram sockets).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from _fixtures import loop, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.futures import Future
from scarletio.net import (
    DatagramProtocol,
    DatagramSocketTransport,
    DatagramTransport,
    SocketAddress,
    create_datagram_connection_to,
    create_datagram_connection_with,
)


class EchoEndpoint(DatagramProtocol):
    def connection_made(self, transport: DatagramTransport, /) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address: SocketAddress, /) -> None:
        self.transport.send_to(b"echo " + data, address)


class Collector(DatagramProtocol):
    def __init__(self, loop: EventThread) -> None:
        self.loop = loop
        self.transport: DatagramTransport | None = None
        self.datagrams: list[tuple[bytes, SocketAddress]] = []
        self.errors: list[OSError] = []
        self.signal: Future[None] = loop.create_future()
        self.lost: Future[Exception | None] = loop.create_future()

    def connection_made(self, transport: DatagramTransport, /) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address: SocketAddress, /) -> None:
        self.datagrams.append((data, address))
        self.signal.set_result_if_pending(None)

    def error_received(self, exception: OSError, /) -> None:
        self.errors.append(exception)
        self.signal.set_result_if_pending(None)

    def connection_lost(self, exception: Exception | None, /) -> None:
        self.lost.set_result(exception)

    async def next_signal(self) -> None:
        await self.signal
        self.signal = self.loop.create_future()

    def get_transport(self) -> DatagramTransport:
        assert self.transport is not None
        return self.transport


def test_udp_echo_between_a_connected_and_an_unconnected_endpoint(loop: EventThread) -> None:
    async def main() -> tuple[list[bytes], object, object]:
        server = await create_datagram_connection_to(loop, EchoEndpoint, ("127.0.0.1", 0), None)
        address = server.transport.get_extra_info("sockname")
        assert isinstance(address, tuple)
        client = await create_datagram_connection_to(loop, lambda: Collector(loop), None, ("127.0.0.1", address[1]))
        replies = []
        for word in (b"one", b"two", b""):
            client.get_transport().send_to(word)
            await client.next_signal()
            replies.append(client.datagrams[-1][0])
        peer = client.get_transport().get_extra_info("peername")
        client.get_transport().close()
        server.transport.close()
        await client.lost
        return replies, peer, client.datagrams[-1][1]

    replies, peer, sender = run(loop, main())
    assert replies == [b"echo one", b"echo two", b"echo "]
    assert peer == sender


def test_sendto_on_an_unconnected_endpoint_needs_an_address(loop: EventThread) -> None:
    async def main() -> None:
        endpoint = await create_datagram_connection_to(loop, lambda: Collector(loop), ("127.0.0.1", 0), None)
        transport = endpoint.get_transport()
        assert isinstance(transport, DatagramSocketTransport)
        with pytest.raises(ValueError, match=r"^this endpoint is not connected; pass the receiver's address$"):
            transport.sendto(b"where to?")
        transport.close()
        await endpoint.lost

    run(loop, main())


def test_a_connected_endpoint_refuses_another_peer(loop: EventThread) -> None:
    async def main() -> None:
        endpoint = await create_datagram_connection_to(loop, lambda: Collector(loop), None, ("127.0.0.1", 9))
        with pytest.raises(ValueError, match=r"^this endpoint is connected to \('127.0.0.1', 9\); send to it with address=None, not \('127.0.0.1', 10\)$"):
            endpoint.get_transport().send_to(b"x", ("127.0.0.1", 10))
        endpoint.get_transport().send_to(b"x", ("127.0.0.1", 9))  # the connected peer itself is fine
        endpoint.get_transport().abort()
        await endpoint.lost

    run(loop, main())


@pytest.mark.skipif(sys.platform != "linux", reason="ICMP errors reach connected UDP sockets on Linux")
def test_sending_to_a_closed_port_reaches_error_received(loop: EventThread) -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    holder.close()

    async def main() -> list[OSError]:
        endpoint = await create_datagram_connection_to(loop, lambda: Collector(loop), None, ("127.0.0.1", port))
        endpoint.get_transport().send_to(b"anyone?")
        await endpoint.next_signal()
        endpoint.get_transport().close()
        await endpoint.lost
        return endpoint.errors

    errors = run(loop, main())
    assert len(errors) == 1 and isinstance(errors[0], ConnectionRefusedError)


def test_datagram_endpoint_over_an_existing_socket(loop: EventThread) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)

    async def main() -> list[bytes]:
        endpoint = await create_datagram_connection_with(loop, lambda: Collector(loop), left)
        right.send(b"first")
        right.send(b"second")
        await endpoint.next_signal()
        while len(endpoint.datagrams) < 2:
            await endpoint.next_signal()
        endpoint.get_transport().close()
        await endpoint.lost
        return [data for data, _ in endpoint.datagrams]

    try:
        assert run(loop, main()) == [b"first", b"second"]
    finally:
        right.close()
    assert left.fileno() == -1


def test_unix_datagram_endpoints_by_path(loop: EventThread, tmp_path: Path) -> None:
    server_path = str(tmp_path / "server.sock")
    client_path = str(tmp_path / "client.sock")

    async def main() -> bytes:
        server = await create_datagram_connection_to(loop, EchoEndpoint, server_path, None, socket_family=socket.AF_UNIX)
        client = await create_datagram_connection_to(
            loop, lambda: Collector(loop), client_path, server_path, socket_family=socket.AF_UNIX
        )
        client.get_transport().send_to(b"via path")
        await client.next_signal()
        client.get_transport().close()
        server.transport.close()
        await client.lost
        return client.datagrams[0][0]

    assert run(loop, main()) == b"echo via path"


def test_an_endpoint_needs_an_address_or_a_family(loop: EventThread) -> None:
    with pytest.raises(ValueError, match=r"^pass a local address, a remote address or a socket family to open an endpoint$"):
        run(loop, create_datagram_connection_to(loop, lambda: Collector(loop), None, None))
