"""scarletio: coroutine-based concurrency with an event loop that runs in its own thread.

This module is the public facade: it only re-exports names. Importing it has no global side effects.
"""

from ._reporting import ErrorReporter as ErrorReporter
from ._reporting import get_error_reporter as get_error_reporter
from ._reporting import set_error_reporter as set_error_reporter
from .abc import Backend as Backend
from .abc import Clock as Clock
from .abc import EventMask as EventMask
from .abc import Executor as Executor
from .abc import Reactor as Reactor
from .backends import available_backends as available_backends
from .backends import get_backend as get_backend
from .event_thread import EventThread as EventThread
from .exceptions import CancelledError as CancelledError
from .exceptions import DeadlockError as DeadlockError
from .exceptions import InvalidStateError as InvalidStateError
from .exceptions import LivelockError as LivelockError
from .executor_hop import enter_executor as enter_executor
from .futures import Future as Future
from .handles import Handle as Handle
from .handles import TimerHandle as TimerHandle
from .suspension import shield as shield
from .suspension import skip_poll_cycle as skip_poll_cycle
from .suspension import skip_ready_cycle as skip_ready_cycle
from .suspension import sleep as sleep
from .locks import Event as Event
from .locks import Lock as Lock
from .locks import ScarletLock as ScarletLock
from .queues import AsyncLifoQueue as AsyncLifoQueue
from .queues import AsyncQueue as AsyncQueue
from .scarlet_executor import ScarletExecutor as ScarletExecutor
from .task_group import TaskGroup as TaskGroup
from .tasks import Task as Task
from .timeouts import apply_timeout as apply_timeout
from .timeouts import repeat_timeout as repeat_timeout
from .toplevel import create_event_loop as create_event_loop
from .toplevel import create_future as create_future
from .toplevel import create_task as create_task
from .toplevel import get_current_task as get_current_task
from .toplevel import get_event_loop as get_event_loop
from .toplevel import get_or_create_event_loop as get_or_create_event_loop
from .toplevel import run as run
from .toplevel import set_event_loop as set_event_loop
from .wrappers import FutureWrapperAsync as FutureWrapperAsync
from .wrappers import FutureWrapperSync as FutureWrapperSync

__version__ = "2.0.0.dev0"

__all__ = (
    "AsyncLifoQueue",
    "AsyncQueue",
    "Event",
    "Lock",
    "ScarletExecutor",
    "ScarletLock",
    "TaskGroup",
    "Backend",
    "CancelledError",
    "DeadlockError",
    "Clock",
    "ErrorReporter",
    "EventMask",
    "EventThread",
    "Executor",
    "Future",
    "FutureWrapperAsync",
    "FutureWrapperSync",
    "Handle",
    "InvalidStateError",
    "LivelockError",
    "Reactor",
    "Task",
    "TimerHandle",
    "apply_timeout",
    "available_backends",
    "create_event_loop",
    "create_future",
    "create_task",
    "enter_executor",
    "get_backend",
    "get_current_task",
    "get_error_reporter",
    "get_event_loop",
    "get_or_create_event_loop",
    "repeat_timeout",
    "run",
    "set_error_reporter",
    "set_event_loop",
    "shield",
    "skip_poll_cycle",
    "skip_ready_cycle",
    "sleep",
)
