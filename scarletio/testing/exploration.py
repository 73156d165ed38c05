"""What the pytest plugin does across runs of a test: seeds that failed, traces, the determinism check.

Testing layer (imports pytest).

- **Failing seeds.** Under `--scarletio-explore N` every virtual-time failure is noted by seed; the
  session ends with one line naming, per test, the seeds that failed. With
  `--scarletio-explore-first` the remaining seeds of a test are skipped once one has failed.
- **Traces.** With `--scarletio-trace DIR` the loop of every virtual-time test records its trace,
  and a failing test's is written to `DIR` as Chrome / Perfetto trace-event JSON.
- **Determinism.** With `--scarletio-check-determinism` each virtual-time test first runs once on
  its own, recording its trace, then runs for real; if the two traces differ the test fails with
  the first decision that differed.

A trace is taken on the loop thread as the test's coroutine ends, so it ends at the same decision in
every run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _pytest.runner import runtestprotocol

from ..core.virtual_trace import TraceEvent, chrome_trace, first_difference
from .settings import Run

__all__ = (
    "DETERMINISM_KEY",
    "SHADOW_KEY",
    "TRACE_KEY",
    "check_determinism",
    "failing_seeds_line",
    "note_report",
    "run_first_time",
    "skip_after_failure",
    "write_trace",
)

TRACE_KEY = pytest.StashKey[list[TraceEvent]]()
"""The item's trace, taken when its test coroutine ended."""

SHADOW_KEY = pytest.StashKey[bool]()
"""Set while the item runs its first, unlogged time for the determinism check."""

DETERMINISM_KEY = pytest.StashKey[list[TraceEvent]]()
"""The trace of the item's first run, for the determinism check."""

_FAILED_KEY = pytest.StashKey[dict[str, list[int]]]()
_NO_FAILURES: dict[str, list[int]] = {}  # never written to

CONTEXT_DECISIONS = 3
"""Decisions shown before the first one that differed."""


def _test_key(item: pytest.Item, run: Run) -> str:
    """The item's node id without its seed: every explored seed of a test has the same key."""
    return item.nodeid.replace(run.id, "*")


def note_report(item: pytest.Item, run: Run, report: pytest.TestReport) -> None:
    """Remember the seed of a failed virtual-time item (for the summary and `--scarletio-explore-first`)."""
    if report.failed and run.explored and not item.stash.get(SHADOW_KEY, False):
        failed = item.config.stash.setdefault(_FAILED_KEY, {})
        seeds = failed.setdefault(_test_key(item, run), [])
        if run.seed not in seeds:
            seeds.append(run.seed)


def skip_after_failure(item: pytest.Item, run: Run) -> None:
    """Skip an explored seed of a test whose earlier seed failed, with `--scarletio-explore-first`."""
    if not (run.explored and item.config.getoption("scarletio_explore_first")):
        return
    seeds = item.config.stash.get(_FAILED_KEY, _NO_FAILURES).get(_test_key(item, run))
    if seeds:
        pytest.skip(f"seed {seeds[0]} of this test failed already (--scarletio-explore-first)")


def failing_seeds_line(config: pytest.Config) -> str | None:
    """Return the one-line summary of the seeds that failed, or `None` if none did."""
    failed = config.stash.get(_FAILED_KEY, _NO_FAILURES)
    if not failed:
        return None
    parts = [f"{key.replace('[*]', '')}: {', '.join(map(str, seeds))}" for key, seeds in failed.items()]
    return "scarletio: failing seeds: " + "; ".join(parts)


def write_trace(item: pytest.Item, directory: str) -> Path | None:
    """Write the item's trace as Chrome trace-event JSON into `directory`; return the file (if any)."""
    trace = item.stash.get(TRACE_KEY, None)
    if trace is None:
        return None
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_") + ".json")
    path.write_text(chrome_trace(trace))
    return path


def run_first_time(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Run the item once without reporting it and keep its trace, for the determinism check."""
    item.stash[SHADOW_KEY] = True
    try:
        runtestprotocol(item, nextitem=nextitem, log=False)
    finally:
        item.stash[SHADOW_KEY] = False
    trace = item.stash.get(TRACE_KEY, None)
    if trace is not None:
        item.stash[DETERMINISM_KEY] = trace
        del item.stash[TRACE_KEY]


def _describe(event: TraceEvent) -> str:
    where = f" on {event.host}" if event.host else ""
    return f"{event.kind} {event.what}{where} at virtual time {event.time:.9f}"


def check_determinism(item: pytest.Item, run: Run) -> str | None:
    """Return why the item's two runs differ (the first decision that differed), or `None`."""
    first = item.stash.get(DETERMINISM_KEY, None)
    second = item.stash.get(TRACE_KEY, None)
    if first is None or second is None:
        return None
    index = first_difference(first, second)
    if index is None:
        return None
    lines = [
        f"not deterministic: two runs with seed {run.seed} made different decisions "
        f"({len(first)} and {len(second)} in all); the first difference is decision #{index}:",
        f"  first run:  {_describe(first[index]) if index < len(first) else '(the trace ended)'}",
        f"  second run: {_describe(second[index]) if index < len(second) else '(the trace ended)'}",
    ]
    if index:
        lines.append("after the same decisions:")
        lines.extend(f"  {_describe(event)}" for event in first[max(0, index - CONTEXT_DECISIONS) : index])
    lines.append(
        "look for what the run takes from outside the seed: real time, another thread, an unseeded "
        "random generator, iteration over a set of objects"
    )
    return "\n".join(lines)

