"""The model of pod capacity: how many pods the AWS VPC CNI can give addresses to on one node.

Formulas and constants, with their public sources (``shared/reference/vpc-cni.md`` section 2):

* standard (secondary-IP mode): ``ENIs x (IPv4 per ENI - 1) + 2``. The ``- 1``: an ENI's primary address is
  the ENI's own, never a pod's. The ``+ 2``: the host-network pods ``aws-node`` and ``kube-proxy``, which
  count against kubelet's max-pods but use the node's address. Source: github.com/aws/amazon-vpc-cni-k8s
  ``scripts/gen_vpc_ip_limits.go`` and the header of ``misc/eni-max-pods.txt``.
* ENIs = the default network card's ``MaximumNetworkInterfaces`` (card 0), multi-card types too (same header).
* custom networking (``AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true``): the primary ENI gives no pod addresses,
  so one ENI fewer (VPC CNI docs; ``max-pods-calculator.sh``).
* prefix delegation (``ENABLE_PREFIX_DELEGATION=true``): each secondary slot holds a /28 prefix of 16
  addresses; counted only for CNI >= 1.9.0 on Nitro (``Hypervisor == "nitro"``), exactly as the former
  ``max-pods-calculator.sh`` of github.com/awslabs/amazon-eks-ami did.
* ceiling: that script printed ``min(raw, 110)`` for <= 30 vCPUs and ``min(raw, 250)`` above, unless
  ``--show-max-allowed`` (Amazon EKS User Guide, "Amazon EKS recommended maximum Pods").
* IPv6 (``ENABLE_IPv6=true``, prefix mode, no custom networking): one /80 on the primary ENI serves every
  pod, so addresses do not limit the node; kubelet's max-pods does (the 110/250 recommendation).
* security groups for pods (``ENABLE_POD_ENI=true``): the trunk ENI takes one ENI slot on trunk-capable
  types; pods with their own security groups get branch ENIs on top (limits from
  github.com/aws/amazon-vpc-resource-controller-k8s ``pkg/aws/vpc/limits.go``, as published in
  ``misc/eni-max-pods.txt``).

One formula (:func:`_pod_counts`) serves both the scalar :func:`max_pods` and the vectorised
:func:`capacity_table`, so the two can never disagree.

>>> max_pods("t3.medium")
17
>>> max_pods("m5.large", prefix_delegation=True, ceiling=True)
110
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ekslib.errors import EkslibError
from ekslib.facts import (
    CEILING_CPU_THRESHOLD,
    CEILING_HIGH_CPU,
    CEILING_LOW_CPU,
    DEFAULT_CNI_VERSION,
    HOST_NETWORK_PODS,
    IPS_PER_PREFIX,
    PREFIX_DELEGATION_MIN_CNI,
)
from ekslib.sources.instance_types import instance_type_info, load_instance_types
from ekslib.sources.published import branch_eni_limits

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.-]+)?$")


@functools.lru_cache(maxsize=256)
def parse_cni_version(version: str) -> tuple[int, int, int]:
    """``(major, minor, patch)`` of a VPC CNI version: ``1.9.0``, ``v1.18.3``, ``v1.19.2-eksbuild.1``.

    >>> parse_cni_version("v1.19.2-eksbuild.1")
    (1, 19, 2)
    """
    match = _VERSION.match(version.strip()) if isinstance(version, str) else None
    if not match:
        raise EkslibError(
            f"malformed CNI version {version!r}: expected MAJOR.MINOR[.PATCH] such as '1.9.0', 'v1.18.3' "
            f"or 'v1.19.2-eksbuild.1'"
        )
    return int(match[1]), int(match[2]), int(match[3] or 0)


@dataclass(frozen=True)
class Settings:
    """The VPC CNI settings that change a node's pod capacity (validated on creation)."""

    cni_version: str = DEFAULT_CNI_VERSION
    prefix_delegation: bool = False
    custom_networking: bool = False
    max_eni: int | None = None
    ceiling: bool = False
    ipv6: bool = False
    security_groups_for_pods: bool = False

    def __post_init__(self) -> None:
        parse_cni_version(self.cni_version)
        if self.max_eni is not None:
            if isinstance(self.max_eni, bool) or not isinstance(self.max_eni, (int, np.integer)):
                raise EkslibError(f"max_eni must be a whole number of ENIs or None, not {self.max_eni!r}")
            if self.max_eni < 1:
                raise EkslibError(
                    f"max_eni={self.max_eni} is not valid: a node always has its primary ENI, so max_eni is at "
                    f"least 1 (ipamd treats MAX_ENI <= 0 as unset: pass None for that)"
                )
        if self.ipv6 and self.custom_networking:
            raise EkslibError("ipv6=True with custom_networking=True is not supported by the VPC CNI: "
                              "IPv6 pods take addresses from the primary ENI's /80; choose one")
        if self.ipv6 and not self.prefix_delegation:
            raise EkslibError("ipv6=True needs prefix_delegation=True: the VPC CNI runs IPv6 only in prefix mode")

    @property
    def prefix_supported_by_cni(self) -> bool:
        """True when this CNI version knows prefix delegation (>= 1.9.0)."""
        return parse_cni_version(self.cni_version) >= PREFIX_DELEGATION_MIN_CNI


