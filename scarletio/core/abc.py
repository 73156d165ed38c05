"""The contracts: between the scheduler and its backends, and the event loop's interface.

The bottom of the core layer: at run time it imports nothing from scarletio. Backends implement
`Reactor`, `Clock` and `Executor` (subclassing them explicitly so the type checker reports a missing
method at the class line) and are bundled into a `Backend` value. Futures, tasks and the networking and
process packages see the event loop only through the `EventLoop` protocol, which the public
`scarletio.EventThread` satisfies; they never import the class.

Units: time is in seconds as `float`; deadlines are absolute readings of the loop's clock.
"""

from __future__ import annotations

import concurrent.futures
import enum
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, Union, runtime_checkable

from typing_extensions import TypeAlias, TypeVarTuple, Unpack

if TYPE_CHECKING:
    from .futures import Future
    from .handles import Handle, TimerEntry, TimerHandle
    from .tasks import Task

__all__ = (
    "AsyncGeneratorRouter",
    "Backend",
    "Clock",
    "EventLoop",
    "EventMask",
    "Executor",
    "FileLike",
    "HasFileno",
    "Reactor",
    "Runnable",
    "VirtualDescriptors",
    "VirtualTime",
)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class EventMask(enum.IntFlag):
    """Readiness of a file descriptor.

    Errors and hang-ups are reported as both `READ` and `WRITE`, so whichever side is waiting wakes
    up and sees the error from its own system call.
    """

    READ = 1
    WRITE = 2


class Reactor(Protocol):
    """Waits for file descriptors to become ready; the I/O half of a backend.

    A reactor is used from the loop thread only, except `wakeup`, which any thread may call.
    """

    def register(self, fd: int, events: EventMask) -> None:
        """Start watching a file descriptor.

        Args:
            fd: The file descriptor.
            events: What to wait for; never empty.

        Raises:
            ValueError: If `fd` is already registered.
        """
        ...

    def modify(self, fd: int, events: EventMask) -> None:
        """Change what a registered file descriptor is watched for.

        This also re-arms a descriptor whose number was closed and reused by a new file since it was
        registered, so the new file is watched (the kernel may have forgotten the old one).

        Args:
            fd: A registered file descriptor.
            events: What to wait for now; never empty.

        Raises:
            KeyError: If `fd` is not registered.
        """
        ...

    def unregister(self, fd: int) -> None:
        """Stop watching a file descriptor.

        Harmless when the descriptor was already closed.

        Args:
            fd: A registered file descriptor.

        Raises:
            KeyError: If `fd` is not registered.
        """
        ...

    def poll(self, timeout: float | None) -> list[tuple[int, EventMask]]:
        """Wait until a registered descriptor is ready, `wakeup` is called, or the timeout passes.

        An interrupted system call is retried with the remaining time.

        Args:
            timeout: Seconds to wait at most; `None` waits until something happens, `0` does not block.

        Returns:
            The ready descriptors with what they are ready for; empty after a timeout or a wakeup.
        """
        ...

    def wakeup(self) -> None:
        """Make a blocked or upcoming `poll` return at once; safe to call from any thread."""
        ...

    def close(self) -> None:
        """Release the reactor's own descriptors; idempotent."""
        ...


class Clock(Protocol):
    """The loop's source of time."""

    @property
    def resolution(self) -> float:
        """The smallest difference between two readings, in seconds."""
        ...

    def now(self) -> float:
        """Return the current reading in seconds; never smaller than an earlier reading."""
        ...


