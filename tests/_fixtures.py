"""Fixtures shared by the test modules: a fresh loop per real backend, captured error reports, TLS contexts.

Import the fixtures by name into a test module (`from _fixtures import loop, reports`); pytest then
finds them there. Not a conftest: that one belongs to the whole suite.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from scarletio.core.reporting import get_error_reporter, set_error_reporter
from scarletio import BackendName, EventThread

__all__ = ("BACKENDS", "LATE", "Reports", "any_loop", "assert_on_time", "loop", "reports", "run")

T = TypeVar("T")

BACKENDS: tuple[BackendName, ...] = ("epoll", "poll")
"""The real backends every scheduler test runs on."""

LATE = 5.0
"""Real seconds of lateness that fail a test: the only wall-clock bound a test may assert. A loaded
machine delays a wakeup or a process by far less; timing semantics are checked on virtual time. A test
that something happens "at once" waits for it with a timeout longer than this, or makes the slow way
take longer than this (a long grace period, a long sleep)."""



def assert_on_time(loop: EventThread, elapsed: float, due: float) -> None:
    """Assert that `elapsed` seconds of `loop`'s clock are `due` seconds.

    Exactly (to the nanosecond) on virtual time, where timing semantics are checked; on a real clock,
    only that nothing came early and nothing came more than `LATE` seconds late.
    """
    if loop.backend.name == "virtual":
        assert abs(elapsed - due) < 1e-9, f"{elapsed!r} virtual seconds, due {due!r}"
    else:
        assert due <= elapsed < due + LATE, f"{elapsed:.3f} s, due {due} s"


Reports = list[tuple[str, BaseException | None]]
"""What the error reporter received: one (message, exception) pair per report."""


def _loop_on(backend: BackendName) -> Iterator[EventThread]:
    loop = EventThread(backend)
    yield loop
    loop.stop()
    if loop.ident is not None:  # a test that never used the loop never started its thread
        loop.join(6 * LATE)
        assert not loop.is_alive(), f"{loop!r} did not end within {6 * LATE} seconds of stop()"


@pytest.fixture(params=BACKENDS)
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    """A new, not yet started loop on one backend; stopped and joined after the test."""
    yield from _loop_on(request.param)


@pytest.fixture(params=(*BACKENDS, "virtual"))
def any_loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    """A new, not yet started loop on each backend, virtual time included; stopped and joined after the test."""
    yield from _loop_on(request.param)


@pytest.fixture
def reports() -> Iterator[Reports]:
    """Capture every error report made during the test instead of logging it."""
    previous = get_error_reporter()
    captured: Reports = []
    set_error_reporter(lambda message, exception: captured.append((message, exception)))
    yield captured
    set_error_reporter(previous)


def run(loop: EventThread, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on `loop` from the test's thread, failing instead of hanging."""
    return loop.run(coroutine, timeout=6 * LATE)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for "localhost" and its key: `(cert.pem, key.pem)`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command-line tool is needed to make a test certificate (apt-get install openssl)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))
