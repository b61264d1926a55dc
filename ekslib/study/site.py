"""A static site of the notebooks that reads without a kernel: every notebook run once, exported to HTML.

:func:`build_site` executes each ``NN_*.ipynb`` once with nbclient (a python3 kernel of this environment, cwd the
notebooks' folder, ``jobs`` notebooks at a time, each with its own kernel), keeps the executed notebooks in
``executed/``, and writes one HTML page per notebook plus ``index.html``. The pages work offline:

* plotly figures stay interactive: each ``application/vnd.plotly.v1+json`` output becomes a ``<div>`` and a
  ``Plotly.newPlot`` call, and every page with a figure loads the one copy of plotly.js, ``plotly.min.js``,
  taken from the installed plotly package, with a relative ``<script src>`` (a page without figures does not:
  it would only make the browser parse 4.8 MB of script);
* the template adds no CDN script (no require.js, MathJax, mermaid or widget manager), so nothing is fetched;
  TeX math stays as its source text;
* a widget (``application/vnd.jupyter.widget-view+json``) cannot work without a kernel: it is replaced by a note
  linking the notebook on Binder (or saying how to run it locally);
* links between notebooks (``01_pod_capacity.ipynb``) point to their pages (``01_pod_capacity.html``), and the
  Binder badge image (fetched from mybinder.org) becomes a text badge, the same link.

Example (``python3 tasks.py site`` does this for ``notebooks/``)::

    >>> report = build_site("build/site", "notebooks")          # doctest: +SKIP
    >>> report.ok, report.figures["01_pod_capacity.ipynb"]       # doctest: +SKIP
    (True, 9)

>>> link_pages('<a href="02_ip_address_management.ipynb#goals">next</a>')
'<a href="02_ip_address_management.html#goals">next</a>'

Sources: the output mimetypes are plotly's (``plotly.io`` renderer ``plotly_mimetype``) and ipywidgets'
(https://ipywidgets.readthedocs.io/en/stable/embedding.html, "application/vnd.jupyter.widget-view+json"); the
notebook execution API is nbclient's (https://nbclient.readthedocs.io/en/latest/client.html); the template extends
nbconvert's ``lab`` HTML template (https://nbconvert.readthedocs.io/en/latest/customizing.html), whose
``html_head_js``, ``html_head_js_mathjax``, ``html_head_js_mermaidjs`` and ``jupyter_widgets`` blocks are the
ones that load scripts from CDNs.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nbformat
from nbformat.notebooknode import NotebookNode

from ekslib.errors import EkslibError
from ekslib.study.navigation import BINDER_BADGE, NOTEBOOK_GLOB, binder_url, repository_url
from ekslib.study.path import notebook_goals, notebook_title

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: plotly.js as the site serves it, beside the pages.
PLOTLY_JS = "plotly.min.js"
#: What a widget becomes on a page, with and without a Binder link.
WIDGET_NOTE = "This control needs a running kernel: "
LOCAL_HINT = "run it locally with <code>python3 tasks.py lab</code>"
TEMPLATE_NAME = "ekslib_site.html.j2"
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.ekslib_figures %}
<script src="plotly.min.js"></script>
{%- endif -%}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
.ekslib-widget-note { padding: 0.4em 0.8em; border-left: 3px solid #f0ad4e; background: #fff8e6; }
.ekslib-binder-badge { padding: 0.1em 0.5em; border-radius: 3px; background: #579aca; color: #fff; font-size: 85%; }
</style>
{% endblock extra_css %}
"""
_NOTEBOOK_LINK = re.compile(r'(href=")(\d\d_[^"/?#]*)\.ipynb(?=[#?"])')
_BINDER_BADGE_IMG = re.compile(r'<img\b[^>]*\bsrc="' + re.escape(BINDER_BADGE) + r'"[^>]*>')
T = TypeVar("T")


@dataclass(frozen=True)
class CellError:
    """An ``error`` output: the notebook, the cell's index in ``nb.cells`` (from 0, markdown cells counted; -1
    when the run itself failed), and the exception's name and value."""

    notebook: str
    cell: int
    ename: str
    evalue: str

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell >= 0 else "run"
        return f"{self.notebook} {where}: {self.ename}: {self.evalue}"


