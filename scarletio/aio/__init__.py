"""The asyncio face of an `EventThread`: asyncio code on scarletio's scheduler, clock and I/O (aio layer).

`EventLoop` is an `asyncio.AbstractEventLoop` over one `EventThread`; `new_event_loop`, `run` and
`EventLoopPolicy` make loops on fresh threads, `get_asyncio_loop` gives the loop of an existing one.
"""

from .api import EventLoopPolicy, get_asyncio_loop, new_event_loop, run
from .event_loop import EventLoop

__all__ = ("EventLoop", "EventLoopPolicy", "get_asyncio_loop", "new_event_loop", "run")
