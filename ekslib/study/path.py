"""The learning path: what each notebook teaches and in which order, where each topic of the source notes is
worked through (notebook and section), and a plan for a study group. The index notebook shows these; a test
checks that every section named here exists, so the map cannot drift from the notebooks.

The source notes: Sigrid Jin, "Notes on EKS Networking in AWS CNI", PKOS study week 2, Medium, 28 January 2023.

>>> [s for s in sections(NOTEBOOKS / "06_services_and_dnat.ipynb") if s[0] == "6.4"]
[('6.4', 'LoadBalancer: an NLB with instance targets, and the two DNATs')]
>>> anchor("6.4", "LoadBalancer: an NLB with instance targets, and the two DNATs")
'6.4-LoadBalancer:-an-NLB-with-instance-targets,-and-the-two-DNATs'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

#: The collection's notebooks (ekslib is installed from the checkout, beside them).
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
_SECTION = re.compile(r"^## (\d+\.\d+) (.+?)\s*$", re.M)

#: The notes' topics -> where they are worked through: (notebook number, section number) pairs.
TOPICS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("CNI types: overlays and Layer 3 plugins against the VPC CNI's VPC addresses on ENIs",
     (("03", "3.4"), ("04", "4.1"))),
    ("ENIs and IP limits: \"17 (3 * 5 + 2)\" pods on a t3.medium", (("01", "1.1"), ("01", "1.2"), ("01", "1.3"))),
    ("what changes the limit: prefix delegation, custom networking, max-pods ceilings", (("01", "1.5"),)),
    ("which addresses a node really holds: the warm pool", (("02", "2.2"), ("02", "2.3"))),
    ("host-network pods (kube-proxy, aws-node) use the node's address", (("03", "3.3"), ("05", "5.8"))),
    ("pod network namespaces and veth pairs, `eniY@ifN`", (("03", "3.3"), ("03", "3.4"))),
    ("the cbr0 bridge and ARP between pods (kubenet, not the VPC CNI)", (("03", "3.4"), ("04", "4.1"))),
    ("node to node: a packet between pods on two nodes", (("04", "4.2"), ("04", "4.3"), ("04", "4.4"))),
    ("pod to external: SNAT, and which address the internet sees", (("05", "5.1"), ("05", "5.3"), ("05", "5.4"))),
    ("NodePort", (("06", "6.3"),)),
    ("LoadBalancer", (("06", "6.4"), ("06", "6.5"))),
    ("externalTrafficPolicy: Local and the client's address", (("06", "6.3"), ("06", "6.6"))),
    ("\"DNAT happens twice\": the two DNATs", (("06", "6.4"),)),
    ("does the kernel agree? the same flows in real network namespaces", (("07", "7.3"), ("07", "7.5"))),
)

#: A plan for a study group that meets once a week: sessions, notebooks, and what to discuss.
STUDY_PLAN: tuple[tuple[str, str, str], ...] = (
    ("1", "00, 01", "Why does a t3.medium run 17 pods and not more? Which setting would you change for a cluster "
                    "of small nodes, and what does it cost?"),
    ("2", "02", "Your subnets: how many addresses do the warm pools hold that no pod uses? Which WARM_* target "
                "would you set, and what would EC2's API rate limit say?"),
    ("3", "03, 04", "Draw a pod's way to a pod on another node from memory, then check it in the flow explorer. "
                    "Why is there no bridge, and no encapsulation?"),
    ("4", "05", "Which address does a partner's firewall see from your pods, in private and in public subnets? "
                "When would you turn on external SNAT?"),
    ("5", "06", "Cluster or Local: what does each cost, and what does each keep? Where do the two DNATs happen "
                "with instance targets, and why does a pod calling its own NLB time out?"),
    ("6", "07", "On a Linux machine: build the lab, break the connmark, and explain each failed connection. "
                "Where did the engine and the kernel disagree while this collection was built, and who was right?"),
)


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first markdown heading of ``nb``."""
    for cell in nb.cells:
        match = _HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if match:
            return match.group(1)
    return fallback


