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
