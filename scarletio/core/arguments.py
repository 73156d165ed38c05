"""Checking what the scheduling calls are given: callbacks, delays and deadlines (core layer).

`call_soon`, `call_at`, `call_after` and `sleep` are hot paths, so they test their arguments with
the cheapest check that lets every good value through (`callable(...)`, "is the deadline a float
equal to itself", a `try` around the addition) and call in here only when that check fails. The
functions here then either accept the value after a closer look (an int deadline, a numpy float) or
raise an error that names the call, the argument, the value and the fix.

A deadline must never be NaN: NaN compares false with everything, so it breaks the order of the timer
heap and then reaches the reactor's `poll`, which raises; that used to take the loop thread down.
Infinity is fine: such a timer never comes due (`sleep(math.inf)` waits until cancelled).
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from numbers import Real
from typing import NoReturn

__all__ = ("checked_deadline", "not_a_delay", "refuse_callback")


def refuse_callback(callback: object, what: str) -> NoReturn:
    """Raise the `TypeError` for a `callback` that `callable()` refused.

    A coroutine object is closed first: it would otherwise warn that it was never awaited, on top
    of this error.

    Args:
        callback: What the caller passed as the callback.
        what: The name of the call, such as `"call_soon"`.
    """
    if isinstance(callback, (Coroutine, Generator)):
        callback.close()
        raise TypeError(
            f"{what} needs a callable, got the coroutine {callback!r}; "
            "run a coroutine as a task with loop.create_task(coroutine)"
        )
    raise TypeError(f"{what} needs a callable, got {callback!r}; pass the function and its arguments: {what}(function, *args)")


def not_a_delay(delay: object, what: str) -> TypeError:
    """Return the `TypeError` for a delay that is not a number of seconds.

    Args:
        delay: The value given.
        what: The name of the call, such as `"sleep"`.
    """
    return TypeError(f"{what} needs the delay in seconds as an int or a float, got {delay!r}")


def checked_deadline(value: object, original: object, what: str, name: str) -> float:
    """Return `value` as a float deadline, or raise: the slow path of the deadline checks.

    Called when `value` is not a plain float, or is NaN.

    Args:
        value: The deadline computed (or given).
        original: What the caller passed (the delay, or the deadline itself), for the message.
        what: The name of the call, such as `"call_at"`.
        name: The argument's name, `"delay"` or `"when"`.

    Raises:
        TypeError: If it is not a real number.
        ValueError: If it is NaN.
    """
    if not isinstance(value, (Real, float, int)):
        if name == "delay":
            raise not_a_delay(original, what)
        raise TypeError(f"{what} needs the deadline as a reading of loop.time() (an int or a float), got {original!r}")
    deadline = float(value)
    if deadline != deadline:
        if name == "delay":
            raise ValueError(
                f"{what} got a delay of {original!r}; a NaN delay never comes due, "
                "pass a number of seconds (math.inf waits until cancelled)"
            )
        raise ValueError(
            f"{what} got the deadline {original!r}; a NaN deadline never comes due, "
            "pass a reading of loop.time() (math.inf waits until cancelled)"
        )
    return deadline
