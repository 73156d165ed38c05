"""Benchmark runner: scarletio beside asyncio, uvloop, trio and a framework-free ceiling, in one run.

Usage: `python benchmarks/run.py [--rounds R] [--repeat N] [--backend NAME] [--only NAME ...]
[--runtimes NAME ...] [--markdown]`

Every workload runs on every runtime it has a runner for, each (workload, runtime) pair in a fresh
process of its own, so no runtime inherits another's heap, caches or threads. A process runs the
workload `--repeat` times and reports its best; the whole set of processes runs `--rounds` times and
the best over all counts (on a loaded machine the best is the figure least disturbed by others).
uvloop and trio are optional (`pip install '.[bench]'`); a runtime that is not installed is left out.

The table gives each runtime's time as a ratio to asyncio's (above 1.0 is faster than asyncio; for
memory, scarletio / asyncio bytes, below 1.0 is smaller), and `vs uvloop`: uvloop's time over
scarletio's (at least 1.0 means scarletio is at least as fast as uvloop). The `ceiling` column is
plain Python on the kernel with no framework at all: how far each figure is from the limit.

Adding a case module is one line: its name in `CASE_MODULES` (see `benchmarks/workload.py`).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workload import RUNTIMES, Workload, from_case, runner_for  # noqa: E402

CASE_MODULES = [
    "cases_core",
    "cases_sync",
    "cases_net",
]
"""The case modules under `benchmarks/`, in the order their rows are printed."""

_OPTIONAL = {"uvloop": "uvloop", "trio": "trio"}
_CHILD_TIMEOUT = 180.0


def load_workloads() -> list[Workload]:
    """Import every case module and return its workloads (`WORKLOADS`, or the older `CASES` tuples)."""
    workloads: list[Workload] = []
    for name in CASE_MODULES:
        module = importlib.import_module(f"benchmarks.{name}")
        found = getattr(module, "WORKLOADS", None)
        if found is None:
            found = [from_case(spec) for spec in module.CASES]
        workloads.extend(found)
    return workloads


def available_runtimes() -> list[str]:
    """Return the runtimes that can run here (uvloop and trio only when installed)."""
    return [
        runtime
        for runtime in RUNTIMES
        if runtime not in _OPTIONAL or importlib.util.find_spec(_OPTIONAL[runtime]) is not None
    ]


# ---- the process that measures one (workload, runtime) pair -----------------------------------------


def _best(function: Callable[[], object], repeat: int, measure: str) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        value = function()
        elapsed = time.perf_counter() - started
        if measure == "bytes":
            assert isinstance(value, (int, float)), f"a bytes workload returns a number, got {value!r}"
            elapsed = float(value)
        best = min(best, elapsed)
    return best


def measure_here(workload_name: str, runtime: str, repeat: int, backend: str | None) -> float:
    """Run one workload on one runtime in this process and return its best time (or bytes)."""
    import asyncio

    if runtime == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    workload = next(workload for workload in load_workloads() if workload.name == workload_name)
    loop = None
    if runtime == "scarletio":
        import scarletio

        loop = scarletio.EventThread(backend, name="benchmark")
    try:
        return _best(runner_for(workload, runtime, loop), repeat, workload.measure)
    finally:
        if loop is not None:
            loop.stop()
            loop.join()


def measure_in_child(workload: Workload, runtime: str, repeat: int, backend: str | None) -> float | None:
    """Measure one pair in a fresh process; return None (and say why) when that process failed."""
    command = [sys.executable, __file__, "--child", workload.name, runtime, "--repeat", str(repeat)]
    if backend is not None:
        command += ["--backend", backend]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_CHILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        print(f"  {workload.name} on {runtime}: no answer within {_CHILD_TIMEOUT:.0f} s", file=sys.stderr)
        return None
    if done.returncode != 0:
        print(f"  {workload.name} on {runtime} failed:\n{done.stderr}", file=sys.stderr)
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["best"])


# ---- the table ------------------------------------------------------------------------------------------


def _ratio(workload: Workload, results: dict[str, float], runtime: str) -> str:
    base = results.get("asyncio")
    value = results.get(runtime)
    if base is None or value is None:
        return "—"
    ratio = value / base if workload.measure == "bytes" else base / value
    return f"{ratio:.2f}"


def _versus_uvloop(workload: Workload, results: dict[str, float]) -> tuple[str, str]:
    uvloop, scarletio = results.get("uvloop"), results.get("scarletio")
    if uvloop is None or scarletio is None:
        return "—", ""
    if workload.measure == "bytes":
        return f"{uvloop / scarletio:.2f}", "ok" if scarletio <= uvloop else "ABOVE"
    return f"{uvloop / scarletio:.2f}", "ok" if scarletio <= uvloop else "BELOW"


def _format_value(workload: Workload, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} B" if workload.measure == "bytes" else f"{value * 1e3:.1f} ms"


def print_table(workloads: list[Workload], results: dict[str, dict[str, float]], runtimes: list[str], markdown: bool) -> None:
    """Print one row per workload: times, ratios to asyncio, and scarletio against uvloop."""
    peers = [runtime for runtime in runtimes if runtime != "asyncio"]
    headers = ["workload", "asyncio", *(f"{runtime} ×" for runtime in peers), "vs uvloop", ""]
    rows: list[list[str]] = []
    for workload in workloads:
        found = results.get(workload.name, {})
        versus, verdict = _versus_uvloop(workload, found)
        name = workload.name + (" (bytes, lower is better)" if workload.measure == "bytes" else "")
        rows.append(
            [name, _format_value(workload, found.get("asyncio")), *(_ratio(workload, found, peer) for peer in peers), versus, verdict]
        )
    if markdown:
        print("| " + " | ".join(headers[:-1]) + " |")
        print("|" + "---|" * (len(headers) - 1))
        for row in rows:
            print("| " + " | ".join(row[:-1]) + " |")
        return
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) if index == 0 else cell.rjust(width) for index, (cell, width) in enumerate(zip(row, widths))))


def main(argv: list[str] | None = None) -> int:
    """Measure the selected workloads on the selected runtimes and print the table; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2, help="how often every process runs; the best counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs inside each process; the best counts")
    parser.add_argument("--backend", default=None, help="scarletio backend (default: the best available)")
    parser.add_argument("--only", nargs="*", default=None, help="run only the workloads with these names")
    parser.add_argument("--runtimes", nargs="*", default=None, help=f"measure only these of {', '.join(RUNTIMES)}")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--json", default=None, help="also write the raw best figures to this file")
    parser.add_argument("--child", nargs=2, default=None, metavar=("WORKLOAD", "RUNTIME"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    if arguments.child is not None:
        best = measure_here(arguments.child[0], arguments.child[1], arguments.repeat, arguments.backend)
        print(json.dumps({"best": best}))
        return 0

    workloads = load_workloads()
    # "aio" names the asyncio-code rows of `cases_aio` (printed after the table, from one process).
    only = [name for name in arguments.only or () if name != "aio"]
    if arguments.only:
        unknown = set(only) - {workload.name for workload in workloads}
        if unknown:
            parser.error(f"no workload named {sorted(unknown)!r}; the names are {[w.name for w in workloads]!r}")
        workloads = [workload for workload in workloads if workload.name in only]
    runtimes = available_runtimes()
    if arguments.runtimes:
        runtimes = [runtime for runtime in runtimes if runtime in arguments.runtimes]

    import scarletio

    loop = scarletio.EventThread(arguments.backend, name="benchmark-probe")
    backend_name = loop.backend.name
    loop.stop()
    versions = [f"python {sys.version.split()[0]}", f"scarletio backend {backend_name}"]
    versions.append(f"scarletio compiled: {getattr(scarletio, 'compiled', False)}")
    for runtime, module_name in _OPTIONAL.items():
        if runtime in runtimes:
            versions.append(f"{runtime} {importlib.import_module(module_name).__version__}")
    print(", ".join(versions), flush=True)

    results: dict[str, dict[str, float]] = {}
    for round_index in range(arguments.rounds):
        for workload in workloads:
            for runtime in workload.runtimes():
                if runtime not in runtimes:
                    continue
                value = measure_in_child(workload, runtime, arguments.repeat, arguments.backend)
                if value is not None:
                    found = results.setdefault(workload.name, {})
                    found[runtime] = min(value, found.get(runtime, float("inf")))
            print(f"round {round_index + 1}/{arguments.rounds}: {workload.name} done", file=sys.stderr, flush=True)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=1))
    print_table(workloads, results, runtimes, arguments.markdown)
    if not arguments.only or "aio" in arguments.only:  # asyncio programs: stock asyncio, scarletio.aio, uvloop
        from benchmarks import cases_aio

        cases_aio.print_rows(arguments.repeat, arguments.backend)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
