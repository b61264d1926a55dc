"""The shape of ekslib: one subpackage per concept, each importing only those below it, no cycles.

The order (README, ``ekslib/__init__.py``): base modules (errors, facts, _checks) -> sources -> capacity -> ipam ->
cluster -> linux -> dataplane -> flows -> lab -> study -> figures -> widgets -> cli. Every import counts, also those
inside functions: a lazy import that runs up the list is still a dependency that runs up the list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ekslib"
#: Rooms from the bottom up; a module may import its own room and the rooms before it.
LAYERS = ("base", "sources", "capacity", "ipam", "cluster", "linux", "dataplane", "flows", "lab", "study",
          "figures", "widgets", "cli", "api")
BASE = {"errors", "facts", "_checks", "_version", "_perf", "_progress"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    """The layer a module belongs to: ``ekslib.ipam.steady`` -> ``ipam``; the top-level package -> ``api``."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return "api"
    if parts[1] in BASE:
        return "base"
    if parts[1] not in LAYERS:
        raise AssertionError(f"{module} is in no room of the layout: add it to LAYERS or move it into one")
    return parts[1]


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Every ekslib module ``path`` imports (``from ekslib.x import y`` counts ``ekslib.x.y`` if it is a module);
    ``top_level_only``: only the imports that run when the module loads."""
    found = set()
    tree = ast.parse(path.read_text())
    nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))] if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "ekslib"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "ekslib":
            found.add(node.module)
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if (ROOT / Path(*sub.split("."))).with_suffix(".py").exists() or \
                        (ROOT / Path(*sub.split(".")) / "__init__.py").exists():
                    found.add(sub)
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = nx.DiGraph()
#: The imports that run at load time, plus every import that crosses rooms: a cycle in it is a real one. A lazy
#: import inside one room (an object's ``text`` property calling its printer) is how a room keeps a convenience
#: method without a load-time cycle, and is not counted.
LOAD_GRAPH = nx.DiGraph()
for _name, _path in MODULES.items():
    GRAPH.add_node(_name)
    LOAD_GRAPH.add_node(_name)
    for _target in imports_of(_path):
        GRAPH.add_edge(_name, _target)
        if room(_target) != room(_name):
            LOAD_GRAPH.add_edge(_name, _target)
    for _target in imports_of(_path, top_level_only=True):
        LOAD_GRAPH.add_edge(_name, _target)


def test_every_module_has_a_room_and_a_docstring():
    for name, path in MODULES.items():
        room(name)
        assert ast.get_docstring(ast.parse(path.read_text())), f"{name} has no module docstring"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_down_the_layers(name):
    mine = LAYERS.index(room(name))
    for target in sorted(GRAPH.successors(name)):
        theirs = LAYERS.index(room(target))
        assert theirs <= mine, (f"{name} ({room(name)}) imports {target} ({room(target)}), which is above it: "
                                f"the order is {' -> '.join(LAYERS)}")


def test_no_import_cycles_between_modules():
    # a package's __init__ re-exports its modules: edges into and out of __init__ are not dependencies of a module
    inits = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    graph = LOAD_GRAPH.subgraph(n for n in LOAD_GRAPH if n not in inits)
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles: {cycles}"


def test_the_cycle_check_would_catch_a_load_time_cycle():
    graph = LOAD_GRAPH.copy()
    graph.add_edge("ekslib.facts", "ekslib.errors")
    graph.add_edge("ekslib.errors", "ekslib.facts")
    assert list(nx.simple_cycles(graph.subgraph(["ekslib.facts", "ekslib.errors"])))


def test_the_layout_test_would_catch_an_upward_import(tmp_path):
    # a test that cannot fail is a defect: feed the checker a module of the capacity room importing the cluster room
    bad = tmp_path / "bad.py"
    bad.write_text("from ekslib.cluster.model import Cluster\n")
    assert "ekslib.cluster.model" in imports_of(bad)
    assert LAYERS.index(room("ekslib.cluster.model")) > LAYERS.index(room("ekslib.capacity"))


def test_import_ekslib_stays_light():
    import subprocess
    import sys

    code = "import sys, ekslib; print(sorted(m for m in ('pandas', 'plotly', 'numpy', 'networkx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_version_has_one_value():
    import tomllib

    from ekslib._version import __version__

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == __version__
