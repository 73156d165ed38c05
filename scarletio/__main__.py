"""`python -m scarletio`: the interactive console (see `scarletio.console`).

Run `python -m scarletio --help` for the options.
"""

from __future__ import annotations

import sys

from .console import main

if __name__ == "__main__":
    sys.exit(main())
