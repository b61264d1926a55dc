"""Every notebook run once, top to bottom, by building the static site; its pages checked, also in a real browser.

This is the suite's only execution of the notebooks (as ``pytest --nbval-lax`` would run them: every cell, and
an error anywhere fails its notebook): :func:`ekslib.study.site.build_site` runs each one once in its own kernel,
two at a time, into ``build/site`` (pages, ``executed/`` notebooks, one ``plotly.min.js``). The pages are then
checked as files and, where Debian's chromium and playwright are present, opened offline in headless Chromium:
every figure drawn, every animation played to its last frame, no script error, a screenshot of each kept in
``build/screenshots`` (CI keeps that folder).
"""

from __future__ import annotations

import importlib.util
import queue
import re
import threading
from pathlib import Path

import nbformat
import pytest

from ekslib.study.screenshots import FLAGS, chromium_path
from ekslib.study.site import build_site

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
SITE = ROOT / "build" / "site"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = chromium_path()


class PageChecker(threading.Thread):
    """Headless Chromium opening each page as soon as the build has written it (offline: every request that
    would leave the machine is refused), waiting for its figures, noting script errors, keeping a screenshot."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.pages: queue.Queue = queue.Queue()
        self.problems: list[str] = []
        self.checked: list[str] = []
        self.animations: dict[str, int] = {}
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the test
            self.failure = exc

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            try:
                while (item := self.pages.get()) is not None:
                    name, path, want = item
                    errors.clear()
                    page.goto(path.as_uri())
                    if want:
                        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {want}",
                                               timeout=30_000)
                    drawn = page.locator(".js-plotly-plot").count()
                    if drawn != want or errors:
                        self.problems.append(f"{name}: {drawn} of {want} figures drawn; script errors: {errors}")
                    played, wrong = page.evaluate(PLAY_TO_THE_END)
                    self.animations[name] = played
                    self.problems += [f"{name}: {problem}" for problem in wrong]
                    first = page.locator(".js-plotly-plot").first if want else page.locator("h1").first
                    first.scroll_into_view_if_needed()
                    page.screenshot(path=str(SCREENSHOTS / name.replace(".ipynb", ".png")))
                    self.checked.append(name)
            finally:
                browser.close()


#: In the page: every animation jumps to its last frame, as its slider does; then each trace that frame moves must
#: show what the frame says (a frame carries only what changes; plotly.js merges it into the trace).
PLAY_TO_THE_END = """async () => {
  const animations = [...document.querySelectorAll('.js-plotly-plot')]
    .filter(gd => gd._transitionData && gd._transitionData._frames.length);
  const wrong = [];
  const shows = (have, want, path) => {
    if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
      for (const key of Object.keys(want)) if (key !== 'type') shows((have || {})[key], want[key], path + '.' + key);
    } else if (JSON.stringify(have) !== JSON.stringify(want)) {
      wrong.push(`after the last frame, ${path} is ${JSON.stringify(have)}`.slice(0, 300));
    }
  };
  for (const gd of animations) {
    const frames = gd._transitionData._frames, last = frames[frames.length - 1];
    await Plotly.animate(gd, [last.name], {mode: 'immediate', frame: {duration: 0, redraw: false},
                                           transition: {duration: 0}});
    last.data.forEach((update, i) => {
      const index = last.traces ? last.traces[i] : i;
      shows(gd.data[index], update, `trace ${index}`);
    });
  }
  return [animations.length, wrong];
}"""

BROWSER = CHROMIUM is not None and importlib.util.find_spec("playwright") is not None


@pytest.fixture(scope="module")
def site():
    """The site of the committed notebooks, built once for this module (every notebook executed once); where
    Chromium is at hand, each page is opened in it while the next notebooks still run."""
    checker = PageChecker() if BROWSER else None
    if checker is not None:
        checker.start()
    try:
        report = build_site(SITE, ROOT / "notebooks", jobs=2,
                            on_page=(lambda *page: checker.pages.put(page)) if checker else None)
    finally:
        if checker is not None:
            checker.pages.put(None)
    if checker is not None:
        checker.join(timeout=120)
    report.browser = checker
    return report


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs_top_to_bottom_without_an_error(site, name):
    errors = [str(e) for e in site.errors if e.notebook == name]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("name", NAMES)
def test_its_page_holds_every_figure_and_no_error_output(site, name):
    page = (SITE / name.replace(".ipynb", ".html")).read_text()
    executed = nbformat.read(SITE / "executed" / name, as_version=4)
    figures = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for c in executed.cells
                  if c.cell_type == "code" for o in c.outputs)
    assert site.figures[name] == figures and page.count("Plotly.newPlot(") == figures
    assert 'src="plotly.min.js"' in page and "cdn." not in page.lower()
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
    assert checker.failure is None, repr(checker.failure)
    assert sorted(checker.checked) == NAMES and not checker.problems, "\n".join(checker.problems)
    animations = {name: sum(bool(o["data"]["application/vnd.plotly.v1+json"].get("frames"))
                            for c in nbformat.read(SITE / "executed" / name, as_version=4).cells
                            if c.cell_type == "code" for o in c.outputs
                            if "application/vnd.plotly.v1+json" in o.get("data", {}))
                  for name in NAMES}
    assert checker.animations == animations and sum(animations.values()) >= 4  # each played to its last frame
