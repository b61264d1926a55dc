"""Pieces every ekslib widget shares: showing a figure in an Output, and errors as messages.

>>> import ipywidgets as w, plotly.graph_objects as go
>>> out = w.Output()
>>> show_figure(out, go.Figure())
>>> len(out.outputs)
1
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio


def show_figure(output: widgets.Output, figure: go.Figure) -> None:
    """Replace what ``output`` shows with ``figure`` (a plain go.Figure, rendered by JupyterLab's plotly
    mimetype), without calling ``display`` so it works the same in a kernel and in pytest."""
    # the bundle plotly's "plotly_mimetype" renderer makes, without importing the renderers (which load nbformat
    # and jsonschema's format checkers: about 1 s in every fresh process)
    bundle = {"application/vnd.plotly.v1+json": json.loads(pio.to_json(figure, validate=False)),
              "text/plain": f"<Figure: {figure.layout.title.text or 'plotly figure'}>"}
    output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def message_html(text: str, *, error: bool = False) -> str:
    """A short message as HTML: red for an error, grey otherwise."""
    colour = "#b00020" if error else "#555"
    return f'<div style="color:{colour}; white-space:pre-wrap">{html.escape(text)}</div>'


def guarded(message: widgets.HTML, action: Callable[[], Any]) -> Any:
    """Run ``action``; on any exception show its message in ``message`` instead of a traceback.

    Returns the action's result, or None when it failed.
    """
    try:
        result = action()
    except Exception as exc:  # a widget shows a message, never a traceback
        message.value = message_html(str(exc) if str(exc) else type(exc).__name__, error=True)
        return None
    message.value = ""
    return result


class ProgressBar:
    """Progress for a notebook (:mod:`ekslib._progress`): a bar and the last step's label. Display ``.widget``,
    then pass the bar itself as ``progress=`` to a slow call (a refresh over several regions, a long simulation).

    >>> bar = ProgressBar("refresh")
    >>> bar(2, 4, "eu-west-1: 870 instance types")
    >>> bar.bar.value, bar.bar.max, bar.label.value
    (2, 4, 'eu-west-1: 870 instance types')
    """

    def __init__(self, description: str = "working") -> None:
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description=description)
        self.label = widgets.Label()
        self.widget = widgets.HBox([self.bar, self.label])

    def __call__(self, done: int, total: int, label: str) -> None:
        self.bar.max = max(total, 1)
        self.bar.value = min(done, self.bar.max)
        self.label.value = label
