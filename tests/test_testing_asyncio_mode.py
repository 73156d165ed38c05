"""The pytest plugin's asyncio mode (`scarletio.testing.asyncio_mode`), through `pytester` runs.

Tests written for asyncio run as asyncio tasks on the test's scarletio loop (virtual time by
default), chosen by the marker (`asyncio=True`), `--scarletio-asyncio` or the ini value.
"""

from __future__ import annotations

import pytest
from test_testing_plugin import run_pytest as plugin_run_pytest

pytest_plugins = ["pytester"]

ASYNCIO_TEST = """
    import asyncio
    import sys
    import pytest

    async def test_is_an_asyncio_task_on_virtual_time():
        loop = asyncio.get_running_loop()
        assert asyncio.current_task() is not None
        assert type(loop).__module__ == "scarletio.aio.event_loop"
        started = loop.time()
        await asyncio.sleep(3600)
        if sys.version_info >= (3, 11):  # asyncio.timeout() needs the current asyncio task
            async with asyncio.timeout(5):
                await asyncio.sleep(1)
        else:
            await asyncio.wait_for(asyncio.sleep(1), 5)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10), 2)
        assert loop.time() - started == 3603.0
"""


def run_pytest(pytester: pytest.Pytester, source: str, *arguments: str) -> pytest.RunResult:
    """Write `source` as `test_subject.py` and run pytest on it in a subprocess (verbosely, see `test_testing_plugin`)."""
    return plugin_run_pytest(pytester, source, "-p", "no:randomly", *arguments)


def test_the_marker_runs_a_test_as_an_asyncio_task_on_virtual_time(pytester: pytest.Pytester) -> None:
    source = ASYNCIO_TEST.replace(
        "async def test_is_an", "@pytest.mark.scarletio(asyncio=True)\n    async def test_is_an"
    ) + """
    async def test_without_the_marker_is_a_scarletio_task():
        try:
            current = asyncio.current_task()
        except RuntimeError:  # no asyncio face on this loop thread
            current = None
        assert current is None  # a scarletio task, not an asyncio one
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(passed=2)


def test_the_option_runs_every_async_test_and_fixture_as_asyncio_tasks(pytester: pytest.Pytester) -> None:
    source = ASYNCIO_TEST + """
    @pytest.fixture
    async def session():
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(10)
        yield task
        await asyncio.sleep(1)

    async def test_an_async_fixture_is_an_asyncio_task_too(session):
        assert asyncio.current_task() not in (None, session)
        assert asyncio.get_running_loop().time() == 10.0

    @pytest.mark.asyncio
    async def test_marked_for_pytest_asyncio_is_taken_when_pytest_asyncio_is_absent():
        await asyncio.sleep(0.5)
        assert asyncio.get_running_loop().time() == 0.5
    """
    result = run_pytest(pytester, source, "--scarletio-asyncio", "--strict-markers")
    result.assert_outcomes(passed=3)


def test_the_ini_value_turns_asyncio_mode_on(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nscarletio_asyncio = true\n")
    result = run_pytest(pytester, ASYNCIO_TEST)
    result.assert_outcomes(passed=1)


def test_leftover_asyncio_tasks_are_cancelled_before_the_loop_stops(pytester: pytest.Pytester) -> None:
    source = """
    import asyncio

    ENDED = []

    async def forever():
        try:
            await asyncio.sleep(86400 * 365)
        finally:
            ENDED.append(asyncio.get_running_loop().time())

    async def test_leaves_a_task_behind():
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(2)

    def test_the_task_was_cancelled_at_the_end_of_the_test():
        assert ENDED == [2.0]
    """
    result = run_pytest(pytester, source, "--scarletio-asyncio")
    result.assert_outcomes(passed=2)


def test_exploration_runs_each_seed_in_asyncio_mode_and_a_failure_names_the_way_back(pytester: pytest.Pytester) -> None:
    source = """
    import asyncio
    import random

    async def test_fails_on_one_seed(scarletio_seed):
        assert asyncio.current_task() is not None
        await asyncio.sleep(1)
        assert scarletio_seed != 2
    """
    result = run_pytest(pytester, source, "--scarletio-asyncio", "--scarletio-explore", "4")
    result.assert_outcomes(passed=3, failed=1)
    output = result.stdout.str()
    assert "test_fails_on_one_seed[virtual-seed2] FAILED" in output
    assert "--scarletio-seed 2 --scarletio-buggify --scarletio-asyncio" in output


def test_asyncio_mode_runs_on_real_backends_too(pytester: pytest.Pytester) -> None:
    source = """
    import asyncio

    async def test_on_a_real_loop():
        assert asyncio.current_task() is not None
        await asyncio.sleep(0.01)
    """
    result = run_pytest(pytester, source, "--scarletio-asyncio", "--scarletio-backend", "all")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 2 and "failed" not in outcomes


def test_a_bad_asyncio_marker_value_fails_that_test_only(pytester: pytest.Pytester) -> None:
    source = """
    import pytest

    @pytest.mark.scarletio(asyncio="yes")
    async def test_bad():
        pass

    async def test_good():
        pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*asyncio must be True or False, got 'yes'*"])


def test_asyncio_libraries_run_on_the_virtual_network_in_asyncio_mode(pytester: pytest.Pytester) -> None:
    source = """
    import asyncio
    import httpx
    from aiohttp import web
    from scarletio.net.virtual import LinkConditions

    async def test_httpx_gets_from_aiohttp_in_two_round_trips(scarletio_network, scarletio_asyncio_loop):
        scarletio_network.conditions = LinkConditions(latency=0.05)
        app = web.Application()
        app.router.add_get("/", lambda request: web.Response(text="pong"))
        runner = web.AppRunner(app)
        await runner.setup()
        with scarletio_network.add_host("server").use():
            await web.TCPSite(runner, None, 80).start()
        with scarletio_network.add_host("client").use():
            async with httpx.AsyncClient() as client:
                started = scarletio_asyncio_loop.time()
                response = await client.get("http://server/")
                assert round(scarletio_asyncio_loop.time() - started, 9) == 0.2
        assert response.text == "pong"
        await runner.cleanup()
    """
    result = run_pytest(pytester, source, "--scarletio-asyncio")
    result.assert_outcomes(passed=1)


def test_hypothesis_examples_run_as_asyncio_tasks_each_on_a_fresh_loop(pytester: pytest.Pytester) -> None:
    source = """
    import asyncio
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=15, database=None)
    @given(delay=st.integers(min_value=0, max_value=1000))
    async def test_sleeps(delay):
        assert asyncio.current_task() is not None
        loop = asyncio.get_running_loop()
        assert loop.time() == 0.0  # a fresh loop for each example
        await asyncio.sleep(delay)
        assert loop.time() == delay
    """
    result = run_pytest(pytester, source, "--scarletio-asyncio")
    result.assert_outcomes(passed=1)
