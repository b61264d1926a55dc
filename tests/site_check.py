"""The static site of the committed notebooks, built once (every notebook executed once) and checked in a real
browser: what tests/test_collection.py checks.

Under ``pytest -n`` (the test command) the build runs in the background in the xdist controller, a process that
otherwise only waits for reports, from the moment the workers have collected the tests, and the workers run unit
tests meanwhile (tests/conftest.py starts it and hands the workers a run id; ``test_collection``'s tests run last
and read the result). Without xdist, the ``site`` fixture builds it in its own process, as before.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import json
import queue
import re
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ekslib.study.screenshots import FLAGS, chromium_path
from ekslib.study.site import build_site

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
SITE = ROOT / "build" / "site"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = chromium_path()
#: Where the build's result is written for the tests (with the run id of the session that built it).
RESULT = ROOT / "build" / "site-check.json"
#: The key of ``workerinput`` that carries the run id of a background build to the xdist workers.
RUN_KEY = "ekslib_site_run"


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """``folder`` served over HTTP on 127.0.0.1 (a free port) while the block runs; yields the base URL.

    The pages are checked as a site is read, over HTTP, rather than as ``file://`` URLs: Chromium then keeps
    plotly.js compiled from one page to the next (V8's code cache is for HTTP resources), and checking the pages
    costs it about 1.7 s less CPU (11.3 -> 9.6 s for the 8 pages, 5 runs each)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, name="ekslib-site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PageChecker(threading.Thread):
    """Headless Chromium opening each page as soon as the build has written it (served from 127.0.0.1; offline:
    every other request is refused), waiting for its figures, noting script errors, keeping a screenshot."""

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
        with serving(SITE) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route(re.compile(rf"^(?!{re.escape(base)}/)https?://"), lambda route: route.abort())
            try:
                while (item := self.pages.get()) is not None:
                    name, path, want = item
                    errors.clear()
                    page.goto(f"{base}/{Path(path).relative_to(SITE).as_posix()}")
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


def build_and_check() -> dict[str, Any]:
    """Build the site into ``build/site`` (two notebooks at a time), opening each page in Chromium as it is
    written; the result as plain data: per notebook its errors, figures and seconds, and the browser's findings."""
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
    browser = None if checker is None else {
        "failure": None if checker.failure is None else repr(checker.failure), "problems": checker.problems,
        "checked": checker.checked, "animations": checker.animations}
    return {"errors": [{"notebook": e.notebook, "text": str(e)} for e in report.errors],
            "figures": report.figures, "seconds": report.seconds, "browser": browser}


def build_in_background(run: str) -> threading.Thread:
    """Start :func:`build_and_check` on a thread; it writes :data:`RESULT` (or the traceback of its failure)."""
    def work() -> None:
        try:
            result = build_and_check()
        except BaseException:  # reported by the tests that read the result
            result = {"failure": traceback.format_exc()}
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        temporary = RESULT.with_suffix(".tmp")
        temporary.write_text(json.dumps({"run": run, **result}))
        temporary.replace(RESULT)

    RESULT.unlink(missing_ok=True)
    thread = threading.Thread(target=work, name="ekslib-site-build", daemon=True)
    thread.start()
    return thread


def wait_for(run: str, timeout: float = 600) -> dict[str, Any]:
    """The result the background build of session ``run`` wrote."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if RESULT.exists():
            result = json.loads(RESULT.read_text())
            if result.get("run") == run:
                return result
        time.sleep(0.2)
    raise TimeoutError(f"the background site build of run {run} wrote no {RESULT} in {timeout:.0f} s")


def as_report(result: dict[str, Any]) -> SimpleNamespace:
    """The result as the tests read it: ``errors`` (each with ``notebook`` and ``text``), ``figures``,
    ``seconds`` and ``browser`` (None without Chromium)."""
    if "failure" in result:
        raise RuntimeError("the site build failed:\n" + result["failure"])
    browser = None if result["browser"] is None else SimpleNamespace(**result["browser"])
    return SimpleNamespace(errors=[SimpleNamespace(**e) for e in result["errors"]], figures=result["figures"],
                           seconds=result["seconds"], browser=browser)