def _pod_counts(enis: Any, ipv4_per_eni: Any, vcpus: Any, nitro: Any, branch_enis: Any, s: Settings) -> dict[str, Any]:
    """The capacity formula on scalars or on whole columns (numpy arrays) alike; every step is returned."""
    enis_for_pods = enis if s.max_eni is None else np.minimum(enis, s.max_eni)
    trunk = (branch_enis > 0) & s.security_groups_for_pods
    enis_for_pods = np.maximum(enis_for_pods - int(s.custom_networking) - trunk, 0)
    prefix_applied = nitro & (s.prefix_delegation and s.prefix_supported_by_cni)
    addresses_per_slot = 1 + (IPS_PER_PREFIX - 1) * prefix_applied
    slots_per_eni = ipv4_per_eni - 1
    pod_addresses = enis_for_pods * slots_per_eni * addresses_per_slot
    raw = pod_addresses + HOST_NETWORK_PODS
    ceiling_value = CEILING_LOW_CPU + (CEILING_HIGH_CPU - CEILING_LOW_CPU) * (vcpus > CEILING_CPU_THRESHOLD)
    if s.ipv6:
        result = ceiling_value + 0 * raw
    elif s.ceiling:
        result = np.minimum(raw, ceiling_value)
    else:
        result = raw
    return {
        "enis_for_pods": enis_for_pods, "trunk_eni": trunk, "prefix_applied": prefix_applied,
        "addresses_per_slot": addresses_per_slot, "slots_per_eni": slots_per_eni,
        "pod_addresses": pod_addresses, "raw_max_pods": raw, "ceiling_value": ceiling_value, "max_pods": result,
    }


@dataclass(frozen=True)
class Explanation:
    """A max-pods number with its derivation as data; ``str()`` renders it as readable text."""

    instance_type: str
    settings: Settings
    enis: int
    enis_total: int
    network_cards: int
    ipv4_per_eni: int
    vcpus: int
    hypervisor: str
    enis_for_pods: int
    slots_per_eni: int
    addresses_per_slot: int
    prefix_applied: bool
    pod_addresses: int
    host_network_pods: int
    raw_max_pods: int
    ceiling_value: int
    ceiling_applied: bool
    max_pods: int
    branch_enis: int
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def formula(self) -> str:
        """The arithmetic in one line, e.g. ``3 x (6 - 1) + 2 = 17``."""
        per_slot = f" x {self.addresses_per_slot}" if self.addresses_per_slot != 1 else ""
        text = (f"{self.enis_for_pods} x ({self.ipv4_per_eni} - 1){per_slot} + {self.host_network_pods} "
                f"= {self.raw_max_pods}")
        if self.settings.ipv6:
            return f"IPv6: not limited by addresses; kubelet max-pods = {self.max_pods}"
        if self.ceiling_applied:
            text += f" -> min({self.raw_max_pods}, {self.ceiling_value}) = {self.max_pods}"
        return text

    def to_text(self) -> str:
        """The derivation as numbered lines, then notes."""
        lines = [f"{self.instance_type}: max pods = {self.max_pods}", f"  {self.formula}"]
        lines += [f"  {i}. {step}" for i, step in enumerate(self.steps, 1)]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    __str__ = to_text

    def as_dict(self) -> dict[str, Any]:
        """Every field (settings flattened) as a plain dict, e.g. for a DataFrame row."""
        data = asdict(self)
        data.update(data.pop("settings"))
        return data


