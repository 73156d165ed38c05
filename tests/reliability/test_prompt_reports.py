"""Reliability: the exception of a fire-and-forget task is reported at once, not at garbage collection.

A failed task held its exception, whose traceback held the task's step frame, which held the task: a
reference cycle, so the report waited for the garbage collector (1.5 s and an explicit
`gc.collect()` in a measured case; asyncio reports at once). The README's own echo server starts its
handler this way. The collector is switched off in these tests, so only reference counting can make
the report, as it now does, a few loop cycles after the task failed.
"""

from __future__ import annotations

import gc
import traceback
from collections.abc import Iterator

import pytest
from _fixtures import any_loop  # noqa: F401 - a fixture, used by name
from _fixtures import Reports, reports  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.suspension import skip_poll_cycle, skip_ready_cycle
from scarletio.core.tasks import Task
from scarletio.net import ReadWriteProtocolBase, Transport, create_connection_to, create_server_to


@pytest.fixture
def no_collector() -> Iterator[None]:
    """Switch the cyclic garbage collector off for the test (reference counting still frees)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


async def fail_with(message: str) -> None:
    raise ValueError(message)


async def await_and_fail(inner: Task[None]) -> None:
    await inner


def test_a_fire_and_forget_task_is_reported_within_a_few_cycles(
    any_loop: EventThread, reports: Reports, no_collector: None
) -> None:
    async def main() -> int:
        any_loop.create_task(fail_with("nobody awaits me"))
        for cycles in range(1, 20):
            await skip_poll_cycle()
            if reports:
                return cycles
        return -1

    cycles = any_loop.run(main(), timeout=10)
    assert 0 < cycles <= 3, f"not reported within 20 cycles (reports: {reports!r})"
    assert len(reports) == 1
    message, exception = reports[0]
    assert message.startswith("Task exception was never retrieved: <Task state = result~raise")
    assert "coroutine = fail_with" in message
    assert isinstance(exception, ValueError) and str(exception) == "nobody awaits me"


def test_the_traceback_of_a_failed_task_starts_at_the_users_coroutine(any_loop: EventThread) -> None:
    async def main() -> list[str]:
        task = any_loop.create_task(fail_with("boom"))
        while not task.is_done():
            await skip_ready_cycle()
        exception = task.get_exception()
        assert exception is not None
        return [frame.name for frame in traceback.extract_tb(exception.__traceback__)]

    assert any_loop.run(main(), timeout=10) == ["fail_with"]


def test_a_task_failing_through_another_is_reported_at_once_and_the_inner_one_is_quiet(
    any_loop: EventThread, reports: Reports, no_collector: None
) -> None:
    async def main() -> int:
        inner = any_loop.create_task(fail_with("deep"))
        any_loop.create_task(await_and_fail(inner))
        del inner
        for cycles in range(1, 20):
            await skip_poll_cycle()
            if reports:
                return cycles
        return -1

    assert 0 < any_loop.run(main(), timeout=10) <= 4
    assert len(reports) == 1
    assert "coroutine = await_and_fail" in reports[0][0]


def test_the_readme_echo_handler_that_fails_is_reported_while_the_server_runs(
    reports: Reports, no_collector: None
) -> None:
    for backend in ("epoll", "poll"):
        loop = EventThread(backend)
        try:

            class Handler(ReadWriteProtocolBase):
                def connection_made(self, transport: Transport, /) -> None:
                    super().connection_made(transport)
                    loop.create_task(self.serve())

                async def serve(self) -> None:
                    line = await self.read_line()
                    raise RuntimeError(f"cannot handle {line!r}")

            async def main() -> int:
                server = await create_server_to(loop, lambda: Handler(loop), "127.0.0.1", 0)
                await server.start()
                client = await create_connection_to(
                    loop, lambda: ReadWriteProtocolBase(loop), "127.0.0.1", server.sockets[0].getsockname()[1]
                )
                client.write(b"hello\n")
                cycles = 0
                while not reports and cycles < 1000:
                    await skip_poll_cycle()
                    cycles += 1
                client.close_transport()
                server.close()
                return cycles

            assert loop.run(main(), timeout=10) < 1000
        finally:
            loop.stop()
            loop.join(5)
        assert len(reports) == 1
        assert "RuntimeError(\"cannot handle b'hello\\\\n'\")" in reports[0][0]
        reports.clear()
