"""Print one closing line, `CI: N passed, N failed`, for the pytest runs whose logs are given.

Usage: `python .ci/sum_results.py CI_LOG LOG...`: the first pytest summary line of `CI_LOG` (the whole
CI output, where the other runs' summaries are echoed later) and the last of each other `LOG` count; a
log without one counts as one failure (that run ended before pytest could report).
"""

from __future__ import annotations

import re
import sys

SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed)\b.*) in [0-9.]+s")


def main() -> int:
    passed = failed = 0
    for index, path in enumerate(sys.argv[1:]):
        with open(path, errors="replace") as log:
            summaries = [match.group(1) for match in map(SUMMARY.match, log) if match is not None]
        if not summaries:
            failed += 1
            continue
        for count, kind in re.findall(r"(\d+) (passed|failed|errors?)", summaries[0 if index == 0 else -1]):
            if kind == "passed":
                passed += int(count)
            else:
                failed += int(count)
    print(f"CI: {passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
