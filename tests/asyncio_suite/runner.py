"""Run one module of CPython's asyncio test suite against `scarletio.aio` on one backend.

    python tests/asyncio_suite/runner.py BACKEND MODULE

The module (`test_tasks`, ...) is imported from the interpreter's own `test.test_asyncio` package,
with `scarletio.aio.EventLoopPolicy(BACKEND)` installed, so every `asyncio.new_event_loop()` and
`asyncio.run()` of the tests makes a scarletio loop (tests that build `test_utils.TestLoop` keep it).
Resetting the policy (`set_event_loop_policy(None)`, as the tests' tear-downs do) installs ours again.
Test classes made once per selector (`create_event_loop()` returning a `SelectorEventLoop` of
epoll, poll, select, ...: the loop tests of `test_events`, `test_sock_lowlevel`, ...) run once, their
`create_event_loop()` returning our loop. In `test_events` only those loop tests run; the module's
other classes test asyncio's own handles and policies.

The cases listed in `skips.txt` (each with its reason) are skipped. The last line printed is a JSON
object with the counts (`ran`, `failures`, `errors`, `skipped`, `expected_failures`,
`unexpected_successes`); the exit status is 0 only if nothing failed. Without `test.test_asyncio`
(some distributions leave the test package out) this says so and exits with status 3.
"""

from __future__ import annotations

import asyncio
import fnmatch
import importlib
import importlib.util
import json
import os
import sys
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from scarletio import BackendName

SKIPS = Path(__file__).with_name("skips.txt")


def read_skips(backend: str, module: str) -> dict[str, str]:
    """Return the skipped test ids (patterns) of `module` on `backend`, each with its reason.

    A line of `skips.txt` is `BACKENDS MODULE.PATTERN  # reason`, where BACKENDS is `*` or a comma list,
    and PATTERN an fnmatch pattern of `Class.test_method`.
    """
    skips: dict[str, str] = {}
    for raw in SKIPS.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        spec, _, reason = line.partition("#")
        fields = spec.split()
        if len(fields) != 2 or not reason.strip():
            raise SystemExit(f"skips.txt: line {raw!r} must be 'BACKENDS MODULE.PATTERN  # reason'")
        backends, target = fields
        if backends != "*" and backend not in backends.split(","):
            continue
        target_module, _, pattern = target.partition(".")
        if target_module == module:
            skips[pattern] = reason.strip()
    return skips


def iter_cases(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_cases(item)
        else:
            yield item


LOOPS_MADE = [0]


def install_policy(backend: BackendName) -> None:
    from scarletio.aio import EventLoop, EventLoopPolicy

    # Counted, so the test can tell that the module really ran on our loops.
    init = EventLoop.__init__

    def counting_init(self: EventLoop, *args: object, **kwargs: object) -> None:
        LOOPS_MADE[0] += 1
        init(self, *args, **kwargs)  # type: ignore[arg-type]

    EventLoop.__init__ = counting_init  # type: ignore[method-assign]

    set_policy = asyncio.set_event_loop_policy

    def set_event_loop_policy(policy: asyncio.AbstractEventLoopPolicy | None) -> None:
        set_policy(EventLoopPolicy(backend) if policy is None else policy)

    asyncio.set_event_loop_policy = set_event_loop_policy
    asyncio.events.set_event_loop_policy = set_event_loop_policy
    set_policy(EventLoopPolicy(backend))


def load(backend: BackendName, name: str) -> unittest.TestSuite:
    """Load `name`; classes made for one selector each run once, on our loop (see the module docstring)."""
    module = importlib.import_module(f"test.test_asyncio.{name}")
    loader = unittest.TestLoader()
    from scarletio.aio import new_event_loop

    factory = "new_loop" if name == "test_server" else "create_event_loop"
    per_selector = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, unittest.TestCase) and factory in vars(value)
        and "Proactor" not in value.__name__
    ]
    suite = unittest.TestSuite()
    if per_selector:
        # One selector class stands for all: with our loop they would run the same tests.
        chosen = per_selector[0]
        setattr(chosen, factory, lambda self: new_event_loop(backend))
        suite.addTests(loader.loadTestsFromTestCase(chosen))
    if name == "test_events":
        return suite  # the other classes test asyncio's own handles and policies
    for value in vars(module).values():
        if (
            isinstance(value, type) and issubclass(value, unittest.TestCase) and value not in per_selector
            and not any(factory in vars(base) for base in value.__mro__)
        ):
            suite.addTests(loader.loadTestsFromTestCase(value))
    return suite


def main(arguments: list[str]) -> int:
    backend_name, name = arguments
    if backend_name not in ("epoll", "poll", "virtual"):
        raise SystemExit(f"backend {backend_name!r} is not one of epoll, poll, virtual")
    backend = cast("BackendName", backend_name)
    try:
        found = importlib.util.find_spec("test.test_asyncio") is not None
    except ImportError:  # no `test` package at all
        found = False
    if not found:
        print(f"this interpreter ({sys.executable}) lacks CPython's test package test.test_asyncio; "
              "install the python3-test package of its distribution or use a CPython build that ships it")
        return 3
    install_policy(backend)
    suite = load(backend, name)
    skips = read_skips(backend, name)
    kept = unittest.TestSuite()
    for case in iter_cases(suite):
        case_id = case.id().split(".", 3)[-1]  # Class.test_method
        reason = next((why for pattern, why in skips.items() if fnmatch.fnmatchcase(case_id, pattern)), None)
        if reason is not None:
            method = getattr(case, case._testMethodName)
            setattr(case, case._testMethodName, unittest.skip(reason)(method))
        kept.addTest(case)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=int(os.environ.get("SUITE_VERBOSITY", "1"))).run(kept)
    counts = {
        "module": name,
        "backend": backend,
        "ran": result.testsRun,
        "failures": len(result.failures),
        "errors": len(result.errors),
        "skipped": len(result.skipped),
        "expected_failures": len(result.expectedFailures),
        "unexpected_successes": len(result.unexpectedSuccesses),
        "scarletio_loops": LOOPS_MADE[0],
    }
    sys.stdout.flush()
    print(json.dumps(counts))
    return 0 if result.wasSuccessful() and not result.unexpectedSuccesses else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
    raise SystemExit(main(sys.argv[1:]))
