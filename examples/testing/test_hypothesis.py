"""Hypothesis on an async test: each example on a fresh loop, its seed drawn (and shrunk) by Hypothesis."""

from hypothesis import given, strategies as st

from scarletio import get_event_loop, sleep
from scarletio.testing.strategies import seeds


@given(delays=st.lists(st.floats(min_value=0.0, max_value=3600.0), max_size=8), scarletio_seed=seeds())
async def test_sleepers_wake_in_the_order_of_their_deadlines(delays, scarletio_seed):
    loop = get_event_loop()
    woke = []

    async def sleeper(index, delay):
        await sleep(delay)
        woke.append(index)

    tasks = [loop.create_task(sleeper(index, delay)) for index, delay in enumerate(delays)]
    for task in tasks:
        await task
    assert woke == sorted(range(len(delays)), key=lambda index: delays[index])  # ties: in creation order
