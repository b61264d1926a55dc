#!/usr/bin/env python3
"""The project's commands, needing nothing but python3 (3.11 or newer):

    python3 tasks.py lab          # make .venv if missing, install, open JupyterLab on the notebooks
    python3 tasks.py test         # make .venv if missing, install, lint, run the unit tests and every notebook
    python3 tasks.py nav          # insert or refresh each notebook's previous | index | next links and Binder badge
    python3 tasks.py site [OUT]   # run every notebook once into a static HTML site (default build/site)
    python3 tasks.py screenshots  # retake the README's pictures (docs/screenshots) from build/site, in Chromium

The virtual environment is ``.venv`` beside this file; it is (re)installed from ``requirements.txt`` whenever
that file or ``pyproject.toml`` changes. Extra arguments go to JupyterLab or to pytest, e.g.
``python3 tasks.py lab --no-browser`` or ``python3 tasks.py test -x``; ``site`` takes the output folder.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".ekslib-installed"
INPUTS = ("requirements.txt", "pyproject.toml")


def _say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def _run(*args: str | os.PathLike[str], **kwargs) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, **kwargs)


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create ``.venv`` when it is missing and install ``requirements.txt`` when it changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"[tasks] Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        _say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as exc:  # Debian/Ubuntu ship venv's pip separately
            sys.exit(f"[tasks] could not create the virtual environment ({exc}). On Debian or Ubuntu: "
                     f"apt-get install python3-venv, then run this command again.")
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    _say("installing requirements.txt into .venv (first run, or the requirements changed)")
    if _run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", "requirements.txt"):
        sys.exit("[tasks] pip install failed; see the messages above")
    # rfc3987-syntax (an optional format checker of jsonschema, pulled in by jupyter-events) builds a parser when it
    # is imported: 1.5 s in every process that imports nbformat, i.e. every kernel that shows a plotly figure, the
    # JupyterLab server and the test workers. jsonschema works without it (it skips the "iri" formats), so the
    # environment goes without it (measured: a kernel's imports 2.6 s -> 1.1 s).
    _run(PYTHON, "-m", "pip", "uninstall", "--disable-pip-version-check", "-q", "-y", "rfc3987-syntax")
    STAMP.write_text(fingerprint)
    # the installed files (about 1 GB) reach the disk now, not while the first command runs (measured: the
    # kernel writing them back slowed the first test run after an install by 3-7 s)
    if hasattr(os, "sync"):
        os.sync()


def lab(extra: list[str]) -> int:
    """Open JupyterLab on the collection's index notebook."""
    ensure_environment()
    return _run(BIN / "jupyter", "lab", "notebooks/00_index.ipynb", *extra)


def test(extra: list[str]) -> int:
    """Lint with ruff while the unit tests, doctests and every notebook run in one pytest session.

    One session (two xdist workers, ``--dist loadscope`` so that a notebook's cells share one kernel) starts the
    workers once and keeps both cores busy while a notebook's kernel waits.
    """
    ensure_environment()
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    # bytecode caches (in __pycache__, ignored by git) even where the environment turns them off: every test worker
    # and every notebook kernel would otherwise compile ekslib, and pytest rewrite every test module, from source
    # (measured: collecting the tests 7.2 s -> 3.9 s)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _run(PYTHON, "-m", "compileall", "-q", "ekslib", env=env)
    # ruff runs beside pytest's start (its findings, if any, are printed after the tests)
    ruff = subprocess.Popen([str(PYTHON), "-m", "ruff", "check", "--quiet", "."], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _say("lint (ruff), unit tests, doctests, every notebook (run once, by building the static site) and the real "
         "browser")
    # the JupyterLab session of the widget tour starts first, on one worker, while the other runs unit tests; the
    # static site (every notebook executed once, its pages opened in Chromium) is built in the background by
    # xdist's controller and its tests run last (tests/conftest.py); --no-loadscope-reorder keeps this order
    # (xdist otherwise hands out the modules with most tests first)
    first = ["tests/test_browser.py"]
    # (nbval stays installed for `pytest --nbval-lax notebooks/`; not loading it here saves 0.2 s a process)
    tests = _run(PYTHON, "-m", "pytest", *first, "tests", "ekslib", "-n", "2", "--dist", "loadscope",
                 "--no-loadscope-reorder", "-p", "no:cacheprovider", "-p", "no:nbval", *extra, env=env)
    findings, _ = ruff.communicate()
    if ruff.returncode:
        print(findings, end="")
        _say("ruff found problems (above); `.venv/bin/python -m ruff check --fix .` mends the simple ones")
    else:
        _say("ruff: no problems")
    return ruff.returncode or tests


def nav(extra: list[str]) -> int:
    """Insert or refresh the navigation cell (previous | index | next, Binder badge) of every notebook."""
    ensure_environment()
    return _run(PYTHON, "-m", "ekslib.study.navigation", "notebooks", *extra)


def site(extra: list[str]) -> int:
    """Run every notebook once and write the static site (pages that read without a kernel) to OUT."""
    ensure_environment()
    out = extra[0] if extra else "build/site"
    return _run(PYTHON, "-m", "ekslib.study.site", out, "notebooks", *extra[1:])  # (build_site sets the kernels' env)


def screenshots(extra: list[str]) -> int:
    """Retake the README's screenshots of the main views from the static site (build it first)."""
    ensure_environment()
    return _run(PYTHON, "-m", "ekslib.study.screenshots", *(extra or ["build/site", "docs/screenshots"]))


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "nav": nav, "site": site, "screenshots": screenshots}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
