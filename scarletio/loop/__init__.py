"""The public `EventThread` and the top-level entry points (`run`, `get_event_loop`, ...).

`EventThread` is the core scheduler with a backend picked from the registry and the networking,
process and signal functions as methods; the top level finds, creates and runs such loops.
"""
