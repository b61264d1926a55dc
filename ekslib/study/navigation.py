"""Navigation between the notebooks and their Binder badges, written into the notebooks by a script.

Every ``NN_*.ipynb`` gets one markdown cell right after its title cell, tagged ``navigation``:
``[← previous](…) | [index](00_index.ipynb) | [next →](…)`` and a Binder badge that opens that notebook in
JupyterLab on mybinder.org, once the repository is known (:func:`repository_url`: the ``origin`` remote,
``[project.urls] Repository``, or ``EKSLIB_REPOSITORY``). :func:`update_navigation` inserts or refreshes those
cells and writes only the files that change, so running it twice changes nothing (``python3 tasks.py nav``);
:func:`update_readme` does the same for the README's Binder block.

>>> github_url("git@github.com:aws/amazon-vpc-cni-k8s.git")
'https://github.com/aws/amazon-vpc-cni-k8s'
>>> binder_url("https://github.com/aws/amazon-vpc-cni-k8s", "01_pod_capacity.ipynb")
'https://mybinder.org/v2/gh/aws/amazon-vpc-cni-k8s/HEAD?labpath=notebooks/01_pod_capacity.ipynb'
>>> navigation_cell(["00_index.ipynb", "01_a.ipynb", "02_b.ipynb"], 1, "https://github.com/o/r").source
'[← previous](00_index.ipynb) | [index](00_index.ipynb) | [next →](02_b.ipynb) | [![Binder](...)](...01_a.ipynb)'

Sources: Binder's URL scheme ``/v2/gh/<owner>/<repo>/<ref>?labpath=<path>`` and its badge image are documented
at https://mybinder.readthedocs.io/en/latest/howto/user_interface.html; cell ids follow nbformat 4.5
(https://nbformat.readthedocs.io/en/latest/format_description.html#cell-ids: 1-64 characters of
``[a-zA-Z0-9-_]``); cell tags live in ``metadata.tags``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbformat.notebooknode import NotebookNode

from ekslib.errors import EkslibError

#: The tag that marks the navigation cell (``metadata.tags``).
NAV_TAG = "navigation"
#: The environment variable a fork can set to its GitHub repository (``owner/repo`` or its URL).
REPOSITORY_ENV = "EKSLIB_REPOSITORY"
#: The notebooks that take part, in learning order when sorted by name.
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: The collection's index notebook.
INDEX_NOTEBOOK = "00_index.ipynb"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
#: The lines of the README between these two are its Binder block, written by :func:`update_readme`.
README_START = "<!-- binder: written by `python3 tasks.py nav` -->"
README_END = "<!-- /binder -->"
#: The ``[project.urls]`` keys of pyproject.toml that may name the repository, in the order they are tried.
PROJECT_URL_KEYS = ("Repository", "Source", "Source Code", "Homepage")

_GITHUB = re.compile(
    r"^(?:(?:https?|git|ssh)://(?:[^@/]+@)?github\.com(?::\d+)?/|[^@/\s]+@github\.com:)"
    r"(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)
_OWNER_REPO = re.compile(r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?$")


def github_url(remote: str) -> str | None:
    """``https://github.com/<owner>/<repo>`` for a GitHub remote (ssh, https or git form, with or without
    ``.git``), None for anything else.

    >>> github_url("https://github.com/o/r.git"), github_url("ssh://git@github.com/o/r"), github_url("x/y")
    ('https://github.com/o/r', 'https://github.com/o/r', None)
    """
    match = _GITHUB.match(remote.strip())
    return f"https://github.com/{match['owner']}/{match['repo']}" if match else None


def _origin_remote(root: Path) -> str | None:
    """``git remote get-url origin`` in ``root``, or None (no git, no repository, no origin)."""
    try:
        done = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def _pyproject_repository(root: Path) -> str | None:
    """The first GitHub URL among ``[project.urls]`` (:data:`PROJECT_URL_KEYS`) of ``root/pyproject.toml``."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return None
    urls = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {}).get("urls", {})
    by_key = {key.lower(): value for key, value in urls.items()}
    for key in PROJECT_URL_KEYS:
        found = github_url(by_key.get(key.lower(), ""))
        if found:
            return found
    return None


