"""Reliability: a port outside 0..65535 is refused, for host names and IP literals alike.

glibc's resolver keeps only the low 16 bits of a numeric port, so port 70000 used to become port 4464
without a word, for servers and connections. Checked on epoll and poll (the system resolver) and on
the virtual network (its own resolver).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import cast

import pytest
from _fixtures import loop  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.net import (
    DatagramProtocol,
    ReadWriteProtocolBase,
    StreamProtocol,
    create_connection_to,
    create_datagram_connection_to,
    create_server_to,
    get_address_info,
)
from scarletio.net.virtual import VirtualNetwork

BAD_PORTS: list[int | str] = [70000, 65536, -1, "70000", "65536"]


def opener(kind: str, loop: EventThread, host: str, port: int | str) -> Callable[[], Awaitable[object]]:
    """Return a function that opens a server, a connection, a datagram endpoint or a lookup."""
    if kind == "server":
        return lambda: create_server_to(loop, StreamProtocol, host, port)
    if kind == "connection":
        return lambda: create_connection_to(loop, lambda: ReadWriteProtocolBase(loop), host, port)
    if kind == "datagram":
        remote = cast("tuple[str, int]", (host, port))  # a string of digits, as users do pass
        return lambda: create_datagram_connection_to(loop, DatagramProtocol, None, remote)
    return lambda: get_address_info(loop, host, port, type=socket.SOCK_STREAM)


KINDS = ("server", "connection", "datagram", "lookup")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("port", BAD_PORTS)
def test_a_port_out_of_range_is_refused_on_real_sockets(loop: EventThread, kind: str, host: str, port: int | str) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match=rf"^port {port!r} is out of range; a port is a number from 0 to 65535 \(0 picks a free one\)$"):
            await opener(kind, loop, host, port)()

    loop.run(main(), timeout=10)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("port", BAD_PORTS)
async def test_a_port_out_of_range_is_refused_on_the_virtual_network(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork, kind: str, port: int | str
) -> None:
    scarletio_network.add_host("server")
    with pytest.raises(ValueError, match=r"^port .* is out of range; a port is a number from 0 to 65535 \(0 picks a free one\)$"):
        await opener(kind, scarletio_loop, "server", port)()


def test_ports_in_range_and_service_names_still_resolve(loop: EventThread) -> None:
    async def main() -> list[int]:
        ports: list[int] = []
        for port in (0, 65535, "80", "http", None):
            infos = await get_address_info(loop, "127.0.0.1", port, type=socket.SOCK_STREAM)
            address = infos[0][4]
            assert isinstance(address[1], int)
            ports.append(address[1])
        return ports

    assert loop.run(main(), timeout=10) == [0, 65535, 80, 80, 0]


def test_a_port_of_another_type_is_refused(loop: EventThread) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match=r"^a port is an int, a service name or None, got 80\.0$"):
            await get_address_info(loop, "127.0.0.1", 80.0)  # type: ignore[arg-type]

    loop.run(main(), timeout=10)
