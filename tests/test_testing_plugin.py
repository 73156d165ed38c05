"""Tests for `scarletio.testing`: the pytest plugin (through `pytester` runs) and the helpers.

The plugin is registered by the package's `pytest11` entry point, so the pytester runs below load it
without a conftest, as a user's test run would.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _fixtures import LATE
from typing_extensions import assert_type

import scarletio
from scarletio import Event, get_event_loop, skip_ready_cycle, sleep
from scarletio.backends import available_backends
from scarletio.backends.virtual import VirtualClock
from scarletio.core.exceptions import DeadlockError
from scarletio.testing import explore, run_virtual, virtual_loop

pytest_plugins = ["pytester"]


def run_pytest(pytester: pytest.Pytester, source: str, *arguments: str) -> pytest.RunResult:
    """Write `source` as `test_subject.py` and run pytest on it in a subprocess (verbosely).

    The plugins of Hypothesis and anyio are left out of a run whose source does not name them: each
    inner run would otherwise spend most of its time importing them (Hypothesis' plugin imports all of
    Hypothesis as the session ends), and this module starts many.
    """
    pytester.makepyfile(test_subject=source)
    return pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", *unused_plugins(source), *arguments)


def unused_plugins(source: str) -> list[str]:
    """The options that leave out the slow third-party plugins `source` does not name."""
    options: list[str] = []
    for name, plugin in (("hypothesis", "hypothesispytest"), ("anyio", "anyio")):
        if name not in source:
            options += ["-p", f"no:{plugin}"]
    return options


def report_before_summary(result: pytest.RunResult) -> str:
    """The inner run's output up to its short test summary.

    The summary repeats each failure's message; how much of it depends on the environment (pytest
    prints it whole when the `CI` variable is set, cut to the terminal's width otherwise), so a test
    that counts how often a message is reported counts here.
    """
    output = result.stdout.str()
    summary = output.find(" short test summary info ")
    return output if summary < 0 else output[:summary]


def _without_venv() -> dict[str, str]:
    """The environment of a shell where no virtualenv is active (`python` is not this interpreter)."""
    environment = dict(os.environ)
    environment.pop("VIRTUAL_ENV", None)
    bin_directory = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join(part for part in environment.get("PATH", "").split(os.pathsep) if part != bin_directory)
    return environment


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
        f"{shlex.quote(sys.executable)} -m pytest 'test_subject.py::test_fails_after_a_while[virtual-seed17]' "
        "--scarletio-backend virtual --scarletio-seed 17 --scarletio-perturb"
    )
    section = f"backend: virtual\nseed: 17\nperturbation: on\nreproduce: {command}\n"
    assert re.search(r"-+ scarletio -+\n" + re.escape(section), output), output
    # The command runs with this interpreter, whatever `python` means in the shell; it selects
    # exactly the item that failed, and it fails again.
    again = subprocess.run(command, shell=True, cwd=pytester.path, capture_output=True, text=True, env=_without_venv())
    assert again.returncode == 1, again.stdout
    assert "FAILED test_subject.py::test_fails_after_a_while[virtual-seed17]" in again.stdout, again.stdout
    again_verbose = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", *unused_plugins(""), *shlex.split(command)[3:])
    again_verbose.assert_outcomes(failed=1)
    assert item_lines(again_verbose) == ["test_subject.py::test_fails_after_a_while[virtual-seed17] FAILED"]


def test_reproduce_command_changes_to_the_root_directory_when_run_from_elsewhere(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_subject="async def test_fails():\n    assert False\n")
    elsewhere = pytester.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *unused_plugins(""), str(pytester.path / "test_subject.py"))
    result.assert_outcomes(failed=1)
    root = str(pytester.path)
    expected = f"reproduce: cd {root} && {shlex.quote(sys.executable)} -m pytest 'test_subject.py::test_fails[virtual-seed0]' --scarletio-backend virtual --scarletio-seed 0"
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


def test_explore_makes_one_item_per_seed_without_forcing_perturbation(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        async def test_explored(scarletio_seed, scarletio_clock):
            assert scarletio_clock.seed == scarletio_seed
            assert scarletio_clock.perturb is False
            assert scarletio_clock.buggify is True

        @pytest.mark.scarletio(perturb=True)
        async def test_explored_with_perturbation(scarletio_clock):
            assert scarletio_clock.perturb is True
    """
    result = run_pytest(pytester, source, "--scarletio-explore", "5", "--scarletio-seed", "10")
    result.assert_outcomes(passed=10)
    ids = [line.partition("[")[2].partition("]")[0] for line in item_lines(result)]
    assert ids == [f"virtual-seed{seed}" for seed in range(10, 15)] * 2


