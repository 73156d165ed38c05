"""The examples of the README section "asyncio libraries on scarletio": in the text verbatim, and they pass.

`examples/test_aiohttp_virtual.py` is a test module (an aiohttp server and client on the virtual
network, in the plugin's asyncio mode), run with pytest as the section says, also under exploration
and the determinism check; `examples/aiohttp_epoll.py` is a program, run on epoll.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scarletio.backends import available_backends

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SECTION = ROOT / "docs_aio_section.md"
"""The section, until it is pasted into README.md (then README.md holds the examples)."""


def documentation() -> str:
    text = (ROOT / "README.md").read_text()
    return text + SECTION.read_text() if SECTION.exists() else text


def run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def counts(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    last = result.stdout.strip().splitlines()[-1]
    return {word: int(number) for number, word in re.findall(r"(\d+) (passed|failed|skipped|error)", last)}


@pytest.mark.parametrize("name", ["test_aiohttp_virtual.py", "aiohttp_epoll.py"])
def test_the_example_is_in_the_section_verbatim(name: str) -> None:
    assert f"```py3\n{(EXAMPLES / name).read_text()}```" in documentation()


def test_the_aiohttp_virtual_network_example_passes_explored_and_deterministic(tmp_path: Path) -> None:
    example = str(EXAMPLES / "test_aiohttp_virtual.py")
    plain = run("-m", "pytest", "-q", "-p", "no:cacheprovider", example, cwd=tmp_path)
    assert counts(plain) == {"passed": 1}, plain.stdout + plain.stderr
    explored = run("-m", "pytest", "-q", "-p", "no:cacheprovider", example, "--scarletio-explore", "5", cwd=tmp_path)
    assert counts(explored) == {"passed": 5}, explored.stdout
    checked = run("-m", "pytest", "-q", "-p", "no:cacheprovider", example, "--scarletio-check-determinism", cwd=tmp_path)
    assert counts(checked) == {"passed": 1}, checked.stdout


@pytest.mark.skipif("epoll" not in available_backends(), reason="epoll is Linux only")
def test_the_aiohttp_epoll_example_serves_and_fetches(tmp_path: Path) -> None:
    done = run(str(EXAMPLES / "aiohttp_epoll.py"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["{'hello': 'epoll'}", "scarletio.aio.event_loop epoll"]
