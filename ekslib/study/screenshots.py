"""Screenshots of the collection's main views for the README, taken from the static site in headless Chromium:
the capacity heatmap, the warm-pool animation, the cluster graph and a packet flow (``python3 tasks.py
screenshots``, after ``python3 tasks.py site``).

Each view is a figure of a site page, found by the start of its title; the screenshot is of that figure alone.
Chromium is Debian's (``/usr/bin/chromium``), driven by playwright (no browser download).

>>> [name for name, _, _ in VIEWS]
['capacity-heatmap', 'warm-pool', 'cluster-graph', 'packet-flow']
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ekslib.errors import EkslibError

#: (file name, site page, the start of the figure's title)
VIEWS: tuple[tuple[str, str, str], ...] = (
    ("capacity-heatmap", "01_pod_capacity.html", "Max pods per instance type"),
    ("warm-pool", "02_ip_address_management.html", "t3.medium: ENIs and addresses as 15 pods arrive"),
    ("cluster-graph", "03_nodes_and_pods.html", "Cluster demo: 3 nodes"),
    ("packet-flow", "04_pod_to_pod.html", "→ pod kube-system/coredns-"),
)
#: Chromium's flags for headless runs on a machine without network (without the background-networking ones it
#: keeps trying to reach Google's hosts).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    """Debian's chromium, or None where it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def take_screenshots(site_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """One PNG per :data:`VIEWS` entry in ``out_dir``, from the pages in ``site_dir``; returns their paths."""
    chromium = chromium_path()
    if chromium is None:
        raise EkslibError("no chromium on this machine (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    site, out = Path(site_dir).resolve(), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
        try:
            for name, html, title in VIEWS:
                if not (site / html).exists():
                    raise EkslibError(f"{site / html} is missing: build the site first (python3 tasks.py site)")
                page.goto((site / html).as_uri())
                figure = page.locator(".js-plotly-plot", has=page.locator(".gtitle", has_text=title)).first
                figure.wait_for(timeout=30_000)
                figure.scroll_into_view_if_needed()
                path = out / f"{name}.png"
                figure.screenshot(path=str(path))
                written.append(path)
        finally:
            browser.close()
    return written


def main(argv: list[str]) -> int:
    """``python -m ekslib.study.screenshots [SITE] [OUT]`` (defaults ``build/site``, ``docs/screenshots``)."""
    site = argv[0] if argv else "build/site"
    out = argv[1] if len(argv) > 1 else "docs/screenshots"
    try:
        for path in take_screenshots(site, out):
            print(f"wrote {path}")
    except EkslibError as exc:
        print(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
