"""The pytest plugin: every `async def` test runs on a fresh scarletio loop, on virtual time by default.

Testing layer; the only module of scarletio that imports pytest. It is registered through the
`pytest11` entry point, so installing scarletio is enough (`-p no:scarletio` turns it off).

How a test is run:

- At collection, an `async def` test function is given the `scarletio_loop` fixture (unless it carries
  another async framework's marker: `anyio`, `asyncio`, `trio`). That fixture depends on the private
  `_scarletio_run` fixture, which `pytest_generate_tests` parametrises with one `Run` per backend and
  seed, so each run is an item of its own (`test_x[virtual-seed3]`, `test_x[epoll]`).
- `pytest_pyfunc_call` calls the test function with its fixtures and runs the coroutine with
  `loop.run(coroutine, timeout=...)` from the test's thread; the fixture stops and joins the loop after.
- A failed report gets a "scarletio" section: the backend, seed, perturbation and a command that runs
  exactly this item again. The item id names only the backend and the seed, and the command passes
  both, so the id the command produces is the id that failed.

A test that asks for `scarletio_network` (a fresh `VirtualNetwork` on its loop) runs on virtual time
only, whatever the backend option says: the in-memory network exists nowhere else.

Settings come from the command line (`--scarletio-*`) and are overridden per test by the marker
`@pytest.mark.scarletio(backend=..., seed=..., perturb=..., explore=..., timeout=...)`.
"""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import pytest

from ..core.abc import Clock
from ..backends import BackendName, available_backends, get_backend, parse_backend_name
from ..backends.virtual import virtual_backend
from ..loop.event_thread import EventThread
from ..net.virtual import VirtualNetwork
from . import _running_loop

__all__ = (
    "HookOutcome",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_pycollect_makeitem",
    "pytest_pyfunc_call",
    "pytest_runtest_makereport",
    "scarletio_clock",
    "scarletio_loop",
    "scarletio_seed",
)

MARKER = "scarletio"

MARKER_OPTIONS = ("backend", "explore", "perturb", "seed", "timeout")
"""The keyword arguments the marker accepts."""

FOREIGN_MARKERS = ("anyio", "asyncio", "trio")
"""Markers of other async test plugins: tests carrying one are left to that plugin."""

ALL = "all"
"""The backend setting that runs a test once per available backend."""


@dataclass(frozen=True)
class Run:
    """How one test item runs: on which backend, with which seed and perturbation, for how long.

    Attributes:
        backend: The backend's name.
        seed: The virtual loop's seed (unused on real backends).
        perturb: Whether the virtual loop shuffles ready work and timer ties.
        timeout: Real seconds the test may take, or `None` for no limit.
    """

    backend: BackendName
    seed: int
    perturb: bool
    timeout: float | None

    @property
    def virtual(self) -> bool:
        """Whether the run is on virtual time (only then do the seed and perturbation matter)."""
        return self.backend == "virtual"

    @property
    def id(self) -> str:
        """The item id: names the backend and, on virtual time, the seed."""
        return f"virtual-seed{self.seed}" if self.virtual else self.backend

    def open_loop(self, name: str) -> AbstractContextManager[EventThread]:
        """Return a context manager that starts a loop for this run, and stops and joins it on exit."""
        backend = virtual_backend(self.seed, perturb=self.perturb) if self.virtual else get_backend(self.backend)
        return _running_loop(backend, name=name)

    def describe(self, nodeid: str, config: pytest.Config) -> str:
        """Return the failure section: the settings and a command that runs this item again."""
        command = ["python", "-m", "pytest", nodeid, "--scarletio-backend", self.backend]
        if self.virtual:
            command += ["--scarletio-seed", str(self.seed)]
            if self.perturb:
                command.append("--scarletio-perturb")
        reproduce = shlex.join(command)
        if config.invocation_params.dir != config.rootpath:  # node ids are relative to the root
            reproduce = f"cd {shlex.quote(str(config.rootpath))} && {reproduce}"
        if self.virtual:
            seed = str(self.seed)
            perturbation = "on" if self.perturb else "off"
        else:
            seed = perturbation = "not used (real time)"
        return (
            f"backend: {self.backend}\n"
            f"seed: {seed}\n"
            f"perturbation: {perturbation}\n"
            f"reproduce: {reproduce}\n"
        )


