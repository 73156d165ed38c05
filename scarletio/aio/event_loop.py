"""`EventLoop`: an `asyncio.AbstractEventLoop` whose scheduler, clock and I/O are one `EventThread` (aio layer).

The class is `asyncio.SelectorEventLoop` (so asyncio's transports, TLS, streams, servers and
subprocess code run unchanged on the real backends) with its scheduling, time and I/O replaced:

- `call_soon` / `call_at` build asyncio's own `Handle` / `TimerHandle` objects and queue them on the
  `EventThread` (`thread.enqueue`, `thread.call_at`); `time()` is the thread's clock, so on the
  virtual backend asyncio code runs on exact virtual time.
- The reader and writer methods watch descriptors with the thread's reactor; there is no self-pipe
  and no selector of its own (the `selector` asyncio keeps is an empty `SelectSelector`, never polled).
- `run_in_executor(None, ...)` runs on the thread's executor, so virtual time holds still during jobs.
- A loop made by `new_event_loop()` owns its thread and is *driven*: the thread runs only inside
  `run_forever` / `run_until_complete` of the thread that calls them, and is parked between two
  calls (`LoopDriver`), as asyncio's loops are; the driving thread may then touch asyncio objects.
  The loop of an existing thread (`get_asyncio_loop(thread)`) runs whenever its thread does.
- On its thread `asyncio.get_running_loop()` returns this loop, inside scarletio tasks too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import signal
import threading
from _thread import get_ident
from asyncio import events
from collections.abc import Awaitable, Callable, Generator
from contextvars import Context, copy_context
from typing import Any, TypeVar, cast

from typing_extensions import TypeVarTuple, Unpack

from ..core.driving import LoopDriver
from ..core.futures import Future
from ..core.handles import TimerHandle as CoreTimerHandle
from ..loop.event_thread import EventThread
from ..net._flow import settle_allocator
from .generators import AsyncioGenerators
from .virtual_network import VirtualNetworking

__all__ = ("EventLoop",)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_FileDescriptorLike = int | Any


def _run_handle(self: asyncio.Handle) -> None:
    """Run an asyncio handle's callback in its context, as asyncio's `Handle._run` does, unless cancelled.

    A cancelled handle is skipped here, since the thread's ready queue holds it until its turn (asyncio's
    loop drops it itself). An exception the callback raises goes to the loop's exception handler.
    """
    if not self._cancelled:
        try:
            self._context.run(self._callback, *self._args)  # type: ignore[attr-defined]  # typeshed leaves them out
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as error:
            _report_callback_error(self, error)
    # A failed task's traceback reaches this frame (through its coroutine's frame), and from 3.12 on a
    # frame outliving its call keeps its locals: without this, the handle (and so the task) would be
    # kept alive in a cycle, and asyncio's "exception was never retrieved" report would wait for the gc.
    del self


def _report_callback_error(handle: asyncio.Handle, error: BaseException) -> None:
    """Pass the exception of a handle's callback to its loop's exception handler, as asyncio words it."""
    # typeshed leaves these attributes of asyncio's handles out
    info: list[str] = getattr(asyncio.Handle, "_repr_info")(handle)
    source = info[1] if len(info) > 1 else repr(handle)
    context: dict[str, object] = {"message": f"Exception in callback {source}", "exception": error, "handle": handle}
    source_traceback: object = getattr(handle, "_source_traceback", None)
    if source_traceback:
        context["source_traceback"] = source_traceback
    loop: asyncio.AbstractEventLoop = getattr(handle, "_loop")
    loop.call_exception_handler(context)


class _ReadyHandle(asyncio.Handle):
    """asyncio's `Handle`, skipped by the ready queue once cancelled (asyncio's loop skips it itself)."""

    __slots__ = ()

    _run = _run_handle


_new_ready_handle: Callable[[type[_ReadyHandle]], Any] = object.__new__
"""Allocates a `_ReadyHandle` without running its `__init__` (see `EventLoop.call_soon`)."""


class _TimerHandle(asyncio.TimerHandle):
    """asyncio's `TimerHandle`, with the entry of the thread's timer heap it runs from."""

    __slots__ = ("_entry",)

    _entry: CoreTimerHandle | None

    _run = _run_handle


def _check_callable(callback: object, what: str) -> None:
    if not callable(callback) or asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
        raise TypeError(f"a callable object was expected by {what}(), got {callback!r}")


def _check_signal(sig: object) -> None:
    if not isinstance(sig, int):
        raise TypeError(f"sig must be an int, not {sig!r}")
    if sig not in signal.valid_signals():
        raise ValueError(f"invalid signal number {sig}")


def _fd_of(fd: _FileDescriptorLike) -> int:
    if isinstance(fd, int):
        return fd
    return int(fd.fileno())


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class EventLoop(VirtualNetworking, asyncio.SelectorEventLoop):
    """An asyncio event loop whose scheduling, clock and I/O are the `EventThread` `thread`.

    Make one with `new_event_loop()` (a loop on a fresh thread, driven by `run_until_complete` as any
    asyncio loop) or get the one of a running thread with `get_asyncio_loop(thread)`.

    Attributes:
        thread: The `EventThread` that runs everything of this loop.

    Args:
        thread: The thread.
        driven: Whether the loop owns the thread and runs it only inside `run_forever` /
            `run_until_complete` (`new_event_loop`), or runs whenever the thread does.
    """

    # Set by asyncio's `BaseEventLoop.__init__` (not in its stubs): read directly on the hot path.
    _closed: bool
    _debug: bool

    def __init__(self, thread: EventThread, *, driven: bool) -> None:
        if thread.asyncio_loop is not None:
            raise RuntimeError(
                f"event thread {thread.name!r} has an asyncio loop already; get it with get_asyncio_loop(thread)"
            )
        # asyncio's transports read with `sock.recv(256 KiB)` on the loop thread: without this, glibc maps
        # and unmaps a block for every read there (see `settle_allocator`).
        settle_allocator()
        self.thread = thread
        self._now = thread._now  # the thread's clock reading, called without the thread's `time()` between
        self._signals: dict[int, asyncio.Handle] = {}
        self._stopped_run: Future[None] | None = None
        self._driver: LoopDriver | None = None
        asyncio.SelectorEventLoop.__init__(self, selectors.SelectSelector())
        thread.asyncio_loop = self
        thread.add_stuck_report(self._describe_tasks)
        thread.add_close_callback(self._thread_closed)
        self._generators = AsyncioGenerators(self)
        thread.route_async_generators(self._generators)
        if threading.get_ident() == thread.ident:
            # Made on the loop thread as it starts (before any work): running there from now on, so
            # the first task already sees it. From another thread, the loop thread sets it next.
            events._set_running_loop(self)
        else:
            thread.enqueue(_ReadyHandle(events._set_running_loop, (self,), self, None))
        if driven:
            self._driver = LoopDriver(thread)

    def _refuse_closed(self) -> None:
        if self.is_closed():
            raise RuntimeError("Event loop is closed")

    def _executor_set(self) -> concurrent.futures.Executor | None:
        executor: concurrent.futures.Executor | None = getattr(self, "_default_executor", None)
        return executor

    # ---- no self-pipe: waking the loop is the thread's business ---------------------------------

    def _make_self_pipe(self) -> None:
        pass

    def _close_self_pipe(self) -> None:
        pass

    def _write_to_self(self) -> None:
        pass

    # ---- time and scheduling ----------------------------------------------------------------

    def time(self) -> float:
        """Return the thread's clock reading in seconds (exact virtual time on the virtual backend)."""
        return self._now()

    def call_soon(
        self, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts], context: Context | None = None
    ) -> asyncio.Handle:
        """Run `callback(*args)` in the thread's next ready cycle; works from any thread."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        # As asyncio does, a coroutine function given as a callback is caught in debug mode only: the
        # check goes through `inspect` and would cost more than the rest of the call.
        if self._debug or not callable(callback):
            _check_callable(callback, "call_soon")
            handle: asyncio.Handle = _ReadyHandle(callback, args, self, context)
        else:
            # `_ReadyHandle.__init__`, inlined: the hottest call an asyncio program makes (every task step
            # and every done callback), so the handle is filled in without a frame of its own.
            handle = fields = _new_ready_handle(_ReadyHandle)
            fields._context = copy_context() if context is None else context
            fields._loop = self
            fields._callback = callback
            fields._args = args
            fields._cancelled = False
            fields._repr = None
            fields._source_traceback = None
        thread = self.thread
        if thread._loop_thread_id == get_ident():  # `enqueue`, inlined
            thread._ready.append(handle)
        else:
            thread.enqueue(handle)
        return handle

    def _call_soon(self, callback: Callable[..., object], args: tuple[Any, ...], context: Context | None) -> asyncio.Handle:
        handle = _ReadyHandle(callback, args, self, context)
        self.thread.enqueue(handle)
        return handle

    call_soon_threadsafe = call_soon

    def call_at(
        self, when: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts], context: Context | None = None
    ) -> asyncio.TimerHandle:
        """Run `callback(*args)` once the thread's clock reaches `when`; works from any thread."""
        if when is None:  # pyright: ignore[reportUnnecessaryComparison]
            raise TypeError("when cannot be None")
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug or not callable(callback):
            _check_callable(callback, "call_at")
        timer = _TimerHandle(when, callback, args, self, context)
        setattr(timer, "_scheduled", True)  # asyncio's flag: `cancel()` then tells the loop
        timer._entry = self.thread.call_at(float(when), timer._run)
        return timer

    def call_later(
        self, delay: float, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts], context: Context | None = None
    ) -> asyncio.TimerHandle:
        """Run `callback(*args)` after `delay` seconds of the thread's clock; works from any thread."""
        if delay is None:  # pyright: ignore[reportUnnecessaryComparison]
            raise TypeError("delay must not be None")
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        entry = getattr(handle, "_entry", None)
        if isinstance(entry, CoreTimerHandle):
            entry.cancel()

    # ---- file descriptors ---------------------------------------------------------------------

    def _on_thread(self, function: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> None:
        if self.thread.ident == get_ident():
            function(*args)
        else:  # from the driving thread: in order with everything else it queued
            self.thread.call_soon(function, *args)

    # asyncio's transports tell `polling` from `idle` by the selector's map: it is kept as asyncio
    # keeps it (data = (reader handle, writer handle)), though only the thread's reactor is polled.

    def _watch(self, fd: int, writing: bool, handle: asyncio.Handle) -> None:
        selector = self._selector_map()
        key = selector.get_map().get(fd)
        if key is None:
            selector.register(fd, selectors.EVENT_WRITE if writing else selectors.EVENT_READ, (None, handle) if writing else (handle, None))
        else:
            reader, writer = cast("tuple[asyncio.Handle | None, asyncio.Handle | None]", key.data)
            previous = writer if writing else reader
            if previous is not None:
                previous.cancel()
            mask = key.events | (selectors.EVENT_WRITE if writing else selectors.EVENT_READ)
            selector.modify(fd, mask, (reader, handle) if writing else (handle, writer))
        if writing:
            self._on_thread(self.thread.add_writer, fd, handle._run)
        else:
            self._on_thread(self.thread.add_reader, fd, handle._run)

    def _unwatch(self, fd: int, writing: bool) -> bool:
        if self.is_closed():
            return False
        selector = self._selector_map()
        key = selector.get_map().get(fd)
        if key is None:
            return False
        reader, writer = cast("tuple[asyncio.Handle | None, asyncio.Handle | None]", key.data)
        handle = writer if writing else reader
        if handle is None:
            return False
        handle.cancel()
        mask = key.events & ~(selectors.EVENT_WRITE if writing else selectors.EVENT_READ)
        if mask:
            selector.modify(fd, mask, (reader, None) if writing else (None, writer))
        else:
            selector.unregister(fd)
        if writing:
            self._on_thread(self.thread.remove_writer, fd)
        else:
            self._on_thread(self.thread.remove_reader, fd)
        return True

    def _selector_map(self) -> selectors.BaseSelector:
        selector: selectors.BaseSelector | None = getattr(self, "_selector", None)
        if selector is None:
            raise RuntimeError("Event loop is closed")
        return selector

    def _add_reader(self, fd: _FileDescriptorLike, callback: Callable[..., object], *args: Any) -> asyncio.Handle:
        self._refuse_closed()
        handle = _ReadyHandle(callback, args, self, None)
        self._watch(_fd_of(fd), False, handle)
        return handle

    def _remove_reader(self, fd: _FileDescriptorLike) -> bool:
        return self._unwatch(_fd_of(fd), False)

    def _add_writer(self, fd: _FileDescriptorLike, callback: Callable[..., object], *args: Any) -> asyncio.Handle:
        self._refuse_closed()
        handle = _ReadyHandle(callback, args, self, None)
        self._watch(_fd_of(fd), True, handle)
        return handle

    def _remove_writer(self, fd: _FileDescriptorLike) -> bool:
        return self._unwatch(_fd_of(fd), True)

    # ---- running ------------------------------------------------------------------------------

    def is_running(self) -> bool:
        """Return whether the loop runs: inside `run_forever`, or while its thread runs (undriven)."""
        driver = self._driver
        if driver is None:
            return self._stopped_run is not None or self.thread.ident == get_ident()
        return driver.is_driving()

    def run_forever(self) -> None:
        """Run the thread until `stop()` is called (the calling thread blocks meanwhile)."""
        self._refuse_closed()
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")
        driver = self._driver
        if driver is not None:
            driver.drive()
            return
        stopped: Future[None] = Future(self.thread)
        self._stopped_run = stopped
        try:
            self.thread.run(stopped)
        finally:
            self._stopped_run = None

    def run_until_complete(self, future: Awaitable[T] | Generator[Any, None, T]) -> T:
        """Run the thread until `future` is done; return its result or raise its exception."""
        self._refuse_closed()
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        awaitable: Awaitable[T]
        if isinstance(future, Future) or not isinstance(future, Awaitable):
            awaitable = _await(cast("Awaitable[T]", future))
        else:
            awaitable = future
        new_task = not asyncio.isfuture(awaitable)
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable, loop=self)
        if new_task:
            task._log_destroy_pending = False  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
        task.add_done_callback(self._stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and task.done() and not task.cancelled():
                task.exception()  # retrieved: the error propagates from here
            raise
        finally:
            task.remove_done_callback(self._stop_when_done)
        if not task.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return task.result()

    def _stop_when_done(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            exception = future.exception()
            if isinstance(exception, (SystemExit, KeyboardInterrupt)):
                return  # asyncio's rule: these propagate out of the loop's callback instead
        self.stop()

    def stop(self) -> None:
        """End `run_forever` once the callbacks ready now have run; any thread."""
        driver = self._driver
        if driver is not None:
            driver.park_soon()
            return
        stopped = self._stopped_run
        if stopped is not None:
            self.thread.call_soon(stopped.set_result_if_pending, None)

    def close(self) -> None:
        """Close the loop; a loop of `new_event_loop()` stops and joins its thread."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        self._closed = True
        executor = self._executor_set()
        if executor is not None:
            setattr(self, "_default_executor", None)
            executor.shutdown(wait=False)
        selector = getattr(self, "_selector", None)
        if isinstance(selector, selectors.BaseSelector):
            selector.close()
            setattr(self, "_selector", None)  # as asyncio's loops do: transports' reprs tell by it
        driver = self._driver
        if driver is not None:
            self.thread.stop()
            driver.release()
            if threading.current_thread() is not self.thread:
                self.thread.join()

    def _thread_closed(self) -> None:
        self._closed = True  # the thread ended: nothing of this loop can run any more

    # ---- executor ------------------------------------------------------------------------------

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[[Unpack[Ts]], T], *args: Unpack[Ts]
    ) -> asyncio.Future[T]:
        """Run `func(*args)` on `executor`, by default on the thread's executor (time holds still meanwhile)."""
        self._refuse_closed()
        _check_callable(func, "run_in_executor")
        if executor is None:
            executor = self._executor_set()
        if executor is None:
            job = self.thread.get_executor().submit(func, *args)
            return asyncio.wrap_future(job, loop=self)
        return asyncio.wrap_future(executor.submit(func, *args), loop=self)

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Shut down an executor set with `set_default_executor`; the thread's own ends with the thread."""
        executor = self._executor_set()
        self._executor_shutdown_called = True
        if executor is None:
            return
        await asyncio.to_thread(executor.shutdown, True)

    # ---- signals -------------------------------------------------------------------------------

    def add_signal_handler(self, sig: int, callback: Callable[[Unpack[Ts]], object], *args: Unpack[Ts]) -> None:
        """Call `callback(*args)` on the loop whenever the process receives signal `sig`."""
        _check_signal(sig)
        self._refuse_closed()
        _check_callable(callback, "add_signal_handler")
        handle = _ReadyHandle(callback, args, self, None)
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            raise RuntimeError(f"sig {sig:d} cannot be caught")
        self.thread.add_signal_handler(sig, handle._run)
        self._signals[sig] = handle

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler of signal `sig`; return whether there was one."""
        _check_signal(sig)
        if self._signals.pop(sig, None) is None:
            return False
        return bool(self.thread.remove_signal_handler(sig))

    # ---- asynchronous generators ---------------------------------------------------------------

    async def shutdown_asyncgens(self) -> None:
        """Close the asynchronous generators still open on the thread.

        Those first iterated in an asyncio task close in asyncio tasks, as asyncio closes them (an error
        goes to the exception handler); the others close in scarletio tasks.
        """
        self._asyncgens_shutdown_called = True
        mine = self._generators.take_open(self.thread._asyncgens)
        if mine:
            results = await asyncio.gather(*[generator.aclose() for generator in mine], return_exceptions=True)
            for generator, result in zip(mine, results):
                if isinstance(result, Exception):
                    self.call_exception_handler(
                        {
                            "message": f"an error occurred during closing of asynchronous generator {generator!r}",
                            "exception": result,
                            "asyncgen": generator,
                        }
                    )
        await self.thread.shutdown_async_generators()

    def _describe_tasks(self) -> list[str]:
        """Name every pending asyncio task of this loop and the line it waits at (for stuck-loop reports)."""
        tasks = [task for task in asyncio.all_tasks(self) if not task.done()]
        if not tasks:
            return []
        lines = [f"asyncio tasks pending: {len(tasks)}"]
        for task in tasks:
            stack = task.get_stack()
            where = "not started"
            if stack:
                frame = stack[-1]
                where = f"waits at {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            lines.append(f"  asyncio task {task.get_name()!r} ({task.get_coro()!r}): {where}")
        return lines

    def __repr__(self) -> str:
        driven = "driven" if self._driver is not None else "undriven"
        return f"<{type(self).__name__} {driven} closed={self.is_closed()} thread={self.thread!r}>"
