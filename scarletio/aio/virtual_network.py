"""`VirtualNetworking`: asyncio networking over scarletio's virtual network, for `scarletio.aio.EventLoop`.

A mixin placed first among the bases of `EventLoop`: it overrides asyncio's networking methods
(`create_connection`, `create_server`, `getaddrinfo`, `sock_*`, ...) for loops whose `EventThread`
(`loop.thread`) has a `VirtualNetwork` attached, and defers to `asyncio.SelectorEventLoop` otherwise.
Until those overrides exist it adds nothing.
"""

from __future__ import annotations

__all__ = ("VirtualNetworking",)


class VirtualNetworking:
    """The virtual-network overrides of `EventLoop`'s networking methods (none yet)."""

    __slots__ = ()