@dataclass
class SiteReport:
    """What :func:`build_site` made: the pages (``index.html`` first), and per notebook the seconds its run took,
    its plotly figures, and every error output."""

    out_dir: Path
    pages: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every notebook ran without an error output."""
        return not self.errors

    def summary(self) -> str:
        """A few lines for a terminal: one per notebook, then the errors."""
        lines = [f"{name}: {secs:5.1f} s, {self.figures.get(name, 0)} figure(s)" for name, secs in self.seconds.items()]
        lines += [f"ERROR {error}" for error in self.errors]
        verdict = "ok" if self.ok else f"{len(self.errors)} error(s)"
        lines.append(f"{len(self.pages)} page(s) in {self.out_dir}: {verdict}")
        return "\n".join(lines)


@dataclass
class _Run:
    """One executed notebook."""

    path: Path
    nb: NotebookNode
    seconds: float
    errors: list[CellError]


# --- execution ------------------------------------------------------------------------------------------------

def _kernel_manager_class() -> type:
    """An AsyncKernelManager whose ``python3`` is this environment's interpreter (``sys.executable``), whatever
    kernelspecs the user has installed."""
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    class ThisPythonKernel(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _this_python(self) -> KernelSpecManager:
            return ThisPython(data_dir=self.data_dir)

    return ThisPythonKernel


def error_outputs(nb: NotebookNode, notebook: str) -> list[CellError]:
    """Every ``error`` output of ``nb``, with its cell's index."""
    return [CellError(notebook, index, out.get("ename", ""), out.get("evalue", ""))
            for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


#: Run between two notebooks in one kernel: no name of one notebook is seen by the next.
RESET = "%reset -f"


async def _start_kernel(folder: Path) -> Any:
    km = _kernel_manager_class()(kernel_name="python3")
    await km.start_kernel(cwd=str(folder), env=dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1"))
    return km


async def _execute(path: Path, timeout: int, km: Any) -> tuple[_Run, bool]:
    """Run ``path`` in the kernel of ``km``; the run, and whether the kernel is still fit for the next one."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    started: list[int] = [-1]
    client = NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3", allow_errors=True,
                            store_widget_state=False, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=lambda cell, cell_index: started.__setitem__(0, cell_index))
    begin = time.perf_counter()
    failure = None
    try:
        await client.async_execute()
    except Exception as exc:  # a dead kernel or a timeout: report it and keep the cells that ran
        message = str(exc).strip().splitlines()
        failure = CellError(path.name, started[0], type(exc).__name__, message[-1] if message else "")
    seconds = time.perf_counter() - begin
    errors = error_outputs(nb, path.name) + ([failure] if failure else [])
    return _Run(path, nb, seconds, errors), failure is None and await km.is_alive()


async def _lane(queue: asyncio.Queue, timeout: int, done: Callable[[_Run], None] | None,
                runs: list[_Run]) -> None:
    """Run notebooks from ``queue`` one after the other in one kernel, reset between them (:data:`RESET`); a
    kernel that died or timed out is replaced by a fresh one."""
    from nbclient import NotebookClient

    km = None
    try:
        while not queue.empty():
            path = queue.get_nowait()
            if km is None:
                km = await _start_kernel(path.parent)
            else:
                reset = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET)])
                await NotebookClient(reset, km=km, kernel_name="python3", timeout=60).async_execute()
            run, fit = await _execute(path, timeout, km)
            runs.append(run)
            if done is not None:
                done(run)
            if not fit:
                await km.shutdown_kernel(now=True)
                km = None
    finally:
        if km is not None:
            await km.shutdown_kernel(now=True)


def _run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end, also from inside a running event loop (a notebook) via a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def execute_notebooks(paths: Sequence[Path], *, jobs: int = 2, timeout: int = 600,
                      done: Callable[[_Run], None] | None = None) -> list[_Run]:
    """Execute ``paths`` (in their own folder) in ``jobs`` kernels side by side, each notebook from the top to
    the bottom, in the order given; ``done(run)`` is called as each notebook finishes; results in that order.

    A kernel runs one notebook after another, with ``%reset -f`` between them, so that no variable or import of
    one notebook is seen by the next (an import a notebook forgets still fails), while Python's imports and the
    library's caches stay warm: about 1.4 s less per notebook than a fresh kernel each (measured on the eight
    notebooks: 27 s of kernel CPU -> 19 s). A kernel that dies or times out is replaced.
    """
    async def run_all() -> list[_Run]:
        queue: asyncio.Queue = asyncio.Queue()
        for path in paths:
            queue.put_nowait(path)
        runs: list[_Run] = []
        await asyncio.gather(*(_lane(queue, timeout, done, runs) for _ in range(max(1, min(jobs, len(paths))))))
        return sorted(runs, key=lambda r: list(paths).index(r.path))

    return _run_coroutine(run_all())


# --- export ---------------------------------------------------------------------------------------------------

def figure_html(figure: dict[str, Any], div_id: str) -> str:
    """A plotly figure (its mimetype JSON) as a div and a ``Plotly.newPlot`` call, without plotly.js itself.

    An animation waits for its ▶ button or slider, as in JupyterLab (whose plotly renderer only adds the frames):
    ``to_html`` would otherwise start playing it as the page loads (``auto_play``), under text that says "press
    ▶", and keep a core busy while it plays.
    """
    import plotly.io as pio

    return pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id=div_id, validate=False,
                       config=figure.get("config"), default_height="450px", auto_play=False)


def widget_note(binder_link: str | None) -> str:
    """The note a widget becomes on a page: a Binder link, or how to run the notebook locally."""
    action = (f'<a href="{html.escape(binder_link)}">open this notebook in Binder</a>' if binder_link
              else LOCAL_HINT)
    return f'<div class="ekslib-widget-note">{WIDGET_NOTE}{action}.</div>'


def static_outputs(nb: NotebookNode, name: str, binder_link: str | None) -> tuple[NotebookNode, int]:
    """``nb`` with plotly outputs as HTML figures and widget outputs as notes; returns it and its figure count."""
    figures = 0
    for index, cell in enumerate(nb.cells):
        for number, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            if PLOTLY_MIME in data:
                div_id = f"{Path(name).stem}-figure-{index}-{number}"
                out["data"], out["metadata"] = {"text/html": figure_html(data[PLOTLY_MIME], div_id)}, {}
                figures += 1
            elif WIDGET_MIME in data:
                out["data"], out["metadata"] = {"text/html": widget_note(binder_link)}, {}
    return nb, figures


def link_pages(page: str) -> str:
    """Links to the collection's notebooks (``NN_name.ipynb``) as links to their pages (``NN_name.html``)."""
    return _NOTEBOOK_LINK.sub(r"\1\2.html", page)


def offline_badges(page: str) -> str:
    """The Binder badge image (served by mybinder.org) as a text badge, so a page fetches nothing."""
    return _BINDER_BADGE_IMG.sub('<span class="ekslib-binder-badge">launch Binder</span>', page)


def _exporter() -> Any:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", extra_loaders=[DictLoader({TEMPLATE_NAME: TEMPLATE})],
                        template_file=TEMPLATE_NAME)


