"""The core layer: the contracts, the scheduler, futures and tasks, and what they need.

Everything else in scarletio builds on this folder; it imports nothing from the rest of the package.

- `abc`: the contracts (`Reactor`, `Clock`, `Executor`, `Backend`) and the `EventLoop` interface
  futures, tasks and the layers above see the loop through;
- `exceptions`, `reporting`, `unretrieved`: the errors scarletio raises, how unretrieved ones are
  reported, and the registry of futures holding one;
- `handles`, `futures`, `tasks`, `wrappers`: callbacks, `Future[T]`, `Task[T]` and their cross-thread views;
- `scheduler`: the event loop itself, with its collaborators `timers`, `watching`, `outside`,
  `shutdown`, `virtual_time` and `states`; `arguments` (checking what scheduling calls are given),
  `recovery` (surviving a failure of the loop's own iteration), `forking` (loops inherited by a child
  process) and `main_thread` (errands the main thread runs while it waits in `LOOP.run`);
- `foreign`, `foreign_wait`, `driving`: what the asyncio bridge needs (asyncio's future protocol on
  `Future`, tasks waiting on asyncio futures, driving a loop in steps from one thread);
- `discovery`, `suspension`: finding the current loop, and `sleep` / `skip_ready_cycle` / `shield`.
"""

from . import abc, exceptions, foreign_wait, unretrieved, wrappers
from .forward_names import bind_forward_names
from .futures import Future
from .handles import Handle, TimerEntry, TimerHandle
from .tasks import Task

# The names these modules import for the type checker only, bound now that every module of the folder
# is loaded, so `typing.get_type_hints` resolves their annotations (see `forward_names`).
bind_forward_names(abc, Future, Handle, TimerEntry, TimerHandle, Task)
bind_forward_names(exceptions, Future)
bind_forward_names(wrappers, Future)
bind_forward_names(unretrieved, Future)
bind_forward_names(foreign_wait, Task)
# `AbstractEventLoop` (in `foreign` and `scheduler`) is bound by `scarletio.aio`, which imports asyncio:
# the core does not, to keep `import scarletio` light.
