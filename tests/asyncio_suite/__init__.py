"""CPython's own asyncio test suite, run against `scarletio.aio` (see `runner.py`)."""