def notebook_goal(nb: NotebookNode) -> str:
    """The first line of the notebook's goals (:func:`ekslib.study.path.notebook_goals`), or else the first line
    of text after the title."""
    goals = notebook_goals(nb)
    if goals:
        return goals[0]
    lines = [ln.strip() for ln in nb.cells[0].source.splitlines()] if nb.cells else []
    return next((ln for ln in lines if ln and not ln.startswith("#")), "")


def _inline_markdown(text: str) -> str:
    """Escaped text with `code` and **bold** kept."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def export_page(run: _Run, out_dir: Path, binder_link: str | None, exporter: Any = None) -> tuple[Path, int]:
    """Write ``run``'s notebook as ``out_dir/<name>.html``; returns the page and its figure count. A site's pages
    share one ``exporter`` (:func:`_exporter`), which compiles the templates once (a new one per page: 0.1 s
    each)."""
    nb, figures = static_outputs(nbformat.from_dict(run.nb), run.path.name, binder_link)
    title = notebook_title(nb, run.path.stem)
    body, _ = (exporter or _exporter()).from_notebook_node(
        nb, resources={"metadata": {"name": title}, "ekslib_figures": figures})
    page = out_dir / f"{run.path.stem}.html"
    page.write_text(offline_badges(link_pages(body)), encoding="utf-8")
    return page, figures


INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style type="text/css">
body {{ font-family: system-ui, sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
li {{ margin-bottom: 0.9em; }} .goal {{ color: #444; }} .errors {{ color: #b00020; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Each page is its notebook run once, with its figures interactive. Sliders and other controls need a running
kernel: {hint}.</p>
<ol class="notebooks">
{items}
</ol>
</body>
</html>
"""


def index_html(runs: Sequence[_Run], repo_url: str | None) -> str:
    """The site's ``index.html``: the notebooks in learning order, each with its goal."""
    items = []
    for run in runs:
        errors = (f' <span class="errors">({len(run.errors)} cell error(s) when this page was built)</span>'
                  if run.errors else "")
        items.append(f'<li><a href="{run.path.stem}.html">{_inline_markdown(notebook_title(run.nb, run.path.stem))}'
                     f'</a>{errors}<br><span class="goal">{_inline_markdown(notebook_goal(run.nb))}</span></li>')
    hint = (f'open them in <a href="{html.escape(binder_url(repo_url, runs[0].path.name))}">Binder</a>, or '
            f'{LOCAL_HINT}' if repo_url and runs else LOCAL_HINT)
    title = notebook_title(runs[0].nb, "Notebooks") if runs else "Notebooks"
    return INDEX_PAGE.format(title=html.escape(title), hint=hint, items="\n".join(items))


