"""The globals every console input runs in: the public API of scarletio, ready to use.

Part of the console (high level). The namespace holds every name of `scarletio.__all__`, the
`scarletio` module itself and the dunders a `__main__` module has, so `await sleep(1)` works at the
first prompt.
"""

from __future__ import annotations

import builtins
import importlib
from types import ModuleType

__all__ = ("build_namespace", "load_facade")

FACADE = "scarletio"


def load_facade() -> ModuleType:
    """Return the `scarletio` package module (the public facade).

    The console shows users the facade, but the import rules keep every module inside the package
    from importing the facade statically (it imports every layer, so that would be a cycle waiting to
    happen). At run time the package is always imported already, so this only looks it up.
    """
    return importlib.import_module(FACADE)


def build_namespace(package: ModuleType) -> dict[str, object]:
    """Return a fresh globals dictionary for the console.

    Args:
        package: The module whose `__all__` names are preloaded (the `scarletio` facade).

    Returns:
        The dictionary; inputs evaluated in it read and write it like a `__main__` module's globals.
    """
    names: tuple[str, ...] = tuple(getattr(package, "__all__", ()))
    namespace: dict[str, object] = {name: getattr(package, name) for name in names}
    namespace[package.__name__.rpartition(".")[2]] = package
    namespace["__name__"] = "__main__"
    namespace["__doc__"] = None
    namespace["__package__"] = None
    namespace["__spec__"] = None
    namespace["__builtins__"] = builtins
    return namespace