def test_explore_ends_with_one_line_naming_the_failing_seeds(pytester: pytest.Pytester) -> None:
    source = """
        async def test_odd_seeds_fail(scarletio_seed):
            assert scarletio_seed % 2 == 0

        async def test_seed_three_fails(scarletio_seed):
            assert scarletio_seed != 3
    """
    result = run_pytest(pytester, source, "--scarletio-explore", "6")
    result.assert_outcomes(passed=8, failed=4)
    assert result.outlines.count(
        "scarletio: failing seeds: test_subject.py::test_odd_seeds_fail: 1, 3, 5; test_subject.py::test_seed_three_fails: 3"
    ) == 1


def test_explore_first_stops_exploring_a_test_at_its_first_failing_seed(pytester: pytest.Pytester) -> None:
    source = """
        async def test_fails_from_seed_two(scarletio_seed):
            assert scarletio_seed < 2

        async def test_passes(scarletio_seed):
            pass
    """
    result = run_pytest(pytester, source, "--scarletio-explore", "5", "--scarletio-explore-first", "-rs")
    result.assert_outcomes(passed=7, failed=1, skipped=2)
    assert "test_subject.py::test_fails_from_seed_two[virtual-seed2] FAILED" in item_lines(result)
    assert "scarletio: failing seeds: test_subject.py::test_fails_from_seed_two: 2" in result.outlines
    skips = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert len(skips) == 1 and skips[0].endswith("seed 2 of this test failed already (--scarletio-explore-first)"), skips


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
    assert "task #1 test_waits_forever (created at test_subject.py:3 in test_waits_forever) waits for <Event" in output


