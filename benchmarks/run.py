"""Benchmark runner: scarletio against stdlib asyncio, measured in the same run, printed as ratios.

Usage: `python benchmarks/run.py [--repeat N] [--backend NAME] [--only NAME ...]`

Each case is a pair of functions doing the same work on both libraries; the best of `--repeat` runs is
kept, and the ratio is asyncio's time divided by scarletio's (above 1.0 means scarletio is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scarletio  # noqa: E402
from benchmarks import cases_core  # noqa: E402


@dataclass(frozen=True)
class Case:
    """One benchmark: the same workload written for asyncio and for scarletio."""

    name: str
    target: float
    run_asyncio: Callable[[], None]
    run_scarletio: Callable[[scarletio.EventThread], None]
    unit: str = "x"


def best_time(function: Callable[[], None], repeat: int) -> float:
    """Return the fastest of `repeat` timed runs of `function` (garbage collected before each)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases and print one line per case; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case and library; the best counts")
    parser.add_argument("--backend", default=None, help="scarletio backend (default: the best available)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these cases")
    arguments = parser.parse_args(argv)

    from benchmarks import cases_net, cases_sync

    cases: list[Case] = [Case(*spec) for spec in cases_core.CASES]
    cases.extend(Case(*spec) for spec in cases_sync.CASES)
    cases.extend(Case(*spec) for spec in cases_net.CASES)
    if arguments.only:
        cases = [case for case in cases if case.name in arguments.only]

    loop = scarletio.EventThread(arguments.backend, name="benchmark")
    print(f"python {sys.version.split()[0]}, scarletio backend {loop.backend.name}")
    print(f"{'case':<38} {'asyncio':>10} {'scarletio':>10} {'ratio':>7} {'target':>7}")
    try:
        for case in cases:
            asyncio_time = best_time(case.run_asyncio, arguments.repeat)
            scarletio_time = best_time(lambda: case.run_scarletio(loop), arguments.repeat)
            ratio = asyncio_time / scarletio_time
            verdict = "ok" if ratio >= case.target else "BELOW"
            print(
                f"{case.name:<38} {asyncio_time * 1e3:>8.1f}ms {scarletio_time * 1e3:>8.1f}ms "
                f"{ratio:>6.2f}x {case.target:>6.1f}x {verdict}",
                flush=True,
            )
        if not arguments.only or "memory" in arguments.only:
            asyncio_bytes, scarletio_bytes = cases_sync.memory_per_sleeping_task(loop)
            ratio = scarletio_bytes / asyncio_bytes
            verdict = "ok" if ratio <= 0.6 else "ABOVE"
            print(
                f"{'memory per sleeping task':<38} {asyncio_bytes:>9.0f}B {scarletio_bytes:>9.0f}B "
                f"{ratio:>6.2f}x {'<=0.6':>6}x {verdict}  (scarletio / asyncio, lower is better)"
            )
    finally:
        loop.stop()
        loop.join()
    if not arguments.only or "aio" in arguments.only:  # asyncio programs: stock asyncio, scarletio.aio, uvloop
        from benchmarks import cases_aio

        cases_aio.print_rows(arguments.repeat, arguments.backend)
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    raise SystemExit(main())
