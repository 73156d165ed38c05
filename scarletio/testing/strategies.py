"""Hypothesis strategies for scarletio tests (testing layer; needs Hypothesis, a test dependency).

`@given(scarletio_seed=seeds())` on an `async def` test lets Hypothesis draw the seed of the virtual
loop each example runs on, so a failing schedule is shrunk, stored in Hypothesis' database and
replayed like any other failing example (see `scarletio.testing.hypothesis_support`).
"""

from __future__ import annotations

from hypothesis import strategies

__all__ = ("seeds",)

SEED_RANGE = 2**32
"""Seeds are drawn from 0 up to this, not included."""


def seeds() -> strategies.SearchStrategy[int]:
    """Return a strategy of virtual-loop seeds, shrinking towards 0."""
    return strategies.integers(min_value=0, max_value=SEED_RANGE - 1)
