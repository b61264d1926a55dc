"""The notebooks as a learner sees them: JupyterLab in a real (headless) Chromium, every cell run.

Needs Debian's ``chromium`` and the ``playwright`` package (which drives it; no browser download). Skipped
where either is missing; CI installs both (``.ci/run``). The notebooks are copied to a temporary folder first,
so the committed ones are never touched by JupyterLab's autosave.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (CI installs Debian's chromium)"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1, serving a copy of the notebooks; yields its base URL and token."""
    root = tmp_path_factory.mktemp("lab")
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    port, token = _free_port(), secrets.token_hex(16)
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}", "--allow-root",
         "--LabApp.news_url=", "--LabApp.collaborative=False"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, JUPYTER_PLATFORM_DIRS="1"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start: " + (root / "lab.log").read_text()[-2000:])
        yield base, token, root
    finally:
        server.terminate()
        server.wait(timeout=20)


def _run_all(page, base: str, token: str, notebook: str) -> None:
    page.goto(f"{base}/lab/tree/{notebook}?token={token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # the kernel is connected
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # the last code cell gets an execution count when everything above it has run
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                   return p.length && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }""",
        timeout=120_000,
    )


def _errors(page) -> list[str]:
    outputs = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                           ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    texts = [outputs.nth(i).inner_text() for i in range(outputs.count())]
    body = page.inner_text("body")
    texts += [line for line in body.splitlines() if "Failed to load model class" in line or "Traceback" in line]
    return texts


def test_pod_capacity_notebook_renders_charts_and_a_live_widget(lab):
    base, token, root = lab
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            _run_all(page, base, token, "01_pod_capacity.ipynb")
            page.locator("p", has_text="Choose a family and a size").scroll_into_view_if_needed()
            page.wait_for_selector(".jupyter-widgets pre", timeout=60_000)
            assert page.locator(".js-plotly-plot").count() >= 6  # 5 lesson charts + the explorer's charts
            derivation = page.locator(".jupyter-widgets pre").first.text_content()
            assert "t3.medium: max pods = 17" in derivation
            # drive the widget in the browser: switch prefix delegation on
            page.get_by_label("prefix delegation").check()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jupyter-widgets pre')]"
                ".some(e => /max pods = 242/.test(e.textContent))",
                timeout=30_000,
            )
            assert _errors(page) == []
        except Exception:
            page.screenshot(path=str(root / "failure.png"))
            raise
        finally:
            browser.close()


@pytest.mark.parametrize("notebook", ["02_ip_address_management.ipynb", "03_nodes_and_pods.ipynb"])
def test_later_notebooks_run_in_the_browser_with_live_widgets(lab, notebook):
    base, token, root = lab
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            _run_all(page, base, token, notebook)
            page.locator(".jp-MarkdownCell", has_text="Check yourself").first.scroll_into_view_if_needed()
            page.wait_for_selector(".jupyter-widgets", timeout=60_000)
            assert page.locator(".js-plotly-plot").count() >= 3
            assert _errors(page) == []
        except Exception:
            page.screenshot(path=str(root / f"failure-{notebook}.png"))
            raise
        finally:
            browser.close()
