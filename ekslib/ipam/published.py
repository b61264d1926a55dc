"""AWS's published steady states of the warm pool, as data, and how the model compares.

Sources: github.com/aws/amazon-vpc-cni-k8s ``docs/eni-and-ip-target.md`` ("Some example cases") and
``docs/prefix-and-ip-target.md`` ("Examples"). Where a row contradicts itself or ipamd's code,
:func:`published_row_problems` says why and the model follows the code.

>>> compare_published("secondary")["verdict"].value_counts().index[0]
'exact'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ekslib.errors import EkslibError
from ekslib.facts import IPS_PER_PREFIX
from ekslib.ipam.steady import steady_state
from ekslib.sources.instance_types import instance_type_info

# --------------------------------------------------------------------------------- published steady states

@dataclass(frozen=True)
class PublishedRow:
    """One row of an example table of the VPC CNI docs, as published (None: '-' or an empty cell)."""

    instance_type: str
    warm_eni_target: int | None
    warm_prefix_target: int | None
    warm_ip_target: int | None
    minimum_ip_target: int | None
    pods: int
    enis: int
    ips: int | None
    unused_ips: int
    per_eni: tuple[int, ...]
    prefixes: int | None = None
    pods_per_eni: tuple[int, ...] | None = None
    pods_per_prefix: tuple[int, ...] | None = None
    unused_prefixes: int | None = None

    @property
    def prefix_mode(self) -> bool:
        """True for a row of the prefix table."""
        return self.prefixes is not None

    def settings(self) -> dict[str, Any]:
        """The keyword arguments of :func:`steady_state` for this row ('-' means unset)."""
        flags: dict[str, Any] = {"warm_ip_target": self.warm_ip_target, "minimum_ip_target": self.minimum_ip_target}
        if self.prefix_mode:
            flags.update(prefix_delegation=True, warm_prefix_target=self.warm_prefix_target)
        else:
            flags["warm_eni_target"] = self.warm_eni_target
        return flags


#: Source of :data:`PUBLISHED_SECONDARY_IP_ROWS` (Apache-2.0).
SECONDARY_IP_ROWS_SOURCE = "github.com/aws/amazon-vpc-cni-k8s docs/eni-and-ip-target.md, 'Some example cases'"
#: Source of :data:`PUBLISHED_PREFIX_ROWS` (Apache-2.0).
PREFIX_ROWS_SOURCE = "github.com/aws/amazon-vpc-cni-k8s docs/prefix-and-ip-target.md, 'Examples'"


def _secondary(t: str, eni: int | None, ip: int | None, minimum: int | None, pods: int, enis: int, ips: int,
               unused: int, per_eni: tuple[int, ...]) -> PublishedRow:
    return PublishedRow(t, eni, None, ip, minimum, pods, enis, ips, unused, per_eni)


def _prefix(t: str, prefix: int | None, ip: int | None, minimum: int | None, pods: int, enis: int,
            pods_per_eni: tuple[int, ...], prefixes: int, pods_per_prefix: tuple[int, ...] | None,
            unused_prefixes: int, per_eni: tuple[int, ...], unused: int) -> PublishedRow:
    return PublishedRow(t, None, prefix, ip, minimum, pods, enis, None, unused, per_eni, prefixes, pods_per_eni,
                        pods_per_prefix, unused_prefixes)


#: Every row of the secondary-IP example table, as published (t3.small: 3 ENIs x 4 IPv4; p3dn.24xlarge: 15 x 50).
PUBLISHED_SECONDARY_IP_ROWS: tuple[PublishedRow, ...] = (
    _secondary("t3.small", 1, None, None, 0, 1, 3, 3, (3,)),
    _secondary("t3.small", 1, None, None, 5, 3, 9, 4, (3, 3, 3)),
    _secondary("t3.small", 1, None, None, 9, 3, 9, 0, (3, 3, 3)),
    _secondary("t3.small", None, 1, 1, 0, 1, 1, 1, (1,)),
    _secondary("t3.small", None, 1, 1, 5, 2, 6, 1, (3, 3)),
    _secondary("t3.small", None, 1, 1, 9, 3, 9, 0, (3, 3, 3)),
    _secondary("t3.small", None, 2, 5, 0, 2, 5, 5, (2, 3)),
    _secondary("t3.small", None, 2, 5, 5, 3, 7, 2, (3, 3, 1)),
    _secondary("t3.small", None, 2, 5, 9, 3, 9, 0, (3, 3, 3)),
    _secondary("p3dn.24xlarge", 1, None, None, 0, 1, 49, 49, (49,)),
    _secondary("p3dn.24xlarge", 1, None, None, 3, 2, 98, 95, (49, 49)),
    _secondary("p3dn.24xlarge", 1, None, None, 95, 3, 147, 52, (49, 49, 49)),
    _secondary("p3dn.24xlarge", None, 5, 10, 0, 1, 10, 10, (10,)),
    _secondary("p3dn.24xlarge", None, 5, 10, 7, 1, 12, 5, (12,)),
    _secondary("p3dn.24xlarge", None, 5, 10, 15, 1, 20, 5, (20,)),
    _secondary("p3dn.24xlarge", None, 5, 10, 45, 2, 50, 5, (49, 1)),
)

#: Every row of the prefix example table, as published (per_eni: prefixes per ENI; the doc leaves
#: 'Pod per Prefixes' empty for p3dn.24xlarge).
PUBLISHED_PREFIX_ROWS: tuple[PublishedRow, ...] = (
    _prefix("t3.small", 1, None, None, 0, 1, (0,), 1, (0,), 1, (1,), 16),
    _prefix("t3.small", 1, None, None, 5, 1, (5,), 2, (5, 0), 1, (2,), 27),
    _prefix("t3.small", 1, None, None, 16, 1, (16,), 2, (16, 0), 1, (2,), 16),
    _prefix("t3.small", 1, None, None, 17, 1, (17,), 3, (16, 1, 0), 1, (3,), 31),
    _prefix("t3.small", 1, None, None, 58, 2, (48, 10), 5, (16, 16, 16, 10, 0), 1, (3, 2), 22),
    _prefix("t3.small", None, 1, 1, 0, 1, (0,), 1, (0,), 1, (1,), 16),
    _prefix("t3.small", None, 1, 1, 5, 1, (5,), 1, (5,), 0, (1,), 11),
    _prefix("t3.small", None, 1, 1, 17, 1, (17,), 2, (16, 1), 0, (2,), 15),
    _prefix("t3.small", None, 1, 1, 58, 2, (48, 10), 4, (16, 16, 16, 10), 0, (3, 1), 6),
    _prefix("t3.small", None, 7, 20, 0, 1, (0,), 1, (0, 0), 1, (2,), 16),
    _prefix("t3.small", None, 7, 20, 5, 1, (5,), 2, (5, 0), 1, (2,), 27),
    _prefix("t3.small", None, 7, 20, 17, 1, (17,), 2, (16, 1), 0, (2,), 15),
    _prefix("t3.small", None, 7, 20, 58, 2, (48, 10), 5, (16, 16, 16, 10, 0), 1, (3, 2), 22),
    _prefix("p3dn.24xlarge", 1, None, None, 0, 1, (0,), 1, None, 1, (1,), 16),
    _prefix("p3dn.24xlarge", 1, None, None, 3, 2, (3, 0), 2, None, 1, (2, 0), 29),
    _prefix("p3dn.24xlarge", 1, None, None, 95, 3, (95, 0, 0), 7, None, 1, (7, 0, 0), 17),
    _prefix("p3dn.24xlarge", None, 5, 10, 0, 1, (0,), 1, None, 1, (1,), 16),
    _prefix("p3dn.24xlarge", None, 5, 10, 7, 1, (7,), 1, None, 0, (1,), 9),
    _prefix("p3dn.24xlarge", None, 5, 10, 15, 1, (15,), 2, None, 1, (2,), 17),
    _prefix("p3dn.24xlarge", None, 5, 10, 45, 2, (45, 0), 4, None, 1, (4, 0), 19),
)


def published_row_problems(row: PublishedRow) -> list[str]:
    """Where a published row contradicts itself or the doc's own rules (empty list: consistent).

    >>> published_row_problems(PUBLISHED_PREFIX_ROWS[9])  # doctest: +NORMALIZE_WHITESPACE
    ['1 attached prefix, but the prefixes per ENI (2) add up to 2',
     "'Pod per Prefixes' (0,0) lists 2 prefixes, not 1"]
    """
    problems: list[str] = []
    slots = instance_type_info(row.instance_type).ipv4_per_eni - 1
    held = row.prefixes if row.prefix_mode else row.ips
    what = "prefixe" if row.prefix_mode else "IP"
    listed = ",".join(map(str, row.per_eni))
    if sum(row.per_eni) != held:
        one = "prefix" if row.prefix_mode else "IP"
        problems.append(f"{held} attached {one if held == 1 else what + 's'}, but the {what}s per ENI ({listed}) "
                        f"add up to {sum(row.per_eni)}")
    if len(row.per_eni) != row.enis:
        problems.append(f"{row.enis} ENIs, but {len(row.per_eni)} values per ENI ({listed})")
    addresses = held * (IPS_PER_PREFIX if row.prefix_mode else 1)
    if addresses - row.pods != row.unused_ips:
        problems.append(f"{addresses} addresses for {row.pods} pods leave {addresses - row.pods} unused, not "
                        f"{row.unused_ips}")
    if row.pods_per_prefix is not None:
        if len(row.pods_per_prefix) != row.prefixes:
            problems.append(f"'Pod per Prefixes' ({','.join(map(str, row.pods_per_prefix))}) lists "
                            f"{len(row.pods_per_prefix)} prefixes, not {row.prefixes}")
        elif row.pods_per_prefix.count(0) != row.unused_prefixes:
            problems.append(f"'Pod per Prefixes' has {row.pods_per_prefix.count(0)} empty prefixes, not "
                            f"{row.unused_prefixes}")
    for i, count in enumerate(row.per_eni[:-1]):
        if row.prefix_mode and count < slots:
            problems.append(f"ENI {i + 2} is attached while ENI {i + 1} holds {count} of its {slots} prefixes: "
                            f"the doc itself says 'New ENI will only be allocated after we exhaust all the "
                            f"prefixes allocated to existing ENIs'")
            break
    return problems


def published_table(kind: str = "secondary") -> pd.DataFrame:
    """The published example table ``kind`` ('secondary' or 'prefix') as a DataFrame, with each row's problems.

    >>> published_table("prefix").loc[9, ["pods", "prefixes", "per_eni", "unused_ips"]].astype(str).tolist()
    ['0', '1', '2', '16']
    """
    rows = _published(kind)
    frame = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    for column in ("per_eni", "pods_per_eni", "pods_per_prefix"):
        frame[column] = [",".join(map(str, v)) if v is not None else None for v in frame[column]]
    frame["problems"] = ["; ".join(published_row_problems(r)) for r in rows]
    keep = ["instance_type", "warm_prefix_target" if kind == "prefix" else "warm_eni_target", "warm_ip_target",
            "minimum_ip_target", "pods", "enis"]
    keep += (["pods_per_eni", "prefixes", "pods_per_prefix", "unused_prefixes", "per_eni", "unused_ips"]
             if kind == "prefix" else ["ips", "unused_ips", "per_eni"])
    frame = frame[keep + ["problems"]]
    frame.attrs["source"] = PREFIX_ROWS_SOURCE if kind == "prefix" else SECONDARY_IP_ROWS_SOURCE
    return frame


def _published(kind: str) -> tuple[PublishedRow, ...]:
    if kind not in ("secondary", "prefix"):
        raise EkslibError(f"unknown table {kind!r}: choose 'secondary' or 'prefix'")
    return PUBLISHED_PREFIX_ROWS if kind == "prefix" else PUBLISHED_SECONDARY_IP_ROWS


def compare_published(kind: str = "secondary") -> pd.DataFrame:
    """Each published row next to :func:`steady_state`, with a verdict: 'exact', 'other order' (the same
    per-ENI values listed in another order) or 'differs' (then ``problems`` says where the doc contradicts
    itself).

    >>> compare_published("secondary")["verdict"].value_counts().to_dict()
    {'exact': 15, 'other order': 1}
    """
    records = []
    for number, row in enumerate(_published(kind)):
        state = steady_state(row.instance_type, row.pods, **row.settings())
        model = (state.enis, state.prefixes if row.prefix_mode else state.ips, state.unused, state.per_eni)
        doc = (row.enis, row.prefixes if row.prefix_mode else row.ips, row.unused_ips, row.per_eni)
        if model == doc:
            verdict = "exact"
        elif model[:3] == doc[:3] and sorted(model[3]) == sorted(doc[3]):
            verdict = "other order"
        else:
            verdict = "differs"
        records.append({"row": number, "instance_type": row.instance_type, **row.settings(), "pods": row.pods,
                        "doc_enis": doc[0], "model_enis": model[0], "doc_held": doc[1], "model_held": model[1],
                        "doc_unused": doc[2], "model_unused": model[2], "doc_per_eni": ",".join(map(str, doc[3])),
                        "model_per_eni": ",".join(map(str, model[3])), "verdict": verdict,
                        "problems": "; ".join(published_row_problems(row))})
    return pd.DataFrame(records).set_index("row")


