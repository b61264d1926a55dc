"""The notebooks' live controls as a learner sees them: one JupyterLab session in a real (headless) Chromium.

The static site (tests/test_collection.py) runs every notebook once and checks its figures; what only a kernel
can show, the widgets, is checked here without running the notebooks again: :func:`ekslib.study.tour.widget_tour`
gathers every notebook's widget cells (its explorer and its exercises) into one notebook, which JupyterLab runs
once. For each notebook: its widgets render (no "Failed to load model class", no error output), one interaction
changes what is shown, and a screenshot is kept in ``build/screenshots`` (CI keeps that folder).

Needs Debian's ``chromium`` and the ``playwright`` package (which drives it; no browser download). Skipped where
either is missing; CI installs both (``.ci/run``).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from ekslib.study.screenshots import FLAGS, chromium_path
from ekslib.study.tour import TOUR_TAG, widget_tour

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = chromium_path()
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (CI installs Debian's chromium)"),
]
TOUR = "widget_tour.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving the widget tour (in a temporary folder), opened in Chromium and run once;
    yields the page and the tour notebook."""
    root = tmp_path_factory.mktemp("lab")
    nb = widget_tour(ROOT / "notebooks")
    nbformat.write(nb, root / TOUR)
    port, token = _free_port(), secrets.token_hex(16)
    settings_dir = tmp_path_factory.mktemp("settings")  # outside the served folder
    settings = settings_dir / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news prompt
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}", "--allow-root",
         "--LabApp.news_url=", "--LabApp.collaborative=False"],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        env=dict(os.environ, JUPYTER_PLATFORM_DIRS="1", JUPYTERLAB_SETTINGS_DIR=str(settings_dir)),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("JupyterLab did not start: " + (root / "lab.log").read_text()[-2000:])
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                _run_all(page, base, token)
                yield page, nb
            except Exception:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "widget-tour-failure.png"))
                raise
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


def _run_all(page, base: str, token: str) -> None:
    page.goto(f"{base}/lab/tree/{TOUR}?token={token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # the kernel is connected
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # every code cell gets an execution count once everything above it has run
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                   return p.length && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }""",
        timeout=120_000,
    )


def _sections(nb) -> dict[str, list[int]]:
    """Notebook name -> the indices of its widget cells in the tour."""
    out: dict[str, list[int]] = {}
    current = None
    for i, cell in enumerate(nb.cells):
        if TOUR_TAG in cell.metadata.get("tags", []):
            current = cell.metadata["ekslib"]["notebook"]
            out[current] = []
        elif current is not None:
            out[current].append(i)
    return out


def _problems(page) -> list[str]:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                          ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    texts = [errors.nth(i).text_content() for i in range(errors.count())]
    body = page.locator("body").text_content()
    return texts + [line for line in body.splitlines() if "Failed to load model class" in line]


def test_the_tour_has_every_notebooks_controls():
    sections = _sections(widget_tour(ROOT / "notebooks"))
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name != "00_index.ipynb")
    assert sorted(sections) == names and all(sections.values())


def test_no_widget_fails_to_load_and_no_cell_errors(tour):
    page, _ = tour
    assert _problems(page) == []


@pytest.mark.parametrize("notebook", sorted(_sections(widget_tour(ROOT / "notebooks"))))
def test_each_notebooks_widgets_render_and_answer_a_click(tour, notebook):
    page, nb = tour
    cells = page.locator(".jp-Notebook .jp-Cell")
    indices = _sections(nb)[notebook]
    for i in indices:  # every widget cell of this notebook shows a live widget
        cells.nth(i).locator(".jupyter-widgets").first.wait_for(state="attached", timeout=30_000)
    exercises = cells.nth(indices[-1])
    feedback_before = exercises.locator(".widget-html-content").all_text_contents()
    exercises.get_by_role("button", name="Show answer").first.click()
    page.wait_for_function(
        """([index, before]) => {
             const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[index];
             const now = [...cell.querySelectorAll('.widget-html-content')].map(e => e.textContent);
             return JSON.stringify(now) !== JSON.stringify(before); }""",
        arg=[indices[-1], feedback_before], timeout=30_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    cells.nth(indices[0]).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"widgets-{notebook.replace('.ipynb', '.png')}"))


def test_the_capacity_explorer_answers_its_controls(tour):
    """Notebook 01's explorer, driven in the browser: prefix delegation on a t3.medium gives 242 (110 capped)."""
    page, nb = tour
    cell = page.locator(".jp-Notebook .jp-Cell").nth(_sections(nb)["01_pod_capacity.ipynb"][0])
    assert "t3.medium: max pods = 17" in cell.locator(".jupyter-widgets pre").first.text_content()
    cell.get_by_label("prefix delegation").check()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jupyter-widgets pre')].some(e => /max pods = 242/.test(e.textContent))",
        timeout=30_000,
    )
