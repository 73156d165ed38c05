"""The lifecycle states of an `EventThread`, shared by the scheduler's modules (core layer)."""

from __future__ import annotations

CREATED = 0
RUNNING = 1
STOPPING = 2
CLOSED = 3
STATE_NAMES = ("created", "running", "stopping", "stopped")
