"""Type tests for the core API: checked by mypy and by pyright (strict), never run (the file name keeps
pytest away).

Wrong calls carry mypy's `# type: ignore[code]` and pyright's `# pyright: ignore[rule]`; each checker
fails on an ignore it does not need (mypy's `warn_unused_ignores`, part of strict; pyright's
`reportUnnecessaryTypeIgnoreComment`), so a misuse that starts to type-check fails the build.
"""

from __future__ import annotations

from typing_extensions import assert_type

import scarletio
from scarletio import EventThread, Future, Handle, Task, TimerHandle, get_backend


async def number() -> int:
    return 1


async def text(value: str) -> str:
    return value


def callback(first: int, second: str) -> None:
    pass


async def uses_the_loop(loop: EventThread) -> None:
    task = loop.create_task(number())
    assert_type(task, Task[int])
    assert_type(await task, int)
    assert_type(await loop.create_task(text("a")), str)
    assert_type(scarletio.sleep(1), Future[None])
    assert_type(await scarletio.sleep(1), None)
    await scarletio.skip_ready_cycle()
    assert_type(scarletio.skip_poll_cycle(), Future[None])
    assert_type(task.get_result(), int)
    assert_type(task.get_exception(), BaseException | None)
    assert_type(task.cancel(), int)
    assert_type(task.apply_timeout(1.0), int)
    assert_type(scarletio.shield(number(), loop), Future[int])
    assert_type(loop.ensure_future(number()), Future[int])
    assert_type(loop.time(), float)
    assert_type(loop.run_in_executor(sum, [1, 2]), Future[int])

    future: Future[str] = loop.create_future()
    assert_type(future, Future[str])
    future.set_result("done")
    future.set_result(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(Future[int](loop), Future[int])
    unannotated = loop.create_future()  # type: ignore[var-annotated]  # pyright: ignore[reportUnknownVariableType]
    del unannotated  # (used, for the unused-variable checks)

    assert_type(loop.call_soon(callback, 1, "a"), Handle)
    assert_type(loop.call_after(1.0, callback, 1, "a"), TimerHandle)
    assert_type(loop.call_at(loop.time(), callback, 1, "a"), TimerHandle)
    loop.call_soon(callback, "a", 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    loop.call_after(1.0, callback, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    with scarletio.repeat_timeout(5) as rounds:
        for _ in rounds:
            await scarletio.sleep(1)


def from_another_thread(loop: EventThread) -> None:
    assert_type(loop.run(number()), int)
    assert_type(loop.run(text("a"), timeout=1.0), str)
    assert_type(scarletio.run(number()), int)
    assert_type(loop.create_task_thread_safe(number()), Task[int])
    loop.create_task(number)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(scarletio.get_event_loop(), EventThread)
    assert_type(scarletio.get_or_create_event_loop(), EventThread)
    assert_type(scarletio.create_event_loop(backend="poll"), EventThread)
    assert_type(scarletio.get_current_task(loop), Task[object] | None)
    assert_type(loop.get_tasks(), list[Task[object]])
    assert_type(loop.current_task, Task[object] | None)


def names_backends(backend: scarletio.Backend) -> None:
    assert_type(EventThread(backend="virtual"), EventThread)
    assert_type(EventThread(backend), EventThread)
    assert_type(get_backend("epoll"), scarletio.Backend)
    assert_type(scarletio.available_backends(), tuple[scarletio.BackendName, ...])
    EventThread(backend="epol")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    get_backend("virtuall")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    scarletio.create_event_loop(backend="kqueue")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    scarletio.run(number(), backend="pol")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def the_public_loop_is_what_users_see(loop: EventThread, group: scarletio.TaskGroup[int]) -> scarletio.EventLoop:
    with loop.enter() as entered:
        assert_type(entered, EventThread)
    assert_type(group.loop, EventThread)
    assert_type(scarletio.get_event_loop(), EventThread)
    loop.add_reader("not a file", callback, 1, "a")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    loop.remove_writer(3.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(loop.add_writer(0, callback, 1, "a"), Handle)
    assert_type(loop.remove_reader(open("/dev/null")), bool)
    return loop  # the public class satisfies the protocol the lower layers name
