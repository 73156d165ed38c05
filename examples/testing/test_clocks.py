"""Per-host clocks: a host whose clock is ahead, and one that runs fast, each see their own time."""

from scarletio import sleep


async def test_each_host_reads_its_own_clock(scarletio_loop, scarletio_network):
    ahead = scarletio_network.add_host('ahead')
    ahead.clock.skew = 30.0  # half a minute ahead of the loop's clock
    fast = scarletio_network.add_host('fast')
    fast.clock.drift = 0.01  # runs 1 % fast

    async def nap():
        started = scarletio_loop.time()  # this host's clock
        await sleep(100.0)  # 100 seconds of this host's clock
        return started, scarletio_loop.time()

    assert await ahead.create_task(nap()) == (30.0, 130.0)
    assert scarletio_loop.time() == 100.0  # outside any host: the loop's own clock
    started, ended = await fast.create_task(nap())
    assert round(ended - started, 6) == 100.0
    assert round(scarletio_loop.time() - 100.0, 6) == round(100 / 1.01, 6)  # the fast host slept less