RUN_KEY = pytest.StashKey[Run]()
"""Where an item keeps its `Run` once its loop fixture is set up."""


# ---- settings -------------------------------------------------------------------------------------


def _check_backend(name: object, origin: str) -> None:
    """Raise `ValueError` unless `name` is `"all"` or the name of a backend that works here."""
    available = available_backends()
    if name != ALL and name not in available:
        names = ", ".join((*available, ALL))
        raise ValueError(f"{origin}: backend {name!r} is not available; available: {names}")


def _marker_settings(marker: pytest.Mark | None) -> dict[str, Any]:
    """Return the marker's settings, checked."""
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
        elif key == "perturb" and not isinstance(value, bool):
            raise ValueError(f"the scarletio marker's perturb must be True or False, got {value!r}")
        elif key == "seed" and not (number and isinstance(value, int)):
            raise ValueError(f"the scarletio marker's seed must be an int, got {value!r}")
        elif key == "explore" and not (number and isinstance(value, int) and value >= 1):
            raise ValueError(f"the scarletio marker's explore must be an int of at least 1, got {value!r}")
        elif key == "timeout" and not (number and value >= 0):
            raise ValueError(f"the scarletio marker's timeout must be seconds, not negative (0: no limit), got {value!r}")
    return settings


def _runs(config: pytest.Config, marker: pytest.Mark | None) -> list[Run]:
    """Return the runs of an async test, from the command line overridden by its marker."""
    try:
        settings = _marker_settings(marker)
    except ValueError as error:
        pytest.fail(str(error), pytrace=False)
    # The options' types are the ones `pytest_addoption` declares (pytest types option values `Any`).
    backend = cast(str, settings.get("backend", config.getoption("scarletio_backend")))
    seed = cast(int, settings.get("seed", config.getoption("scarletio_seed")))
    perturb = cast(bool, settings.get("perturb", config.getoption("scarletio_perturb")))
    explore = cast("int | None", settings.get("explore", config.getoption("scarletio_explore")))
    timeout = float(cast(float, settings.get("timeout", config.getoption("scarletio_timeout")))) or None
    runs: list[Run] = []
    for name in available_backends() if backend == ALL else (parse_backend_name(backend),):
        if name == "virtual" and explore is not None:
            runs.extend(Run(name, seed + offset, True, timeout) for offset in range(explore))
        else:
            runs.append(Run(name, seed, perturb, timeout))
    return runs


# ---- hooks ----------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--scarletio-*` options."""
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
        help="shuffle ready work and timer ties on the virtual loop, from the seed",
    )
    group.addoption(
        "--scarletio-explore",
        type=int,
        default=None,
        metavar="N",
        help="run each async test on the virtual loop with N seeds (seed .. seed+N-1), perturbation on",
    )
    group.addoption(
        "--scarletio-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="real seconds an async test may take (default 60; 0: no limit)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and check the options."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(backend=..., seed=..., perturb=..., explore=..., timeout=...): how scarletio runs this "
        "async test; overrides the --scarletio-* options",
    )
    backend = config.getoption("scarletio_backend")
    if backend != "virtual":
        try:
            _check_backend(backend, "--scarletio-backend")
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    explore = config.getoption("scarletio_explore")
    if explore is not None and explore < 1:
        raise pytest.UsageError(f"--scarletio-explore: the number of seeds must be at least 1, got {explore!r}")
    timeout = cast(float, config.getoption("scarletio_timeout"))
    if not timeout >= 0.0:
        raise pytest.UsageError(f"--scarletio-timeout: seconds must not be negative (0: no limit), got {timeout!r}")


