"""The backend registry: picks the reactor, clock and executor a loop runs on.

Backends layer. The scheduler reaches backends only through `resolve_backend` and `get_backend`; it
never imports a backend module itself. A backend module is imported the first time its name is asked
for, and it is probed once, by constructing (and closing) a reactor: a backend whose module does not
import or whose reactor cannot be built here is "not available". Results are cached for the process.

Selection order of `resolve_backend`: a `Backend` object passed in, a name, the environment variable
`SCARLETIO_BACKEND`, then the default (epoll where it works, else poll).
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Literal

from typing_extensions import TypeAlias

from ..core.abc import Backend

__all__ = ("Backend", "BackendName", "available_backends", "get_backend", "parse_backend_name", "resolve_backend")

BackendName: TypeAlias = Literal["epoll", "poll", "virtual"]
"""The name of a backend scarletio ships (whether it works here is another matter: `available_backends`)."""

# Every known backend and the module that defines its `BACKEND`, in order of preference.
# Adding a backend is one line here, and its name in `BackendName`.
_MODULES: dict[BackendName, str] = {
    "epoll": "scarletio.backends.epoll",
    "poll": "scarletio.backends.poll",
    "virtual": "scarletio.backends.virtual",
}

# The backends the default may fall on, best first (never a testing backend).
_DEFAULT_ORDER = ("epoll", "poll")

_ENVIRONMENT_VARIABLE = "SCARLETIO_BACKEND"

# name -> the backend, or None if it was probed and does not work here.
_probed: dict[str, Backend | None] = {}
_probe_lock = threading.Lock()


def _probe(name: str) -> Backend | None:
    module_name = next((module for known, module in _MODULES.items() if known == name), None)  # any text
    if module_name is None:
        return None
    with _probe_lock:
        if name in _probed:
            return _probed[name]
        backend: Backend | None
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            backend = None
        else:
            backend = module.BACKEND
            if not isinstance(backend, Backend):
                raise TypeError(f"{module_name}.BACKEND must be a Backend, got {backend!r}")
            try:
                reactor = backend.reactor_factory()
            except OSError:
                backend = None
            else:
                reactor.close()
        _probed[name] = backend
        return backend


def _lookup(name: str) -> Backend | None:
    try:
        return _probed[name]
    except KeyError:
        return _probe(name)


def available_backends() -> tuple[BackendName, ...]:
    """Return the names of the backends that work here, in order of preference.

    Returns:
        The names, for example `("epoll", "poll")` on Linux.
    """
    return tuple(name for name in _MODULES if _lookup(name) is not None)


def _not_available(name: str, origin: str) -> ValueError:
    return ValueError(f"backend {name!r}{origin} is not available; available: {', '.join(available_backends())}")


def parse_backend_name(name: str) -> BackendName:
    """Return `name` as a `BackendName`: for names read as text (a command line, a configuration file).

    Args:
        name: The text.

    Returns:
        The same name, typed.

    Raises:
        ValueError: If no backend has this name (the same error `get_backend` raises).
    """
    for known in _MODULES:
        if known == name:
            return known
    raise _not_available(name, "")


def get_backend(name: BackendName) -> Backend:
    """Return the backend registered under a name.

    Args:
        name: The backend's name, for example `"epoll"`.

    Returns:
        The backend; the same object on every call.

    Raises:
        ValueError: If no backend has this name or it does not work here.
    """
    backend = _lookup(name)
    if backend is None:
        raise _not_available(name, "")
    return backend


def resolve_backend(backend: Backend | BackendName | None = None) -> Backend:
    """Choose the backend for a new loop.

    Args:
        backend: A backend to use as it is, the name of one, or `None` to read the environment
            variable `SCARLETIO_BACKEND` (when set and not empty) and otherwise take the default:
            epoll where it works, else poll.

    Returns:
        The backend.

    Raises:
        ValueError: If the name (passed in or from the environment) is unknown or does not work here.
        RuntimeError: If no default backend works here.
    """
    if isinstance(backend, Backend):
        return backend
    if backend is not None:
        return get_backend(backend)
    name = os.environ.get(_ENVIRONMENT_VARIABLE)
    if name:
        found = _lookup(name)
        if found is None:
            raise _not_available(name, f" from {_ENVIRONMENT_VARIABLE}")
        return found
    for name in _DEFAULT_ORDER:
        found = _lookup(name)
        if found is not None:
            return found
    raise RuntimeError(f"no default backend works here; tried: {', '.join(_DEFAULT_ORDER)}")
