"""Hypothesis with the pytest plugin (`scarletio.testing.hypothesis_support`), through `pytester` runs."""

from __future__ import annotations

import re

import pytest

from test_testing_plugin import run_pytest

pytest_plugins = ["pytester"]


def test_given_on_an_async_test_runs_each_example_on_a_fresh_loop(pytester: pytest.Pytester) -> None:
    source = """
        import threading
        from hypothesis import given, settings, strategies as st
        from scarletio import EventThread, sleep

        loops = []

        @settings(max_examples=20, database=None)
        @given(delay=st.floats(min_value=0.0, max_value=100.0))
        async def test_sleeps(delay, scarletio_loop, scarletio_clock):
            assert threading.current_thread() is scarletio_loop
            assert scarletio_clock is scarletio_loop._clock
            assert scarletio_loop.time() == 0.0  # nothing left from an earlier example
            await sleep(delay)
            assert scarletio_loop.time() >= delay - 1e-9  # whole nanoseconds
            loops.append(scarletio_loop)

        def test_every_example_had_its_own_loop():
            assert len(loops) == 20
            assert len(set(map(id, loops))) == 20
            assert all(loop.is_closed() for loop in loops)
    """
    run_pytest(pytester, source).assert_outcomes(passed=2)


RACE = """
    import pytest
    from hypothesis import given, settings
    from scarletio import get_event_loop, sleep, skip_ready_cycle
    from scarletio.testing.strategies import seeds

    @pytest.mark.scarletio(perturb=True)
    @settings(max_examples=200)
    @given(scarletio_seed=seeds())
    async def test_counter(scarletio_seed):
        loop = get_event_loop()
        assert loop._clock.seed == scarletio_seed
        state = {"counter": 0}

        async def atomic():
            await sleep(0.5)
            await sleep(0.4999)
            if state["counter"] == 0:
                state["counter"] += 1

        async def check_then_act():
            await sleep(1.0)
            if state["counter"] == 0:
                await skip_ready_cycle()
                state["counter"] += 1

        first, second = loop.create_task(atomic()), loop.create_task(check_then_act())
        await first
        await second
        assert state["counter"] == 1
"""


def test_hypothesis_draws_the_seed_shrinks_it_and_replays_it_from_its_database(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester, RACE)
    result.assert_outcomes(failed=1)
    falsifying = re.search(r"(?:Falsifying example|Failing test case): test_counter\([^)]*?scarletio_seed=(\d+)", result.stdout.str())
    assert falsifying is not None, result.stdout.str()
    seed = int(falsifying.group(1))
    assert seed < 20  # shrunk towards 0: most seeds expose the race
    again = run_pytest(pytester, RACE)  # the database (in the test directory) holds the failing example
    again.assert_outcomes(failed=1)
    assert f"scarletio_seed={seed}," in again.stdout.str()
    assert "seed: drawn by Hypothesis for each example (its failing example names it)" in again.stdout.str()


def test_the_plugins_fixtures_raise_no_function_scoped_fixture_warning_but_a_users_do(pytester: pytest.Pytester) -> None:
    source = """
        import pytest
        from hypothesis import given, strategies as st

        @pytest.fixture
        def mine():
            return []

        @given(x=st.integers())
        async def test_plugin_fixtures_only(x, scarletio_loop, scarletio_seed):
            pass

        @given(x=st.integers())
        async def test_with_my_fixture(x, mine):
            pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "uses a function-scoped fixture 'mine'" in output
    assert "function-scoped fixture 'scarletio_loop'" not in output
