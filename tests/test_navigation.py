"""The navigation cells (previous | index | next, Binder badge) and where the repository's URL comes from."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from ekslib.errors import EkslibError
from ekslib.study import navigation
from ekslib.study.navigation import (
    NAV_TAG,
    README_END,
    README_START,
    binder_url,
    github_url,
    is_navigation_cell,
    navigation_cell,
    readme_binder_block,
    repository_url,
    update_navigation,
    update_readme,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
REPO = "https://github.com/example-org/eks-study"
_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")


@pytest.mark.parametrize("remote", [
    "git@github.com:example-org/eks-study.git",
    "git@github.com:example-org/eks-study",
    "ssh://git@github.com/example-org/eks-study.git",
    "ssh://git@github.com:22/example-org/eks-study",
    "https://github.com/example-org/eks-study.git",
    "https://github.com/example-org/eks-study",
    "https://github.com/example-org/eks-study/",
    "https://token@github.com/example-org/eks-study.git",
    "git://github.com/example-org/eks-study.git",
    "  https://github.com/example-org/eks-study.git\n",
])
def test_github_remotes_in_every_form(remote):
    assert github_url(remote) == REPO


def test_dots_in_a_repository_name_are_kept():
    assert github_url("git@github.com:o/plotly.js.git") == "https://github.com/o/plotly.js"


@pytest.mark.parametrize("remote", ["", "example-org/eks-study", "https://gitlab.com/o/r.git", "/srv/git/r.git",
                                    "https://github.com/o", "https://github.com.evil.example/o/r"])
def test_other_remotes_are_not_github(remote):
    assert github_url(remote) is None


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """A checkout with no origin remote, no pyproject.toml and no EKSLIB_REPOSITORY."""
    monkeypatch.setattr(navigation, "_origin_remote", lambda root: None)
    monkeypatch.delenv(navigation.REPOSITORY_ENV, raising=False)
    return tmp_path


def _pyproject(root: Path, urls: str) -> None:
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[project.urls]\n{urls}\n')


def test_the_origin_remote_comes_first(nowhere, monkeypatch):
    monkeypatch.setattr(navigation, "_origin_remote", lambda root: "git@github.com:fork-owner/eks-study.git")
    _pyproject(nowhere, f'Repository = "{REPO}"')
    assert repository_url(nowhere) == "https://github.com/fork-owner/eks-study"


def test_pyproject_when_there_is_no_remote(nowhere):
    _pyproject(nowhere, 'Homepage = "https://example.org"\nrepository = "https://github.com/p/q.git"')
    assert repository_url(nowhere) == "https://github.com/p/q"


def test_pyproject_when_the_remote_is_not_on_github(nowhere, monkeypatch):
    monkeypatch.setattr(navigation, "_origin_remote", lambda root: "https://gitlab.com/o/r.git")
    _pyproject(nowhere, f'Repository = "{REPO}"')
    assert repository_url(nowhere) == REPO


@pytest.mark.parametrize("value", ["fork-owner/eks-study", "https://github.com/fork-owner/eks-study.git"])
def test_the_environment_variable_last(nowhere, monkeypatch, value):
    _pyproject(nowhere, 'Homepage = "https://example.org"')
    monkeypatch.setenv(navigation.REPOSITORY_ENV, value)
    assert repository_url(nowhere) == "https://github.com/fork-owner/eks-study"


def test_a_bad_environment_variable_is_named(nowhere, monkeypatch):
    monkeypatch.setenv(navigation.REPOSITORY_ENV, "not a repository")
    with pytest.raises(EkslibError, match="EKSLIB_REPOSITORY"):
        repository_url(nowhere)


def test_no_repository_anywhere_says_how_to_set_one(nowhere):
    with pytest.raises(EkslibError, match=r"origin.*Repository.*EKSLIB_REPOSITORY"):
        repository_url(nowhere)


def test_no_git_on_the_machine_is_no_remote(monkeypatch, tmp_path):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert navigation._origin_remote(tmp_path) is None


def test_binder_url():
    assert binder_url(REPO, "03_nodes_and_pods.ipynb") == \
        "https://mybinder.org/v2/gh/example-org/eks-study/HEAD?labpath=notebooks/03_nodes_and_pods.ipynb"
    assert binder_url(REPO + ".git", Path("x/01_a.ipynb"), ref="feature/nav").startswith(
        "https://mybinder.org/v2/gh/example-org/eks-study/feature%2Fnav?labpath=notebooks/01_a.ipynb")
    with pytest.raises(EkslibError, match="not a GitHub"):
        binder_url("https://gitlab.com/o/r", "01_a.ipynb")


def _links(cell) -> dict[str, str]:
    return dict(_LINK.findall(cell.source))


def test_navigation_cell_ends_and_middle():
    names = ["00_index.ipynb", "01_a.ipynb", "02_b.ipynb"]
    first, middle, last = (navigation_cell(names, i, REPO) for i in range(3))
    assert "previous" not in first.source and "[index]" not in first.source  # the index does not link itself
    assert _links(first)["next →"] == "01_a.ipynb"
    assert _links(middle)["← previous"] == "00_index.ipynb"
    assert _links(middle)["index"] == "00_index.ipynb"
    assert _links(middle)["next →"] == "02_b.ipynb"
    assert "next" not in last.source and _links(last)["← previous"] == "01_a.ipynb"
    assert middle.source.endswith(f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(REPO, '01_a.ipynb')})")
    assert middle.metadata == {"tags": [NAV_TAG]} and middle.id == "nav-01_a"
    assert navigation_cell(names, 1, REPO) == middle  # the same cell every time, id included


@pytest.fixture
def copied(tmp_path) -> Path:
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return folder


def _non_navigation_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if not is_navigation_cell(c)]


def test_update_twice_changes_nothing_the_second_time(copied):
    paths = sorted(copied.glob("[0-9][0-9]_*.ipynb"))
    update_navigation(copied, REPO)
    after_first = {p: p.read_bytes() for p in paths}
    assert update_navigation(copied, REPO) == []
    assert {p: p.read_bytes() for p in paths} == after_first


def test_update_inserts_one_valid_navigation_cell_after_the_title(copied):
    originals = {p.name: _non_navigation_cells(p) for p in sorted(copied.glob("[0-9][0-9]_*.ipynb"))}
    update_navigation(copied, REPO)
    names = sorted(originals)
    for i, name in enumerate(names):
        raw = (copied / name).read_text()
        assert raw.endswith("}\n") and raw.startswith('{\n "cells": [\n  {\n')  # the repository's own layout
        nb = nbformat.reads(raw, as_version=4)
        nbformat.validate(nb)
        tagged = [j for j, c in enumerate(nb.cells) if is_navigation_cell(c)]
        assert tagged == [1], f"{name}: one navigation cell, right after the title cell"
        links = _links(nb.cells[1])
        assert links.get("← previous") == (names[i - 1] if i else None)
        assert links.get("next →") == (names[i + 1] if i + 1 < len(names) else None)
        assert binder_url(REPO, name) in nb.cells[1].source
        assert [c for c in nb.cells if not is_navigation_cell(c)] == originals[name], "everything else unchanged"
        assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_update_replaces_a_stale_cell_in_place_and_drops_duplicates(copied):
    update_navigation(copied, REPO)
    path = sorted(copied.glob("[0-9][0-9]_*.ipynb"))[1]
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "[next →](99_gone.ipynb)"
    nb.cells.append(nbformat.v4.new_markdown_cell("old", id="nav-dup", metadata={"tags": [NAV_TAG]}))
    nbformat.write(nb, path)
    assert update_navigation(copied, REPO) == [path]
    cells = nbformat.read(path, as_version=4).cells
    assert [i for i, c in enumerate(cells) if is_navigation_cell(c)] == [1]
    assert "99_gone" not in cells[1].source


def test_without_a_repository_the_navigation_has_no_badge_and_the_command_says_why(copied, monkeypatch, capsys):
    monkeypatch.setattr(navigation, "_origin_remote", lambda root: None)
    monkeypatch.setattr(navigation, "_pyproject_repository", lambda root: None)
    monkeypatch.delenv(navigation.REPOSITORY_ENV, raising=False)
    with pytest.raises(EkslibError, match="EKSLIB_REPOSITORY"):
        navigation.repository_url(copied.parent)
    assert navigation.main([str(copied)]) == 0
    assert "no Binder badges" in capsys.readouterr().err
    cells = [c for p in sorted(copied.glob("[0-9][0-9]_*.ipynb")) for c in nbformat.read(p, as_version=4).cells
             if is_navigation_cell(c)]
    assert cells and all("mybinder" not in c.source and "[index]" in c.source for c in cells[1:])


def _committed_repository() -> str | None:
    """The repository the committed navigation cells link to (read from their Binder badge; "" for cells without
    one; None without navigation cells), so that a fork whose remote differs still checks the cells' structure
    rather than whose repository they name."""
    found = None
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if not is_navigation_cell(cell):
                continue
            match = re.search(r"mybinder\.org/v2/gh/([^/]+)/([^/]+)/", cell.source)
            if match:
                return f"https://github.com/{match[1]}/{match[2]}"
            found = ""
    return found


def test_the_committed_notebooks_navigation_is_up_to_date(copied):
    repo = _committed_repository()
    assert repo is not None, "no notebook has a navigation cell: run `python3 tasks.py nav`"
    changed = update_navigation(copied, repo)
    assert changed == [], f"run `python3 tasks.py nav`: stale navigation in {[p.name for p in changed]}"


def _readme(tmp_path, block: str = "old lines\n") -> Path:
    path = tmp_path / "README.md"
    path.write_text(f"# Title\n\n{README_START}\n{block}{README_END}\n\nThe rest.\n")
    return path


def test_the_readme_block_gets_the_badge_of_the_index_notebook_once(tmp_path):
    path = _readme(tmp_path)
    assert update_readme(path, REPO) is True
    text = path.read_text()
    assert f"{README_START}\n[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(REPO, '00_index.ipynb')})\n" \
           f"{README_END}\n" in text
    assert text.startswith("# Title\n\n") and text.endswith("\n\nThe rest.\n") and "old lines" not in text
    assert update_readme(path, REPO) is False and path.read_text() == text


def test_without_a_repository_the_readme_says_how_to_get_a_badge_and_links_nowhere(tmp_path):
    path = _readme(tmp_path, readme_binder_block(REPO) + "\n")
    assert update_readme(path, "") is True
    block = path.read_text().split(README_START)[1].split(README_END)[0]
    assert "mybinder.org" not in block and "python3 tasks.py nav" in block and "EKSLIB_REPOSITORY" in block


def test_a_readme_without_the_markers_is_left_alone(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# Mine\n[![Binder](x)](y)\n")
    assert update_readme(path, REPO) is False and path.read_text() == "# Mine\n[![Binder](x)](y)\n"
    assert update_readme(tmp_path / "missing.md", REPO) is False


def test_the_committed_readme_binder_block_is_up_to_date(tmp_path):
    """The README names the same repository as the notebooks' badges (none: how to get one)."""
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text())
    assert README_START in copy.read_text(), "the README's Binder block markers are gone"
    assert update_readme(copy, _committed_repository() or "") is False, "run `python3 tasks.py nav`"
