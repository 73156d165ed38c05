"""The pytest plugin: every `async def` test runs on a fresh scarletio loop, on virtual time by default.

Testing layer; with the modules it draws on (`settings`, `running`, `fixtures`, `exploration`,
`hypothesis_support`), the only part of scarletio that imports pytest. It is registered through the
`pytest11` entry point, so installing scarletio is enough (`-p no:scarletio` turns it off).

How a test is run:

- At collection, an `async def` test function is given the `scarletio_loop` fixture (unless it carries
  another async framework's marker: `anyio`, `asyncio`, `trio`). That fixture depends on the private
  `_scarletio_run` fixture, which `pytest_generate_tests` parametrises with one `Run` per backend and
  seed, so each run is an item of its own (`test_x[virtual-seed3]`, `test_x[epoll]`).
- `pytest_pyfunc_call` calls the test function with its fixtures and runs the coroutine on the loop
  from the test's thread (`running.run_with_report`); the fixture stops and joins the loop after.
  `async def` fixtures run on the same loop (`fixtures`); a Hypothesis test runs each example on a
  fresh loop (`hypothesis_support`).
- A failed report gets a "scarletio" section: the backend, seed, perturbation and a command that runs
  exactly this item again, with this interpreter. The item id names only the backend and the seed,
  and the command passes both, so the id the command produces is the id that failed.
- Across items: the seeds that failed, traces of failing tests, the determinism check (`exploration`).

A test that asks for `scarletio_network` (a fresh `VirtualNetwork` on its loop) runs on virtual time
only, whatever the backend option says: the in-memory network exists nowhere else.

Settings come from the marker `@pytest.mark.scarletio(...)`, then the command line (`--scarletio-*`),
then the ini file (`scarletio_timeout`, `scarletio_time_limit`, `scarletio_asyncio`); see `settings`.
In asyncio mode (`asyncio=True`, `--scarletio-asyncio`) tests and async fixtures run as asyncio tasks
on the loop's asyncio face; see `asyncio_mode`.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Iterator
from typing import Any, Protocol

import pytest

from ..core.abc import Clock
from ..loop.event_thread import EventThread
from ..net.virtual import VirtualNetwork
from .exploration import (
    SHADOW_KEY,
    TRACE_KEY,
    check_determinism,
    failing_seeds_line,
    note_report,
    run_first_time,
    skip_after_failure,
    write_trace,
)
from .asyncio_mode import enter_asyncio_mode, finish_asyncio_tasks, scarletio_asyncio_loop, takes_asyncio_marker
from .fixtures import is_async_fixture, running_async_fixture
from .hypothesis_support import adjust_settings, draws_the_seed, install_example_runner, is_async_hypothesis_test
from .running import run_with_report
from .settings import MARKER, Run, add_options, asyncio_mode_on, check_options, runs_of

__all__ = (
    "HookOutcome",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_generate_tests",
    "pytest_pycollect_makeitem",
    "pytest_pyfunc_call",
    "pytest_runtest_makereport",
    "pytest_runtest_protocol",
    "pytest_terminal_summary",
    "scarletio_asyncio_loop",
    "scarletio_clock",
    "scarletio_loop",
    "scarletio_network",
    "scarletio_seed",
)

FOREIGN_MARKERS = ("anyio", "asyncio", "trio")
"""Markers of other async test plugins: tests carrying one are left to that plugin."""

RUN_KEY = pytest.StashKey[Run]()
"""Where an item keeps its `Run` once its loop fixture is set up."""


class HookOutcome(Protocol):
    """What a hook wrapper gets back from its `yield`: pluggy's `Result`, as far as the plugin uses it."""

    def get_result(self) -> pytest.TestReport:
        """Return the report the wrapped hook made."""
        ...


def _traced(config: pytest.Config) -> bool:
    return bool(config.getoption("scarletio_trace") or config.getoption("scarletio_check_determinism"))


def _run_of(item: pytest.Item) -> Run | None:
    """The item's `Run`: its parameter (known from collection on), or the one its fixture chose."""
    callspec = getattr(item, "callspec", None)
    run = None if callspec is None else callspec.params.get("_scarletio_run")
    return run if isinstance(run, Run) else item.stash.get(RUN_KEY, None)


# ---- hooks ----------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--scarletio-*` options and `scarletio_*` ini values."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and check the options."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(backend=..., seed=..., perturb=..., explore=..., buggify=..., timeout=..., time_limit=..., "
        "asyncio=...): how scarletio runs this async test; overrides the --scarletio-* options",
    )
    if takes_asyncio_marker(config, asyncio_mode_on(config)):
        config.addinivalue_line("markers", "asyncio: an asyncio test, run by scarletio's asyncio mode (no pytest-asyncio here)")
    check_options(config)


