"""Check how complete the installed wheel's types are, as pyright's `--verifytypes` measures it.

Usage: `python .ci/verify_types.py BASEDPYRIGHT WHEEL_PYTHON MINIMUM_PERCENT`

Runs `basedpyright --verifytypes scarletio --ignoreexternal` for Linux and for Darwin against the
interpreter `WHEEL_PYTHON` (a virtualenv with the wheel installed, not the editable checkout), from an
empty folder with a configuration of its own (so no configuration further up applies), prints each
score, and exits non-zero when one is below `MINIMUM_PERCENT` or the package was not found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def score(basedpyright: str, python: Path, platform: str, folder: Path) -> tuple[float, int]:
    """Return the completeness score in percent and the number of exported symbols."""
    environment = dict(os.environ, PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    environment.pop("VIRTUAL_ENV", None)
    completed = subprocess.run(
        [basedpyright, "--verifytypes", "scarletio", "--ignoreexternal", "--pythonplatform", platform, "--outputjson"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(completed.stdout)
    completeness = report["typeCompleteness"]
    if not completeness.get("pyTypedPath"):
        raise SystemExit(f"verifytypes ({platform}): the installed scarletio was not found: {completed.stdout[:2000]}")
    return 100.0 * completeness["completenessScore"], completeness["exportedSymbolCounts"]["withKnownType"]


def main() -> int:
    # Absolute, not resolved: the virtualenv's python is a symbolic link to the base interpreter.
    basedpyright, python, minimum = os.path.abspath(sys.argv[1]), Path(os.path.abspath(sys.argv[2])), float(sys.argv[3])
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "pyrightconfig.json").write_text("{}")
        for platform in ("Linux", "Darwin"):
            percent, known = score(basedpyright, python, platform, Path(folder))
            verdict = "ok" if percent >= minimum else f"below {minimum} %"
            print(f"verifytypes scarletio ({platform}): {percent:.1f} % complete, {known} symbols of known type: {verdict}")
            failed = failed or percent < minimum
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
