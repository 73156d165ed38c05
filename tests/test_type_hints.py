"""`typing.get_type_hints` resolves every public annotation of the package at run time.

Runtime type users (validation, dependency injection, documentation tools) evaluate annotations; a
name imported only for the type checker (`if TYPE_CHECKING:`) would make that fail. Each folder binds
the names its modules import that way once all of its modules are loaded, and these tests walk the
whole public surface: every public module's public functions and classes, and each class's public
methods, properties and annotated attributes.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
import time
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import scarletio
import scarletio.backends._clock
import scarletio.core.futures
import scarletio.core.scheduler
import scarletio.net.virtual
import scarletio.testing.plugin

PACKAGE = Path(scarletio.__file__).resolve().parent
SPECIAL_METHODS = {
    "__init__", "__new__", "__call__", "__await__", "__aiter__", "__anext__", "__aenter__", "__aexit__",
    "__enter__", "__exit__", "__iter__", "__next__", "__getitem__", "__len__", "__contains__",
}  # fmt: skip


def public_modules() -> list[str]:
    names = ["scarletio"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="scarletio."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]) or info.name.endswith("__init__"):
            names.append(info.name)
    return sorted(set(names) - {"scarletio.__main__"})


def public_names(module: types.ModuleType) -> list[str]:
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return list(exported)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    ]


def annotated_callables(owner: type) -> Iterator[tuple[str, Callable[..., object]]]:
    """Yield the public functions of a class, inherited from scarletio's classes too: methods, static and
    class methods, property getters."""
    members: dict[str, object] = {}
    for base in reversed(owner.__mro__):
        if base.__module__.startswith("scarletio"):
            members.update(vars(base))
    for name, member in members.items():
        if name.startswith("_") and name not in SPECIAL_METHODS:
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            if member.fget is not None:
                yield f"{name}.fget", member.fget
            continue
        if inspect.isfunction(member):
            yield name, member


def surface() -> Iterator[tuple[str, object]]:
    seen: set[int] = set()
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            if id(value) in seen or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            seen.add(id(value))
            yield f"{module_name}.{name}", value
            if inspect.isclass(value):
                for member_name, member in annotated_callables(value):
                    if id(member) not in seen:
                        seen.add(id(member))
                        yield f"{module_name}.{name}.{member_name}", member


SURFACE = list(surface())


def mentions_any(hint: object) -> bool:
    """Return whether a resolved annotation is `Any` or has `Any` anywhere among its arguments."""
    if hint is typing.Any:
        return True
    return any(
        mentions_any(argument) if not isinstance(argument, list) else any(mentions_any(item) for item in argument)
        for argument in typing.get_args(hint)
    )


def instance_attribute_annotations(owner: type) -> Iterator[tuple[str, str]]:
    """Yield (name, annotation source) of each public `self.name: annotation = ...` in a class's methods."""
    try:
        source = textwrap.dedent(inspect.getsource(owner))
    except (OSError, TypeError):
        return
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Attribute)
            and isinstance(node.target.value, ast.Name)
            and node.target.value.id == "self"
            and not node.target.attr.startswith("_")
        ):
            yield node.target.attr, ast.unparse(node.annotation)


@pytest.mark.parametrize(("name", "value"), SURFACE, ids=[name for name, _ in SURFACE])
def test_get_type_hints_resolves_every_public_annotation(name: str, value: object) -> None:
    typing.get_type_hints(value)


def test_the_surface_walked_is_the_whole_package() -> None:
    walked = {id(value) for _, value in SURFACE}
    assert len(SURFACE) > 500, len(SURFACE)
    for expected in (
        scarletio.get_event_loop,
        scarletio.get_or_create_event_loop,
        scarletio.Future.sync_wrap,
        scarletio.EventThread.create_connection_to,
        scarletio.EventLoop.call_soon,
        scarletio.net.virtual.VirtualHost.use,
        scarletio.testing.plugin.pytest_runtest_makereport,
    ):
        assert id(expected) in walked, expected


def test_no_public_result_or_attribute_is_typed_any() -> None:
    # `Coroutine[Any, Any, T]` as a parameter is the convention and may stay; results and attributes
    # are what a user's code goes on with, where an `Any` silently switches the checks off.
    found: list[str] = []
    for name, value in SURFACE:
        hints = typing.get_type_hints(value)
        if inspect.isclass(value):
            found.extend(f"{name}.{key}: {hint}" for key, hint in hints.items() if not key.startswith("_") and mentions_any(hint))
            for attribute, annotation in instance_attribute_annotations(value):
                if re.search(r"\bAny\b", annotation):
                    found.append(f"{name}.{attribute}: {annotation}")
        elif mentions_any(hints.get("return")):
            found.append(f"{name} -> {hints['return']}")
    assert not found, "\n".join(found)


def type_checking_imports(path: Path) -> Iterator[tuple[str, int, str]]:
    """Yield (module imported from, its relative level, name) for each name imported under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    for alias in statement.names:
                        yield statement.module or "", statement.level, alias.asname or alias.name


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_name_imported_for_the_type_checker_only_is_bound_at_run_time(path: Path) -> None:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    module = importlib.import_module(".".join(parts))
    package = ".".join(relative.parts[:-1])
    for source, level, name in type_checking_imports(path):
        origin = importlib.import_module("." * level + source, package) if level else importlib.import_module(source)
        assert vars(module).get(name) is getattr(origin, name), (
            f"{module.__name__} imports {name} for the type checker only and does not bind it at run time; "
            "bind it in the folder's __init__ with bind_forward_names"
        )


def test_the_names_declared_for_the_type_checkers_are_the_same_functions_at_run_time() -> None:
    # Declared as methods under TYPE_CHECKING, bound as the functions themselves at run time: no
    # extra Python call per future or per thread-safe call.
    from_scheduler = scarletio.core.scheduler.Scheduler
    assert scarletio.EventThread.create_future is scarletio.core.futures.new_future
    assert scarletio.EventThread.call_soon_thread_safe is from_scheduler.call_soon
    assert scarletio.EventThread.call_at_thread_safe is from_scheduler.call_at
    assert scarletio.EventThread.call_after_thread_safe is from_scheduler.call_after
    assert scarletio.EventThread.create_task_thread_safe is scarletio.EventThread.create_task
    assert getattr(scarletio.backends._clock.MonotonicClock, "now") is time.monotonic  # declared a method
    assert scarletio.net.DatagramSocketTransport.sendto is scarletio.net.DatagramSocketTransport.send_to
