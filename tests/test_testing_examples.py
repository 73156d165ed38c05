"""The testing examples of our README (`examples/testing/`): verbatim in the README, and they do what it says.

Each example is a test module; each runs here with the command line the README gives for it, in a
directory of its own (so Hypothesis' database stays out of the checkout).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "testing"
README = (ROOT / "README.md").read_text()
LATE_RUN = 60.0
"""Seconds of wall time within which an hour of virtual time has passed, however loaded the machine."""
SUBPROCESS_RUNS_TIMEOUT = 900
"""Each test here runs pytest in subprocesses, some over 100 seeds: minutes on a loaded two-core machine."""


def run_example(name: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / name), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def counts(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    last = result.stdout.strip().splitlines()[-1]
    return {word: int(number) for number, word in re.findall(r"(\d+) (passed|failed|skipped|error)", last)}


@pytest.mark.timeout(SUBPROCESS_RUNS_TIMEOUT)
@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("test_*.py")))
def test_each_example_is_in_the_readme_verbatim_and_passes_as_it_is(name: str, tmp_path: Path) -> None:
    assert f"```py3\n{(EXAMPLES / name).read_text()}```" in README
    result = run_example(name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed" not in counts(result)


@pytest.mark.timeout(SUBPROCESS_RUNS_TIMEOUT)
def test_an_hour_of_retries_takes_seconds_at_most_and_passes_exploration_and_the_determinism_check(tmp_path: Path) -> None:
    result = run_example("test_retry.py", "--durations=1", "--durations-min=0", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    duration = re.search(r"^([\d.]+)s call .*test_retry\.py::", result.stdout, re.MULTILINE)
    # The hour passes on the virtual clock (the example checks that); the wall clock only shows it was
    # not slept through: a loaded machine may make the call late, never an hour late.
    assert duration is not None and float(duration.group(1)) < LATE_RUN, result.stdout
    explored = run_example("test_retry.py", "--scarletio-explore", "100", cwd=tmp_path)
    assert counts(explored) == {"passed": 100}, explored.stdout
    checked = run_example("test_retry.py", "--scarletio-check-determinism", "--scarletio-explore", "5", cwd=tmp_path)
    assert counts(checked) == {"passed": 5}, checked.stdout


@pytest.mark.timeout(SUBPROCESS_RUNS_TIMEOUT)
def test_the_idempotency_race_hides_from_plain_seeds_and_perturbation_finds_it(tmp_path: Path) -> None:
    plain = run_example("test_idempotency.py", "--scarletio-explore", "200", cwd=tmp_path)
    assert counts(plain) == {"passed": 200}, plain.stdout
    perturbed = run_example("test_idempotency.py", "--scarletio-explore", "50", "--scarletio-perturb", cwd=tmp_path)
    assert counts(perturbed).get("failed", 0) >= 5, perturbed.stdout
    assert "scarletio: failing seeds: " in perturbed.stdout
    assert "AssertionError: assert [b'order-17', b'order-17'] == [b'order-17']" in perturbed.stdout


@pytest.mark.timeout(SUBPROCESS_RUNS_TIMEOUT)
def test_exploration_finds_the_lease_bug_and_the_printed_command_reproduces_it(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    result = run_example("test_lease.py", "--scarletio-explore", "100", "--scarletio-trace", str(traces), cwd=tmp_path)
    summary = re.search(r"^scarletio: failing seeds: \S+test_lease\.py::test_only_the_lease_holder_writes: ([\d, ]+)$", result.stdout, re.MULTILINE)
    assert summary is not None, result.stdout
    seeds = [int(seed) for seed in summary.group(1).split(", ")]
    assert len(seeds) >= 3 and seeds[0] < 20
    reproduce = re.search(r"^reproduce: (.*)$", result.stdout, re.MULTILINE)
    assert reproduce is not None
    command = reproduce.group(1)
    # Run from elsewhere, it changes to the root first; it names this interpreter, not whatever `python` is.
    assert command.startswith(f"cd {ROOT} && {sys.executable} -m pytest ")
    assert command.endswith(f"--scarletio-seed {seeds[0]} --scarletio-buggify")
    for _ in range(3):
        again = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert again.returncode == 1 and "without the lease" in again.stdout, again.stdout
    assert len(list(traces.glob("*.json"))) == len(seeds)