@runtime_checkable
class VirtualTime(Clock, Protocol):
    """A clock the scheduler moves itself: the virtual-time backend's.

    The scheduler checks for this protocol once, when the loop is built. With it, the loop jumps the
    clock to the next deadline whenever it is idle and some thread waits on it, instead of waiting,
    and takes every choice that is not fixed from one random generator seeded with `seed`.

    Attributes:
        seed: The seed of the loop's random generator.
        perturb: Whether to explore what a real loop leaves open: wakeups late by up to `lateness`
            (and, in the backend, the order of descriptors ready at once).
        lateness: The most seconds a wakeup may be late with `perturb` on.
        tracing: Whether the loop records a trace of its decisions.
        livelock_steps: Steps the loop may run at one virtual instant before it may report a
            livelock ...
        livelock_seconds: ... once it also spent this many seconds of real time working there.
        time_limit: The virtual time the clock may not pass (a jump beyond it fails the waiters with
            `TimeLimitError`), or `None` for no limit; may be changed at any time.
    """

    seed: int
    perturb: bool
    lateness: float
    tracing: bool
    livelock_steps: int
    livelock_seconds: float
    time_limit: float | None

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (not negative)."""
        ...

    def jump_to(self, deadline: float) -> None:
        """Move the clock to `deadline` (to within half its resolution) unless it is already later."""
        ...


@runtime_checkable
class VirtualDescriptors(Reactor, Protocol):
    """A reactor that also holds in-memory descriptors: the virtual backend's.

    The scheduler checks for this protocol once, when a virtual-time loop is built, to learn how its
    descriptors may hold virtual time back: in-memory ones never do, real ones do.
    """

    def watched(self) -> int:
        """Return how many real descriptors are registered."""
        ...

    def has_virtual_events(self) -> bool:
        """Return whether an in-memory descriptor is ready now (so the loop must not wait)."""
        ...


class Executor(Protocol):
    """Runs blocking functions off the loop thread."""

    @property
    def in_flight(self) -> int:
        """How many submitted jobs have not finished yet (virtual time stands still while this is > 0)."""
        ...

    def on_job_finished(self, callback: Callable[[], object]) -> None:
        """Call `callback()` each time a job stops counting in `in_flight`, right after it did.

        The callback runs on whichever thread finished the job, so it must be thread-safe. A virtual
        time loop sets it to its reactor's `wakeup`: a loop that found a job in flight and went to wait
        for it is then always woken to see it gone, so the count and the wakeup are one step as the
        loop sees them.

        Args:
            callback: A thread-safe function; replaces an earlier one.
        """
        ...

    def submit(self, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> concurrent.futures.Future[T]:
        """Run `function(*args)` on a worker thread.

        Args:
            function: The blocking function.
            *args: Its positional arguments.

        Returns:
            A future resolved with the function's result or exception.

        Raises:
            RuntimeError: If the executor was shut down.
        """
        ...

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new jobs, cancel queued ones and stop the workers; idempotent.

        Args:
            wait: Whether to wait for running jobs to finish.
        """
        ...


@dataclass(frozen=True)
class Backend:
    """A named set of factories that builds one loop's reactor, clock and executor.

    Attributes:
        name: The name the registry knows the backend by.
        reactor_factory: Builds a fresh reactor.
        clock_factory: Builds a fresh clock.
        executor_factory: Builds a fresh executor.
    """

    name: str
    reactor_factory: Callable[[], Reactor]
    clock_factory: Callable[[], Clock]
    executor_factory: Callable[[], Executor]


class Runnable(Protocol):
    """An item of the ready queue: run once by the loop thread."""

    def _run(self) -> None:
        ...


class AsyncGeneratorRouter(Protocol):
    """Another face of a loop that closes the asynchronous generators of its own world (`scarletio.aio`).

    Set with `route_async_generators`; both methods may be called from any thread, the way the garbage
    collector finalises a generator.
    """

    def first_iterated(self, generator: AsyncGenerator[Any, Any], /) -> None:
        """Note a generator first iterated on the loop thread (the loop's `firstiter` hook)."""
        ...

    def finalize(self, generator: AsyncGenerator[Any, Any], /) -> bool:
        """Close a generator being finalised, if it is of this world; return whether it took it."""
        ...


class HasFileno(Protocol):
    """An object backed by a file descriptor: a socket, a file, a pipe."""

    def fileno(self) -> int:
        """Return the file descriptor."""
        ...


