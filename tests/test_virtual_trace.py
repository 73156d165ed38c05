"""The decision trace and its Chrome / Perfetto export (`scarletio.core.virtual_trace`).

The export is checked against the trace-event format (the JSON object format of the Trace Event
Format document that chrome://tracing and Perfetto read) by `validate`, and for what a person
needs: virtual time on the time axis, a row per task, a process per virtual host, flow arrows from
each send to its delivery.
"""

from __future__ import annotations

import json
from typing import Any

from scarletio import EventThread, ReadWriteProtocolBase, sleep
from scarletio.backends.virtual import virtual_backend
from scarletio.core.virtual_trace import TraceEvent, chrome_trace, first_difference
from scarletio.net.virtual import LinkConditions, VirtualNetwork
from test_net_virtual import connect, echo_server, transport_of

PHASES = {"X", "B", "E", "i", "I", "M", "s", "t", "f", "C"}
METADATA = {"process_name": "name", "thread_name": "name", "process_sort_index": "sort_index", "thread_sort_index": "sort_index"}


def validate(document: Any) -> list[dict[str, Any]]:
    """Check `document` against the trace-event format; return its events."""
    assert isinstance(document, dict) and set(document) >= {"traceEvents"}
    assert document.get("displayTimeUnit", "ms") in ("ms", "ns")
    events = document["traceEvents"]
    assert isinstance(events, list)
    starts: dict[object, float] = {}
    slices: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for event in events:
        assert isinstance(event, dict), event
        assert event.get("ph") in PHASES, event
        assert isinstance(event.get("pid"), int) and isinstance(event.get("tid"), int), event
        assert isinstance(event.get("name"), str), event
        phase = event["ph"]
        if phase == "M":
            assert event["name"] in METADATA and METADATA[event["name"]] in event["args"], event
            continue
        assert isinstance(event.get("ts"), (int, float)) and event["ts"] >= 0, event
        if phase == "X":
            assert isinstance(event.get("dur"), (int, float)) and event["dur"] >= 0, event
            slices.setdefault((event["pid"], event["tid"]), []).append((event["ts"], event["ts"] + event["dur"]))
        elif phase in ("i", "I"):
            assert event.get("s", "t") in ("g", "p", "t"), event
        elif phase in ("s", "t", "f"):
            assert "id" in event and isinstance(event.get("cat"), str), event
            assert event.get("bp", "e") == "e", event
            if phase == "s":
                assert event["id"] not in starts, f"flow {event['id']} starts twice"
                starts[event["id"]] = event["ts"]
    for event in events:
        if event["ph"] in ("s", "f"):
            enclosing = slices.get((event["pid"], event["tid"]), [])
            assert any(start <= event["ts"] <= end for start, end in enclosing), f"flow event outside any slice: {event}"
        if event["ph"] == "f":
            assert event["id"] in starts and starts[event["id"]] <= event["ts"], event
    return events


def names_of(events: list[dict[str, Any]], kind: str) -> dict[tuple[int, int], str]:
    return {(event["pid"], event["tid"]): event["args"]["name"] for event in events if event["ph"] == "M" and event["name"] == kind}


def traced_run() -> tuple[list[TraceEvent], str]:
    loop = EventThread(virtual_backend(tracing=True), name="traced", start_later=False)
    try:

        async def worker(delay: float) -> None:
            await sleep(delay)

        async def main() -> None:
            network = VirtualNetwork(loop, conditions=LinkConditions(latency=0.25))
            server_host, client_host = network.add_host("server"), network.add_host("client")
            server = await echo_server(loop, server_host)

            async def talk() -> None:
                client: ReadWriteProtocolBase = await connect(loop, client_host, "server")
                client.write(b"hello\n")
                assert await client.read_line() == b"hello\n"
                transport_of(client).close()

            await client_host.create_task(talk())
            first, second = loop.create_task(worker(1.0)), loop.create_task(worker(2.0))
            await first
            await second
            server.close()

        loop.run(main(), timeout=10)
        return loop.get_trace(), loop.export_chrome_trace()
    finally:
        loop.stop()
        loop.join(5)


def test_the_chrome_export_is_valid_trace_event_json() -> None:
    _, exported = traced_run()
    validate(json.loads(exported))


def test_timestamps_are_virtual_time_in_microseconds() -> None:
    _, exported = traced_run()
    events = validate(json.loads(exported))
    workers = [event for event in events if event["ph"] == "X" and event["name"].endswith(".worker")]
    assert {event["ts"] for event in workers} >= {1.0e6 + 1.0e6, 1.0e6 + 2.0e6}  # started at 1.0 s (after the talk)


def test_two_tasks_of_one_coroutine_get_two_rows_and_each_host_a_process() -> None:
    _, exported = traced_run()
    events = validate(json.loads(exported))
    processes = names_of(events, "process_name")
    rows = names_of(events, "thread_name")
    assert sorted(processes.values()) == ["client", "loop", "server"]
    worker_rows = [name for name in rows.values() if name.endswith(".worker")]
    assert len(worker_rows) == 2 and len(set(worker_rows)) == 2, rows
    client = next(pid for (pid, _), name in processes.items() if name == "client")
    assert rows[(client, 0)] == "network"
    assert any(name.endswith("talk") for (pid, _), name in rows.items() if pid == client)


def test_flows_join_each_send_to_its_delivery_on_the_other_host() -> None:
    trace, exported = traced_run()
    events = validate(json.loads(exported))
    processes = {pid: name for (pid, _), name in names_of(events, "process_name").items()}
    starts = {event["id"]: event for event in events if event["ph"] == "s"}
    ends = [event for event in events if event["ph"] == "f"]
    assert ends
    crossing = [(processes[starts[end["id"]]["pid"]], processes[end["pid"]]) for end in ends]
    assert ("client", "server") in crossing and ("server", "client") in crossing
    for end in ends:
        assert end["ts"] - starts[end["id"]]["ts"] == 0.25e6  # the link's latency, in virtual microseconds
    data = [event for event in trace if event.kind == "net" and event.what.startswith("send data 6 bytes")]
    assert [event.host for event in data] == ["client", "server"]


def test_first_difference_names_the_first_decision_that_differs() -> None:
    one = [TraceEvent("step", 0.0, "task #1 a"), TraceEvent("jump", 1.0, "+1s")]
    assert first_difference(one, list(one)) is None
    assert first_difference(one, [one[0], TraceEvent("jump", 2.0, "+2s")]) == 1
    assert first_difference(one, one[:1]) == 1


def test_an_empty_trace_exports_as_valid_json() -> None:
    validate(json.loads(chrome_trace([])))
