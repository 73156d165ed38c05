"""The asyncio face of an `EventThread`: asyncio code on scarletio's scheduler, clock and I/O (aio layer).

`EventLoop` is an `asyncio.AbstractEventLoop` over one `EventThread`; `new_event_loop`, `run` and
`EventLoopPolicy` make loops on fresh threads, `get_asyncio_loop` gives the loop of an existing one.
"""

from asyncio import AbstractEventLoop

from ..core import foreign, scheduler
from ..core.forward_names import bind_forward_names
from .api import EventLoopPolicy, get_asyncio_loop, new_event_loop, run
from .event_loop import EventLoop

# The core names asyncio's loop class for the type checker only (it does not import asyncio).
bind_forward_names(foreign, AbstractEventLoop)
bind_forward_names(scheduler, AbstractEventLoop)

__all__ = ("EventLoop", "EventLoopPolicy", "get_asyncio_loop", "new_event_loop", "run")
