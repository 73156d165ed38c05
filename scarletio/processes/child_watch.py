"""Reaping child processes without blocking the loop (high level, processes).

`watch_child(loop, popen, on_exit)` calls `on_exit(return_code)` on the loop thread once the child has
ended *and* has been reaped, so it never lingers as a zombie.

How a loop learns that a child ended, without blocking:

- Linux 5.3 and later have *pidfds*: `os.pidfd_open(pid)` returns a descriptor that turns readable
  when the process ends. The loop watches it like any other reader; when it fires, `Popen.poll()`
  reaps the child with a non-blocking `waitpid`. This costs no thread. Whether the running kernel
  supports it is probed once (Python may have `os.pidfd_open` while the kernel refuses it, and
  seccomp sandboxes may forbid it).
- Everywhere else a daemon thread per child blocks in `Popen.wait()` and hands the return code back
  through `loop.call_soon`, which is thread-safe and wakes the loop.

Reaping always goes through the `Popen` object (never a bare `os.waitpid`), so `Popen.returncode`,
`Popen.poll()` and `Popen.send_signal()` stay consistent with what the loop saw: `send_signal` never
signals a pid the kernel may already have given to another process.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable

from ..core.abc import EventLoop

__all__ = ("pidfd_supported", "watch_child")

_pidfd_open: Callable[[int, int], int] | None = getattr(os, "pidfd_open", None)
_pidfd_probe: bool | None = None


def pidfd_supported() -> bool:
    """Return whether this process can watch children through pidfds (probed once, then cached)."""
    global _pidfd_probe
    if _pidfd_probe is None:
        supported = False
        if _pidfd_open is not None:
            try:
                os.close(_pidfd_open(os.getpid(), 0))
            except OSError:
                pass
            else:
                supported = True
        _pidfd_probe = supported
    return _pidfd_probe


def watch_child(loop: EventLoop, popen: subprocess.Popen[bytes], on_exit: Callable[[int], object]) -> None:
    """Reap `popen`'s child once it ends and call `on_exit(return_code)` on the loop thread.

    Call it on the loop thread, once per child.

    Args:
        loop: The loop to report to.
        popen: The child, not waited for by anybody else.
        on_exit: Called with the return code (negative: the signal that killed the child).
    """
    if _pidfd_open is not None and pidfd_supported():
        try:
            fd = _pidfd_open(popen.pid, 0)
        except OSError:
            pass  # e.g. out of descriptors: a thread still works
        else:
            loop.add_reader(fd, _pidfd_ready, loop, fd, popen, on_exit)
            loop.add_close_callback(lambda: _release_pidfd(loop, fd, popen))
            return
    thread = threading.Thread(
        target=_wait_in_thread, args=(loop, popen, on_exit), name=f"scarletio-child-{popen.pid}", daemon=True
    )
    thread.start()


def _pidfd_ready(loop: EventLoop, fd: int, popen: subprocess.Popen[bytes], on_exit: Callable[[int], object]) -> None:
    return_code = popen.poll()
    if return_code is None:
        # Not ended, or another thread is inside `popen.wait()` right now and reaps it: it is then
        # done at once, and the descriptor stays readable until this reader sees the code.
        return
    loop.remove_reader(fd)
    os.close(fd)
    on_exit(return_code)


def _release_pidfd(loop: EventLoop, fd: int, popen: subprocess.Popen[bytes]) -> None:
    """The loop stops while still watching the child: close the pidfd and reap the child elsewhere."""
    if not loop.remove_reader(fd):
        return  # reaped and closed already
    os.close(fd)
    if popen.poll() is None:
        threading.Thread(target=popen.wait, name=f"scarletio-child-{popen.pid}", daemon=True).start()


def _wait_in_thread(loop: EventLoop, popen: subprocess.Popen[bytes], on_exit: Callable[[int], object]) -> None:
    return_code = popen.wait()
    try:
        loop.call_soon(on_exit, return_code)
    except RuntimeError:
        pass  # the loop stopped meanwhile; the child is reaped all the same, which is what matters
