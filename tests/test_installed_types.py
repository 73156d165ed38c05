"""A user's program outside the checkout type-checks against the installed package, with mypy and pyright.

The README installs scarletio in editable mode with `editable_mode=compat`: a `.pth` file puts the
checkout on `sys.path`, which both checkers follow. Setuptools' default editable install is an import
hook that neither can follow, so from any other folder the package would be missing to them and every
scarletio type in the user's program would silently be `Any`. The program below has one deliberate
error, so the test also sees that the types are real.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USER_PROGRAM = '''\
from scarletio import EventThread, Future, TaskGroup, get_or_create_event_loop, sleep


async def answer(loop: EventThread) -> int:
    future: Future[int] = loop.create_future()
    loop.call_after(0.1, future.set_result, 42)
    await sleep(0.1)
    group: TaskGroup[int] = TaskGroup(loop, [future])
    await group.wait_all()
    return await future


loop = get_or_create_event_loop()
result = loop.run(answer(loop))
reveal_type(result)
loop.call_soon(print, "done", 1)
loop.create_future().set_result("not an int")  # the one deliberate error: the result type is unknown
'''


def checker(name: str) -> str:
    """Return the path of a type checker installed beside the running interpreter."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found is not None, f"{name} is not installed beside {sys.executable}: install the dev extra"
    return found


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """The user program in a folder of its own, with a pyright configuration of its own (strict)."""
    assert ROOT not in tmp_path.parents
    (tmp_path / "program.py").write_text(USER_PROGRAM)
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.10"}))
    return tmp_path


def test_mypy_run_outside_the_checkout_finds_the_installed_package(program: Path) -> None:
    completed = subprocess.run(
        [checker("mypy"), "--strict", "--no-incremental", "--python-executable", sys.executable, "program.py"],
        cwd=program,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = completed.stdout.splitlines()
    assert not any("import-not-found" in line or "import-untyped" in line for line in lines), completed.stdout
    assert re.search(r'^program.py:15: note: Revealed type is "(builtins\.)?int"$', completed.stdout, re.M), completed.stdout
    errors = [line for line in lines if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("program.py:17:"), completed.stdout


def test_pyright_run_outside_the_checkout_finds_the_installed_package(program: Path) -> None:
    completed = subprocess.run(
        [checker("basedpyright"), "--pythonpath", sys.executable, "--outputjson", "program.py"],
        cwd=program,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(completed.stdout)
    diagnostics = [
        (item["range"]["start"]["line"] + 1, item["severity"], item["message"]) for item in report["generalDiagnostics"]
    ]
    assert (15, "information", 'Type of "result" is "int"') in diagnostics, diagnostics
    errors = [(line, message) for line, severity, message in diagnostics if severity == "error"]
    assert [line for line, _ in errors] == [17], errors
