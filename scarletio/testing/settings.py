"""How the pytest plugin runs one test item: the `Run` settings, from options, ini values and marker.

Testing layer (imports pytest). Every setting comes from, in order of precedence, the test's marker
`@pytest.mark.scarletio(...)`, the command line (`--scarletio-*`), the ini file (`scarletio_*`), and
the default. A marker that cannot be understood does not stop the module's collection: the item it
marks fails at setup with the message (`Run.error`), and the others run.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, cast

import pytest

from ..backends import BackendName, available_backends, get_backend, parse_backend_name
from ..backends.virtual import virtual_backend
from ..loop.event_thread import EventThread
from . import _running_loop

__all__ = (
    "ALL",
    "DEFAULT_TIME_LIMIT",
    "MARKER",
    "MARKER_OPTIONS",
    "Run",
    "add_options",
    "asyncio_mode_on",
    "check_options",
    "runs_of",
)

MARKER = "scarletio"

MARKER_OPTIONS = ("asyncio", "backend", "buggify", "explore", "perturb", "seed", "time_limit", "timeout")
"""The keyword arguments the marker accepts."""

ALL = "all"
"""The backend setting that runs a test once per available backend."""

DEFAULT_TIME_LIMIT = 86400.0
"""Virtual seconds a test may run by default (a day): a runaway test fails instead of running on."""

DEFAULT_TIMEOUT = 60.0
"""Real seconds a test may take by default."""


@dataclass(frozen=True)
class Run:
    """How one test item runs: on which backend, with which seed, perturbation and limits.

    Attributes:
        backend: The backend's name.
        seed: The virtual loop's seed (unused on real backends).
        perturb: Whether the virtual loop explores late wakeups and the order of descriptors ready
            at once.
        timeout: Real seconds the test may take, or `None` for no limit.
        time_limit: Virtual seconds the test's loop may run, or `None` for no limit.
        buggify: Whether `scarletio.testing.buggify()` may fire (under exploration).
        tracing: Whether the loop records a trace (for `--scarletio-trace` and the determinism check).
        explored: Whether the run is one of several seeds of `--scarletio-explore` / `explore=`.
        asyncio: Whether the test and its async fixtures run as asyncio tasks on the loop's asyncio
            face (`scarletio.aio`), for tests written for asyncio (see `asyncio_mode`).
        error: Why the item cannot run (a bad marker), reported when it is set up.
    """

    backend: BackendName
    seed: int
    perturb: bool = False
    timeout: float | None = DEFAULT_TIMEOUT
    time_limit: float | None = DEFAULT_TIME_LIMIT
    buggify: bool = False
    tracing: bool = False
    explored: bool = False
    error: str | None = None
    asyncio: bool = False

    @property
    def virtual(self) -> bool:
        """Whether the run is on virtual time (only then do the seed and perturbation matter)."""
        return self.backend == "virtual"

    @property
    def id(self) -> str:
        """The item id: names the backend and, on virtual time, the seed."""
        return f"virtual-seed{self.seed}" if self.virtual else self.backend

    def on_virtual_time(self) -> Run:
        """Return this run moved to the virtual backend (for tests that need virtual time)."""
        return self if self.virtual else replace(self, backend="virtual")

    def open_loop(self, name: str, seed: int | None = None) -> AbstractContextManager[EventThread]:
        """Return a context manager that starts a loop for this run, and stops and joins it on exit.

        Args:
            name: The loop thread's name.
            seed: Another seed than the run's (Hypothesis examples draw their own).
        """
        if self.virtual:
            backend = virtual_backend(
                self.seed if seed is None else seed,
                perturb=self.perturb,
                tracing=self.tracing,
                time_limit=self.time_limit,
                buggify=self.buggify,
            )
        else:
            backend = get_backend(self.backend)
        return _running_loop(backend, name=name)

    def reproduce(self, nodeid: str, config: pytest.Config) -> str:
        """Return the shell command that runs this item again, with this interpreter."""
        command = [sys.executable, "-m", "pytest", nodeid, "--scarletio-backend", self.backend]
        if self.virtual:
            command += ["--scarletio-seed", str(self.seed)]
            if self.perturb:
                command.append("--scarletio-perturb")
            if self.buggify:
                command.append("--scarletio-buggify")
        if self.asyncio:
            command.append("--scarletio-asyncio")
        reproduce = shlex.join(command)
        if config.invocation_params.dir != config.rootpath:  # node ids are relative to the root
            reproduce = f"cd {shlex.quote(str(config.rootpath))} && {reproduce}"
        return reproduce

    def describe(self, nodeid: str, config: pytest.Config, *, seed_drawn: bool = False) -> str:
        """Return the failure section: the settings and a command that runs this item again.

        Args:
            nodeid: The item's node id.
            config: The session's configuration.
            seed_drawn: Whether Hypothesis drew the seed of each example.
        """
        if self.virtual and seed_drawn:
            seed = "drawn by Hypothesis for each example (its failing example names it)"
            perturbation = "on" if self.perturb else "off"
        elif self.virtual:
            seed = str(self.seed)
            perturbation = "on" if self.perturb else "off"
        else:
            seed = perturbation = "not used (real time)"
        return (
            f"backend: {self.backend}\n"
            f"seed: {seed}\n"
            f"perturbation: {perturbation}\n"
            f"reproduce: {self.reproduce(nodeid, config)}\n"
        )


# ---- options --------------------------------------------------------------------------------------


def add_options(parser: pytest.Parser) -> None:
    """Add the `--scarletio-*` options and the `scarletio_*` ini values."""
    group = parser.getgroup("scarletio", "scarletio: async def tests on a scarletio event loop")
    group.addoption(
        "--scarletio-backend",
        default="virtual",
        metavar="NAME",
        help="backend of the loop async tests run on: virtual (default), epoll, poll, or all (once per available backend)",
    )
    group.addoption("--scarletio-seed", type=int, default=0, metavar="SEED", help="seed of the virtual loop (default 0)")
    group.addoption(
        "--scarletio-perturb",
        action="store_true",
        help="explore what a real loop leaves open: late wakeups, the order of descriptors ready at once",
    )
    group.addoption(
        "--scarletio-explore",
        type=int,
        default=None,
        metavar="N",
        help="run each async test on the virtual loop with N seeds (seed .. seed+N-1), buggify() on",
    )
    group.addoption(
        "--scarletio-explore-first",
        action="store_true",
        help="with --scarletio-explore: stop exploring a test at its first failing seed",
    )
    group.addoption("--scarletio-buggify", action="store_true", help="let scarletio.testing.buggify() fire (on under --scarletio-explore)")
    group.addoption(
        "--scarletio-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"real seconds an async test may take (default {DEFAULT_TIMEOUT:g}; 0: no limit)",
    )
    group.addoption(
        "--scarletio-time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"virtual seconds a test's loop may run (default {DEFAULT_TIME_LIMIT:g}, a day; 0: no limit)",
    )
    group.addoption(
        "--scarletio-trace",
        default=None,
        metavar="DIR",
        help="write a Chrome / Perfetto trace of each failing virtual-time test to DIR",
    )
    group.addoption(
        "--scarletio-check-determinism",
        action="store_true",
        help="run each virtual-time test twice with the same seed; fail it if the two traces differ",
    )
    group.addoption(
        "--scarletio-asyncio",
        action="store_true",
        default=None,
        help="run async tests written for asyncio as asyncio tasks on the loop's asyncio face (scarletio.aio)",
    )
    parser.addini(
        "scarletio_asyncio", "run async tests as asyncio tasks on the loop's asyncio face (scarletio.aio)", type="bool", default=False
    )
    parser.addini("scarletio_timeout", f"real seconds an async test may take (default {DEFAULT_TIMEOUT:g}; 0: no limit)", default=None)
    parser.addini("scarletio_time_limit", f"virtual seconds a test's loop may run (default {DEFAULT_TIME_LIMIT:g}; 0: no limit)", default=None)


def _seconds(config: pytest.Config, name: str, default: float) -> float:
    """Return a duration setting from the command line, else the ini file, else `default`."""
    value = config.getoption(f"scarletio_{name}")
    if value is not None:
        return float(value)
    text = config.getini(f"scarletio_{name}")
    if text in (None, ""):
        return default
    try:
        return float(text)
    except ValueError:
        raise pytest.UsageError(f"ini value scarletio_{name}: seconds must be a number, got {text!r}") from None


def check_options(config: pytest.Config) -> None:
    """Refuse options that cannot work, with a usage error naming the way out."""
    backend = config.getoption("scarletio_backend")
    if backend != "virtual":
        try:
            _check_backend(backend, "--scarletio-backend")
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    explore = config.getoption("scarletio_explore")
    if explore is not None and explore < 1:
        raise pytest.UsageError(f"--scarletio-explore: the number of seeds must be at least 1, got {explore!r}")
    for name, flag in (("timeout", "--scarletio-timeout"), ("time_limit", "--scarletio-time-limit")):
        value = _seconds(config, name, 0.0)
        if not value >= 0.0:
            raise pytest.UsageError(f"{flag}: seconds must not be negative (0: no limit), got {value!r}")


def asyncio_mode_on(config: pytest.Config) -> bool:
    """Return whether the command line (`--scarletio-asyncio`) or the ini file turns asyncio mode on."""
    option = config.getoption("scarletio_asyncio")
    if option is not None:
        return bool(option)
    return bool(config.getini("scarletio_asyncio"))


def _check_backend(name: object, origin: str) -> None:
    """Raise `ValueError` unless `name` is `"all"` or the name of a backend that works here."""
    available = available_backends()
    if name != ALL and name not in available:
        names = ", ".join((*available, ALL))
        raise ValueError(f"{origin}: backend {name!r} is not available; available: {names}")


# ---- the marker -----------------------------------------------------------------------------------


def marker_settings(marker: pytest.Mark | None) -> dict[str, Any]:
    """Return the marker's settings, checked.

    Raises:
        ValueError: Naming the offending option and value.
    """
    if marker is None:
        return {}
    if marker.args:
        raise ValueError(f"the scarletio marker takes keyword arguments only, got {marker.args!r}")
    settings = dict(marker.kwargs)
    for key, value in settings.items():
        if key not in MARKER_OPTIONS:
            raise ValueError(f"the scarletio marker has no option {key!r}; options: {', '.join(MARKER_OPTIONS)}")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key == "backend":
            _check_backend(value, "the scarletio marker")
        elif key in ("perturb", "buggify", "asyncio") and not isinstance(value, bool):
            raise ValueError(f"the scarletio marker's {key} must be True or False, got {value!r}")
        elif key == "seed" and not (number and isinstance(value, int)):
            raise ValueError(f"the scarletio marker's seed must be an int, got {value!r}")
        elif key == "explore" and not (number and isinstance(value, int) and value >= 1):
            raise ValueError(f"the scarletio marker's explore must be an int of at least 1, got {value!r}")
        elif key in ("timeout", "time_limit") and not (number and value >= 0):
            raise ValueError(f"the scarletio marker's {key} must be seconds, not negative (0: no limit), got {value!r}")
    return settings


def runs_of(config: pytest.Config, marker: pytest.Mark | None, *, tracing: bool = False) -> list[Run]:
    """Return the runs of an async test, from the command line and ini file overridden by its marker.

    A bad marker gives one run carrying the error, so only that test fails.
    """
    try:
        settings: Mapping[str, Any] = marker_settings(marker)
    except ValueError as error:
        return [Run("virtual", 0, error=str(error))]
    # The options' types are the ones `add_options` declares (pytest types option values `Any`).
    backend = cast(str, settings.get("backend", config.getoption("scarletio_backend")))
    seed = cast(int, settings.get("seed", config.getoption("scarletio_seed")))
    perturb = cast(bool, settings.get("perturb", config.getoption("scarletio_perturb")))
    explore: int | None = settings.get("explore", config.getoption("scarletio_explore"))
    buggify: bool = settings.get("buggify", config.getoption("scarletio_buggify") or explore is not None)
    timeout = float(settings.get("timeout", _seconds(config, "timeout", DEFAULT_TIMEOUT))) or None
    time_limit = float(settings.get("time_limit", _seconds(config, "time_limit", DEFAULT_TIME_LIMIT))) or None
    in_asyncio = bool(settings.get("asyncio", asyncio_mode_on(config)))
    runs: list[Run] = []
    for name in available_backends() if backend == ALL else (parse_backend_name(backend),):
        explored = name == "virtual" and explore is not None
        seeds = range(seed, seed + explore) if explore is not None and explored else (seed,)
        runs.extend(Run(name, one, perturb, timeout, time_limit, buggify, tracing, explored, asyncio=in_asyncio) for one in seeds)
    return runs
