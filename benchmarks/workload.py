"""What a benchmark case module provides: `Workload`, one workload written for each runtime it suits.

A case module (listed in `run.CASE_MODULES`) exports `WORKLOADS`, a list of `Workload`. Each runner
does the whole workload once; the runner process times it (or, for a `bytes` workload, uses the
number it returns). The asyncio runner also runs on uvloop (under uvloop's event loop policy) unless
`on_uvloop` is False. A module may instead export the older `CASES` list of
`(name, target, asyncio runner, scarletio runner)` tuples; `from_case` turns one into a `Workload`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from scarletio import EventThread

__all__ = ("RUNTIMES", "Workload", "from_case", "runner_for")

RUNTIMES = ("asyncio", "uvloop", "trio", "scarletio", "ceiling")
"""Every runtime a workload may be measured on; `ceiling` is framework-free pure Python."""


@dataclass(frozen=True)
class Workload:
    """One workload and its runners.

    Attributes:
        name: The row's name, unique over every case module.
        asyncio: Runs it on asyncio (and on uvloop, see `on_uvloop`).
        scarletio: Runs it on the scarletio loop it is given.
        trio: Runs it on trio, where a trio version is natural.
        ceiling: Runs it without any framework: what plain Python and the kernel allow at best.
        on_uvloop: Whether the asyncio runner is measured on uvloop too.
        measure: `time` (seconds, timed by the runner process) or `bytes` (the runners return it);
            lower is better for both.
    """

    name: str
    asyncio: Callable[[], object] | None = None
    scarletio: Callable[[EventThread], object] | None = None
    trio: Callable[[], object] | None = None
    ceiling: Callable[[], object] | None = None
    on_uvloop: bool = True
    measure: Literal["time", "bytes"] = "time"

    def runtimes(self) -> list[str]:
        """Return the runtimes this workload has a runner for, in `RUNTIMES` order."""
        present = {
            "asyncio": self.asyncio is not None,
            "uvloop": self.asyncio is not None and self.on_uvloop,
            "trio": self.trio is not None,
            "scarletio": self.scarletio is not None,
            "ceiling": self.ceiling is not None,
        }
        return [runtime for runtime in RUNTIMES if present[runtime]]


def runner_for(workload: Workload, runtime: str, loop: EventThread | None) -> Callable[[], object]:
    """Return a call without arguments that runs `workload` once on `runtime`."""
    if runtime in ("asyncio", "uvloop"):
        function = workload.asyncio
    elif runtime == "scarletio":
        scarletio_runner = workload.scarletio
        assert scarletio_runner is not None and loop is not None
        return lambda: scarletio_runner(loop)
    else:
        function = workload.trio if runtime == "trio" else workload.ceiling
    if function is None:
        raise ValueError(f"workload {workload.name!r} has no runner for {runtime!r}; pick one of {workload.runtimes()}")
    return function


def from_case(spec: Sequence[Any]) -> Workload:
    """Turn an older `(name, target, asyncio runner, scarletio runner)` tuple into a `Workload`."""
    return Workload(name=spec[0], asyncio=spec[2], scarletio=spec[3])
