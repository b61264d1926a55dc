"""Small performance helpers shared by the rooms that build many objects at once.

>>> import gc
>>> with paused_gc():
...     gc.isenabled()
False
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while tens of thousands of acyclic objects are made (its passes over the
    growing heap cost about as much as the work, measured in benchmarks/bench_rules.py), then back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
