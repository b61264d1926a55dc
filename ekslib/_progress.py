"""Progress for slow work, one convention everywhere: a callable ``progress(done, total, label)``, called after
each step (a region fetched, a stretch of simulated time, a scenario played). ``None`` means nobody listens.

The command line prints it on stderr (:func:`text_progress`); a notebook shows a bar
(:class:`ekslib.widgets.common.ProgressBar`).

>>> steps = []
>>> report(lambda d, t, label: steps.append((d, t, label)), 1, 4, "us-east-1: 912 types")
>>> steps
[(1, 4, 'us-east-1: 912 types')]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

#: ``progress(done, total, label)``
Progress = Callable[[int, int, str], None]


def report(progress: Progress | None, done: int, total: int, label: str) -> None:
    """Tell ``progress`` (if any) that ``done`` of ``total`` steps are done, the last being ``label``."""
    if progress is not None:
        progress(done, total, label)


def text_progress(stream: TextIO | None = None, prefix: str = "") -> Progress:
    """A Progress that prints ``[done/total] label`` lines (on stderr by default, so stdout stays the result).

    >>> import io
    >>> out = io.StringIO()
    >>> text_progress(out)(2, 4, "eu-west-1: 870 types")
    >>> out.getvalue()
    '[2/4] eu-west-1: 870 types\\n'
    """
    def show(done: int, total: int, label: str) -> None:
        print(f"{prefix}[{done}/{total}] {label}", file=stream or sys.stderr, flush=True)

    return show
