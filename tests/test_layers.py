"""The architecture's import rules (DESIGN.md section 2), checked by parsing every module.

Imports inside `if TYPE_CHECKING:` blocks are for the type checker only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scarletio"

LAYERS = {
    "contracts": 0,
    "backends": 1,
    "core": 2,
    "high": 3,
    "facade": 4,
}

CORE = {
    "exceptions",
    "_reporting",
    "handles",
    "futures",
    "tasks",
    "wrappers",
    "event_thread",
    "_loop_io",
    "_loop_outside",
    "_loop_shutdown",
    "_loop_states",
    "_loop_timers",
    "_thread_signal",
    "_loop_virtual",
}


def layer_of(module: str) -> str:
    """Return the layer of a dotted module name inside the package (`scarletio.x.y`)."""
    parts = module.split(".")[1:]
    if not parts or parts == ["__init__"] or parts[0] == "__main__":
        return "facade"
    if parts[0] == "abc":
        return "contracts"
    if parts[0] == "backends":
        return "backends"
    if parts[0] in CORE:
        return "core"
    return "high"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def runtime_imports(path: Path) -> list[str]:
    """Return the scarletio modules `path` imports at run time (absolute dotted names)."""
    tree = ast.parse(path.read_text(), str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            type_only.update(id(child) for statement in node.body for child in ast.walk(statement))
    found: list[str] = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if alias.name.startswith("scarletio"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("scarletio"):
                found.append(target)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_module_imports_only_point_down_the_layers(path: Path) -> None:
    name = module_name(path)
    own = LAYERS[layer_of(name)]
    for target in runtime_imports(path):
        if target == "scarletio":
            pytest.fail(f"{name} imports the facade itself")
        assert LAYERS[layer_of(target)] <= own, f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})"


def test_futures_and_tasks_do_not_import_the_scheduler() -> None:
    for name in ("futures", "tasks"):
        assert "scarletio.event_thread" not in runtime_imports(PACKAGE / f"{name}.py")


def test_the_scheduler_reaches_backends_only_through_the_registry() -> None:
    for target in runtime_imports(PACKAGE / "event_thread.py"):
        if target.startswith("scarletio.backends"):
            assert target == "scarletio.backends", target


def test_backends_import_only_the_contracts() -> None:
    for path in (PACKAGE / "backends").glob("*.py"):
        for target in runtime_imports(path):
            assert target == "scarletio.abc" or target.startswith("scarletio.backends"), (path.name, target)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_module_stays_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 650, f"{module_name(path)} should be split by concept"


def test_importing_scarletio_changes_no_global_hooks() -> None:
    import subprocess
    import sys

    script = (
        "import sys, threading\n"
        "before = (sys.excepthook, threading.excepthook, sys.get_asyncgen_hooks())\n"
        "import scarletio\n"
        "after = (sys.excepthook, threading.excepthook, sys.get_asyncgen_hooks())\n"
        "print(before == after, [t.name for t in threading.enumerate()])\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "True ['MainThread']"