def _environment_repository() -> str | None:
    """:data:`REPOSITORY_ENV` as a GitHub URL (it may be ``owner/repo`` or any GitHub URL form)."""
    value = os.environ.get(REPOSITORY_ENV, "").strip()
    if not value:
        return None
    found = github_url(value)
    if found:
        return found
    match = _OWNER_REPO.match(value)
    if match:
        return f"https://github.com/{match['owner']}/{match['repo']}"
    raise EkslibError(f"{REPOSITORY_ENV}={value!r} is not a GitHub repository: use owner/repo or "
                      "https://github.com/owner/repo")


def repository_url(root: str | os.PathLike[str]) -> str:
    """The GitHub repository of the checkout at ``root``, as ``https://github.com/<owner>/<repo>``.

    Tried in this order:

    1. ``git remote get-url origin`` (ssh or https forms);
    2. ``[project.urls]`` of ``root/pyproject.toml`` (``Repository``, then ``Source``, ``Source Code``,
       ``Homepage``: the first that is a GitHub URL);
    3. the environment variable ``EKSLIB_REPOSITORY`` (``owner/repo`` or a GitHub URL).

    A fork gets its own Binder links by having its own ``origin`` remote (the usual case) or by setting
    ``EKSLIB_REPOSITORY``. Raises :class:`~ekslib.errors.EkslibError` when none of the three names a GitHub
    repository.
    """
    root = Path(root)
    for found in (github_url(_origin_remote(root) or ""), _pyproject_repository(root), _environment_repository()):
        if found:
            return found
    raise EkslibError(
        f"cannot tell the GitHub repository of {root}: it has no GitHub 'origin' remote, pyproject.toml's "
        f"[project.urls] has no GitHub 'Repository' entry, and {REPOSITORY_ENV} is not set. Set one of them, "
        f"e.g. `git remote add origin https://github.com/OWNER/REPO` or `export {REPOSITORY_ENV}=OWNER/REPO`."
    )


def _owner_repo(repo_url: str) -> tuple[str, str]:
    found = github_url(repo_url)
    if not found:
        raise EkslibError(f"{repo_url!r} is not a GitHub repository URL (https://github.com/owner/repo)")
    owner, repo = found.rsplit("/", 2)[1:]
    return owner, repo


def binder_url(repo_url: str, notebook: str | os.PathLike[str], ref: str = "HEAD") -> str:
    """The mybinder.org link that opens ``notebooks/<notebook>`` of ``repo_url`` at ``ref`` in JupyterLab."""
    owner, repo = _owner_repo(repo_url)
    return (f"https://mybinder.org/v2/gh/{owner}/{repo}/{quote(ref, safe='')}"
            f"?labpath={quote('notebooks/' + Path(notebook).name, safe='/')}")


def cell_id(notebook: str | os.PathLike[str]) -> str:
    """The navigation cell's fixed id, made from the notebook's name (``nav-01_pod_capacity``)."""
    return ("nav-" + re.sub(r"[^A-Za-z0-9_-]", "-", Path(notebook).stem))[:64]


def _index_notebook(names: Sequence[str]) -> str:
    return INDEX_NOTEBOOK if INDEX_NOTEBOOK in names else names[0]


def navigation_text(notebooks: Sequence[str | os.PathLike[str]], index: int, repo_url: str) -> str:
    """The markdown line of notebook ``notebooks[index]``: previous | index | next links and its Binder badge.

    The previous and next links are left out at the two ends, the index link in the index notebook itself, the
    badge where ``repo_url`` is empty (the repository is not known: see :func:`repository_url`).
    """
    names = [Path(n).name for n in notebooks]
    links = []
    if index > 0:
        links.append(f"[← previous]({names[index - 1]})")
    if names[index] != _index_notebook(names):
        links.append(f"[index]({_index_notebook(names)})")
    if index + 1 < len(names):
        links.append(f"[next →]({names[index + 1]})")
    if repo_url:
        links.append(f"[![Binder]({BINDER_BADGE})]({binder_url(repo_url, names[index])})")
    return " | ".join(links)


def navigation_cell(notebooks: Sequence[str | os.PathLike[str]], index: int, repo_url: str) -> NotebookNode:
    """The navigation markdown cell of ``notebooks[index]`` (tagged :data:`NAV_TAG`, with a fixed id)."""
    return nbformat.v4.new_markdown_cell(navigation_text(notebooks, index, repo_url),
                                         id=cell_id(notebooks[index]), metadata={"tags": [NAV_TAG]})


