"""The exceptions scarletio raises; part of the core layer, imported by everything above it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .futures import Future

__all__ = ("CancelledError", "DeadlockError", "InvalidStateError", "LivelockError", "TimeLimitError")


class CancelledError(BaseException):
    """Raised inside a task at its next suspension point when the task is cancelled.

    It derives from `BaseException` so that `except Exception` blocks do not swallow a cancellation.
    It is scarletio's own class, distinct from `asyncio.CancelledError`.
    """


class InvalidStateError(Exception):
    """An operation was attempted on a future in a state that does not allow it.

    Attributes:
        future: The future the operation was attempted on.
        location: The name of the method that refused, like `"get_result"`.
    """

    __slots__ = ("_message", "future", "location")

    def __init__(self, future: Future[Any], location: str, message: str | None = None) -> None:
        """Describe a refused operation.

        Args:
            future: The future the operation was attempted on.
            location: The name of the method that refused.
            message: A custom message; by default one is built from the future's state.
        """
        self.future: Future[object] = future
        self.location: str = location
        self._message = message
        Exception.__init__(self, future, location, message)

    @property
    def message(self) -> str:
        """The human-readable explanation, built on first access."""
        message = self._message
        if message is None:
            state = self.future.get_state_name()
            message = f"`{type(self.future).__name__}.{self.location}` is not allowed while the future is {state}: {self.future!r}"
            self._message = message
        return message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, InvalidStateError)
        return (
            self.future is other.future
            and self.location == other.location
            and self._message == other._message
        )

    def __hash__(self) -> int:
        return hash((id(self.future), self.location, self._message))


class DeadlockError(RuntimeError):
    """On virtual time, nothing can ever happen again while something waits for the loop.

    No task is ready, no timer is armed, and nothing outside the loop (an executor job, a watched
    file descriptor, another thread's call) can wake it. The message lists every pending task with
    the stack it waits at.
    """


class LivelockError(DeadlockError):
    """On virtual time, the loop kept working at one instant for too long, so the clock never moved on.

    Typically a task spins on `sleep(0)` / `skip_ready_cycle()` waiting for something that never
    comes, or a callback re-arms itself with no delay forever. The message names the busiest tasks
    and callbacks with the lines they run at.
    """


class TimeLimitError(RuntimeError):
    """On virtual time, the loop was about to pass its virtual-time limit.

    A test that never ends on its own (a heartbeat keeps time moving while the awaited event never
    comes) fails with this instead of running until a real-time timeout. The message lists every
    pending task with the stack it waits at, like `DeadlockError`'s.
    """
