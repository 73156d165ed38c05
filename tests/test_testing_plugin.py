"""Tests for `scarletio.testing`: the pytest plugin (through `pytester` runs) and the helpers.

The plugin is registered by the package's `pytest11` entry point, so the pytester runs below load it
without a conftest, as a user's test run would.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _fixtures import LATE
from typing_extensions import assert_type

from scarletio import Event, get_event_loop, skip_ready_cycle, sleep
from scarletio.backends import available_backends
from scarletio.backends.virtual import VirtualClock
from scarletio.core.exceptions import DeadlockError
from scarletio.testing import explore, run_virtual, virtual_loop

pytest_plugins = ["pytester"]


def run_pytest(pytester: pytest.Pytester, source: str, *arguments: str) -> pytest.RunResult:
    """Write `source` as `test_subject.py` and run pytest on it in a subprocess (verbosely)."""
    pytester.makepyfile(test_subject=source)
    return pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", *arguments)


def item_lines(result: pytest.RunResult) -> list[str]:
    """Return `node id OUTCOME` for each item of a verbose run, in order."""
    lines = [line.split() for line in result.outlines]
    return [f"{words[0]} {words[1]}" for words in lines if len(words) > 1 and words[0].startswith("test_subject.py::")]


# ---- the plugin ---------------------------------------------------------------------------------


def test_async_test_passes_on_the_virtual_loop_without_a_conftest(pytester: pytest.Pytester) -> None:
    source = """
        import threading
        from scarletio import EventThread, get_event_loop, sleep

        async def test_runs_on_a_loop_thread():
            await sleep(0.5)
            assert isinstance(threading.current_thread(), EventThread)
            assert get_event_loop().backend.name == "virtual"
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(passed=1)
    assert item_lines(result) == ["test_subject.py::test_runs_on_a_loop_thread[virtual-seed0] PASSED"]