def test_a_failure_report_leads_with_the_error_and_shows_no_library_frames(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import Event

        async def test_waits_forever(scarletio_loop):
            await Event(scarletio_loop).wait()
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(failed=1)
    failure = result.stdout.str().split("FAILURES")[1].split("- scarletio -")[0]
    errors = [line for line in failure.splitlines() if line.startswith("E ")]
    assert errors[0].startswith("E   scarletio.core.exceptions.DeadlockError: deadlock:"), failure
    assert "CancelledError" not in failure
    assert str(Path(scarletio.__file__).parent) not in failure
    full = run_pytest(pytester, source, "--full-trace")  # all there for whoever debugs scarletio itself
    assert str(Path(scarletio.__file__).parent) in full.stdout.str()


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
    output = result.stdout.str()
    assert "TimeoutError: the test did not finish within 0.2 real seconds at virtual time 0.000000000" in output
    # Every pending task, as seen before the test was cancelled: who waits for what, and where.
    assert "task #1 test_blocks (created at test_subject.py:" in output
    assert "await scarletio_loop.run_in_executor(time.sleep, 1.0)" in output


def test_a_runaway_test_ends_at_the_default_virtual_time_limit_of_a_day(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import Event, sleep

        async def heartbeat():
            while True:
                await sleep(60)

        async def test_forgets_to_set(scarletio_loop):
            scarletio_loop.create_task(heartbeat())
            await Event(scarletio_loop).wait()
    """
    started = time.monotonic()
    result = run_pytest(pytester, source)
    result.assert_outcomes(failed=1)
    assert time.monotonic() - started < 30.0
    output = result.stdout.str()
    assert "TimeLimitError: time limit: the loop was about to pass its virtual-time limit of 86400.000000000s" in output
    assert "heartbeat (created at test_subject.py:" in output


@pytest.mark.parametrize(
    ("where", "arguments"),
    [
        ("option", ("--scarletio-time-limit", "30")),
        ("marker", ()),
        ("ini", ()),
    ],
)
def test_the_time_limit_is_set_by_option_marker_or_ini(pytester: pytest.Pytester, where: str, arguments: tuple[str, ...]) -> None:
    marker = "@pytest.mark.scarletio(time_limit=30)" if where == "marker" else ""
    if where == "ini":
        pytester.makeini("[pytest]\nscarletio_time_limit = 30\n")
    source = f"""
        import pytest
        from scarletio import sleep

        {marker}
        async def test_sleeps_too_long():
            await sleep(20)
            await sleep(20)
    """
    result = run_pytest(pytester, source, *arguments)
    result.assert_outcomes(failed=1)
    assert "virtual-time limit of 30.000000000s (next deadline 40.000000000) at virtual time 20.000000000" in result.stdout.str()


def test_a_zero_time_limit_means_none(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import sleep

        async def test_sleeps_a_year(scarletio_clock):
            await sleep(365 * 86400)
    """
    run_pytest(pytester, source, "--scarletio-time-limit", "0").assert_outcomes(passed=1)


def test_a_real_backend_test_past_its_timeout_lists_its_pending_tasks_too(pytester: pytest.Pytester) -> None:
    source = """
        import time
        import pytest

        async def stuck(loop):
            await loop.run_in_executor(time.sleep, 2.0)

        @pytest.mark.scarletio(backend="poll", timeout=0.3)
        async def test_blocks(scarletio_loop):
            await scarletio_loop.create_task(stuck(scarletio_loop))
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert re.search(r"TimeoutError: the test did not finish within 0\.3 real seconds at loop time [\d.]+\n", output), output
    assert "  task test_blocks waits for task stuck\n" in output  # no ids nor creation sites on real loops
    assert "await loop.run_in_executor(time.sleep, 2.0)" in output


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


def test_a_bad_marker_option_fails_only_its_test_and_says_so_once(pytester: pytest.Pytester) -> None:
    source = """
        import pytest

        @pytest.mark.scarletio(sed=3)
        async def test_typo():
            pass

        async def test_fine():
            pass

        def test_sync():
            pass
    """
    result = run_pytest(pytester, source)
    result.assert_outcomes(errors=1, passed=2)
    message = "the scarletio marker has no option 'sed'; options: asyncio, backend, buggify, explore, perturb, seed, time_limit, timeout"
    assert report_before_summary(result).count(message) == 1, result.stdout.str()
    assert "test_subject.py::test_fine[virtual-seed0] PASSED" in item_lines(result)


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
        assert 60.0 <= loop.run(sleep_and_read_the_clock(60.0), timeout=5) <= 60.001  # a wakeup may be late
    assert loop.is_closed()
    assert not loop.is_alive()


def test_virtual_loop_stops_the_loop_when_the_block_raises() -> None:
    with pytest.raises(ValueError, match="^inside$"):
        with virtual_loop() as loop:
            raise ValueError("inside")
    assert not loop.is_alive()  # pyright: ignore  # bound: the block ran (pytest.raises hides that)


async def check_then_act_race() -> None:
    """Two tasks wake 100 microseconds apart; only the order check_then_act-first breaks the invariant.

    Which comes first depends on how late the wakeup at 0.5 s was: a real loop may be that late.
    """
    loop = get_event_loop()
    state = {"counter": 0}

    async def atomic() -> None:
        await sleep(0.5)
        await sleep(0.4999)
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
    assert explore(check_then_act_race) is None  # a timing race: only late wakeups reveal it
    found = explore(check_then_act_race, perturb=True)
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
