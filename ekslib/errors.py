"""Errors that ekslib raises: each names the bad value and what would be valid.

>>> from ekslib.errors import suggest
>>> suggest("m5.lage", ["m5.large", "m5.xlarge", "t3.medium"])
['m5.large', 'm5.xlarge']
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EkslibError(ValueError):
    """Base class of every error ekslib raises for bad input (a ``ValueError``)."""


class UnknownInstanceTypeError(EkslibError):
    """An instance type that is not in the snapshot; ``suggestions`` holds close names."""

    def __init__(self, name: str, suggestions: list[str], count: int):
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown instance type {name!r}.{hint} "
            f"(The snapshot knows {count:,} types: ekslib.load_instance_types().index lists them.)"
        )


class RefreshError(EkslibError):
    """The EC2 answer was empty or partial, so the snapshot was left as it was."""


def suggest(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Close matches for ``name`` among ``candidates`` (difflib), best first.

    Names sharing the family prefix (the part before the dot) come first, so ``m5.huge``
    suggests m5 sizes rather than other families.
    """
    candidates = list(candidates)
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)
    family = name.split(".", 1)[0]
    same_family = [c for c in close if c.split(".", 1)[0] == family]
    if not same_family and "." in name:
        same_family = difflib.get_close_matches(
            name, [c for c in candidates if c.startswith(family + ".")], n=n, cutoff=0.3
        )
    ordered = same_family + [c for c in close if c not in same_family]
    return ordered[:n]
