"""Binding the names a folder's modules import for the type checker only, once the folder is loaded.

Two modules of one folder that annotate with each other's classes cannot both import the other at run
time (that is an import cycle), so one of them imports the name under `if TYPE_CHECKING:`. Annotations
are strings here (`from __future__ import annotations`), which the type checkers read as they are; but
`typing.get_type_hints` evaluates them in the module's namespace, where such a name is missing. Each
folder's `__init__` therefore binds those names into the modules that need them right after importing
all of its modules: no import cycle, and every annotation resolves at run time
(`tests/test_type_hints.py` checks both, over the whole public surface).
"""

from __future__ import annotations

from types import ModuleType

__all__ = ("bind_forward_names",)


def bind_forward_names(module: ModuleType, *values: type) -> None:
    """Make each class in `values` a global of `module` under its own name.

    Args:
        module: A module that imports these classes under `if TYPE_CHECKING:` only.
        *values: The classes, imported at run time by the caller.

    Raises:
        ValueError: If `module` already holds a different object under one of the names.
    """
    namespace = vars(module)
    for value in values:
        name = value.__name__
        present = namespace.get(name, value)
        if present is not value:
            raise ValueError(f"{module.__name__}.{name} is already {present!r}; bind {value!r} under another name")
        namespace[name] = value
