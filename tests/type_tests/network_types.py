"""Type tests for the virtual network: checked by mypy and pyright, never run (the file name keeps
pytest away; see `core_types` for how the wrong calls are pinned)."""

from __future__ import annotations

import socket

from typing_extensions import assert_type

from scarletio import EventThread, Task
from scarletio.net.virtual import LinkConditions, VirtualHost, VirtualNetwork


async def number() -> int:
    return 1


def uses_the_network(loop: EventThread) -> None:
    network = VirtualNetwork(loop, conditions=LinkConditions(latency=0.1, loss=0.5))
    host = network.add_host("server")
    assert_type(host, VirtualHost)
    assert_type(host.create_task(number()), Task[int])
    assert_type(host.socket(), socket.socket)
    assert_type(network.reset_connections(host), int)
    network.partition([host], ["client"])
    network.heal()
    with host.use() as entered:
        assert_type(entered, VirtualHost)
    network.set_link(host, "client", LinkConditions(bandwidth=1e6))
    LinkConditions(latency="1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    network.partition(host, 5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    network.add_host(address="10.0.0.9")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