def _foreign(collector: pytest.Module | pytest.Class, function: object) -> bool:
    """Return whether a test carries the marker of another async test plugin."""
    own = [mark.name for mark in getattr(function, "pytestmark", ())]
    return any(name in own or collector.get_closest_marker(name) is not None for name in FOREIGN_MARKERS)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class, name: str, obj: object) -> None:
    """Give each `async def` test the loop fixture (collection itself is left to pytest)."""
    function = getattr(obj, "__func__", obj)
    if inspect.iscoroutinefunction(function) and collector.istestfunction(function, name):
        if not _foreign(collector, function):
            pytest.mark.usefixtures("scarletio_loop")(function)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Make one item per run of each `async def` test (backends, explored seeds)."""
    if "_scarletio_run" in metafunc.fixturenames and inspect.iscoroutinefunction(metafunc.function):
        runs = _runs(metafunc.config, metafunc.definition.get_closest_marker(MARKER))
        if "scarletio_network" in metafunc.fixturenames:  # the virtual network needs virtual time
            runs = [run for run in runs if run.virtual] or [Run("virtual", run.seed, run.perturb, run.timeout) for run in runs[:1]]
        metafunc.parametrize("_scarletio_run", runs, ids=[run.id for run in runs], indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an `async def` test on its loop, from the test's thread."""
    loop = pyfuncitem.funcargs.get("scarletio_loop")
    function = pyfuncitem.obj
    if not isinstance(loop, EventThread) or not inspect.iscoroutinefunction(function):
        return None
    __tracebackhide__ = True
    run = pyfuncitem.stash.get(RUN_KEY, None)
    timeout = run.timeout if run is not None else float(cast(float, pyfuncitem.config.getoption("scarletio_timeout"))) or None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    loop.run(function(**arguments), timeout=timeout)
    return True


class HookOutcome(Protocol):
    """What a hook wrapper gets back from its `yield`: pluggy's `Result`, as far as the plugin uses it."""

    def get_result(self) -> pytest.TestReport:
        """Return the report the wrapped hook made."""
        ...


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, HookOutcome, None]:
    """Add the seed and the command that reproduces a failure to the failed report."""
    outcome = yield
    report = outcome.get_result()
    run = item.stash.get(RUN_KEY, None)
    if run is not None and report.failed:
        report.sections.append(("scarletio", run.describe(item.nodeid, item.config)))


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def _scarletio_run(request: pytest.FixtureRequest) -> Run:
    """The current item's `Run`: a parameter for async tests, the virtual settings for sync tests."""
    run = getattr(request, "param", None)
    if not isinstance(run, Run):  # a sync test asked for a loop: it gets a virtual one
        runs = _runs(request.config, request.node.get_closest_marker(MARKER))
        run = next((run for run in runs if run.virtual), Run("virtual", runs[0].seed, runs[0].perturb, runs[0].timeout))
    request.node.stash[RUN_KEY] = run
    return run


@pytest.fixture
def scarletio_loop(_scarletio_run: Run, request: pytest.FixtureRequest) -> Iterator[EventThread]:
    """The started loop the current async test runs on; stopped and joined after the test.

    A sync test requesting it gets a fresh loop on virtual time.
    """
    with _scarletio_run.open_loop(f"scarletio-test {request.node.nodeid}") as loop:
        yield loop


@pytest.fixture
def scarletio_clock(scarletio_loop: EventThread) -> Clock:
    """The clock of the current test's loop: a `VirtualClock` on virtual time."""
    return scarletio_loop._clock


@pytest.fixture
def scarletio_seed(_scarletio_run: Run) -> int:
    """The seed of the current test's loop."""
    return _scarletio_run.seed


@pytest.fixture
def scarletio_network(scarletio_loop: EventThread) -> VirtualNetwork:
    """A fresh virtual network on the current test's loop (which then always runs on virtual time).

    Add hosts with `add_host`; the loop's networking functions use the network until the loop stops.
    """
    return VirtualNetwork(scarletio_loop)
