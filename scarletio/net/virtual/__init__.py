"""A virtual network on virtual time: deterministic tests for networked code (high level, testing).

Attach a `VirtualNetwork` to a loop on the `virtual` backend, add hosts, and run a server and its
clients, written with the production API (`create_server_to`, `create_connection_to`, protocols,
streams, datagrams), on an in-memory network: no ports, no flakiness, and link conditions a test
controls (latency, jitter, bandwidth, loss, duplicates, partitions, stalled connections, crashes) and a
clock per host (`host.clock`, with skew and drift), every random draw from the loop's seed:

    network = VirtualNetwork(loop, conditions=LinkConditions(latency=0.1))
    server, client = network.add_host("server"), network.add_host("client")
    with server.use():
        ...  # create_server_to(loop, Echo, None, 7000) listens on "server"
    with client.use():
        ...  # create_connection_to(loop, Client, "server", 7000) connects from "client"

The pytest plugin's `scarletio_network` fixture gives each test a fresh network.
"""

from __future__ import annotations

from ...core.forward_names import bind_forward_names
from . import _links, clocks, faults, hosts, names, sockets, streams
from ._links import Channel, Link
from ._links import LinkConditions as LinkConditions
from .clocks import HostClock as HostClock
from .hosts import VirtualHost as VirtualHost
from .network import VirtualNetwork as VirtualNetwork
from .sockets import VirtualDatagramSocket as VirtualDatagramSocket
from .sockets import VirtualSocket as VirtualSocket
from .streams import VirtualStreamSocket as VirtualStreamSocket

__all__ = (
    "HostClock",
    "LinkConditions",
    "VirtualDatagramSocket",
    "VirtualHost",
    "VirtualNetwork",
    "VirtualSocket",
    "VirtualStreamSocket",
)

# The modules of this folder name the network and its hosts for the type checker only (the network
# imports them at run time); bound now that all are loaded, so `typing.get_type_hints` resolves them
# (see `scarletio.core.forward_names`).
bind_forward_names(_links, VirtualHost, VirtualNetwork)
bind_forward_names(names, VirtualNetwork)
bind_forward_names(clocks, VirtualHost, VirtualNetwork)
bind_forward_names(faults, Channel, Link)
bind_forward_names(hosts, VirtualNetwork)
bind_forward_names(sockets, Channel, VirtualHost, VirtualNetwork)
bind_forward_names(streams, Channel, VirtualHost)
