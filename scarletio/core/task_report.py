"""What a `DeadlockError` (and every other report about stuck tasks) says about the pending tasks.

Core layer, used by the virtual-time driver and the testing helpers. A report leads with a summary,
one line per pending task: its id and coroutine, where it was created, and what it waits for (a
task, a lock and the task holding it, an event that is not set, a queue, a sleep, a plain future),
naming the variable that holds the primitive where one does. The await stacks follow, with
scarletio's own frames left out, each frame with its source line.

Tasks of a virtual-time loop carry an id and their creation site (`Task._origin`, filled by the
loop when it creates the task); tasks of other loops are named by their coroutine only. The
primitives are recognised without importing them (they live in a higher layer): by the `self` of the
innermost frame of the await chain that belongs to a scarletio class outside the core.
"""

from __future__ import annotations

import linecache
import os
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any, cast

from .tasks import Task

__all__ = (
    "PACKAGE_DIRECTORY",
    "describe_tasks",
    "describe_wait",
    "format_frames",
    "is_library_frame",
    "place_origin",
    "task_label",
    "task_origin",
)

PACKAGE_DIRECTORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""The directory of the scarletio package: frames of files below it are library frames."""


def is_library_frame(frame: FrameType) -> bool:
    """Return whether `frame` runs scarletio's own code."""
    return frame.f_code.co_filename.startswith(PACKAGE_DIRECTORY)


def task_label(task: Task[Any]) -> str:
    """Return `task #3 transfer`: the task's id on its loop and its coroutine (no id on real loops)."""
    origin = getattr(task, "_origin", None)
    if origin is None:
        return f"task {task.qualname}"
    return f"task #{origin[0]} {task.qualname}"


def _line_of(code: CodeType, offset: int) -> int:
    """Return the source line of the instruction at byte `offset` of `code` (-1: its first line)."""
    if offset >= 0:
        for start, end, line in code.co_lines():
            if start <= offset < end and line is not None:
                return line
    return code.co_firstlineno


def task_origin(task: Task[Any]) -> str:
    """Return where the task was created (`created at test_bank.py:30 in test_transfer`), or `""`."""
    origin = getattr(task, "_origin", None)
    if origin is None or origin[1] is None:
        return ""
    code = origin[1]
    return f"created at {os.path.basename(code.co_filename)}:{_line_of(code, origin[2])} in {code.co_name}"


def place_origin(task: Task[Any], function: Callable[..., object]) -> None:
    """Say that a task of a virtual-time loop was created where `function` is defined.

    For tasks a harness creates on behalf of a function (a test, a fixture): the frame that created
    them belongs to the harness, the function is what the reader knows.
    """
    origin = getattr(task, "_origin", None)
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if origin is not None and code is not None:
        task._origin = (origin[0], code, -1)


def _name_in(frames: Iterable[FrameType], target: object) -> str:
    """Return the name a frame of `frames` (innermost first) binds `target` to: `lock` or `self.lock`."""
    for frame in frames:
        try:
            variables = dict(frame.f_locals)
        except Exception:  # a proxy that cannot be read: no name
            continue
        for name, value in variables.items():
            if value is target:
                return name
        for name, value in variables.items():
            attributes: object = getattr(value, "__dict__", None)
            if isinstance(attributes, dict):
                fields: dict[str, object] = attributes  # pyright: ignore[reportUnknownVariableType]
                for attribute, inner in fields.items():
                    if inner is target:
                        return f"{name}.{attribute}"
    return ""


def _primitive_of(frames: list[FrameType]) -> object | None:
    """Return the scarletio primitive (lock, event, queue, ...) the innermost frames belong to."""
    for frame in reversed(frames):
        if not is_library_frame(frame):
            return None
        owner: object = frame.f_locals.get("self")
        module = type(owner).__module__
        if owner is not None and module.startswith("scarletio.") and not module.startswith("scarletio.core."):
            return owner
    return None


def _holders(primitive: object, labels: dict[Task[Any], str]) -> str:
    """Say who holds a lock: its last taker, for a lock one task holds at a time."""
    if getattr(primitive, "_size", None) != 1 or not hasattr(primitive, "_owner"):
        return ""
    if not getattr(primitive, "_holders", 0):
        return ", which nobody holds"
    owner: object = getattr(primitive, "_owner", None)
    if isinstance(owner, Task):
        owner = cast("Task[object]", owner)
        return f", held by {labels.get(owner, 'a finished task')}"
    return ""


def describe_wait(task: Task[Any], labels: dict[Task[Any], str], now: float) -> str:
    """Return what `task` waits for, as the end of a sentence: `waits for Lock 'a.lock', held by ...`."""
    if task._loop.current_task is task:
        return "is running"
    waited = task.get_waited_future()
    frames = task.get_stack()
    user_frames = [frame for frame in reversed(frames) if not is_library_frame(frame)]
    if waited is None:
        return "is ready to run"
    if isinstance(waited, Task):
        return f"waits for {labels.get(waited, task_label(waited))}"
    primitive = _primitive_of(frames)
    if primitive is not None:
        kind = type(primitive).__name__
        name = _name_in(user_frames, primitive)
        named = f"{kind} {name!r}" if name else repr(primitive)
        text = f"waits for {named}"
        if getattr(primitive, "_is_set", None) is False:
            text += ", which is not set"
        return text + _holders(primitive, labels)
    when = getattr(waited, "when", None)
    if isinstance(when, float):
        return f"sleeps until virtual time {when:.9f} ({when - now:+.9f}s)"
    name = _name_in(user_frames, waited)
    return f"waits for {type(waited).__name__} {name!r}" if name else f"waits for {waited!r}"


def format_frames(task: Task[Any]) -> list[str]:
    """Return the task's await stack as traceback lines, scarletio's own frames left out."""
    frames = task.get_stack()
    shown = [frame for frame in frames if not is_library_frame(frame)] or frames[-1:]
    lines: list[str] = []
    for frame in shown:
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
        source = linecache.getline(code.co_filename, frame.f_lineno).strip()
        if source:
            lines.append(f"    {source}")
    hidden = len(frames) - len(shown)
    if hidden:
        lines.append(f"  ({hidden} scarletio frame{'s' if hidden != 1 else ''} hidden)")
    return lines


def describe_tasks(tasks: Iterable[Task[Any]], headline: str, now: float, *, extra: Iterable[str] = ()) -> str:
    """Return a report: `headline`, one summary line per task, any `extra` lines, then the stacks.

    Args:
        tasks: The pending tasks, in creation order.
        headline: The first line, saying what happened.
        now: The loop's time, for sleeps.
        extra: Lines to put between the summary and the stacks.
    """
    pending = list(tasks)
    labels = {task: task_label(task) for task in pending}
    lines = [headline]
    if not pending:
        lines.append("(no task is pending)")
    else:
        lines.append(f"{len(pending)} pending task{'s' if len(pending) != 1 else ''}:")
        for task in pending:
            origin = task_origin(task)
            where = f" ({origin})" if origin else ""
            lines.append(f"  {labels[task]}{where} {describe_wait(task, labels, now)}")
    lines.extend(extra)
    for task in pending:
        lines.append("")
        lines.append(f"{labels[task]}:")
        lines.extend(format_frames(task) or ["  (no stack: the task has not started yet)"])
    return "\n".join(lines)

