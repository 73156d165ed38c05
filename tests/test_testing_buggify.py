"""Fault injection points (`scarletio.testing.buggify`): seeded under exploration, never elsewhere."""

from __future__ import annotations

import pytest
from typing_extensions import assert_type

from scarletio import EventThread, get_event_loop, sleep
from scarletio.backends.virtual import virtual_backend
from scarletio.testing import buggify, buggify_delay, buggify_fail, explore, run_virtual

pytest_plugins = ["pytester"]


async def fired_points() -> list[str]:
    """Reach four named points 20 times each; return the ones that fired, in order."""
    fired: list[str] = []
    for _ in range(20):
        for name in ("a", "b", "c", "d"):
            if buggify(name):
                fired.append(name)
    return fired


def test_buggify_is_always_false_off_exploration() -> None:
    assert buggify() is False  # outside any loop
    assert run_virtual(fired_points) == []  # a virtual loop without buggify
    real = EventThread("poll", name="real")
    try:
        assert real.run(fired_points(), timeout=10) == []
    finally:
        real.stop()
        real.join(5)


def test_under_exploration_points_fire_from_the_seed_and_a_seed_repeats_exactly() -> None:
    runs = {seed: run_virtual(fired_points, seed=seed, buggify=True) for seed in range(40)}
    assert runs[7] == run_virtual(fired_points, seed=7, buggify=True)
    assert_type(buggify(), bool)
    fired_anything = [seed for seed, fired in runs.items() if fired]
    # A point is on for a quarter of the runs; it then fires a quarter of the times it is reached.
    assert 15 < len(fired_anything) < 40
    for fired in runs.values():
        for name in set(fired):
            assert 1 <= fired.count(name) <= 15


def test_the_probability_is_checked_and_one_always_fires_when_on() -> None:
    with pytest.raises(ValueError, match=r"^probability must be from 0 to 1, got 2$"):
        buggify("x", 2)

    async def certain() -> set[int]:
        return {sum(buggify(name, 1.0) for _ in range(10)) for name in "abcdefgh"}

    counts = set().union(*(run_virtual(certain, seed=seed, buggify=True) for seed in range(10)))
    assert counts == {0, 10}  # a point that is on fires every time


def test_buggify_delay_sleeps_for_up_to_the_given_seconds_sometimes() -> None:
    async def delayed() -> float:
        loop = get_event_loop()
        started = loop.time()
        for _ in range(10):
            await buggify_delay("slow disk", 2.0, probability=1.0)
        return loop.time() - started

    durations = [run_virtual(delayed, seed=seed, buggify=True) for seed in range(30)]
    assert 0.0 in durations  # off for some runs
    assert all(0.0 <= duration <= 20.0 for duration in durations)
    assert any(duration > 0.0 for duration in durations)


def test_buggify_fail_raises_the_exception_at_the_point_sometimes() -> None:
    async def failing() -> None:
        for _ in range(20):
            buggify_fail(ConnectionResetError, "flaky peer")
            await sleep(1.0)

    outcomes = []
    for seed in range(30):
        try:
            run_virtual(failing, seed=seed, buggify=True)
            outcomes.append("ok")
        except ConnectionResetError as error:
            assert str(error) == "injected by buggify_fail() at flaky peer"
            outcomes.append("failed")
    assert "ok" in outcomes and "failed" in outcomes
    assert explore(failing, range(30)) == outcomes.index("failed")


def _firings(seed: int) -> list[str]:
    loop = EventThread(virtual_backend(seed, tracing=True, buggify=True), name="traced")
    try:

        async def main() -> None:
            for _ in range(50):
                buggify("always", 1.0)
                buggify("never", 0.0)

        loop.run(main(), timeout=10)
        return [event.what for event in loop.get_trace() if event.kind == "buggify"]
    finally:
        loop.stop()
        loop.join(5)


def test_firings_are_in_the_trace() -> None:
    traces = [_firings(seed) for seed in range(20)]
    assert {tuple(trace) for trace in traces} == {(), ("always fired",) * 50}


def test_the_plugin_turns_buggify_on_under_exploration(pytester: pytest.Pytester) -> None:
    from test_testing_plugin import run_pytest

    source = """
        from scarletio.testing import buggify

        async def test_fails_when_buggified():
            for _ in range(50):
                assert not buggify("fault")
    """
    plain = run_pytest(pytester, source)
    plain.assert_outcomes(passed=1)
    explored = run_pytest(pytester, source, "--scarletio-explore", "20")
    assert explored.parseoutcomes().get("failed", 0) >= 1
    assert "--scarletio-buggify" in explored.stdout.str()  # the reproduce command turns it on too
