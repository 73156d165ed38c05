"""The monotonic clock of the real backends."""

from __future__ import annotations

import time

from scarletio.backends._clock import MonotonicClock


def test_readings_never_decrease() -> None:
    clock = MonotonicClock()
    previous = clock.now()
    for _ in range(10000):
        reading = clock.now()
        assert reading >= previous
        previous = reading


def test_readings_follow_time_monotonic() -> None:
    clock = MonotonicClock()
    before = time.monotonic()
    reading = clock.now()
    after = time.monotonic()
    assert before <= reading <= after


def test_resolution_is_positive_and_small() -> None:
    assert 0 < MonotonicClock().resolution < 0.1