def is_navigation_cell(cell: NotebookNode) -> bool:
    """Whether ``cell`` carries the :data:`NAV_TAG` tag."""
    return NAV_TAG in cell.get("metadata", {}).get("tags", [])


def with_navigation(nb: NotebookNode, cell: NotebookNode) -> NotebookNode:
    """``nb`` with ``cell`` in place of its tagged navigation cell (duplicates dropped), or right after its first
    cell when it has none."""
    tagged = [i for i, c in enumerate(nb.cells) if is_navigation_cell(c)]
    position = tagged[0] if tagged else min(1, len(nb.cells))
    cells = [c for c in nb.cells if not is_navigation_cell(c)]
    cells.insert(position, cell)
    nb.cells = cells
    return nb


def notebook_text(nb: NotebookNode) -> str:
    """``nb`` as the repository stores it: nbformat's JSON (indent 1, sorted keys) and a final newline."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def update_navigation(notebooks_dir: str | os.PathLike[str], repo_url: str | None = None) -> list[Path]:
    """Insert or refresh the navigation cell of every ``NN_*.ipynb`` in ``notebooks_dir``; returns the files it
    rewrote (only those that changed; a second run returns ``[]``).

    ``repo_url`` defaults to :func:`repository_url` of the folder above ``notebooks_dir``; ``""`` (or a checkout
    whose repository cannot be told) writes the navigation without Binder badges.
    """
    folder = Path(notebooks_dir)
    paths = sorted(folder.glob(NOTEBOOK_GLOB))
    if repo_url is None:
        try:
            repo_url = repository_url(folder.resolve().parent)
        except EkslibError:
            repo_url = ""
    changed = []
    for index, path in enumerate(paths):
        before = path.read_text(encoding="utf-8")
        nb = with_navigation(nbformat.reads(before, as_version=4), navigation_cell(paths, index, repo_url))
        nbformat.validate(nb)
        after = notebook_text(nb)
        if after != before:
            path.write_text(after, encoding="utf-8", newline="\n")
            changed.append(path)
    return changed


def readme_binder_block(repo_url: str) -> str:
    """The README's Binder block: a badge opening the index notebook on mybinder.org, or, while the repository
    is not known, how to get one (no badge that leads nowhere).

    >>> readme_binder_block("https://github.com/o/r")
    '[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/o/r/HEAD?labpath=notebooks/00_index.ipynb)'
    """
    if repo_url:
        return f"[![Binder]({BINDER_BADGE})]({binder_url(repo_url, INDEX_NOTEBOOK)})"
    return ("*Binder:* this checkout names no GitHub repository yet. Give it one (an `origin` remote, or\n"
            "`[project.urls] Repository` in `pyproject.toml`; a fork can also export `EKSLIB_REPOSITORY=owner/repo`)\n"
            "and run `python3 tasks.py nav`: a Binder badge then appears here and in every notebook.")


def update_readme(readme: str | os.PathLike[str], repo_url: str) -> bool:
    """Rewrite the Binder block of ``readme`` (the lines between :data:`README_START` and :data:`README_END`)
    for ``repo_url``; True when the file changed. A README without the two markers is left as it is."""
    path = Path(readme)
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    after = f"{text[:start]}{README_START}\n{readme_binder_block(repo_url)}\n{text[end:]}"
    if after == text:
        return False
    path.write_text(after, encoding="utf-8", newline="\n")
    return True


def main(argv: Sequence[str]) -> int:
    """``python -m ekslib.study.navigation [NOTEBOOKS_DIR]``: update the navigation cells and the README's Binder
    block (the README beside ``NOTEBOOKS_DIR``), print what changed."""
    folder = Path(argv[0]) if argv else Path("notebooks")
    try:
        repository = repository_url(folder.resolve().parent)
    except EkslibError as exc:
        print(f"note: no Binder badges: {exc}", file=sys.stderr)
        repository = ""
    changed = update_navigation(folder, repository)
    readme = folder.resolve().parent / "README.md"
    if update_readme(readme, repository):
        changed.append(readme)
    for path in changed:
        print(f"updated {path}")
    print(f"{len(changed)} file(s) changed" if changed else "navigation is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