def test_failing_async_test_reports_the_seed_and_a_command_that_reproduces_it(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import sleep

        async def test_fails_after_a_while(scarletio_seed):
            await sleep(10)
            assert scarletio_seed == 0, "seed is not 0"
    """
    result = run_pytest(pytester, source, "--scarletio-seed", "17", "--scarletio-perturb")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    command = (
        "python -m pytest 'test_subject.py::test_fails_after_a_while[virtual-seed17]' "
        "--scarletio-backend virtual --scarletio-seed 17 --scarletio-perturb"
    )
    section = f"backend: virtual\nseed: 17\nperturbation: on\nreproduce: {command}\n"
    assert re.search(r"-+ scarletio -+\n" + re.escape(section), output), output
    # The command selects exactly the item that failed, and it fails again.
    again = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", *command.replace("'", "").split()[3:])
    again.assert_outcomes(failed=1)
    assert item_lines(again) == ["test_subject.py::test_fails_after_a_while[virtual-seed17] FAILED"]


def test_reproduce_command_changes_to_the_root_directory_when_run_from_elsewhere(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_subject="async def test_fails():\n    assert False\n")
    elsewhere = pytester.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(pytester.path / "test_subject.py"))
    result.assert_outcomes(failed=1)
    root = str(pytester.path)
    expected = f"reproduce: cd {root} && python -m pytest 'test_subject.py::test_fails[virtual-seed0]' --scarletio-backend virtual --scarletio-seed 0"
    assert expected in result.outlines


def test_an_hour_of_sleep_takes_no_real_time(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import sleep

        async def test_sleeps_an_hour(scarletio_clock):
            start = scarletio_clock.now()
            await sleep(3600)
            assert scarletio_clock.now() - start == 3600.0
    """
    started = time.monotonic()
    result = run_pytest(pytester, source)
    elapsed = time.monotonic() - started
    result.assert_outcomes(passed=1)
    assert elapsed < 6 * LATE, f"the run took {elapsed:.1f} real seconds"  # a pytest process, not an hour


def test_backend_all_runs_the_test_once_per_available_backend(pytester: pytest.Pytester) -> None:
    source = """
        async def test_on_every_backend(scarletio_loop, request):
            assert request.node.callspec.id.split("-")[0] == scarletio_loop.backend.name
    """
    result = run_pytest(pytester, source, "--scarletio-backend", "all")
    backends = available_backends()
    if sys.platform == "linux":
        assert backends == ("epoll", "poll", "virtual")
    result.assert_outcomes(passed=len(backends))
    ids = ["epoll", "poll", "virtual-seed0"] if "epoll" in backends else ["poll", "virtual-seed0"]
    assert item_lines(result) == [f"test_subject.py::test_on_every_backend[{id}] PASSED" for id in ids]


def test_network_fixture_runs_its_test_on_virtual_time_whatever_the_backend_option(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio.net.virtual import VirtualNetwork

        async def test_networked(scarletio_loop, scarletio_network):
            assert scarletio_loop.backend.name == "virtual"
            assert isinstance(scarletio_network, VirtualNetwork)
            assert scarletio_network.loop is scarletio_loop

        async def test_plain(scarletio_loop):
            pass
    """
    result = run_pytest(pytester, source, "--scarletio-backend", "all")
    lines = item_lines(result)
    assert "test_subject.py::test_networked[virtual-seed0] PASSED" in lines
    assert sum("test_networked" in line for line in lines) == 1
    assert sum("test_plain" in line for line in lines) == len(available_backends())


def test_marker_selects_the_backend(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.mark.scarletio(backend="poll")
        async def test_on_poll(scarletio_loop, scarletio_clock):
            assert scarletio_loop.backend.name == "poll"
            assert type(scarletio_clock).__name__ == "MonotonicClock"
    """
    result = run_pytest(pytester, source, "-W", "error")
    result.assert_outcomes(passed=1)
    assert item_lines(result) == ["test_subject.py::test_on_poll[poll] PASSED"]


def test_explore_makes_one_item_per_seed_with_perturbation(pytester: pytest.Pytester) -> None:
    source = """
        async def test_explored(scarletio_seed, scarletio_clock):
            assert scarletio_clock.seed == scarletio_seed
            assert scarletio_clock.perturb is True
    """
    result = run_pytest(pytester, source, "--scarletio-explore", "5", "--scarletio-seed", "10")
    result.assert_outcomes(passed=5)
    ids = [line.partition("[")[2].partition("]")[0] for line in item_lines(result)]
    assert ids == [f"virtual-seed{seed}" for seed in range(10, 15)]


def test_marker_overrides_the_seed_and_explores(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.mark.scarletio(seed=100, explore=2)
        async def test_explored(scarletio_seed):
            assert scarletio_seed >= 100
    """
    result = run_pytest(pytester, source, "--scarletio-seed", "5")
    result.assert_outcomes(passed=2)
    assert [line.split()[0] for line in item_lines(result)] == [
        "test_subject.py::test_explored[virtual-seed100]",
        "test_subject.py::test_explored[virtual-seed101]",
    ]


def test_seed_is_visible_through_the_fixture_and_the_clock(pytester: pytest.Pytester) -> None:
    source = """
        async def test_seeded(scarletio_seed, scarletio_clock, scarletio_loop):
            assert scarletio_seed == 42
            assert scarletio_clock.seed == 42
            assert scarletio_clock.perturb is False
            assert scarletio_clock is scarletio_loop._clock
    """
    run_pytest(pytester, source, "--scarletio-seed", "42").assert_outcomes(passed=1)


def test_fixtures_are_the_loop_the_test_runs_on(pytester: pytest.Pytester) -> None:
    source = """
        import threading
        import pytest
        from scarletio import get_event_loop

        @pytest.fixture
        def number():
            return 5

        @pytest.fixture
        def loop_name(scarletio_loop):
            return scarletio_loop.name

        async def test_same_loop(scarletio_loop, number, loop_name, tmp_path):
            assert threading.current_thread() is scarletio_loop
            assert get_event_loop() is scarletio_loop
            assert scarletio_loop.is_running()
            assert number == 5
            assert loop_name == scarletio_loop.name
            assert tmp_path.is_dir()

        class TestInAClass:
            async def test_method(self, scarletio_loop):
                assert threading.current_thread() is scarletio_loop
    """
    run_pytest(pytester, source).assert_outcomes(passed=2)


def test_deadlocked_test_fails_with_deadlock_error_naming_the_task(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import Event

        async def test_waits_forever(scarletio_loop):
            await Event(scarletio_loop).wait()
    """
    started = time.monotonic()
    result = run_pytest(pytester, source)
    assert time.monotonic() - started < 6 * LATE  # a pytest process, failing instead of hanging
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "DeadlockError: deadlock: nothing can ever wake the loop" in output
    assert "coroutine = test_waits_forever>" in output


def test_timeout_fails_a_test_that_waits_in_real_time(pytester: pytest.Pytester) -> None:
    source = """
        import time
        import pytest

        @pytest.mark.scarletio(timeout=0.2)
        async def test_blocks(scarletio_loop):
            await scarletio_loop.run_in_executor(time.sleep, 1.0)
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(failed=1)
    assert "TimeoutError: EventThread.run() timed out after 0.2 seconds" in result.stdout.str()


def test_sync_tests_are_untouched(pytester: pytest.Pytester) -> None:
    source = """
        def test_plain(request):
            assert "scarletio_loop" not in request.fixturenames
            assert not hasattr(request.node, "callspec")

        loops = []

        def test_asks_for_a_loop(scarletio_loop, scarletio_seed):
            assert scarletio_loop.is_running()
            assert scarletio_loop.backend.name == "virtual"
            assert scarletio_seed == 3
            loops.append(scarletio_loop)

        def test_the_loop_was_stopped_after_the_test():
            assert loops[0].is_closed()
            assert not loops[0].is_alive()
    """
    result = run_pytest(pytester, source, "--scarletio-backend", "poll", "--scarletio-seed", "3")
    result.assert_outcomes(passed=3)
    assert [line.split()[0] for line in item_lines(result)] == [
        "test_subject.py::test_plain",
        "test_subject.py::test_asks_for_a_loop",
        "test_subject.py::test_the_loop_was_stopped_after_the_test",
    ]


def test_disabled_plugin_leaves_async_tests_to_pytest(pytester: pytest.Pytester) -> None:
    source = """
        async def test_async():
            pass

        def test_sync():
            pass
    """
    result = run_pytest(pytester, source, "-p", "no:scarletio")
    result.assert_outcomes(passed=1, failed=1)
    assert "async def functions are not natively supported." in result.stdout.str()
    assert "test_subject.py::test_async FAILED" in result.stdout.str()


def test_tests_marked_for_another_async_plugin_are_left_to_it(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.mark.asyncio
        async def test_for_asyncio():
            pass
    """
    pytester.makeini("[pytest]\nmarkers = asyncio: for pytest-asyncio\n")
    result = run_pytest(pytester, source)
    result.assert_outcomes(failed=1)
    assert "async def functions are not natively supported." in result.stdout.str()


def test_unknown_backend_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester, "def test_sync():\n    pass\n", "--scarletio-backend", "kqeue")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    names = ", ".join((*available_backends(), "all"))
    assert f"ERROR: --scarletio-backend: backend 'kqeue' is not available; available: {names}" in result.stderr.str()


def test_bad_marker_option_is_a_collection_error(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.mark.scarletio(sed=3)
        async def test_typo():
            pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(errors=1)
    assert "the scarletio marker has no option 'sed'; options: backend, explore, perturb, seed, timeout" in result.stdout.str()


def test_importing_scarletio_does_not_import_pytest() -> None:
    script = "import sys, scarletio, scarletio.testing\nprint('pytest' in sys.modules, '_pytest' in sys.modules)\n"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False False"


# ---- the helpers --------------------------------------------------------------------------------


async def sleep_and_read_the_clock(seconds: float) -> float:
    await sleep(seconds)
    return get_event_loop().time()


def test_run_virtual_returns_the_result_without_waiting_in_real_time() -> None:
    started = time.monotonic()
    reading = run_virtual(sleep_and_read_the_clock, 3600.0)
    assert_type(reading, float)
    assert reading == 3600.0
    assert time.monotonic() - started < LATE


def test_run_virtual_raises_what_the_coroutine_raises() -> None:
    async def fails() -> None:
        await sleep(1.0)
        raise KeyError("broken")

    with pytest.raises(KeyError, match="broken"):
        run_virtual(fails)


def test_run_virtual_raises_deadlock_error_when_nothing_can_happen() -> None:
    async def waits_forever() -> None:
        await Event(get_event_loop()).wait()

    with pytest.raises(DeadlockError, match=r"^deadlock: nothing can ever wake the loop at virtual time 0\.000000000\n"):
        run_virtual(waits_forever)


def test_run_virtual_passes_the_seed_perturbation_and_tracing_on() -> None:
    async def settings() -> tuple[int, bool, bool]:
        clock = get_event_loop()._clock
        assert isinstance(clock, VirtualClock)
        await sleep(1.0)
        return clock.seed, clock.perturb, len(get_event_loop().get_trace()) > 0

    assert run_virtual(settings, seed=9, perturb=True, tracing=True) == (9, True, True)
    assert run_virtual(settings) == (0, False, False)


def test_virtual_loop_yields_a_started_loop_and_stops_it_on_exit() -> None:
    with virtual_loop(5, perturb=True) as loop:
        assert loop.is_running()
        assert loop.is_alive()
        assert isinstance(loop._clock, VirtualClock)
        assert (loop._clock.seed, loop._clock.perturb, loop._clock.tracing) == (5, True, False)
        assert loop.run(sleep_and_read_the_clock(60.0), timeout=5) == 60.0
    assert loop.is_closed()
    assert not loop.is_alive()


def test_virtual_loop_stops_the_loop_when_the_block_raises() -> None:
    with pytest.raises(ValueError, match="^inside$"):
        with virtual_loop() as loop:
            raise ValueError("inside")
    assert not loop.is_alive()  # pyright: ignore  # bound: the block ran (pytest.raises hides that)


async def check_then_act_race() -> None:
    """Two tasks wake at the same instant; only the order check_then_act-first breaks the invariant."""
    loop = get_event_loop()
    state = {"counter": 0}

    async def atomic() -> None:
        await sleep(1.0)
        if state["counter"] == 0:
            state["counter"] += 1

    async def check_then_act() -> None:
        await sleep(1.0)
        if state["counter"] == 0:
            await skip_ready_cycle()  # another task may run between the check and the act
            state["counter"] += 1

    first = loop.create_task(atomic())
    second = loop.create_task(check_then_act())
    await first
    await second
    assert state["counter"] == 1, f"counter is {state['counter']}"


def test_race_stays_hidden_without_perturbation() -> None:
    for seed in range(10):
        run_virtual(check_then_act_race, seed=seed)


def test_explore_finds_a_planted_race_and_its_seed_reproduces_it() -> None:
    found = explore(check_then_act_race)
    assert_type(found, int | None)
    assert found is not None and 0 <= found < 100
    failures = 0
    for _ in range(10):
        try:
            run_virtual(check_then_act_race, seed=found, perturb=True)
        except AssertionError as error:
            assert str(error).startswith("counter is 2")
            failures += 1
    assert failures == 10


def test_explore_returns_the_first_failing_seed() -> None:
    async def fails_on_seeds_7_and_9() -> None:
        clock = get_event_loop()._clock
        assert isinstance(clock, VirtualClock)
        if clock.seed in (7, 9):
            raise RuntimeError(f"seed {clock.seed}")

    assert explore(fails_on_seeds_7_and_9, range(20)) == 7
    assert explore(fails_on_seeds_7_and_9, [9, 7]) == 9


def test_explore_returns_none_when_every_seed_passes() -> None:
    async def no_race() -> None:
        loop = get_event_loop()
        state = {"counter": 0}

        async def atomic() -> None:
            await sleep(1.0)
            if state["counter"] == 0:
                await skip_ready_cycle()  # before the check: nobody can get in between check and act
                if state["counter"] == 0:
                    state["counter"] += 1

        first = loop.create_task(atomic())
        second = loop.create_task(atomic())
        await first
        await second
        assert state["counter"] == 1

    assert explore(no_race, range(50)) is None


def test_explore_counts_a_deadlock_as_a_failure() -> None:
    async def waits_forever() -> None:
        await Event(get_event_loop()).wait()

    assert explore(waits_forever, range(3, 10)) == 3