def explain_max_pods(instance_type: str, **settings: Any) -> Explanation:
    """Max pods for ``instance_type`` with its derivation (ENIs used and why, addresses per ENI, ...).

    Takes the keyword arguments of :func:`max_pods`.

    >>> print(explain_max_pods("t3.medium"))  # doctest: +ELLIPSIS
    t3.medium: max pods = 17
      3 x (6 - 1) + 2 = 17
      1. ENIs: 3 (default network card's MaximumNetworkInterfaces)
    ...
    """
    s = Settings(**settings)
    t = instance_type_info(instance_type)
    branch = int(branch_eni_limits().get(t.instance_type, 0))
    r = _pod_counts(t.enis, t.ipv4_per_eni, t.vcpus, t.nitro, branch, s)
    steps: list[str] = []
    notes: list[str] = []
    card_note = (
        f" of {t.enis_total} across {t.network_cards} cards; the VPC CNI counts card 0 only"
        if t.network_cards > 1
        else ""
    )
    steps.append(f"ENIs: {t.enis} (default network card's MaximumNetworkInterfaces{card_note})")
    if s.max_eni is not None:
        steps.append(f"MAX_ENI={s.max_eni}: min({s.max_eni}, {t.enis}) = {min(s.max_eni, t.enis)} ENIs")
    if s.custom_networking:
        steps.append("custom networking: the primary ENI gives no pod addresses (one ENI fewer)")
    if s.security_groups_for_pods:
        if r["trunk_eni"]:
            steps.append(
                f"security groups for pods: the trunk ENI takes one ENI slot; up to {branch} pods with "
                f"their own security groups run on branch ENIs on top of this count"
            )
        else:
            notes.append(f"{t.instance_type} is not trunk-capable: security groups for pods cannot run on it")
    steps.append(f"ENIs giving pod addresses: {r['enis_for_pods']}")
    steps.append(f"slots per ENI: {t.ipv4_per_eni} IPv4 addresses - 1 primary = {r['slots_per_eni']}")
    if r["prefix_applied"]:
        steps.append(f"prefix delegation: each slot holds a /28 prefix of {IPS_PER_PREFIX} addresses")
    elif s.prefix_delegation and not s.prefix_supported_by_cni:
        notes.append(f"prefix delegation ignored: CNI {s.cni_version} is older than 1.9.0")
    elif s.prefix_delegation:
        why = "bare metal reports no hypervisor" if t.bare_metal else f"hypervisor is {t.hypervisor or 'none'}"
        notes.append(f"prefix delegation ignored: {t.instance_type} is not Nitro ({why}), as the calculator did")
    steps.append(
        f"pod addresses: {r['pod_addresses']}; plus {HOST_NETWORK_PODS} host-network pods "
        f"(aws-node, kube-proxy) on the node's own address = {r['raw_max_pods']}"
    )
    ceiling_applied = bool(not s.ipv6 and s.ceiling and r["raw_max_pods"] > r["ceiling_value"])
    if s.ipv6:
        steps.append(
            f"IPv6: one /80 on the primary ENI serves every pod; kubelet's max-pods limits the node: "
            f"{r['ceiling_value']} ({'>' if t.vcpus > CEILING_CPU_THRESHOLD else '<='} "
            f"{CEILING_CPU_THRESHOLD} vCPUs)"
        )
        if not t.ipv6_supported:
            notes.append(f"{t.instance_type} does not support IPv6 (Ipv6Supported is false)")
    elif s.ceiling:
        steps.append(
            f"ceiling: {r['ceiling_value']} for {t.vcpus} vCPUs "
            f"({'>' if t.vcpus > CEILING_CPU_THRESHOLD else '<='} {CEILING_CPU_THRESHOLD}); "
            + ("applied" if ceiling_applied else "not reached")
        )
    return Explanation(
        instance_type=t.instance_type,
        settings=s,
        enis=t.enis,
        enis_total=t.enis_total,
        network_cards=t.network_cards,
        ipv4_per_eni=t.ipv4_per_eni,
        vcpus=t.vcpus,
        hypervisor=t.hypervisor,
        enis_for_pods=int(r["enis_for_pods"]),
        slots_per_eni=int(r["slots_per_eni"]),
        addresses_per_slot=int(r["addresses_per_slot"]),
        prefix_applied=bool(r["prefix_applied"]),
        pod_addresses=int(r["pod_addresses"]),
        host_network_pods=HOST_NETWORK_PODS,
        raw_max_pods=int(r["raw_max_pods"]),
        ceiling_value=int(r["ceiling_value"]),
        ceiling_applied=ceiling_applied,
        max_pods=int(r["max_pods"]),
        branch_enis=branch,
        steps=steps,
        notes=notes,
    )


