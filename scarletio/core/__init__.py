"""The core layer: the contracts, the scheduler, futures and tasks, and what they need.

Everything else in scarletio builds on this folder; it imports nothing from the rest of the package.

- `abc`: the contracts (`Reactor`, `Clock`, `Executor`, `Backend`) and the `EventLoop` interface
  futures, tasks and the layers above see the loop through;
- `exceptions`, `reporting`: the errors scarletio raises and how unretrieved ones are reported;
- `handles`, `futures`, `tasks`, `wrappers`: callbacks, `Future[T]`, `Task[T]` and their cross-thread views;
- `scheduler`: the event loop itself, with its collaborators `timers`, `watching`, `outside`,
  `shutdown`, `virtual_time` and `states`; `arguments` (checking what scheduling calls are given),
  `recovery` (surviving a failure of the loop's own iteration), `forking` (loops inherited by a child
  process) and `main_thread` (errands the main thread runs while it waits in `LOOP.run`);
- `discovery`, `suspension`: finding the current loop, and `sleep` / `skip_ready_cycle` / `shield`.
"""
