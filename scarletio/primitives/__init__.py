"""High-level primitives built on the public `EventThread`: task groups, locks, queues, timeouts,
the executor hop (`enter_executor`) and `ScarletExecutor`.
"""
