"""The collection's one plotly template, registered once: every ekslib figure uses ``template=TEMPLATE``.

It is plotly's default look plus one font and one title placement (top left, pushing the plot down as far
as the title and subtitle need, plotly's ``title.automargin``), so the lessons look alike. Shared colours and
the monospace font for listings live here too.

>>> import plotly.io as pio
>>> pio.templates[TEMPLATE].layout.font.size
12
"""

from __future__ import annotations

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
