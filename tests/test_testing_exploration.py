"""Across runs of a test (`scarletio.testing.exploration`): traces of failing tests, the determinism check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from test_testing_plugin import item_lines, report_before_summary, run_pytest
from test_virtual_trace import validate

pytest_plugins = ["pytester"]


def test_the_trace_option_writes_a_chrome_trace_of_each_failing_test_only(pytester: pytest.Pytester) -> None:
    source = """
        from scarletio import sleep

        async def test_fails():
            await sleep(2.5)
            assert False, "planted"

        async def test_passes():
            await sleep(1)
    """
    directory = pytester.path / "traces"
    result = run_pytest(pytester, source, "--scarletio-trace", str(directory))
    result.assert_outcomes(passed=1, failed=1)
    written = sorted(path.name for path in directory.iterdir())
    assert written == ["test_subject.py_test_fails_virtual-seed0.json"]
    path = directory / written[0]
    assert f"trace: {path}" in result.outlines
    events = validate(json.loads(path.read_text()))
    assert any(event["ph"] == "X" and event["name"] == "task #1 test_fails" and event["ts"] == 2.5e6 for event in events)


DETERMINISTIC = """
    from pathlib import Path
    from scarletio import get_event_loop, sleep, skip_ready_cycle

    async def worker(index):
        for _ in range(3):
            await sleep(0.5 * index)
            await skip_ready_cycle()

    async def test_workers():
        Path("runs.txt").open("a").write("run\\n")
        loop = get_event_loop()
        tasks = [loop.create_task(worker(index)) for index in range(4)]
        for task in tasks:
            await task
"""


def test_a_deterministic_test_passes_the_check_after_running_twice(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester, DETERMINISTIC, "--scarletio-check-determinism")
    result.assert_outcomes(passed=1)
    assert item_lines(result) == ["test_subject.py::test_workers[virtual-seed0] PASSED"]
    assert (pytester.path / "runs.txt").read_text() == "run\nrun\n"


def test_a_test_that_depends_on_something_outside_the_seed_fails_the_check_naming_the_first_difference(
    pytester: pytest.Pytester,
) -> None:
    source = """
        from scarletio import get_event_loop, sleep

        runs = []

        async def nap(seconds):
            await sleep(seconds)

        async def test_remembers_the_last_run():
            runs.append(1)
            loop = get_event_loop()
            await loop.create_task(nap(1.0))
            await loop.create_task(nap(float(len(runs))))  # 1 s the first time, 2 s the second
    """
    result = run_pytest(pytester, source, "--scarletio-check-determinism")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert report_before_summary(result).count("not deterministic: two runs") == 1
    match = re.search(
        r"not deterministic: two runs with seed 0 made different decisions \(\d+ and \d+ in all\); "
        r"the first difference is decision #(\d+):\n"
        r"  first run:  jump \+1\.000000000s at virtual time 2\.000000000\n"
        r"  second run: jump \+2\.000000000s at virtual time 3\.000000000\n"
        r"after the same decisions:\n",
        output,
    )
    assert match is not None, output
    assert "look for what the run takes from outside the seed" in output


def test_the_check_leaves_real_backends_and_sync_tests_alone(pytester: pytest.Pytester) -> None:
    source = """
        from pathlib import Path

        async def test_async(scarletio_loop):
            Path(f"{scarletio_loop.backend.name}.txt").open("a").write("run\\n")

        def test_sync():
            Path("sync.txt").open("a").write("run\\n")
    """
    result = run_pytest(pytester, source, "--scarletio-check-determinism", "--scarletio-backend", "poll")
    result.assert_outcomes(passed=2)
    assert (pytester.path / "poll.txt").read_text() == "run\n"
    assert (pytester.path / "sync.txt").read_text() == "run\n"


def test_trace_file_names_are_safe_for_any_node_id(tmp_path: Path) -> None:
    from scarletio.testing.exploration import TRACE_KEY, write_trace

    class Item:
        nodeid = "tests/test_x.py::TestY::test_z[virtual-seed3/äö]"
        stash: dict[object, list[object]] = {TRACE_KEY: []}

    path = write_trace(Item(), str(tmp_path))  # type: ignore[arg-type]
    assert path is not None and path.parent == tmp_path
    assert path.name == "tests_test_x.py_TestY_test_z_virtual-seed3.json"
