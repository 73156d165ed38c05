"""The architecture's import rules (DESIGN.md section 2), checked by parsing every module.

The package is one folder per layer. A module may import from its own folder and from the folders
below it, never from one above; and no chain of imports leads back to where it started. Imports
inside functions count as run-time imports. Imports inside `if TYPE_CHECKING:` blocks are for the type
checker only: they may stay within a folder (a module and the class it annotates with, both in
`core/`), but never cross folders.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scarletio"

FOLDERS = (
    "core",  # contracts (core/abc.py), futures, tasks, the scheduler
    "backends",  # epoll, poll, virtual: implement the contracts
    "net",  # sockets, transports, servers, TLS, names, the virtual network
    "processes",  # subprocesses and signals
    "loop",  # the public EventThread and the top level (run, get_event_loop, ...)
    "primitives",  # task groups, locks, queues, timeouts, the executor hop
    "aio",  # the asyncio face of an EventThread
    "testing",  # the pytest plugin and virtual-time helpers
    "console",  # python -m scarletio
    "facade",  # scarletio/__init__.py and __main__.py
)
RANK = {folder: rank for rank, folder in enumerate(FOLDERS)}
ROOT_MODULES_LIMIT = 8


def folder_of(module: str) -> str:
    """Return the layer folder of a dotted module name inside the package (`scarletio.x.y`)."""
    parts = module.split(".")[1:]
    if not parts or parts[0] == "__main__":
        return "facade"
    if parts[0] not in RANK:
        raise AssertionError(f"{module} is in no layer folder; put it in one of {', '.join(FOLDERS[:-1])}")
    return parts[0]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """Return the scarletio modules `path` imports, each with whether only the type checker sees it."""
    tree = ast.parse(path.read_text(), str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            type_only.update(id(child) for statement in node.body for child in ast.walk(statement))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from .pkg import module` imports a submodule; `from .module import name` a name.
            targets = [module]
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    PACKAGE.parent / Path(*candidate.split(".")) / "__init__.py"
                ).exists():
                    targets.append(candidate)
        for target in targets:
            if target.startswith("scarletio"):
                found.append((target, id(node) in type_only))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))
NAMES = {module_name(path): path for path in MODULES}


def packages_of(module: str) -> list[str]:
    """Return the packages importing `module` runs first (its parents), outermost first."""
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def run_time_graph() -> dict[str, set[str]]:
    """Return module -> the modules it makes Python import at run time (parents included)."""
    graph: dict[str, set[str]] = {}
    for name, path in NAMES.items():
        edges: set[str] = set()
        for target, type_only in imports_of(path):
            if type_only:
                continue
            edges.update(package for package in packages_of(target) if package in NAMES)
            if target in NAMES:
                edges.add(target)
        edges.discard(name)
        edges.difference_update(packages_of(name))  # a module's own parents are already being imported
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of `graph` as a list of nodes (first == last), or `None` if it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_module_imports_only_its_own_folder_and_those_below(path: Path) -> None:
    name = module_name(path)
    own = RANK[folder_of(name)]
    for target, type_only in imports_of(path):
        if target == "scarletio":
            pytest.fail(f"{name} imports the facade itself")
        assert RANK[folder_of(target)] <= own, f"{name} ({folder_of(name)}) imports {target} ({folder_of(target)})"
        if type_only:
            assert folder_of(target) == folder_of(name), (
                f"{name} imports {target} for the type checker only, across folders; import it at run time "
                "(it is below) or name the protocol it satisfies"
            )


def test_no_import_cycle_at_run_time() -> None:
    cycle = find_cycle(run_time_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = run_time_graph()
    graph["scarletio.core.abc"] = graph["scarletio.core.abc"] | {"scarletio.loop.toplevel"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert "scarletio.core.abc" in cycle and "scarletio.loop.toplevel" in cycle


def test_the_package_root_keeps_only_the_facade_and_entry_points() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= ROOT_MODULES_LIMIT, modules
    folders = sorted(path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists())
    assert set(folders) <= set(FOLDERS), folders


def test_the_facade_only_re_exports() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert all(alias.asname == alias.name for alias in node.names), ast.unparse(node)
        elif isinstance(node, ast.Assign):
            assert [ast.unparse(target) for target in node.targets] in (["__all__"], ["__version__"]), ast.unparse(node)
        else:
            assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant), ast.unparse(node)


def test_futures_and_tasks_do_not_import_the_scheduler() -> None:
    for name in ("futures", "tasks"):
        targets = [target for target, _ in imports_of(PACKAGE / "core" / f"{name}.py")]
        assert "scarletio.core.scheduler" not in targets


def test_the_core_does_not_import_the_backends() -> None:
    for path in (PACKAGE / "core").glob("*.py"):
        for target, _ in imports_of(path):
            assert not target.startswith("scarletio.backends"), (path.name, target)


def test_the_event_thread_reaches_backends_only_through_the_registry() -> None:
    for target, _ in imports_of(PACKAGE / "loop" / "event_thread.py"):
        if target.startswith("scarletio.backends"):
            assert target == "scarletio.backends", target


def test_backends_import_only_the_contracts() -> None:
    for path in (PACKAGE / "backends").glob("*.py"):
        for target, _ in imports_of(path):
            assert target in ("scarletio.core", "scarletio.core.abc") or target.startswith("scarletio.backends"), (
                path.name,
                target,
            )


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_module_stays_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 650, f"{module_name(path)} should be split by concept"


def test_importing_scarletio_changes_no_global_hooks() -> None:
    script = (
        "import sys, threading\n"
        "before = (sys.excepthook, threading.excepthook, sys.get_asyncgen_hooks())\n"
        "import scarletio\n"
        "after = (sys.excepthook, threading.excepthook, sys.get_asyncgen_hooks())\n"
        "print(before == after, [t.name for t in threading.enumerate()])\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "True ['MainThread']"


@pytest.mark.parametrize("folder", [folder for folder in FOLDERS if (PACKAGE / folder / "__init__.py").exists()])
def test_each_module_imports_first_in_a_fresh_interpreter(folder: str) -> None:
    # Imported first, a module must not depend on something else having been imported before it
    # (which is how an import cycle hides).
    modules = sorted(name for name in NAMES if name.split(".")[1:2] == [folder])
    script = "import importlib, sys\n" + "".join(
        f"importlib.import_module({name!r}); [sys.modules.pop(m) for m in list(sys.modules) if m.startswith('scarletio')]\n"
        for name in modules
        if not name.endswith("__main__")
    )
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
