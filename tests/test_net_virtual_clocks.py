"""Per-host clocks of the virtual network (`scarletio.net.virtual.clocks`): skew and drift per host."""

from __future__ import annotations

import pytest

from scarletio import EventThread, Future, sleep
from scarletio.net.virtual import LinkConditions, VirtualNetwork
from test_net_virtual import connect, echo_server, transport_of


async def test_a_hosts_clock_reads_the_loops_time_until_told_otherwise(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    host = scarletio_network.add_host("plain")
    await sleep(7.0)

    async def read() -> float:
        return scarletio_loop.time()

    assert await host.create_task(read()) == 7.0 == host.clock.now()
    assert host.clock.is_exact


async def test_skew_offsets_what_a_hosts_tasks_read_and_sleeps_last_the_same(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    ahead, behind = scarletio_network.add_host("ahead"), scarletio_network.add_host("behind")
    ahead.clock.skew = 5.0
    behind.clock.skew = -3.0

    async def nap() -> tuple[float, float]:
        before = scarletio_loop.time()
        await sleep(10.0)
        return before, scarletio_loop.time()

    assert await ahead.create_task(nap()) == (5.0, 15.0)
    assert scarletio_loop.time() == 10.0  # the loop's own clock, outside any host
    assert await behind.create_task(nap()) == (7.0, 17.0)
    assert scarletio_loop.time() == 20.0


async def test_a_drifting_clock_runs_fast_so_its_sleeps_end_early_in_loop_time(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    fast = scarletio_network.add_host("fast")
    fast.clock.drift = 0.25  # a quarter faster

    async def nap() -> float:
        await sleep(10.0)
        return scarletio_loop.time()

    assert await fast.create_task(nap()) == pytest.approx(10.0, abs=1e-9)  # as the host sees it
    assert scarletio_loop.time() == pytest.approx(8.0, abs=1e-9)  # 10 host seconds are 8 loop seconds


async def test_changing_drift_never_makes_the_clock_jump(scarletio_loop: EventThread, scarletio_network: VirtualNetwork) -> None:
    host = scarletio_network.add_host("host")
    host.clock.drift = 1.0
    await sleep(4.0)
    assert host.clock.now() == pytest.approx(8.0)
    host.clock.drift = -0.5
    assert host.clock.now() == pytest.approx(8.0)
    await sleep(4.0)
    assert host.clock.now() == pytest.approx(10.0)
    host.clock.skew = 1.0  # a step
    assert host.clock.now() == pytest.approx(11.0)


async def test_timeouts_and_call_at_on_a_host_speak_the_hosts_time(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    host = scarletio_network.add_host("host")
    host.clock.skew = 100.0
    host.clock.drift = 1.0  # twice as fast

    async def on_host() -> tuple[float, float, float]:
        fired: Future[float] = scarletio_loop.create_future()
        scarletio_loop.call_at(scarletio_loop.time() + 6.0, lambda: fired.set_result(scarletio_loop.time()))
        never: Future[None] = scarletio_loop.create_future()
        never.apply_timeout(2.0)
        with pytest.raises(TimeoutError):
            await never
        timed_out = scarletio_loop.time()
        return timed_out, await fired, scarletio_loop.time()

    timed_out, fired, ended = await host.create_task(on_host())
    assert timed_out == pytest.approx(102.0)  # 2 host seconds after 100
    assert fired == pytest.approx(106.0)  # the callback runs on the host too
    assert ended == pytest.approx(106.0)
    assert scarletio_loop.time() == pytest.approx(3.0)  # 6 host seconds at double speed


async def test_the_network_keeps_the_loops_time_whatever_the_hosts_clocks(
    scarletio_loop: EventThread, scarletio_network: VirtualNetwork
) -> None:
    scarletio_network.conditions = LinkConditions(latency=0.1)
    server_host, client_host = scarletio_network.add_host("server"), scarletio_network.add_host("client")
    server_host.clock.drift = 3.0
    client_host.clock.skew = -50.0
    server = await echo_server(scarletio_loop, server_host)

    async def round_trip() -> None:
        client = await connect(scarletio_loop, client_host, "server")
        client.write(b"ping\n")
        assert await client.read_line() == b"ping\n"
        transport_of(client).close()

    await client_host.create_task(round_trip())
    assert scarletio_loop.time() == pytest.approx(0.4, abs=1e-9)  # connect and one round trip
    server.close()


async def test_clock_settings_are_checked(scarletio_network: VirtualNetwork) -> None:
    clock = scarletio_network.add_host("host").clock
    with pytest.raises(ValueError, match=r"^drift must be a rate above -1 \(a clock cannot run backwards\), got -1\.0$"):
        clock.drift = -1.0
    with pytest.raises(ValueError, match=r"^skew must be a finite number of seconds, got inf$"):
        clock.skew = float("inf")
