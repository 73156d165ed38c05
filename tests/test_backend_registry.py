"""The backend registry: names, availability, the selection order and its error messages."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import scarletio.backends as backends
from scarletio.core.abc import Backend
from scarletio.backends import available_backends, get_backend, parse_backend_name, resolve_backend
from scarletio.backends._clock import MonotonicClock
from scarletio.backends._executor import ThreadExecutor

REPOSITORY = Path(__file__).resolve().parents[1]
BACKENDS_DIRECTORY = REPOSITORY / "scarletio" / "backends"


def available_pattern() -> str:
    return re.escape(", ".join(available_backends()))


@pytest.fixture
def fresh_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_probed", {})


def test_epoll_and_poll_are_available_on_linux_in_preference_order() -> None:
    assert available_backends()[:2] == ("epoll", "poll")


def test_resolve_without_a_choice_defaults_to_epoll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCARLETIO_BACKEND", raising=False)
    assert resolve_backend().name == "epoll"
    assert resolve_backend(None).name == "epoll"


def test_empty_environment_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "")
    assert resolve_backend(None).name == "epoll"


def test_environment_variable_chooses_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "poll")
    assert resolve_backend(None).name == "poll"


def test_name_wins_over_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "epoll")
    assert resolve_backend("poll").name == "poll"


def test_backend_object_is_returned_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "poll")
    custom = Backend(
        name="custom",
        reactor_factory=get_backend("poll").reactor_factory,
        clock_factory=MonotonicClock,
        executor_factory=ThreadExecutor,
    )
    assert resolve_backend(custom) is custom


def test_get_backend_returns_the_same_object_each_time() -> None:
    assert get_backend("poll") is get_backend("poll")
    assert get_backend("epoll").name == "epoll"


def test_a_backend_name_read_as_text_is_checked_and_typed() -> None:
    for name in ("epoll", "poll", "virtual"):
        assert parse_backend_name(name) == name
    assert get_backend(parse_backend_name("virtual")) is get_backend("virtual")


def test_unknown_name_raises_value_error_listing_the_available_ones() -> None:
    message = rf"^backend 'kqeue' is not available; available: {available_pattern()}$"
    with pytest.raises(ValueError, match=message):
        resolve_backend("kqeue")  # type: ignore[arg-type]  # what an untyped caller may pass
    with pytest.raises(ValueError, match=message):
        get_backend("kqeue")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        parse_backend_name("kqeue")
    assert re.fullmatch(r"epoll, poll(, .+)?", ", ".join(available_backends()))


def test_unknown_name_from_the_environment_says_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCARLETIO_BACKEND", "kqeue")
    message = rf"^backend 'kqeue' from SCARLETIO_BACKEND is not available; available: {available_pattern()}$"
    with pytest.raises(ValueError, match=message):
        resolve_backend(None)


def test_backend_whose_module_does_not_import_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, fresh_probes: None
) -> None:
    modules: dict[str, str] = backends._MODULES  # type: ignore[assignment]  # a name that is no BackendName
    monkeypatch.setitem(modules, "ghost", "scarletio.backends._no_such_module")
    assert "ghost" not in available_backends()
    with pytest.raises(ValueError, match=r"^backend 'ghost' is not available; available: epoll, poll"):
        get_backend("ghost")  # type: ignore[arg-type]  # the name it registers is no BackendName


def test_default_falls_back_to_poll_where_epoll_does_not_work(
    monkeypatch: pytest.MonkeyPatch, fresh_probes: None
) -> None:
    monkeypatch.delenv("SCARLETIO_BACKEND", raising=False)
    monkeypatch.setitem(backends._MODULES, "epoll", "scarletio.backends._no_such_module")
    assert resolve_backend(None).name == "poll"
    assert "epoll" not in available_backends()


def test_backend_modules_load_lazily() -> None:
    code = "import sys, scarletio.backends; print(sorted(m for m in sys.modules if m.startswith('scarletio.')))"
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert "scarletio.backends.epoll" not in output
    assert "scarletio.backends.poll" not in output


def test_backends_import_only_the_contracts_and_the_standard_library() -> None:
    allowed_scarletio = {"scarletio.core.abc", "scarletio.backends"}
    for path in sorted(BACKENDS_DIRECTORY.glob("*.py")):
        package = "scarletio.backends"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                names = [base]
            for name in names:
                top = name.split(".")[0]
                if top == "scarletio":
                    assert any(
                        name == allowed or name.startswith("scarletio.backends.") for allowed in allowed_scarletio
                    ), f"{path.name} imports {name}"
                else:
                    assert top in sys.stdlib_module_names or top == "typing_extensions", f"{path.name} imports {name}"
