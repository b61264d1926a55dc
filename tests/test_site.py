"""The static site on two tiny notebooks made here (the real ones are built by ``python3 tasks.py site``): one
plotly.js for all pages and no CDN, interactive figures, widget notes with Binder links, pages linked to each other,
and errors reported with their cell."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ekslib.study.navigation import binder_url, update_navigation
from ekslib.study.site import (
    LOCAL_HINT,
    PLOTLY_JS,
    WIDGET_NOTE,
    CellError,
    build_site,
    link_pages,
    notebook_goal,
    offline_badges,
    static_outputs,
)

REPO = "https://github.com/example-org/eks-study"
#: What plotly's ``plotly_mimetype`` renderer sends for a figure, displayed raw: importing plotly and rendering a
#: first figure in the kernel costs over a second (test_a_real_plotly_bundle_becomes_a_figure uses plotly itself).
BARS = {"data": [{"type": "bar", "y": [1, 3, 2]}], "layout": {"title": {"text": "three bars"}}}
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
FIGURE = "01_figures.ipynb"
PLAIN = "02_plain.ipynb"
BROKEN = "03_broken.ipynb"


def _goals(title: str, goal: str) -> str:
    return f"# {title}\n\nSome words.\n\n**After this notebook you will be able to:**\n\n- {goal};\n- more."


def _notebooks(folder: Path) -> Path:
    folder.mkdir()
    figure = new_notebook(metadata=KERNEL, cells=[
        new_markdown_cell(_goals("1. Figures", "draw a `bar` chart"), id="c00"),
        new_code_cell(f"from IPython.display import display\n"
                      f"display({{'application/vnd.plotly.v1+json': {BARS!r}}}, raw=True)", id="c01"),
        new_code_cell("import ipywidgets\nipywidgets.IntSlider(3)", id="c02"),
    ])
    plain = new_notebook(metadata=KERNEL, cells=[
        new_markdown_cell(_goals("2. Plain", "add two numbers"), id="c00"),
        new_code_cell("6 * 7", id="c01"),
        new_markdown_cell("Back to [the figures](01_figures.ipynb#1.-Figures).", id="c02"),
        # the same kernel ran 01_figures just before (jobs=1), and was reset: its imports are gone
        new_code_cell("assert 'ipywidgets' not in dir() and 'display' not in dir(), 'names of the notebook before'",
                      id="c03"),
    ])
    broken = new_notebook(metadata=KERNEL, cells=[
        new_markdown_cell(_goals("3. Broken", "divide by zero"), id="c00"),
        new_code_cell("x = 1", id="c01"),
        new_code_cell("1 / 0", id="boom"),
        new_code_cell("x + 1", id="c03"),
    ])
    nbformat.write(figure, folder / FIGURE)
    nbformat.write(plain, folder / PLAIN)
    nbformat.write(broken, folder / BROKEN)
    update_navigation(folder, REPO)
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    notebooks = _notebooks(root / "notebooks")
    # one build for every test here, in one kernel reused from notebook to notebook (reset between them: the
    # second checks that the first's names are gone; tests/test_collection.py runs two side by side): two good
    # notebooks and a broken one
    report = build_site(root / "out", notebooks, jobs=1, repo_url=REPO, timeout=60)
    return report, root / "out", notebooks


def _page(out: Path, name: str) -> str:
    return (out / name).read_text()


def test_the_report(site):
    report, out, _ = site
    assert [p.name for p in report.pages] == ["index.html", "01_figures.html", "02_plain.html", "03_broken.html"]
    assert report.figures == {FIGURE: 1, PLAIN: 0, BROKEN: 0}
    assert set(report.seconds) == {FIGURE, PLAIN, BROKEN} and all(s > 0 for s in report.seconds.values())
    assert "2 figure" not in report.summary()
    executed = nbformat.read(out / "executed" / FIGURE, as_version=4)
    assert executed.cells[2].outputs and executed.cells[2].execution_count == 1


def test_plotly_js_once_and_loaded_relatively_with_no_cdn(site):
    report, out, _ = site
    import plotly

    assert [p.relative_to(out) for p in out.rglob("*.js")] == [Path(PLOTLY_JS)]
    assert (out / PLOTLY_JS).read_bytes() == (Path(plotly.__file__).parent / "package_data" / PLOTLY_JS).read_bytes()
    for page in report.pages[1:]:
        text = page.read_text()
        head = text.split("</head>")[0]
        figures = report.figures[page.name.replace(".html", ".ipynb")]
        assert head.count('<script src="plotly.min.js"></script>') == (1 if figures else 0), page.name
        assert "cdn" not in text.lower(), page.name
        assert not re.search(r'<(script|img|link)\b[^>]*(src|href)="https?://', text), "nothing is fetched"
        assert "require.js" not in text and "MathJax" not in text
        assert len(text) < (out / PLOTLY_JS).stat().st_size / 4, "plotly.js is not inlined"


def test_the_figure_is_a_div_and_newplot(site):
    _, out, _ = site
    page = _page(out, "01_figures.html")
    assert 'class="plotly-graph-div" id="01_figures-figure-2-0"' in page
    assert re.search(r'Plotly\.newPlot\(\s*"01_figures-figure-2-0"', page)
    assert 'data-mime-type="application/vnd.plotly.v1+json"' not in page  # (the cell's source names it)


def test_the_widget_becomes_a_note_with_the_binder_link(site):
    _, out, _ = site
    page = _page(out, "01_figures.html")
    assert "application/vnd.jupyter.widget-view+json" not in page and "IntSlider(value=3)" not in page
    assert f'{WIDGET_NOTE}<a href="{binder_url(REPO, FIGURE)}">open this notebook in Binder</a>' in page


def test_pages_link_each_other_not_the_notebooks(site):
    _, out, _ = site
    first, second = _page(out, "01_figures.html"), _page(out, "02_plain.html")
    assert '<a href="02_plain.html">next →</a>' in first
    assert '<a href="01_figures.html">← previous</a>' in second
    assert 'href="01_figures.html#1.-Figures"' in second
    for page in (first, second):
        relative = [h for h in re.findall(r'href="([^"]*)"', page) if not h.startswith("https://")]
        assert not [h for h in relative if ".ipynb" in h], "a link to a notebook"
        assert 'class="ekslib-binder-badge"' in page and "badge_logo.svg" not in page


def test_the_index_lists_the_pages_in_order(site):
    _, out, _ = site
    index = _page(out, "index.html")
    hrefs = re.findall(r'href="(\d\d_[^"]+\.html)"', index)
    assert hrefs == ["01_figures.html", "02_plain.html", "03_broken.html"]
    assert ">1. Figures</a>" in index and "draw a <code>bar</code> chart" in index
    assert ">2. Plain</a>" in index and "add two numbers" in index


def test_errors_are_reported_with_their_cell_and_the_rest_still_runs(site):
    report, out, _ = site
    assert not report.ok
    assert report.errors == [CellError(BROKEN, 3, "ZeroDivisionError", "division by zero")]  # after title, nav
    assert "ERROR 03_broken.ipynb cell 3: ZeroDivisionError: division by zero" in report.summary()
    assert "1 cell error(s)" in (out / "index.html").read_text()
    assert "ZeroDivisionError" in (out / "03_broken.html").read_text()
    executed = nbformat.read(out / "executed" / BROKEN, as_version=4)
    assert executed.cells[-1].outputs[0]["data"]["text/plain"] == "2"  # every cell runs, also after an error


def test_without_a_repository_the_note_says_how_to_run_it_locally():
    widget = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/plain": "IntSlider(value=3)", "application/vnd.jupyter.widget-view+json":
                       {"version_major": 2, "version_minor": 0, "model_id": "abc"}}}
    cell = new_code_cell("w", outputs=[nbformat.from_dict(widget)])
    nb, figures = static_outputs(new_notebook(cells=[cell]), "01_x.ipynb", None)
    assert figures == 0
    note = f'<div class="ekslib-widget-note">{WIDGET_NOTE}{LOCAL_HINT}.</div>'
    assert nb.cells[0].outputs[0].data == {"text/html": note}


def test_a_real_plotly_bundle_becomes_a_figure():
    import plotly.graph_objects as go
    import plotly.io as pio

    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(go.Figure(go.Bar(y=[1, 3, 2])).to_dict())
    output = nbformat.from_dict({"output_type": "display_data", "metadata": {}, "data": bundle})
    nb, figures = static_outputs(new_notebook(cells=[new_code_cell("fig", outputs=[output])]), "04_x.ipynb", REPO)
    assert figures == 1
    assert list(nb.cells[0].outputs[0].data) == ["text/html"]
    html = nb.cells[0].outputs[0].data["text/html"]
    assert 'id="04_x-figure-0-0"' in html and "Plotly.newPlot(" in html and "cdn" not in html.lower()


def test_links_and_badges_rewritten_only_where_meant():
    assert link_pages('<a href="03_nodes_and_pods.ipynb">') == '<a href="03_nodes_and_pods.html">'
    for untouched in ('<a href="https://mybinder.org/v2/gh/o/r/HEAD?labpath=notebooks/03_x.ipynb">',
                      '<a href="../notebooks/03_x.ipynb">', '<a href="index.ipynb">'):
        assert link_pages(untouched) == untouched
    assert offline_badges('<a href="b"><img alt="Binder" src="https://mybinder.org/badge_logo.svg"/></a>') == \
        '<a href="b"><span class="ekslib-binder-badge">launch Binder</span></a>'


def test_the_goal_is_the_first_bullet_or_the_first_line():
    assert notebook_goal(new_notebook(cells=[new_markdown_cell(_goals("T", "size a node"))])) == "size a node"
    assert notebook_goal(new_notebook(cells=[new_markdown_cell("# T\n\nJust text.\nMore.")])) == "Just text."
