"""Holding CPython's cyclic garbage collector while a large computation builds objects that all live until it
ends: a 10,000-person pay run or compliance recompute keeps some 200,000 small objects (statements, election
terms, ledger lines, engine inputs and results), none in a reference cycle, and every time allocations grow by a
quarter the collector walks all of them and the rest of the application again: a third of a recompute, 0.4 s of a
first 10,000-person pay run (bench/pay_run.py, bench/compliance.py). Objects are still freed as they always are,
when their last reference goes; what cycles other code makes meanwhile are collected once the collector resumes."""
import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused():
    """The collector is off inside; the switch is process-wide, so it resumes after the last pause in progress
    ends (in any thread), as it was before the first began: never switched on if something else had it off."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
