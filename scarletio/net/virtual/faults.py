"""Faults of the virtual network: partitions, stalled and half-cut connections, resets and crashes.

`NetworkFaults` is the part of `VirtualNetwork` a test uses to break things, each fault at a virtual
instant the test chooses, so a run repeats exactly:

- `partition(a, b)` cuts links between groups of hosts (both ways, or `one_way=True` from the first
  group to the others); `heal()` mends them. Datagrams across a cut are lost; stream segments wait.
- `stall(host)` holds every existing stream connection of a host (optionally with one peer, in one
  direction only: a half-cut connection) without touching new ones or datagrams, as a middlebox
  that lost its state does; `resume()` delivers what waited.
- `reset_connections(host)` resets connections, as a crash of the peer's kernel would.
- `crash(host)` kills what runs on a host now; `crash_after(host, sent_bytes)` kills it in the
  middle of a write, once it has sent that many more bytes over its streams, so the peer receives a
  truncated message and then end of file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from typing_extensions import TypeAlias

from ...backends.virtual import VirtualReactor
from ...core.abc import EventLoop
from .hosts import CURRENT_HOST, VirtualHost
from .sockets import VirtualSocket

if TYPE_CHECKING:
    from ._links import Channel, Link

__all__ = ("DIRECTIONS", "HostGroup", "NetworkFaults")

HostGroup: TypeAlias = "VirtualHost | str | Iterable[VirtualHost | str]"
"""Hosts named by the partition functions: one host, one name, or an iterable of hosts and names."""

DIRECTIONS = ("both", "outgoing", "incoming")
"""What `stall` holds: both directions, what the host sends, or what it receives."""


class NetworkFaults:
    """The faults a test injects into a `VirtualNetwork` (see the module docstring)."""

    # Provided by `VirtualNetwork`.
    loop: EventLoop
    reactor: VirtualReactor
    sockets: set[VirtualSocket]
    _links: dict[tuple[VirtualHost, VirtualHost], Link]
    _stalled: list[Channel]

    def link(self, source: VirtualHost, target: VirtualHost) -> Link | None:
        raise NotImplementedError

    def _hosts_of(self, group: HostGroup) -> list[VirtualHost]:
        raise NotImplementedError

    def check_thread(self, what: str) -> None:
        raise NotImplementedError

    def note(self, event: str, *, host: VirtualHost | None = None, flow: int = 0) -> None:
        raise NotImplementedError

    # ---- partitions ----------------------------------------------------------------------------

    def partition(self, *groups: HostGroup, one_way: bool = False) -> None:
        """Cut every link between hosts of different groups until `heal`.

        Datagrams sent across a cut are lost; stream segments wait and arrive after the heal (TCP
        keeps retransmitting), so a connection survives a partition its code does not time out on.

        Args:
            groups: Two or more groups: each a host, a host name, or an iterable of them; hosts in no
                group stay connected.
            one_way: Cut only what the first group sends to the others (what they send back still
                arrives): a half-broken network.

        Raises:
            ValueError: With fewer than two groups, or a host in two groups.
        """
        self.check_thread("partition()")
        resolved = self._groups(groups)
        for index, group in enumerate(resolved):
            for other in resolved[index + 1 :]:
                for one in group:
                    for two in other:
                        for pair in ((one, two),) if one_way else ((one, two), (two, one)):
                            link = self.link(*pair)
                            assert link is not None
                            link.cut = True
            if one_way:
                break
        arrow = " > " if one_way else " | "
        self.note("partition " + arrow.join(",".join(host.name for host in group) for group in resolved))

    def heal(self, *groups: HostGroup) -> None:
        """Reconnect hosts cut apart by `partition`; what waited is sent again now.

        Args:
            groups: Heal only between these groups (two or more); every cut when none is given.

        Raises:
            ValueError: With exactly one group, or a host in two groups.
        """
        self.check_thread("heal()")
        if groups:
            resolved = self._groups(groups)
            pairs = [
                pair
                for index, group in enumerate(resolved)
                for other in resolved[index + 1 :]
                for one in group
                for two in other
                for pair in ((one, two), (two, one))
            ]
            links = [link for link in (self._links.get(pair) for pair in pairs) if link is not None]
        else:
            links = list(self._links.values())
        for link in links:
            link.cut = False
        for link in links:
            held, link.held = link.held, []
            for channel in held:
                channel.resume()
        self.note("heal")

    def _groups(self, groups: tuple[HostGroup, ...]) -> list[list[VirtualHost]]:
        if len(groups) < 2:
            raise ValueError(f"name at least two groups of hosts to cut apart, got {len(groups)}")
        resolved = [self._hosts_of(group) for group in groups]
        seen: set[VirtualHost] = set()
        for group in resolved:
            for host in group:
                if host in seen:
                    raise ValueError(f"{host!r} is in more than one group")
                seen.add(host)
        return resolved

    # ---- connections -----------------------------------------------------------------------------

    def _connections(self, host: VirtualHost | str, peer: VirtualHost | str | None) -> list[tuple[VirtualSocket, VirtualSocket]]:
        """Return the live stream connections of `host` (with `peer`): (its end, the other end)."""
        (one,) = self._hosts_of([host])
        other = None if peer is None else self._hosts_of([peer])[0]
        pairs: list[tuple[VirtualSocket, VirtualSocket]] = []
        for sock in sorted(self.sockets, key=lambda sock: self.reactor.allocation_order(sock.fileno())):
            partner = sock.reset_partner(one, other)
            if partner is not None:
                pairs.append((sock, partner))
        return pairs

    def reset_connections(self, host: VirtualHost | str, peer: VirtualHost | str | None = None) -> int:
        """Reset every stream connection of `host` (with `peer` only, if given), as a crash would.

        Both ends see `ConnectionResetError` on their next receive or send, at once.

        Returns:
            How many connections were reset.
        """
        self.check_thread("reset_connections()")
        pairs = self._connections(host, peer)
        for sock, partner in pairs:
            sock.reset_now()
            partner.reset_now()
        self.note(f"reset {len(pairs)} connection(s)", host=self._hosts_of([host])[0])
        return len(pairs)

    def stall(self, host: VirtualHost | str, peer: VirtualHost | str | None = None, *, direction: str = "both") -> int:
        """Hold every stream connection `host` has now (with `peer` only, if given) until `resume`.

        Nothing is lost and nobody is told: segments wait, as on a connection whose packets a
        middlebox drops while both ends keep retransmitting. New connections and datagrams are not
        affected (use `partition` for those).

        Args:
            host: The host whose connections stall.
            peer: Only its connections with this host.
            direction: `"both"`, `"outgoing"` (what `host` sends waits; what it receives arrives: a
                connection cut in one direction) or `"incoming"`.

        Returns:
            How many connections stalled.

        Raises:
            ValueError: For another direction.
        """
        self.check_thread("stall()")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(map(repr, DIRECTIONS))}, got {direction!r}")
        pairs = self._connections(host, peer)
        for sock, partner in pairs:
            for end, wanted in ((sock, ("both", "outgoing")), (partner, ("both", "incoming"))):
                channel = end.outgoing_channel()
                if direction in wanted and channel is not None and not channel.stalled:
                    channel.stalled = True
                    self._stalled.append(channel)
        self.note(f"stall {len(pairs)} connection(s), {direction}", host=self._hosts_of([host])[0])
        return len(pairs)

    def resume(self) -> int:
        """Let every stalled connection go on; what waited is sent again now.

        Returns:
            How many directions of connections were stalled.
        """
        self.check_thread("resume()")
        stalled, self._stalled = self._stalled, []
        for channel in stalled:
            channel.stalled = False
            channel.resume()
        self.note(f"resume {len(stalled)} direction(s)")
        return len(stalled)

    # ---- crashes ---------------------------------------------------------------------------------

    def crash(self, host: VirtualHost | str) -> int:
        """Kill what runs on `host`, as if its process died; the host stays on the network.

        Every task running on the host (started with `host.create_task`, or created inside
        `host.use()`, and the tasks those created) is cancelled, and every socket of the host is
        closed as the kernel closes a dead process's sockets: peers read end of file (a reset where
        data was left unread), connections waiting to be accepted are reset, and new connections
        are refused. Start the host's services again (`host.create_task(...)`) to restart it.

        Returns:
            How many tasks were cancelled.
        """
        self.check_thread("crash()")
        (victim,) = self._hosts_of([host])
        victim.crash_budget = None
        tasks = [task for task in self.loop._tasks if task._context.get(CURRENT_HOST) is victim]
        for task in tasks:  # creation order: the same on every run
            task.cancel()
        for sock in sorted(self.sockets, key=lambda sock: self.reactor.allocation_order(sock.fileno())):
            if sock.host is victim:
                sock.close()
        self.note(f"crash: {len(tasks)} task(s) cancelled", host=victim)
        return len(tasks)

    def crash_after(self, host: VirtualHost | str, sent_bytes: int) -> None:
        """Crash `host` in the middle of a write, once it has sent `sent_bytes` more over its streams.

        The send that crosses the mark is cut there: the peer receives exactly `sent_bytes` more,
        then whatever a crash makes it see (end of file, or a reset). The crash itself (see `crash`)
        comes right after that send, at the same virtual instant; the host sends nothing more.

        Args:
            host: The host.
            sent_bytes: Bytes it may still send (0: it crashes at its next send).

        Raises:
            ValueError: If `sent_bytes` is negative.
        """
        self.check_thread("crash_after()")
        if sent_bytes < 0:
            raise ValueError(f"sent_bytes must not be negative, got {sent_bytes!r}")
        (victim,) = self._hosts_of([host])
        victim.crash_budget = sent_bytes
        self.note(f"crash after {sent_bytes} more byte(s) sent", host=victim)

    def spend_crash_budget(self, host: VirtualHost, count: int) -> int:
        """Return how many of `count` bytes `host` may still send; schedule its crash when it is spent."""
        budget = host.crash_budget
        if budget is None:
            return count
        if budget < 0:  # spent: the crash is on its way
            return 0
        allowed = min(count, budget)
        if allowed == budget:
            host.crash_budget = -1
            self.loop.call_soon(self._crash_now, host)
        else:
            host.crash_budget = budget - allowed
        return allowed

    def _crash_now(self, host: VirtualHost) -> None:
        if host.crash_budget == -1:
            self.crash(host)