FileLike: TypeAlias = Union[int, HasFileno]
"""What the descriptor-watching calls accept: a descriptor number or an object with `fileno()`."""


class EventLoop(Protocol):
    """The interface of the event loop, as futures, tasks and every layer above the core use it.

    `scarletio.EventThread` satisfies it; the layers below `EventThread` (futures, tasks, the
    networking and process packages) name the loop by this protocol, so they need not import the
    class that is assembled on top of them. Every method behaves as documented on `EventThread`.

    `_ready`, `_loop_thread_id` and `_tasks` are exposed so the hot path (resolving a future, re-queueing
    a task, finishing a task) works without a method call; everything else goes through methods.
    """

    _ready: deque[Runnable]
    _loop_thread_id: int
    _tasks: dict[Task[Any], None]  # an ordered set: pending tasks in creation order
    _timer_cancelled_count: int  # dead timer-heap entries, counted by the timers themselves
    _readers: dict[int, Handle]  # the watched descriptors, by direction
    _writers: dict[int, Handle]
    current_task: Task[object] | None
    backend: Backend

    def time(self) -> float:
        """Return the loop clock's current reading in seconds."""
        ...

    def call_soon(self, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """Run `callback(*args)` on the loop thread in the next ready cycle; works from any thread."""
        ...

    def call_soon_thread_safe(self, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """The same as `call_soon` (which already works from any thread)."""
        ...

    def call_at(self, when: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> TimerHandle:
        """Run `callback(*args)` on the loop thread once the clock reaches `when`."""
        ...

    def call_after(self, delay: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> TimerHandle:
        """Run `callback(*args)` on the loop thread after `delay` seconds."""
        ...

    def _add_timer(self, entry: TimerEntry) -> None:
        """Put a timer entry (a future that is its own timer) into the heap; from any thread."""
        ...

    def create_task(self, coroutine: Coroutine[Any, Any, T]) -> Task[T]:
        """Schedule `coroutine` as a task of this loop; works from any thread."""
        ...

    def ensure_future(self, awaitable: Awaitable[T]) -> Future[T]:
        """Return a future of this loop for `awaitable` (a task for anything that is not one)."""
        ...

    def _queue_foreign_task(self, task: Task[Any], coroutine: Coroutine[Any, Any, object], what: str) -> None:
        """Queue a new task from a thread that is not the loop's, starting or waking the loop."""
        ...

    def run_in_executor(self, function: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]) -> Future[T]:
        """Run a blocking `function(*args)` on an executor thread; call it on the loop thread."""
        ...

    def add_reader(self, file: FileLike, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """Call `callback(*args)` whenever `file` is readable; on the loop thread."""
        ...

    def add_writer(self, file: FileLike, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> Handle:
        """Call `callback(*args)` whenever `file` is writable; on the loop thread."""
        ...

    def remove_reader(self, file: FileLike) -> bool:
        """Stop watching `file` for reading; return whether a reader was registered."""
        ...

    def remove_writer(self, file: FileLike) -> bool:
        """Stop watching `file` for writing; return whether a writer was registered."""
        ...

    def add_close_callback(self, callback: Callable[[], object]) -> None:
        """Call `callback()` once the loop has stopped, before its reactor closes."""
        ...

    def wake_up(self) -> None:
        """Make the loop look at its ready queue soon; safe from any thread."""
        ...

    def is_started(self) -> bool:
        """Return whether the loop thread was started (it may have stopped since)."""
        ...

    def is_running(self) -> bool:
        """Return whether the loop runs and accepts new work."""
        ...

    def is_closed(self) -> bool:
        """Return whether the loop has stopped and no longer runs anything."""
        ...

    def stop(self) -> None:
        """Stop the loop; thread-safe and idempotent."""
        ...


class Cancellable(Protocol):
    """A scheduled callback that can be withdrawn."""

    def cancel(self) -> None:
        """Withdraw the callback if it has not run yet."""
        ...
