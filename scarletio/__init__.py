"""scarletio: coroutine-based concurrency with an event loop that runs in its own thread.

This module is the public facade: it only re-exports names. Importing it has no global side effects.
"""

from .core.abc import Backend as Backend
from .core.abc import Clock as Clock
from .core.abc import EventLoop as EventLoop
from .core.abc import EventMask as EventMask
from .core.abc import Executor as Executor
from .core.abc import Reactor as Reactor
from .core.exceptions import CancelledError as CancelledError
from .core.exceptions import DeadlockError as DeadlockError
from .core.exceptions import InvalidStateError as InvalidStateError
from .core.exceptions import LivelockError as LivelockError
from .core.exceptions import TimeLimitError as TimeLimitError
from .core.futures import Future as Future
from .core.handles import Handle as Handle
from .core.handles import TimerHandle as TimerHandle
from .core.reporting import ErrorReporter as ErrorReporter
from .core.reporting import get_error_reporter as get_error_reporter
from .core.reporting import set_error_reporter as set_error_reporter
from .core.suspension import shield as shield
from .core.suspension import skip_poll_cycle as skip_poll_cycle
from .core.suspension import skip_ready_cycle as skip_ready_cycle
from .core.suspension import sleep as sleep
from .core.tasks import Task as Task
from .core.wrappers import FutureWrapperAsync as FutureWrapperAsync
from .core.wrappers import FutureWrapperSync as FutureWrapperSync
from .backends import BackendName as BackendName
from .backends import available_backends as available_backends
from .backends import get_backend as get_backend
from .net import AddressInfo as AddressInfo
from .net import BytesLike as BytesLike
from .net import connect_read_pipe as connect_read_pipe
from .net import connect_write_pipe as connect_write_pipe
from .net import create_connection_to as create_connection_to
from .net import create_connection_with as create_connection_with
from .net import create_datagram_connection_to as create_datagram_connection_to
from .net import create_datagram_connection_with as create_datagram_connection_with
from .net import create_server_to as create_server_to
from .net import create_server_with as create_server_with
from .net import create_unix_connection_to as create_unix_connection_to
from .net import create_unix_connection_with as create_unix_connection_with
from .net import create_unix_server_to as create_unix_server_to
from .net import create_unix_server_with as create_unix_server_with
from .net import DatagramProtocol as DatagramProtocol
from .net import DatagramSocketTransport as DatagramSocketTransport
from .net import DatagramTransport as DatagramTransport
from .net import get_address_info as get_address_info
from .net import get_name_info as get_name_info
from .net import IncompleteRead as IncompleteRead
from .net import PipeFile as PipeFile
from .net import ReadPipeProtocol as ReadPipeProtocol
from .net import ReadPipeTransport as ReadPipeTransport
from .net import ReadProtocolBase as ReadProtocolBase
from .net import ReadTransport as ReadTransport
from .net import ReadWriteProtocolBase as ReadWriteProtocolBase
from .net import Server as Server
from .net import socket_accept as socket_accept
from .net import socket_connect as socket_connect
from .net import socket_receive as socket_receive
from .net import socket_receive_into as socket_receive_into
from .net import socket_send_all as socket_send_all
from .net import SocketAddress as SocketAddress
from .net import SocketTransport as SocketTransport
from .net import SSLTransport as SSLTransport
from .net import StreamProtocol as StreamProtocol
from .net import StreamTransport as StreamTransport
from .net import Transport as Transport
from .net import WritePipeProtocol as WritePipeProtocol
from .net import WritePipeTransport as WritePipeTransport
from .net import WriteTransport as WriteTransport
from .processes import add_signal_handler as add_signal_handler
from .processes import AsyncProcess as AsyncProcess
from .processes import remove_signal_handler as remove_signal_handler
from .processes import subprocess_exec as subprocess_exec
from .processes import subprocess_shell as subprocess_shell
from .processes import SubprocessWriter as SubprocessWriter
from .loop.event_thread import EventThread as EventThread
from .loop.toplevel import LOOP_TIME as LOOP_TIME
from .loop.toplevel import LOOP_TIME_RESOLUTION as LOOP_TIME_RESOLUTION
from .loop.toplevel import create_event_loop as create_event_loop
from .loop.toplevel import create_future as create_future
from .loop.toplevel import create_task as create_task
from .loop.toplevel import get_current_task as get_current_task
from .loop.toplevel import get_event_loop as get_event_loop
from .loop.toplevel import get_or_create_event_loop as get_or_create_event_loop
from .loop.toplevel import get_tasks as get_tasks
from .loop.toplevel import run as run
from .loop.toplevel import run_coroutine as run_coroutine
from .loop.toplevel import set_event_loop as set_event_loop
from .primitives.executor_hop import enter_executor as enter_executor
from .primitives.locks import Event as Event
from .primitives.locks import Lock as Lock
from .primitives.locks import ScarletLock as ScarletLock
from .primitives.queues import AsyncLifoQueue as AsyncLifoQueue
from .primitives.queues import AsyncQueue as AsyncQueue
from .primitives.scarlet_executor import ScarletExecutor as ScarletExecutor
from .primitives.task_group import TaskGroup as TaskGroup
from .primitives.timeouts import apply_timeout as apply_timeout
from .primitives.timeouts import future_or_timeout as future_or_timeout
from .primitives.timeouts import repeat_timeout as repeat_timeout

