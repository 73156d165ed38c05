"""Networking (high level): socket helpers, protocols and transports, streams, servers, datagrams, pipes.

The package is split by concept:

- `interfaces`: the transport and protocol contracts (`typing.Protocol`s);
- `sockets`: awaitable system calls on non-blocking sockets (`socket_receive`, ...);
- `resolve`: name resolution with the system resolver, off the loop thread;
- `socket_transport`, `datagram`, `pipes`: the transports; `tls`: TLS over a stream transport;
- `stream_reading`, `stream_writing`: the `await`-based stream protocols (`ReadProtocolBase`,
  `ReadWriteProtocolBase`);
- `connections`, `servers`: opening connections and serving them;
- `_socket_factory`: where sockets and names come from (the system, or a virtual network);
- `virtual`: the in-memory network on virtual time, for deterministic tests.

Every loop-level operation is a function taking the loop first, for example
`await create_connection_to(loop, factory, "localhost", 8080)`; `EventThread` exposes them as methods
that delegate here.
"""

from .connections import create_connection_to as create_connection_to
from .connections import create_connection_with as create_connection_with
from .connections import create_unix_connection_to as create_unix_connection_to
from .connections import create_unix_connection_with as create_unix_connection_with
from .datagram import DatagramSocketTransport as DatagramSocketTransport
from .datagram import create_datagram_connection_to as create_datagram_connection_to
from .datagram import create_datagram_connection_with as create_datagram_connection_with
from .interfaces import BytesLike as BytesLike
from .interfaces import DatagramProtocol as DatagramProtocol
from .interfaces import DatagramTransport as DatagramTransport
from .interfaces import ReadPipeProtocol as ReadPipeProtocol
from .interfaces import ReadTransport as ReadTransport
from .interfaces import SocketAddress as SocketAddress
from .interfaces import StreamProtocol as StreamProtocol
from .interfaces import StreamTransport as StreamTransport
from .interfaces import Transport as Transport
from .interfaces import WritePipeProtocol as WritePipeProtocol
from .interfaces import WriteTransport as WriteTransport
from .pipes import PipeFile as PipeFile
from .pipes import ReadPipeTransport as ReadPipeTransport
from .pipes import WritePipeTransport as WritePipeTransport
from .pipes import connect_read_pipe as connect_read_pipe
from .pipes import connect_write_pipe as connect_write_pipe
from .resolve import AddressInfo as AddressInfo
from .resolve import get_address_info as get_address_info
from .resolve import get_name_info as get_name_info
from .servers import Server as Server
from .servers import create_server_to as create_server_to
from .servers import create_server_with as create_server_with
from .servers import create_unix_server_to as create_unix_server_to
from .servers import create_unix_server_with as create_unix_server_with
from .socket_transport import SocketTransport as SocketTransport
from .sockets import socket_accept as socket_accept
from .sockets import socket_connect as socket_connect
from .sockets import socket_receive as socket_receive
from .sockets import socket_receive_into as socket_receive_into
from .sockets import socket_send_all as socket_send_all
from .stream_reading import IncompleteRead as IncompleteRead
from .stream_reading import ReadProtocolBase as ReadProtocolBase
from .stream_writing import ReadWriteProtocolBase as ReadWriteProtocolBase
from .tls import SSLTransport as SSLTransport

__all__ = (
    "AddressInfo",
    "BytesLike",
    "DatagramProtocol",
    "DatagramSocketTransport",
    "DatagramTransport",
    "IncompleteRead",
    "PipeFile",
    "ReadPipeProtocol",
    "ReadPipeTransport",
    "ReadProtocolBase",
    "ReadTransport",
    "ReadWriteProtocolBase",
    "Server",
    "SocketAddress",
    "SSLTransport",
    "SocketTransport",
    "StreamProtocol",
    "StreamTransport",
    "Transport",
    "WritePipeProtocol",
    "WritePipeTransport",
    "WriteTransport",
    "connect_read_pipe",
    "connect_write_pipe",
    "create_connection_to",
    "create_connection_with",
    "create_datagram_connection_to",
    "create_datagram_connection_with",
    "create_server_to",
    "create_server_with",
    "create_unix_connection_to",
    "create_unix_connection_with",
    "create_unix_server_to",
    "create_unix_server_with",
    "get_address_info",
    "get_name_info",
    "socket_accept",
    "socket_connect",
    "socket_receive",
    "socket_receive_into",
    "socket_send_all",
)

from ..core.forward_names import bind_forward_names
from . import socket_transport

# `socket_transport` names `Server` for the type checker only (servers import it at run time); bound
# now that both are loaded, so `typing.get_type_hints` resolves it (see `scarletio.core.forward_names`).
bind_forward_names(socket_transport, Server)
