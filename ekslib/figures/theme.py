"""The collection's one plotly template, registered once: every ekslib figure uses ``template=TEMPLATE``.

It is plotly's default look plus one font and one title placement (top left, pushing the plot down as far
as the title and subtitle need, plotly's ``title.automargin``), so the lessons look alike. Shared colours and
the monospace font for listings live here too.

>>> import plotly.io as pio
>>> pio.templates[TEMPLATE].layout.font.size
12
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

#: The template's name in ``plotly.io.templates``.
TEMPLATE = "ekslib"
FONT: dict[str, Any] = {"family": "Arial, sans-serif", "size": 12}
#: For command output (``ip route``, ``iptables-save``) inside figures.
MONO = "Menlo, Consolas, 'DejaVu Sans Mono', monospace"
TITLE_PLACEMENT: dict[str, Any] = {"x": 0.01, "xanchor": "left", "yref": "container", "y": 1.0, "yanchor": "top",
                                   "pad": {"t": 12}, "automargin": True}


def _register() -> None:
    if TEMPLATE not in pio.templates:
        base = pio.templates["plotly"]
        pio.templates[TEMPLATE] = go.layout.Template(base, layout={"font": FONT, "title": TITLE_PLACEMENT})


_register()


def figure(data: Sequence[Mapping[str, Any]] = (), layout: Mapping[str, Any] | None = None,
           frames: Sequence[Mapping[str, Any]] = ()) -> go.Figure:
    """A ``go.Figure`` of plain dicts (traces and layout as plotly.js reads them, animation frames), built without
    plotly.py's property-by-property validation of the traces and layout; ``layout["template"]`` may name the
    collection's template (:data:`TEMPLATE`).

    Validation is most of what building a figure costs (``benchmarks/bench_figures.py`` measures it), and every
    lesson, widget redraw and test would pay it. So each figure is validated once, in the tests instead:
    ``tests/test_figures_valid.py`` rebuilds the figures the figure tests make with validation on. The result is
    an ordinary ``go.Figure`` (``fig.data[0].x``, ``fig.layout.title.text``, ``fig.frames[0].data`` read as
    usual). Plotly validates ``frames`` whatever it is told (``BaseFigure.__init__``, plotly 7.1), so a frame
    should carry only what it changes: plotly.js merges a frame into the traces it names (``Plotly.animate``).

    >>> fig = figure([{"type": "scatter", "x": ["a"], "y": [1]}], {"title": {"text": "t"}, "template": TEMPLATE},
    ...              frames=[{"name": "1", "data": [{"y": [2]}]}])
    >>> fig.data[0].y, fig.layout.title.text, fig.layout.template.layout.font.size, fig.frames[0].data[0].y
    ((1,), 't', 12, (2,))
    """
    layout = dict(layout or {})
    if layout.get("template") == TEMPLATE:
        layout["template"] = pio.templates[TEMPLATE]
    return go.Figure(data=list(data), layout=layout, frames=list(frames) or None, _validate=False)