__version__ = "2.0.0.dev0"

__all__ = (
    "AddressInfo",
    "AsyncLifoQueue",
    "AsyncProcess",
    "AsyncQueue",
    "Backend",
    "BackendName",
    "BytesLike",
    "CancelledError",
    "Clock",
    "DatagramProtocol",
    "DatagramSocketTransport",
    "DatagramTransport",
    "DeadlockError",
    "ErrorReporter",
    "Event",
    "EventLoop",
    "EventMask",
    "EventThread",
    "Executor",
    "Future",
    "FutureWrapperAsync",
    "FutureWrapperSync",
    "Handle",
    "IncompleteRead",
    "InvalidStateError",
    "LivelockError",
    "LOOP_TIME",
    "LOOP_TIME_RESOLUTION",
    "Lock",
    "PipeFile",
    "Reactor",
    "ReadPipeProtocol",
    "ReadPipeTransport",
    "ReadProtocolBase",
    "ReadTransport",
    "ReadWriteProtocolBase",
    "SSLTransport",
    "ScarletExecutor",
    "ScarletLock",
    "Server",
    "SocketAddress",
    "SocketTransport",
    "StreamProtocol",
    "StreamTransport",
    "SubprocessWriter",
    "Task",
    "TaskGroup",
    "TimeLimitError",
    "TimerHandle",
    "Transport",
    "WritePipeProtocol",
    "WritePipeTransport",
    "WriteTransport",
    "add_signal_handler",
    "apply_timeout",
    "available_backends",
    "connect_read_pipe",
    "connect_write_pipe",
    "create_connection_to",
    "create_connection_with",
    "create_datagram_connection_to",
    "create_datagram_connection_with",
    "create_event_loop",
    "create_future",
    "create_server_to",
    "create_server_with",
    "create_task",
    "create_unix_connection_to",
    "create_unix_connection_with",
    "create_unix_server_to",
    "create_unix_server_with",
    "enter_executor",
    "future_or_timeout",
    "get_address_info",
    "get_backend",
    "get_current_task",
    "get_error_reporter",
    "get_event_loop",
    "get_name_info",
    "get_or_create_event_loop",
    "get_tasks",
    "remove_signal_handler",
    "repeat_timeout",
    "run",
    "run_coroutine",
    "set_error_reporter",
    "set_event_loop",
    "shield",
    "skip_poll_cycle",
    "skip_ready_cycle",
    "sleep",
    "socket_accept",
    "socket_connect",
    "socket_receive",
    "socket_receive_into",
    "socket_send_all",
    "subprocess_exec",
    "subprocess_shell",
)
