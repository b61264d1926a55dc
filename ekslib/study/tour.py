"""The widget tour: every notebook's live controls gathered into one notebook, so that one JupyterLab session
in a real browser can check that each renders and answers a click, without running every notebook again
(the static site has already run them once: :mod:`ekslib.study.site`).

A notebook's controls are its cells that make a widget: an explorer (``CapacityExplorer("t3.medium")``,
``PoolExplorer(...)``, ``ClusterExplorer()``, ``FlowExplorer(...)``) or its exercises
(``exercises_for("01_pod_capacity.ipynb")``). Such a cell needs nothing from the cells before it but an import,
which the tour's first cell makes. Each notebook's part starts with a heading that names it.

>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1'),
...                                      nbformat.v4.new_code_cell('CapacityExplorer("t3.medium")')])
>>> widget_cells(nb)
['CapacityExplorer("t3.medium")']
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

#: A cell that makes one of the collection's widgets, and nothing else than imports before it.
_WIDGET = re.compile(r"^(?:(?:from|import) [^\n]+\n|\s*\n)*\s*(?:\w+Explorer|exercises_for)\([^\n]*\)\s*$")
#: What every widget cell needs (the explorers and the exercises).
IMPORTS = ("from ekslib.widgets.capacity import CapacityExplorer\n"
           "from ekslib.widgets.cluster import ClusterExplorer\n"
           "from ekslib.widgets.exercises import exercises_for\n"
           "from ekslib.widgets.flows import FlowExplorer\n"
           "from ekslib.widgets.ipam import PoolExplorer")
#: The tag of a tour's heading cell, with the notebook's name in ``metadata.ekslib.notebook``.
TOUR_TAG = "tour-section"


def widget_cells(nb: NotebookNode) -> list[str]:
    """The sources of ``nb``'s cells that make a widget, in order."""
    return [c.source for c in nb.cells if c.cell_type == "code" and _WIDGET.match(c.source)]


def widget_tour(notebooks_dir: str | os.PathLike[str]) -> NotebookNode:
    """One notebook: the imports, then for every ``NN_*.ipynb`` with controls a heading and its widget cells."""
    cells = [nbformat.v4.new_code_cell(IMPORTS, id="tour-imports")]
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        sources = widget_cells(nbformat.read(path, as_version=4))
        if not sources:
            continue
        cells.append(nbformat.v4.new_markdown_cell(f"## {path.name}", id=f"tour-{path.stem}"[:64],
                                                   metadata={"tags": [TOUR_TAG], "ekslib": {"notebook": path.name}}))
        cells += [nbformat.v4.new_code_cell(source, id=f"tour-{path.stem}-{i}"[:64]) for i, source in
                  enumerate(sources)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return nb
