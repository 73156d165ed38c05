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

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from ..backends import BackendName, resolve_backend
from ..core.abc import Backend
from ..core.futures import Future, new_future
from ..core.handles import TimerHandle
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

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


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

    # The thread-safe names are the scheduler's methods themselves (they work from any thread), and
    # `create_future` is `new_future` itself, not a method calling it: one Python call per future
    # instead of two. The type checkers see them declared as methods: pyright binds neither an alias of
    # a method generic in a `TypeVarTuple` nor a module function assigned in a class body.
    if TYPE_CHECKING:

        def call_at_thread_safe(
            self, when: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]
        ) -> TimerHandle:
            """The same as `call_at`, which works from any thread."""
            ...

        def call_after_thread_safe(
            self, delay: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]
        ) -> TimerHandle:
            """The same as `call_after`, which works from any thread."""
            ...

        def create_future(self) -> Future[T]:
            """Return a new pending future of this loop: `loop.create_future()` is `Future(loop)`, faster."""
            ...

    else:
        call_at_thread_safe = Scheduler.call_at
        call_after_thread_safe = Scheduler.call_after
        create_future = new_future

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
