"""`EventThread`, the public event loop: the core scheduler on a backend picked by name, with networking,
processes and signals as methods.

The scheduler (`scarletio.core.scheduler.Scheduler`) knows nothing of backend names, sockets,
protocols or servers; this subclass resolves the backend through the registry and adds the
`scarletio.net` / `scarletio.processes` functions as methods (`loop.create_connection_to(...)`), each
taking the loop as its first argument. It adds no state, so an instance costs exactly what the
scheduler costs. `scarletio.EventThread` is this class, and every annotation a user sees names it (or
the `EventLoop` protocol it satisfies, in the layers below it).
"""

from __future__ import annotations

from ..backends import BackendName, resolve_backend
from ..core.abc import Backend
from ..core.scheduler import Scheduler
from ..net import (
    connect_read_pipe,
    connect_write_pipe,
    create_connection_to,
    create_connection_with,
    create_datagram_connection_to,
    create_datagram_connection_with,
    create_server_to,
    create_server_with,
    create_unix_connection_to,
    create_unix_connection_with,
    create_unix_server_to,
    create_unix_server_with,
    get_address_info,
    get_name_info,
    socket_accept,
    socket_connect,
    socket_receive,
    socket_receive_into,
    socket_send_all,
)
from ..processes import add_signal_handler, remove_signal_handler, subprocess_exec, subprocess_shell

__all__ = ("EventThread",)


class EventThread(Scheduler):
    """An event loop running in a thread of its own, with networking, processes and signals as methods.

    Args:
        backend: A `Backend`, a backend name (`"epoll"`, `"poll"`, `"virtual"`), or `None` to use the
            `SCARLETIO_BACKEND` environment variable, else the best backend available.
        daemon: Whether the thread is a daemon thread (it then does not keep the process alive).
        name: The thread's name; `Thread-N` by default.
        start_later: Start the thread on first use instead of now.

    Raises:
        ValueError: If the backend name is unknown or unavailable here.
    """

    def __init__(
        self,
        backend: Backend | BackendName | None = None,
        *,
        daemon: bool = False,
        name: str | None = None,
        start_later: bool = True,
    ) -> None:
        Scheduler.__init__(self, resolve_backend(backend), daemon=daemon, name=name, start_later=start_later)

    # Each is a `scarletio.net` function whose first parameter is the loop, so it binds as a method.
    socket_accept = socket_accept
    socket_connect = socket_connect
    socket_receive = socket_receive
    socket_receive_into = socket_receive_into
    socket_send_all = socket_send_all
    get_address_info = get_address_info
    get_name_info = get_name_info
    create_connection_to = create_connection_to
    create_connection_with = create_connection_with
    create_unix_connection_to = create_unix_connection_to
    create_unix_connection_with = create_unix_connection_with
    create_server_to = create_server_to
    create_server_with = create_server_with
    create_unix_server_to = create_unix_server_to
    create_unix_server_with = create_unix_server_with
    create_datagram_connection_to = create_datagram_connection_to
    create_datagram_connection_with = create_datagram_connection_with
    connect_read_pipe = connect_read_pipe
    connect_write_pipe = connect_write_pipe
    subprocess_exec = subprocess_exec
    subprocess_shell = subprocess_shell
    add_signal_handler = add_signal_handler
    remove_signal_handler = remove_signal_handler