def _foreign(node: pytest.Module | pytest.Class | pytest.Item, function: object = None) -> bool:
    """Return whether a test carries the marker of another async test plugin."""
    own = [mark.name for mark in getattr(function, "pytestmark", ())]
    names: tuple[str, ...] = FOREIGN_MARKERS
    if takes_asyncio_marker(node.config, asyncio_mode_on(node.config)):  # asyncio mode runs them instead
        names = tuple(name for name in names if name != "asyncio")
    return any(name in own or node.get_closest_marker(name) is not None for name in names)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class, name: str, obj: object) -> None:
    """Give each `async def` test the loop fixture (collection itself is left to pytest)."""
    function = getattr(obj, "__func__", obj)
    if not collector.istestfunction(function, name) or _foreign(collector, function):
        return
    if inspect.iscoroutinefunction(function):
        pytest.mark.usefixtures("scarletio_loop")(function)
    elif is_async_hypothesis_test(function):
        pytest.mark.usefixtures("_scarletio_run")(function)  # each example gets a loop of its own


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Make one item per run of each `async def` test (backends, explored seeds)."""
    function = metafunc.function
    if "_scarletio_run" in metafunc.fixturenames and (inspect.iscoroutinefunction(function) or is_async_hypothesis_test(function)):
        runs = runs_of(metafunc.config, metafunc.definition.get_closest_marker(MARKER), tracing=_traced(metafunc.config))
        if "scarletio_network" in metafunc.fixturenames:  # the virtual network needs virtual time
            runs = [run for run in runs if run.virtual] or [run.on_virtual_time() for run in runs[:1]]
        metafunc.parametrize("_scarletio_run", runs, ids=[run.id for run in runs], indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fit the settings of async Hypothesis tests to examples on fresh loops (see `adjust_settings`)."""
    for item in items:
        if isinstance(item, pytest.Function) and is_async_hypothesis_test(item.obj):
            adjust_settings(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """With `--scarletio-check-determinism`, run a virtual-time test once unreported first."""
    if not item.config.getoption("scarletio_check_determinism"):
        return
    run = _run_of(item)
    if run is not None and run.virtual and run.error is None and isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
        run_first_time(item, nextitem)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None, object, object]:
    """Run `async def` and async-generator fixtures on the test's loop."""
    if not is_async_fixture(fixturedef.func) or _foreign(request.node):
        return (yield)
    with running_async_fixture(fixturedef, request, lambda request: request.node.stash.get(RUN_KEY, None)):
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an `async def` test on its loop, from the test's thread."""
    function = pyfuncitem.obj
    run = _run_of(pyfuncitem)
    if run is not None and is_async_hypothesis_test(function):
        install_example_runner(pyfuncitem, run)
        return None  # Hypothesis calls the examples; each runs on a fresh loop
    loop = pyfuncitem.funcargs.get("scarletio_loop")
    if not isinstance(loop, EventThread) or not inspect.iscoroutinefunction(function):
        return None
    __tracebackhide__ = True
    timeout = run.timeout if run is not None else None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    stash = pyfuncitem.stash

    def keep_trace() -> None:
        if run is not None and run.tracing:
            stash[TRACE_KEY] = loop.get_trace()

    full = bool(pyfuncitem.config.getoption("fulltrace"))
    run_with_report(loop, function(**arguments), timeout, site=function, on_done=keep_trace, library_frames=full)
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, HookOutcome, None]:
    """Add the seed, the reproducing command and the trace to a failed report; check determinism."""
    outcome = yield
    report = outcome.get_result()
    run = _run_of(item)
    if run is None or run.error is not None or item.stash.get(SHADOW_KEY, False):
        return
    if report.when == "call" and item.config.getoption("scarletio_check_determinism"):
        difference = check_determinism(item, run)
        if difference is not None:
            report.outcome = "failed"
            if call.excinfo:  # the test failed as well: its own failure stays the report
                report.sections.append(("scarletio determinism", difference))
            else:
                report.longrepr = difference
    if report.failed:
        section = run.describe(item.nodeid, item.config, seed_drawn=draws_the_seed(getattr(item, "obj", None)))
        directory = item.config.getoption("scarletio_trace")
        if directory and report.when == "call":
            path = write_trace(item, directory)
            if path is not None:
                section += f"trace: {path}\n"
        report.sections.append(("scarletio", section))
        note_report(item, run, report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """End the session with one line naming the seeds that failed, per test."""
    line = failing_seeds_line(terminalreporter.config)
    if line is not None:
        terminalreporter.write_line(line)


# ---- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def _scarletio_run(request: pytest.FixtureRequest) -> Run:
    """The current item's `Run`: a parameter for async tests, the virtual settings for sync tests."""
    run = getattr(request, "param", None)
    if not isinstance(run, Run):  # a sync test asked for a loop: it gets a virtual one
        runs = runs_of(request.config, request.node.get_closest_marker(MARKER))
        run = next((run for run in runs if run.virtual), runs[0].on_virtual_time())
    if run.error is not None:
        pytest.fail(run.error, pytrace=False)
    request.node.stash[RUN_KEY] = run
    skip_after_failure(request.node, run)
    return run


@pytest.fixture
def scarletio_loop(_scarletio_run: Run, request: pytest.FixtureRequest) -> Iterator[EventThread]:
    """The started loop the current async test runs on; stopped and joined after the test.

    A sync test requesting it gets a fresh loop on virtual time.
    """
    with _scarletio_run.open_loop(f"scarletio-test {request.node.nodeid}") as loop:
        if not _scarletio_run.asyncio:
            yield loop
            return
        enter_asyncio_mode(loop)
        yield loop
        run_with_report(loop, finish_asyncio_tasks(loop), _scarletio_run.timeout)


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
