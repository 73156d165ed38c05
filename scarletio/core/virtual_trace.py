"""The decision trace of a virtual-time loop, and its export as a Chrome / Perfetto trace (core layer).

A virtual-time loop with `tracing` on records one `TraceEvent` per decision: every step it runs
(which task or callback, on which virtual host), every clock jump, every report, and what the virtual
network and the testing helpers note (connections, segments and datagrams with the flow from a send
to its delivery, partitions, crashes, fault injections). Two runs of one program with one seed record
equal traces; the first place two traces differ is the first decision that differed
(`first_difference`).

`chrome_trace` turns a trace into trace-event JSON a person can read in Perfetto or chrome://tracing:
timestamps are virtual time, one process per virtual host (plus one for the loop itself), one row
per task (two tasks of one coroutine get two rows), the network's events on a row of their host's
process, and flow arrows from each send to its delivery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ("TraceEvent", "chrome_trace", "first_difference")

LOOP_PROCESS = "loop"
"""The process of the trace that holds what runs on no virtual host (callbacks, the clock)."""


class TraceEvent(NamedTuple):
    """One decision of a virtual-time loop.

    Attributes:
        kind: `"step"` (a task step or callback ran), `"jump"` (the clock jumped), `"deadlock"`,
            `"livelock"`, `"time limit"` (a report), `"net"` (the virtual network), `"buggify"` (a
            fault injected by `scarletio.testing.buggify`), or another noted kind.
        time: The virtual time in seconds.
        what: What happened, for a person: `"task #3 transfer"`, `"+1.500000000s"`, ...
        task: The id of the task it concerns (0: a callback or the loop itself).
        host: The virtual host it happened on (`""`: none).
        flow: Links a send to its delivery: `n > 0` starts flow `n`, `-n` ends it, 0 is neither.
    """

    kind: str
    time: float
    what: str
    task: int = 0
    host: str = ""
    flow: int = 0


def first_difference(first: Sequence[TraceEvent], second: Sequence[TraceEvent]) -> int | None:
    """Return the index of the first event where two traces differ, or `None` if they are equal.

    A trace that is a prefix of the other differs at the shorter one's length.
    """
    for index, (one, other) in enumerate(zip(first, second)):
        if one != other:
            return index
    if len(first) != len(second):
        return min(len(first), len(second))
    return None


def _microseconds(seconds: float) -> float:
    # Trace-event timestamps are microseconds; virtual time has nanoseconds, kept as the fraction.
    return round(seconds * 1e9) / 1e3


def chrome_trace(events: Sequence[TraceEvent]) -> str:
    """Return `events` as Chrome trace-event JSON (the JSON object format, for Perfetto).

    - `ts` is the virtual time in microseconds; a step takes no virtual time, so it is a slice of
      zero duration (ordered by its position in the trace).
    - `pid`: one process per virtual host, named after it, and process 1, `"loop"`, for what belongs
      to no host (callbacks and clock jumps).
    - `tid`: one row per task, named `#id coroutine`; row 0 of every process holds its callbacks
      and, on a host, the network's events.
    - Flow events (`ph` `s` / `f`) join a network send to its delivery.
    """
    processes: dict[str, int] = {LOOP_PROCESS: 1}
    rows: dict[tuple[int, int], str] = {(1, 0): "callbacks and clock"}
    output: list[dict[str, object]] = []
    for event in events:
        pid = processes.setdefault(event.host or LOOP_PROCESS, len(processes) + 1)
        tid = event.task if event.kind == "step" else 0
        if (pid, tid) not in rows:
            label = event.what.partition("task ")[2] if tid else ("network" if event.host else "callbacks")
            rows[(pid, tid)] = label or event.what
        ts = _microseconds(event.time)
        arguments = {"virtual_time": event.time}
        if event.kind == "step":
            output.append({"name": event.what, "cat": "step", "ph": "X", "ts": ts, "dur": 0, "pid": pid, "tid": tid, "args": arguments})
        elif event.kind == "net":
            output.append({"name": event.what, "cat": "net", "ph": "X", "ts": ts, "dur": 0, "pid": pid, "tid": 0, "args": arguments})
        else:
            scope = "g" if event.kind in ("jump", "deadlock", "livelock", "time limit") else "t"
            output.append(
                {"name": f"{event.kind}: {event.what}", "cat": event.kind, "ph": "i", "s": scope, "ts": ts, "pid": pid, "tid": tid, "args": arguments}
            )
        if event.flow:
            phase = {"ph": "s"} if event.flow > 0 else {"ph": "f", "bp": "e"}
            output.append({"name": "packet", "cat": "flow", "id": abs(event.flow), "ts": ts, "pid": pid, "tid": 0, **phase})
    for name, pid in processes.items():
        output.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": name}})
        output.append({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0, "args": {"sort_index": pid}})
    for (pid, tid), label in rows.items():
        output.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": label}})
        output.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": {"sort_index": tid}})
    return json.dumps({"traceEvents": output, "displayTimeUnit": "ms", "otherData": {"clock": "virtual time"}})
