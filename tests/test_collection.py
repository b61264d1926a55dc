"""Every notebook run once, top to bottom, by building the static site; its pages checked, also in a real browser.

This is the suite's only execution of the notebooks (as ``pytest --nbval-lax`` would run them: every cell, and
an error anywhere fails its notebook): :func:`ekslib.study.site.build_site` runs each one once in its own kernel,
two at a time, into ``build/site`` (pages, ``executed/`` notebooks, one ``plotly.min.js``). The pages are then
checked as files and, where Debian's chromium and playwright are present, opened offline in headless Chromium:
every figure drawn, every animation played to its last frame, no script error, a screenshot of each kept in
``build/screenshots`` (CI keeps that folder).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.site_check import BROWSER, NAMES, RUN_KEY, SITE, as_report, build_and_check, wait_for


@pytest.fixture(scope="module")
def site(request):
    """The site of the committed notebooks, built once (every notebook executed once), its pages opened in
    Chromium as they were written: by the xdist controller in the background (tests/site_check.py), or here."""
    run = getattr(request.config, "workerinput", {}).get(RUN_KEY)
    return as_report(wait_for(run) if run else build_and_check())


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs_top_to_bottom_without_an_error(site, name):
    errors = [e.text for e in site.errors if e.notebook == name]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("name", NAMES)
def test_its_page_holds_every_figure_and_no_error_output(site, name):
    page = (SITE / name.replace(".ipynb", ".html")).read_text()
    executed = nbformat.read(SITE / "executed" / name, as_version=4)
    figures = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for c in executed.cells
                  if c.cell_type == "code" for o in c.outputs)
    assert site.figures[name] == figures and page.count("Plotly.newPlot(") == figures
    assert page.count('src="plotly.min.js"') == (1 if figures else 0) and "cdn." not in page.lower()
    assert "Traceback" not in page and 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    widgets = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for c in executed.cells
                  if c.cell_type == "code" for o in c.outputs)
    assert page.count("This control needs a running kernel") == widgets


def test_the_index_page_lists_the_notebooks_in_learning_order(site):
    index = (SITE / "index.html").read_text()
    linked = re.findall(r'href="(\d\d_[^"]+)\.html"', index)
    assert list(dict.fromkeys(linked)) == [n.removesuffix(".ipynb") for n in NAMES]
    assert (SITE / "plotly.min.js").stat().st_size > 1_000_000 and len(list(SITE.glob("*.js"))) == 1


@pytest.mark.browser
@pytest.mark.skipif(not BROWSER, reason="no chromium or playwright on this machine (CI installs Debian's chromium)")
def test_every_page_draws_its_figures_offline_and_plays_its_animations_in_a_real_browser(site):
    checker = site.browser
    assert checker.failure is None, checker.failure
    assert sorted(checker.checked) == NAMES and not checker.problems, "\n".join(checker.problems)
    animations = {name: sum(bool(o["data"]["application/vnd.plotly.v1+json"].get("frames"))
                            for c in nbformat.read(SITE / "executed" / name, as_version=4).cells
                            if c.cell_type == "code" for o in c.outputs
                            if "application/vnd.plotly.v1+json" in o.get("data", {}))
                  for name in NAMES}
    assert checker.animations == animations and sum(animations.values()) >= 4  # each played to its last frame
