"""Style shared by every ekslib figure: one font and one title placement, so the lessons look alike.

>>> FONT["size"]
12
"""

from __future__ import annotations

from typing import Any

FONT: dict[str, Any] = {"family": "Arial, sans-serif", "size": 12}
#: Titles sit at the top of the figure and push the plot down as far as they need (plotly title.automargin).
TITLE_PLACEMENT: dict[str, Any] = {"x": 0.01, "xanchor": "left", "yref": "container", "y": 1.0, "yanchor": "top",
                                   "pad": {"t": 12}, "automargin": True}