def max_pods(
    instance_type: str,
    *,
    cni_version: str = DEFAULT_CNI_VERSION,
    prefix_delegation: bool = False,
    custom_networking: bool = False,
    max_eni: int | None = None,
    ceiling: bool = False,
    ipv6: bool = False,
    security_groups_for_pods: bool = False,
) -> int:
    """Max pods on one node of ``instance_type`` under the VPC CNI.

    With no flags it equals the published ``eni-max-pods.txt`` value; ``ceiling=True`` applies the
    110/250 ceiling that ``max-pods-calculator.sh`` printed by default.

    >>> max_pods("p5.48xlarge"), max_pods("m5.4xlarge", ceiling=True)
    (100, 110)
    """
    s = Settings(cni_version, prefix_delegation, custom_networking, max_eni, ceiling, ipv6, security_groups_for_pods)
    t = instance_type_info(instance_type)
    branch = branch_eni_limits().get(t.instance_type, 0) if security_groups_for_pods else 0
    return int(_pod_counts(t.enis, t.ipv4_per_eni, t.vcpus, t.nitro, branch, s)["max_pods"])


#: The four modes compared across the notebooks and the benchmark.
MODES: dict[str, dict[str, Any]] = {
    "standard": {},
    "custom networking": {"custom_networking": True},
    "prefix delegation": {"prefix_delegation": True},
    "prefix delegation + ceiling": {"prefix_delegation": True, "ceiling": True},
}


def capacity_table(instance_types: pd.DataFrame | None = None, **settings: Any) -> pd.DataFrame:
    """Max pods of every instance type at once (vectorised), with each step of the formula as a column.

    Takes the keyword arguments of :func:`max_pods`; ``instance_types`` defaults to the snapshot.

    >>> table = capacity_table(prefix_delegation=True)
    >>> int(table.loc["m5.large", "max_pods"])
    434
    """
    s = Settings(**settings)
    types = load_instance_types() if instance_types is None else instance_types
    branch = types.index.map(branch_eni_limits()).fillna(0).astype("int64").to_numpy()
    r = _pod_counts(
        types["enis"].to_numpy(),
        types["ipv4_per_eni"].to_numpy(),
        types["vcpus"].to_numpy(),
        types["hypervisor"].to_numpy() == "nitro",
        branch,
        s,
    )
    table = types[["family", "size", "vcpus", "enis", "network_cards", "ipv4_per_eni", "hypervisor"]].copy()
    for name, values in r.items():
        table[name] = np.broadcast_to(values, len(table))
    table["branch_enis"] = branch
    return table


def compare_modes(instance_types: list[str], modes: dict[str, dict[str, Any]] = MODES, **common: Any) -> pd.DataFrame:
    """Max pods of a few instance types (rows) in each mode (columns); ``common`` settings apply to all.

    >>> compare_modes(["t3.medium", "m5.large"]).loc["m5.large"].tolist()
    [29, 20, 434, 110]
    """
    rows = {
        name: {mode: max_pods(name, **{**common, **flags}) for mode, flags in modes.items()} for name in instance_types
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("instance type")


def published_differences() -> pd.DataFrame:
    """Types where the formula on today's EC2 data differs from the VPC CNI's published eni-max-pods.txt.

    The file was generated from the EC2 API on its own date; a type whose record changed since (for
    example gained a second network card) differs, and the formula on the current record is the right one.
    """
    from ekslib.sources.published import load_published_max_pods

    published = load_published_max_pods()
    table = capacity_table()
    shared = published.index.intersection(table.index)
    frame = pd.DataFrame(
        {
            "published": published.loc[shared, "max_pods"],
            "formula": table.loc[shared, "max_pods"],
            "enis (card 0)": table.loc[shared, "enis"],
            "network cards": table.loc[shared, "network_cards"],
        }
    )
    return frame[frame["published"] != frame["formula"]]


def kube_reserved_memory_mib(pods: int) -> int:
    """Memory the EKS AMIs reserve for kubelet for a node of ``pods`` max pods: ``11 x pods + 255`` MiB.

    Source: github.com/awslabs/amazon-eks-ami (nodeadm's kube-reserved memory). More max pods is not free.

    >>> kube_reserved_memory_mib(17), kube_reserved_memory_mib(110)
    (442, 1465)
    """
    if pods < 0:
        raise EkslibError(f"pods must be zero or more, not {pods}")
    return 11 * pods + 255
