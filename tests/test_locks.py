"""`Lock`, `ScarletLock` and `Event`: FIFO hand-off, cancellation, counting, waking (checklist 61-63)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scarletio import EventThread
from scarletio.core.exceptions import CancelledError
from scarletio.primitives.locks import Event, Lock, ScarletLock
from scarletio.core.suspension import skip_ready_cycle, sleep
from scarletio.primitives.task_group import TaskGroup
from scarletio.core.tasks import Task


@pytest.fixture(params=["epoll", "poll", "virtual"])
def loop(request: pytest.FixtureRequest) -> Iterator[EventThread]:
    loop = EventThread(request.param)
    yield loop
    loop.stop()
    if loop.ident is not None:  # a test that never used the loop never started its thread
        loop.join(5)


async def cycles(count: int = 3) -> None:
    for _ in range(count):
        await skip_ready_cycle()


async def hold(lock: Lock | ScarletLock, name: str, log: list[str], inside: list[int]) -> None:
    """Enter `lock`, note the entry and how many tasks are inside, stay for a few cycles, leave."""
    async with lock:
        inside.append(inside[-1] + 1 if inside else 1)
        log.append(name)
        await cycles()
        inside.append(inside[-1] - 1)


# ---- Lock ------------------------------------------------------------------------------------


def test_lock_acquire_and_release_when_uncontended(loop: EventThread) -> None:
    async def main() -> list[bool]:
        lock = Lock(loop)
        states = [lock.is_locked()]
        await lock.acquire()
        states.append(lock.is_locked())
        lock.release()
        states.append(lock.is_locked())
        async with lock:
            states.append(lock.is_locked())
        states.append(lock.is_locked())
        return states

    assert loop.run(main(), timeout=5) == [False, True, False, True, False]


def test_lock_release_while_free_raises_index_error(loop: EventThread) -> None:
    async def main() -> None:
        Lock(loop).release()

    message = r"^Lock\.release\(\) called while the lock is not held; release only after a successful acquire$"
    with pytest.raises(IndexError, match=message):
        loop.run(main(), timeout=5)


def test_lock_wakes_three_waiters_in_fifo_order(loop: EventThread) -> None:
    async def main() -> tuple[list[str], list[int]]:
        lock = Lock(loop)
        log: list[str] = []
        inside: list[int] = []
        await lock.acquire()
        tasks = [loop.create_task(hold(lock, name, log, inside)) for name in ("a", "b", "c")]
        await cycles()
        assert repr(lock) == "<Lock locked = True, waiting = 3>"
        lock.release()
        for task in tasks:
            await task
        return log, inside

    log, inside = loop.run(main(), timeout=5)
    assert log == ["a", "b", "c"]
    assert max(inside) == 1


def test_lock_release_hands_off_so_a_newcomer_cannot_barge_in(loop: EventThread) -> None:
    async def main() -> list[str]:
        lock = Lock(loop)
        log: list[str] = []
        inside: list[int] = []
        await lock.acquire()
        first = loop.create_task(hold(lock, "queued", log, inside))
        await cycles()
        lock.release()
        assert lock.is_locked()  # already handed to the queued task
        newcomer = loop.create_task(hold(lock, "newcomer", log, inside))
        await first
        await newcomer
        return log

    assert loop.run(main(), timeout=5) == ["queued", "newcomer"]


def test_lock_is_not_reentrant(loop: EventThread) -> None:
    async def main() -> bool:
        lock = Lock(loop)
        await lock.acquire()
        second = loop.create_task(lock.acquire())
        second.apply_timeout(0.02)
        with pytest.raises(TimeoutError):
            await second
        assert lock.get_waiting() == 0
        lock.release()
        return lock.is_locked()

    assert loop.run(main(), timeout=5) is False


def test_lock_cancelling_a_queued_waiter_keeps_exclusion_and_order(loop: EventThread) -> None:
    async def main() -> tuple[list[str], list[int], bool]:
        lock = Lock(loop)
        log: list[str] = []
        inside: list[int] = []
        await lock.acquire()
        tasks = {name: loop.create_task(hold(lock, name, log, inside)) for name in ("a", "b", "c", "d")}
        await cycles()
        tasks["b"].cancel()
        await cycles(1)
        lock.release()
        tasks["c"].cancel()  # cancelled while "a" holds the lock
        for task in tasks.values():
            await task.wait_for_completion()
        return log, inside, lock.is_locked()

    log, inside, locked = loop.run(main(), timeout=5)
    assert log == ["a", "d"]
    assert max(inside) == 1
    assert locked is False


def test_lock_waiter_cancelled_right_after_hand_off_passes_the_lock_on(loop: EventThread) -> None:
    async def main() -> tuple[list[str], bool, bool]:
        lock = Lock(loop)
        log: list[str] = []
        inside: list[int] = []
        await lock.acquire()
        first = loop.create_task(hold(lock, "first", log, inside))
        second = loop.create_task(hold(lock, "second", log, inside))
        await cycles()
        lock.release()  # hands the lock to `first` ...
        first.cancel()  # ... which is cancelled before it gets to run
        await first.wait_for_completion()
        await second
        return log, first.is_cancelled(), lock.is_locked()

    assert loop.run(main(), timeout=5) == (["second"], True, False)


def test_await_lock_waits_until_nobody_holds_or_waits(loop: EventThread) -> None:
    async def main() -> list[str]:
        lock = Lock(loop)
        log: list[str] = []
        inside: list[int] = []
        await lock.acquire()
        waiter = loop.create_task(hold(lock, "waiter", log, inside))

        async def watch() -> None:
            await lock
            log.append("free")

        watcher = loop.create_task(watch())
        await cycles()
        log.append("release")
        lock.release()
        await waiter
        await watcher
        assert not lock.is_locked()
        return log

    assert loop.run(main(), timeout=5) == ["release", "waiter", "free"]


def test_await_lock_returns_at_once_when_free(loop: EventThread) -> None:
    async def main() -> list[str]:
        lock = Lock(loop)
        log: list[str] = []

        async def other() -> None:
            log.append("other")

        task = loop.create_task(other())
        await lock
        log.append("self")
        await task
        return log

    assert loop.run(main(), timeout=5) == ["self", "other"]


def test_lock_repr_shows_the_state(loop: EventThread) -> None:
    async def main() -> list[str]:
        lock = Lock(loop)
        reprs = [repr(lock)]
        await lock.acquire()
        reprs.append(repr(lock))
        lock.release()
        return reprs

    assert loop.run(main(), timeout=5) == ["<Lock locked = False>", "<Lock locked = True, waiting = 0>"]


# ---- ScarletLock -----------------------------------------------------------------------------


def test_scarlet_lock_lets_exactly_two_in(loop: EventThread) -> None:
    async def main() -> tuple[list[str], list[int], list[object]]:
        lock = ScarletLock(loop, 2)
        log: list[str] = []
        inside: list[int] = []
        tasks = [loop.create_task(hold(lock, name, log, inside)) for name in ("a", "b", "c", "d", "e")]
        await cycles(1)
        state: list[object] = [lock.get_size(), lock.get_acquired(), lock.get_waiting(), lock.is_locked(), repr(lock)]
        for task in tasks:
            await task
        state.extend([lock.get_acquired(), lock.is_locked()])
        return log, inside, state

    log, inside, state = loop.run(main(), timeout=5)
    assert log == ["a", "b", "c", "d", "e"]
    assert max(inside) == 2
    assert state == [2, 2, 3, True, "<ScarletLock size = 2, locked = True, waiting = 3>", 0, False]


def test_scarlet_lock_defaults_to_size_one(loop: EventThread) -> None:
    lock = ScarletLock(loop)
    assert lock.get_size() == 1
    assert repr(lock) == "<ScarletLock size = 1, locked = False, waiting = 0>"


@pytest.mark.parametrize(
    ("size", "error", "message"),
    [
        (1.5, TypeError, r"^ScarletLock size must be an int, got float 1\.5; pass a whole number of at least 1$"),
        ("2", TypeError, r"^ScarletLock size must be an int, got str '2'; pass a whole number of at least 1$"),
        (True, TypeError, r"^ScarletLock size must be an int, got bool True; pass a whole number of at least 1$"),
        (0, ValueError, r"^ScarletLock size must be at least 1, got 0; pass a whole number of at least 1$"),
        (-3, ValueError, r"^ScarletLock size must be at least 1, got -3; pass a whole number of at least 1$"),
    ],
)
def test_scarlet_lock_rejects_a_bad_size(
    loop: EventThread, size: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ScarletLock(loop, size)  # type: ignore[arg-type]


def test_scarlet_lock_release_while_free_raises_index_error(loop: EventThread) -> None:
    with pytest.raises(IndexError, match=r"^ScarletLock\.release\(\) called while the lock is not held"):
        ScarletLock(loop, 3).release()


def test_scarlet_lock_cancelled_waiter_after_hand_off_passes_the_slot_on(loop: EventThread) -> None:
    async def main() -> tuple[list[str], int]:
        lock = ScarletLock(loop, 2)
        log: list[str] = []
        inside: list[int] = []
        await lock.acquire()
        await lock.acquire()
        first = loop.create_task(hold(lock, "first", log, inside))
        second = loop.create_task(hold(lock, "second", log, inside))
        await cycles()
        lock.release()
        first.cancel()
        await first.wait_for_completion()
        await second
        lock.release()
        return log, lock.get_acquired()

    assert loop.run(main(), timeout=5) == (["second"], 0)


# ---- Event -----------------------------------------------------------------------------------


def test_event_await_returns_at_once_when_set(loop: EventThread) -> None:
    async def main() -> list[str]:
        event = Event(loop)
        event.set()
        log: list[str] = []

        async def other() -> None:
            log.append("other")

        task = loop.create_task(other())
        await event
        await event.wait()
        log.append("self")
        await task
        return log

    assert loop.run(main(), timeout=5) == ["self", "other"]


def test_event_set_wakes_every_waiter_in_registration_order(loop: EventThread) -> None:
    async def main() -> list[str]:
        event = Event(loop)
        log: list[str] = []

        async def wait(name: str, use_method: bool) -> None:
            if use_method:
                await event.wait()
            else:
                await event
            log.append(name)

        tasks = [loop.create_task(wait(name, index % 2 == 0)) for index, name in enumerate("abcd")]
        await cycles()
        assert log == []
        assert repr(event) == "<Event set = False, waiting = 4>"
        event.set()
        for task in tasks:
            await task
        return log

    assert loop.run(main(), timeout=5) == ["a", "b", "c", "d"]


def test_event_clear_makes_waiters_wait_again(loop: EventThread) -> None:
    async def main() -> list[object]:
        event = Event(loop)
        event.set()
        event.clear()
        waiter = loop.create_task(event.wait())
        await cycles()
        state: list[object] = [event.is_set(), waiter.is_done()]
        event.set()
        await waiter
        state.append(event.is_set())
        return state

    assert loop.run(main(), timeout=5) == [False, False, True]


def test_event_prunes_cancelled_waiters(loop: EventThread) -> None:
    async def main() -> int:
        event = Event(loop)
        tasks: list[Task[None]] = [loop.create_task(event.wait()) for _ in range(100)]
        await cycles()
        for task in tasks:
            task.cancel()
        for task in tasks:
            await task.wait_for_completion()
        assert all(task.is_cancelled() for task in tasks)
        return len(event._waiters)

    assert loop.run(main(), timeout=5) == 0