def notebook_goals(nb: nbformat.NotebookNode) -> list[str]:
    """The bullets after "... you will be able to:" in the notebook's first cell (its goals)."""
    lines = [ln.strip() for ln in nb.cells[0].source.splitlines()] if nb.cells else []
    marker = next((i for i, ln in enumerate(lines) if "you will be able to" in ln.lower()), None)
    if marker is None:
        return []
    goals = []
    for line in lines[marker + 1:]:
        if line.startswith(("- ", "* ")):
            goals.append(line[2:].rstrip(";."))
        elif goals and line and not line.startswith("#"):
            goals[-1] += " " + line.rstrip(";.")  # a bullet wrapped over lines
        elif goals:
            break
    return goals


def learning_path(notebooks_dir: str | os.PathLike[str] = NOTEBOOKS) -> list[dict[str, object]]:
    """One row per notebook, in learning order: its number, title, goals, numbered sections and exercises."""
    from ekslib.study.exercises import EXERCISES

    rows = []
    for path in _notebooks(Path(notebooks_dir)).values():
        nb = nbformat.read(path, as_version=4)
        rows.append({"notebook": path.name, "title": notebook_title(nb, path.stem), "goals": notebook_goals(nb),
                     "sections": len(sections(path)), "exercises": len(EXERCISES.get(path.name, ()))})
    return rows


def learning_path_markdown(notebooks_dir: str | os.PathLike[str] = NOTEBOOKS) -> str:
    """:func:`learning_path` as markdown: a heading per notebook (linked), its goals as bullets."""
    parts = []
    for row in learning_path(notebooks_dir):
        if row["notebook"].startswith("00_"):
            continue
        goals = "\n".join(f"- {g}" for g in row["goals"])
        parts.append(f"**[{row['title']}]({row['notebook']})** ({row['sections']} sections, {row['exercises']} "
                     f"exercises)\n\n{goals}")
    return "\n\n".join(parts)


def anchor(number: str, title: str) -> str:
    """The anchor JupyterLab and nbconvert give the heading ``## <number> <title>`` (spaces become ``-``)."""
    return f"{number} {title}".replace(" ", "-")


def sections(notebook: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The numbered sections (``## N.M title``) of a notebook, in order."""
    nb = nbformat.read(notebook, as_version=4)
    return [(m[1], m[2]) for c in nb.cells if c.cell_type == "markdown" for m in _SECTION.finditer(c.source)]


def _notebooks(folder: Path) -> dict[str, Path]:
    return {p.name[:2]: p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}


def topic_map_markdown(notebooks_dir: str | os.PathLike[str] = NOTEBOOKS) -> str:
    """The notes' topics as a markdown table with a link to each section that covers them."""
    books = _notebooks(Path(notebooks_dir))
    rows = ["| the notes' topic | where |", "|---|---|"]
    for topic, places in TOPICS:
        links = []
        for book, number in places:
            title = dict(sections(books[book]))[number]
            links.append(f"[{number} {title}]({books[book].name}#{anchor(number, title)})")
        rows.append(f"| {topic} | {'; '.join(links)} |")
    return "\n".join(rows)


def study_plan_markdown() -> str:
    """:data:`STUDY_PLAN` as a markdown table."""
    rows = ["| session | notebooks | to discuss |", "|---|---|---|"]
    rows += [f"| {s} | {b} | {d} |" for s, b, d in STUDY_PLAN]
    return "\n".join(rows)


def missing_sections(notebooks_dir: str | os.PathLike[str] = NOTEBOOKS) -> list[str]:
    """Every (notebook, section) of :data:`TOPICS` that the notebooks do not have (empty when the map holds)."""
    books = _notebooks(Path(notebooks_dir))
    missing = []
    for topic, places in TOPICS:
        for book, number in places:
            if book not in books or number not in dict(sections(books[book])):
                missing.append(f"{topic!r}: notebook {book}, section {number}")
    return missing