def copy_plotly_js(out_dir: Path) -> Path:
    """Copy the installed plotly package's ``plotly.min.js`` to ``out_dir`` (once per site)."""
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    target = out_dir / PLOTLY_JS
    shutil.copyfile(source, target)
    return target


def _repository_or_none(notebooks_dir: Path) -> str | None:
    try:
        return repository_url(notebooks_dir.resolve().parent)
    except EkslibError:
        return None


def build_site(out_dir: str | os.PathLike[str], notebooks_dir: str | os.PathLike[str], *, jobs: int = 2,
               repo_url: str | None = None, timeout: int = 600,
               on_page: Callable[[str, Path, int], None] | None = None) -> SiteReport:
    """Run every ``NN_*.ipynb`` of ``notebooks_dir`` once and write the static site into ``out_dir``.

    ``jobs`` notebooks run at a time, in ``jobs`` kernels reset between notebooks (:func:`execute_notebooks`);
    ``timeout`` is the limit of one cell in seconds.
    ``repo_url`` (default :func:`~ekslib.study.navigation.repository_url`, or none) gives the Binder links of
    the widget notes. Writes ``out_dir/executed/*.ipynb``, ``out_dir/*.html``, ``out_dir/index.html`` and
    ``out_dir/plotly.min.js``. Each page is written as soon as its notebook has run, and ``on_page(notebook,
    page, figures)`` hears of it (a browser can check the first pages while the last notebooks still run).
    """
    out, folder = Path(out_dir), Path(notebooks_dir)
    paths = sorted(folder.glob(NOTEBOOK_GLOB))
    if not paths:
        raise EkslibError(f"no notebooks ({NOTEBOOK_GLOB}) in {folder}")
    repo_url = repo_url or _repository_or_none(folder)
    (out / "executed").mkdir(parents=True, exist_ok=True)
    copy_plotly_js(out)
    order = run_order(paths, out / TIMINGS)
    pages: dict[str, tuple[Path, int]] = {}
    exporter = _exporter()

    def publish(run: _Run) -> None:  # (called by one thread, one notebook at a time)
        nbformat.write(run.nb, out / "executed" / run.path.name)
        link = binder_url(repo_url, run.path.name) if repo_url else None
        pages[run.path.name] = export_page(run, out, link, exporter)
        if on_page is not None:
            on_page(run.path.name, *pages[run.path.name])

    runs = sorted(execute_notebooks(order, jobs=jobs, timeout=timeout, done=publish),
                  key=lambda r: paths.index(r.path))
    report = SiteReport(out)
    index = out / "index.html"
    index.write_text(index_html(runs, repo_url), encoding="utf-8")
    report.pages.append(index)
    for run in runs:
        page, figures = pages[run.path.name]
        report.pages.append(page)
        report.seconds[run.path.name] = round(run.seconds, 2)
        report.figures[run.path.name] = figures
        report.errors.extend(run.errors)
    (out / TIMINGS).write_text(json.dumps(report.seconds, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return report


#: The last build's seconds per notebook, beside the pages: the next build starts the slowest first.
TIMINGS = "timings.json"


def run_order(paths: Sequence[Path], timings: Path) -> list[Path]:
    """The order to start ``paths`` in so that the slowest does not start last: by the seconds the last build
    took (``timings``), slowest first; without a last build, the learning order reversed (the later notebooks,
    the lab's above all, do the most).

    >>> [p.name for p in run_order([Path("00_a.ipynb"), Path("01_b.ipynb")], Path("/nonexistent"))]
    ['01_b.ipynb', '00_a.ipynb']
    """
    try:
        seconds = json.loads(timings.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return list(reversed(paths))
    return sorted(paths, key=lambda p: (-float(seconds.get(p.name, 0)), p.name))


def main(argv: Sequence[str]) -> int:
    """``python -m ekslib.study.site [OUT] [NOTEBOOKS_DIR]``: build the site (default ``build/site`` from
    ``notebooks``) and print the report; exit status 1 when a notebook had an error."""
    out = argv[0] if argv else "build/site"
    notebooks = argv[1] if len(argv) > 1 else "notebooks"
    report = build_site(out, notebooks)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
