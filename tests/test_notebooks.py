"""The notebooks' conventions: committed stripped and valid, opening with goals, ending with a summary and the
next notebook, checking themselves with asserts, and listed in the index and the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]


def test_the_collection_is_there():
    assert NAMES[:2] == ["00_index.ipynb", "01_pod_capacity.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_committed_stripped_and_valid(path):
    raw = json.loads(path.read_text())
    nb = nbformat.reads(path.read_text(), as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in raw["metadata"], "widget state must not be committed"
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]


def _text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_opens_with_goals_and_ends_with_summary_and_next(path):
    cells = json.loads(path.read_text())["cells"]
    first, last = _text(cells[0]), _text(cells[-1])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# ")
    assert re.search(r"you will be able to", first, re.I), "the first cell says what the learner will be able to do"
    assert cells[-1]["cell_type"] == "markdown" and re.search(r"summary", last, re.I)
    following = NAMES[NAMES.index(path.name) + 1:]
    if following:
        assert following[0] in last, f"the last cell links the next notebook, {following[0]}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name != "00_index.ipynb"], ids=NAMES[1:])
def test_has_check_yourself_cells_with_asserts(path):
    cells = json.loads(path.read_text())["cells"]
    headings = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "check yourself" in _text(c).lower()]
    assert headings, "a 'check yourself' section"
    asserts = [c for c in cells[headings[0]:] if c["cell_type"] == "code" and "assert " in _text(c)]
    assert len(asserts) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_code_cells_stay_short(path):
    """Logic lives in ekslib: a lesson cell that grows long belongs in the library, with a test."""
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            lines = [ln for ln in _text(cell).splitlines() if ln.strip() and not ln.strip().startswith("#")]
            assert len(lines) <= 15, _text(cell)[:120]


def test_index_and_readme_list_every_notebook():
    index = "".join(_text(c) for c in json.loads((ROOT / "notebooks/00_index.ipynb").read_text())["cells"])
    readme = (ROOT / "README.md").read_text()
    for name in NAMES[1:]:
        assert f"({name})" in index, f"00_index links {name}"
        assert name in readme, f"README mentions {name}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name != "00_index.ipynb"], ids=NAMES[1:])
def test_every_notebook_has_the_same_frame(path):
    """Title and goals, the navigation line, numbered sections, predict-then-check exercises, check yourself,
    a summary: in this order."""
    from ekslib.study.exercises import EXERCISES
    from ekslib.study.navigation import is_navigation_cell
    from ekslib.study.path import sections

    nb = nbformat.read(path, as_version=4)
    assert is_navigation_cell(nb.cells[1]), "the navigation line right after the title (python3 tasks.py nav)"
    number = str(int(path.name[:2]))
    numbered = sections(path)
    assert numbered and [n for n, _ in numbered] == [f"{number}.{i}" for i in range(1, len(numbered) + 1)]
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    tail = [h for h in headings if not re.match(r"## \d", h)]
    assert tail == ["## Predict, then check", "## Check yourself", "## Summary"]
    widget = [c for c in nb.cells if c.cell_type == "code" and f'exercises_for("{path.name}")' in c.source]
    assert widget and len(EXERCISES[path.name]) >= 2


def test_the_index_maps_the_notes_topics_to_sections_that_exist():
    from ekslib.study.path import TOPICS, missing_sections

    assert missing_sections(ROOT / "notebooks") == []
    topics = " ".join(t for t, _ in TOPICS).lower()
    for topic in ("cni types", "enis and ip limits", "network namespaces and veth", "node to node", "snat",
                  "nodeport", "loadbalancer", "externaltrafficpolicy", "two dnats"):
        assert topic in topics, topic
