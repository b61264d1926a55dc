"""The model of pod capacity: how many pods the AWS VPC CNI can give addresses to on one node.

The data: :func:`ekslib.sources.load_instance_types`, every type known to EC2 (``DescribeInstanceTypes``) or
to the VPC CNI's own limits table (github.com/aws/amazon-vpc-cni-k8s ``pkg/vpc/vpc_ip_resource_limit.go``,
which ipamd compiles in), with the network limits taken from the VPC CNI's table where it knows the type.
On that data the standard formula reproduces every line of the published ``misc/eni-max-pods.txt``
(:func:`published_differences` is empty).

Formulas and constants, with their public sources:

* standard (secondary-IP mode): ``ENIs x (IPv4 per ENI - 1) + 2``. The ``- 1``: an ENI's primary address is
  the ENI's own, never a pod's. The ``+ 2``: the host-network pods ``aws-node`` and ``kube-proxy``, which
  count against kubelet's max-pods but use the node's address. Source: github.com/aws/amazon-vpc-cni-k8s
  ``scripts/gen_vpc_ip_limits.go`` and the header of ``misc/eni-max-pods.txt``.
* ENIs = the default network card's ``MaximumNetworkInterfaces`` (card 0), multi-card types too (same header).
* custom networking (``AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true``): the primary ENI gives no pod addresses,
  so one ENI fewer: ``(ENIs - 1) x (IPv4 per ENI - 1) + 2`` (VPC CNI docs; ``max-pods-calculator.sh``).
* prefix delegation (``ENABLE_PREFIX_DELEGATION=true``): each secondary slot holds a /28 prefix of 16
  addresses. :func:`max_pods` counts it only for CNI >= 1.9.0 on ``Hypervisor == "nitro"``, exactly as the
  former ``max-pods-calculator.sh`` of github.com/awslabs/amazon-eks-ami did, so bare metal (m5.metal) gets
  no prefixes there. ipamd itself delegates prefixes on Nitro and, since CNI 1.11, on bare metal
  (``IsPrefixDelegationSupported``): that is :func:`prefix_delegation_supported`.
* ceiling: that script printed ``min(raw, 110)`` for <= 30 vCPUs and ``min(raw, 250)`` above, unless
  ``--show-max-allowed`` (Amazon EKS User Guide, "Amazon EKS recommended maximum Pods"). A type only the VPC
  CNI's table knows has no vCPU count: the ceiling matters only when the raw value exceeds 110, and then
  :func:`max_pods` raises (``python -m ekslib refresh-data --live`` fetches vCPUs) and
  :func:`capacity_table` gives ``<NA>``.
* IPv6 (``ENABLE_IPv6=true``, prefix mode, no custom networking): one /80 on the primary ENI serves every
  pod, so addresses do not limit the node; kubelet's max-pods does (the 110/250 recommendation). On a type
  where ipamd cannot delegate prefixes (Xen, e.g. t2.large) ipamd refuses to start: an error here too.
* security groups for pods (``ENABLE_POD_ENI=true``): the trunk ENI takes one ENI slot on trunk-capable
  types; pods with their own security groups get branch ENIs, with the limits of
  github.com/aws/amazon-vpc-resource-controller-k8s ``pkg/aws/vpc/limits.go`` (:func:`branch_eni_limits`;
  a type missing from that table counts as not trunk-capable, 0 branch ENIs). Every pod, branch or not,
  still counts against kubelet's maxPods, and ipamd's WARM targets do not apply to branch pods.

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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ekslib._checks import whole
from ekslib.errors import EkslibError
from ekslib.facts import (
    CEILING_CPU_THRESHOLD,
    CEILING_HIGH_CPU,
    CEILING_LOW_CPU,
    DEFAULT_CNI_VERSION,
    HOST_NETWORK_PODS,
    IPS_PER_PREFIX,
    PREFIX_DELEGATION_BARE_METAL_MIN_CNI,
    PREFIX_DELEGATION_MIN_CNI,
)
from ekslib.sources import published as _published
from ekslib.sources.instance_types import (
    SOURCE_CNI_ONLY,
    SOURCE_EC2_ONLY,
    InstanceType,
    instance_type_info,
    load_ec2_snapshot,
    load_instance_types,
)

#: What to run to get the EC2-only fields (vCPUs, memory) of a type only the VPC CNI's table knows.
REFRESH_LIVE = "python -m ekslib refresh-data --live"

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
        if whole("max_eni", self.max_eni, allow_none=True) is not None and self.max_eni < 1:
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

    @property
    def bare_metal_prefixes_by_cni(self) -> bool:
        """True when this CNI version's ipamd delegates prefixes on bare metal too (>= 1.11.0)."""
        return parse_cni_version(self.cni_version) >= PREFIX_DELEGATION_BARE_METAL_MIN_CNI


def prefix_delegation_supported(instance_type: str | InstanceType, cni_version: str = DEFAULT_CNI_VERSION) -> bool:
    """Whether ipamd delegates prefixes on ``instance_type`` with ``ENABLE_PREFIX_DELEGATION=true``.

    ipamd's own rule, github.com/aws/amazon-vpc-cni-k8s ``pkg/awsutils/awsutils.go``
    ``IsPrefixDelegationSupported``: the type's hypervisor is ``nitro`` or it is bare metal; bare metal since
    CNI 1.11 (:data:`~ekslib.facts.PREFIX_DELEGATION_BARE_METAL_MIN_CNI`); no prefix delegation at all before
    CNI 1.9. Where it is False, ipamd (``pkg/ipamd/ipamd.go`` ``isConfigValid``) falls back to secondary-IP
    mode with a warning, or with IPv6 refuses to start. :func:`max_pods` follows the former
    ``max-pods-calculator.sh`` instead (Nitro only), so the two differ on bare metal.

    >>> prefix_delegation_supported("m5.large"), prefix_delegation_supported("t2.large")
    (True, False)
    >>> prefix_delegation_supported("m5.metal"), prefix_delegation_supported("m5.metal", "1.10.0")
    (True, False)
    """
    t = instance_type if isinstance(instance_type, InstanceType) else instance_type_info(instance_type)
    s = Settings(cni_version=cni_version)
    return bool(s.prefix_supported_by_cni and (t.nitro or (t.bare_metal and s.bare_metal_prefixes_by_cni)))


def _pod_counts(enis: Any, ipv4_per_eni: Any, vcpus: Any, nitro: Any, bare_metal: Any, branch_enis: Any,
                s: Settings) -> dict[str, Any]:
    """The capacity formula on scalars or on whole columns (numpy arrays) alike; every step is returned.

    ``vcpus`` is NaN where unknown (a type only the VPC CNI's table knows); ``known`` says where ``max_pods``
    is a real answer: not where it needs the unknown vCPUs, nor IPv6 where ipamd cannot delegate prefixes.
    """
    enis_for_pods = enis if s.max_eni is None else np.minimum(enis, s.max_eni)
    trunk = (branch_enis > 0) & s.security_groups_for_pods
    enis_for_pods = np.maximum(enis_for_pods - int(s.custom_networking) - trunk, 0)
    prefix_applied = nitro & (s.prefix_delegation and s.prefix_supported_by_cni)
    ipamd_prefixes = (nitro | (bare_metal & s.bare_metal_prefixes_by_cni)) & s.prefix_supported_by_cni
    addresses_per_slot = 1 + (IPS_PER_PREFIX - 1) * prefix_applied
    slots_per_eni = ipv4_per_eni - 1
    pod_addresses = enis_for_pods * slots_per_eni * addresses_per_slot
    raw = pod_addresses + HOST_NETWORK_PODS
    vcpus_unknown = vcpus != vcpus  # NaN
    ceiling_value = CEILING_LOW_CPU + (CEILING_HIGH_CPU - CEILING_LOW_CPU) * (vcpus > CEILING_CPU_THRESHOLD)
    if s.ipv6:
        result = ceiling_value + 0 * raw
        known = ~vcpus_unknown & ipamd_prefixes
    elif s.ceiling:
        result = np.minimum(raw, ceiling_value)
        known = ~(vcpus_unknown & (raw > CEILING_LOW_CPU))
    else:
        result = raw
        known = True
    return {
        "enis_for_pods": enis_for_pods, "trunk_eni": trunk, "prefix_applied": prefix_applied,
        "addresses_per_slot": addresses_per_slot, "slots_per_eni": slots_per_eni,
        "pod_addresses": pod_addresses, "raw_max_pods": raw, "ceiling_value": ceiling_value, "max_pods": result,
        "known": known, "ipamd_prefixes": ipamd_prefixes, "vcpus_unknown": vcpus_unknown,
    }


def _vcpus(t: InstanceType) -> float:
    return float("nan") if t.vcpus is None else t.vcpus


def _why_no_ipamd_prefixes(t: InstanceType, s: Settings) -> str:
    if not s.prefix_supported_by_cni:
        return f"CNI {s.cni_version} is older than 1.9.0, which has no prefix delegation"
    if t.bare_metal:
        return (f"{t.instance_type} is bare metal, and CNI {s.cni_version} delegates prefixes on bare metal only "
                f"from 1.11")
    return f"{t.instance_type} is not Nitro (hypervisor {t.hypervisor or 'none reported'})"


def _refuse_unknown(t: InstanceType, s: Settings, r: dict[str, Any]) -> None:
    """Raise when :func:`_pod_counts` has no answer for this one type (see its ``known``)."""
    if bool(r["known"]):
        return
    if s.ipv6 and not bool(r["ipamd_prefixes"]):
        raise EkslibError(
            f"ipv6=True on {t.instance_type}: ipamd refuses to start there. IPv6 runs only in prefix mode, and "
            f"ipamd delegates prefixes only on Nitro types and, from CNI 1.11, bare metal; "
            f"{_why_no_ipamd_prefixes(t, s)} (amazon-vpc-cni-k8s pkg/ipamd/ipamd.go isConfigValid: no fallback "
            f"for IPv6)"
        )
    what = ("under IPv6 max pods is kubelet's 110/250 recommendation, which" if s.ipv6 else
            f"the raw value {int(r['raw_max_pods'])} is above {CEILING_LOW_CPU}, so the 110/250 ceiling decides, "
            f"and it")
    raise EkslibError(
        f"max pods of {t.instance_type} is unknown: {what} depends on the vCPU count ({CEILING_LOW_CPU} up to "
        f"{CEILING_CPU_THRESHOLD} vCPUs, else {CEILING_HIGH_CPU}), and {t.instance_type} is known only to the "
        f"VPC CNI's limits table, which has none. Get vCPUs from EC2 with `{REFRESH_LIVE}` (your AWS "
        f"credentials)" + ("" if s.ipv6 else ", or ask for the raw value (ceiling=False; --show-max-allowed)")
    )


@functools.lru_cache(maxsize=4)
def _branch_limits(published_dir: Path) -> dict[str, int]:
    """:func:`ekslib.sources.published.branch_eni_limits`, read once per data directory."""
    return _published.branch_eni_limits()


def branch_eni_limits() -> dict[str, int]:
    """Branch ENIs (pods with their own security groups) per instance type, from the VPC resource controller.

    github.com/aws/amazon-vpc-resource-controller-k8s ``pkg/aws/vpc/limits.go`` (``BranchInterface``, 0 where
    ``IsTrunkingCompatible`` is false). A type missing from that table is not in the dict: ekslib counts it
    as not trunk-capable (``.get(name, 0)``). Cached; a copy.

    >>> limits = branch_eni_limits()
    >>> limits["m5.large"], limits["t3.medium"], "r9g.large" in limits
    (9, 0, False)
    """
    return dict(_branch_limits(_published.PUBLISHED_DIR))


@dataclass(frozen=True)
class Explanation:
    """A max-pods number with its derivation as data; ``str()`` renders it as readable text."""

    instance_type: str
    settings: Settings
    enis: int
    enis_total: int
    network_cards: int
    ipv4_per_eni: int
    vcpus: int | None
    hypervisor: str
    enis_for_pods: int
    slots_per_eni: int
    addresses_per_slot: int
    prefix_applied: bool
    pod_addresses: int
    host_network_pods: int
    raw_max_pods: int
    ceiling_value: int | None
    ceiling_applied: bool
    max_pods: int
    branch_enis: int
    source: str
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


def _source_note(t: InstanceType) -> str | None:
    """Where the data of a type only one source knows comes from (None for a type both know)."""
    if t.source == SOURCE_CNI_ONLY:
        return (f"{t.instance_type} is known only to the VPC CNI's limits table (pkg/vpc/vpc_ip_resource_limit.go), "
                f"not to the EC2 snapshot: its ENIs and addresses come from there, its vCPUs and memory are "
                f"unknown (`{REFRESH_LIVE}` fetches them)")
    if t.source == SOURCE_EC2_ONLY:
        return (f"{t.instance_type} is not in the VPC CNI's limits table: its limits come from EC2 "
                f"DescribeInstanceTypes, which ipamd calls for types missing from its table")
    return None


def explain_max_pods(instance_type: str, **settings: Any) -> Explanation:
    """Max pods for ``instance_type`` with its derivation (ENIs used and why, addresses per ENI, ...).

    Takes the keyword arguments of :func:`max_pods` and raises where it raises.

    >>> print(explain_max_pods("t3.medium"))  # doctest: +ELLIPSIS
    t3.medium: max pods = 17
      3 x (6 - 1) + 2 = 17
      1. ENIs: 3 (default network card's MaximumNetworkInterfaces)
    ...
    """
    s = Settings(**settings)
    t = instance_type_info(instance_type)
    limits = branch_eni_limits()
    branch = int(limits.get(t.instance_type, 0))
    r = _pod_counts(t.enis, t.ipv4_per_eni, _vcpus(t), t.nitro, t.bare_metal, branch, s)
    _refuse_unknown(t, s, r)
    steps: list[str] = []
    notes: list[str] = []
    if source_note := _source_note(t):
        notes.append(source_note)
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
                f"security groups for pods: the trunk ENI takes one ENI slot; up to {branch} pods with their own "
                f"security groups get branch ENIs (VPC resource controller, pkg/aws/vpc/limits.go), but every "
                f"pod, branch or not, still counts against kubelet's maxPods, and the WARM targets do not apply "
                f"to branch pods"
            )
        elif t.instance_type in limits:
            notes.append(f"{t.instance_type} is not trunk-capable (IsTrunkingCompatible is false in the VPC resource "
                         f"controller's pkg/aws/vpc/limits.go): security groups for pods cannot run on it")
        else:
            notes.append(f"{t.instance_type} is not in the VPC resource controller's limits table "
                         f"(pkg/aws/vpc/limits.go): counted as not trunk-capable, 0 branch ENIs")
    steps.append(f"ENIs giving pod addresses: {r['enis_for_pods']}")
    steps.append(f"slots per ENI: {t.ipv4_per_eni} IPv4 addresses - 1 primary = {r['slots_per_eni']}")
    if r["prefix_applied"]:
        steps.append(f"prefix delegation: each slot holds a /28 prefix of {IPS_PER_PREFIX} addresses")
    elif s.prefix_delegation and not s.prefix_supported_by_cni:
        notes.append(f"prefix delegation ignored: CNI {s.cni_version} is older than 1.9.0")
    elif s.prefix_delegation and t.bare_metal:
        ipamd = ("delegates prefixes on it" if r["ipamd_prefixes"]
                 else f"delegates prefixes on bare metal only from CNI 1.11, not {s.cni_version}")
        notes.append(
            f"prefix delegation not counted: {t.instance_type} is bare metal, not Nitro (hypervisor "
            f"{t.hypervisor or 'none reported'}), and this follows the former max-pods-calculator.sh, which "
            f"checked Hypervisor == \"nitro\" only; ipamd itself {ipamd} (prefix_delegation_supported)"
        )
    elif s.prefix_delegation:
        notes.append(f"prefix delegation ignored: {t.instance_type} is not Nitro (hypervisor "
                     f"{t.hypervisor or 'none reported'}): ipamd falls back to secondary-IP mode, and the "
                     f"calculator did not count prefixes")
    steps.append(
        f"pod addresses: {r['pod_addresses']}; plus {HOST_NETWORK_PODS} host-network pods "
        f"(aws-node, kube-proxy) on the node's own address = {r['raw_max_pods']}"
    )
    vcpus_known = t.vcpus is not None
    ceiling_value = int(r["ceiling_value"]) if vcpus_known else None
    ceiling_applied = bool(not s.ipv6 and s.ceiling and vcpus_known and r["raw_max_pods"] > ceiling_value)
    relation = "" if not vcpus_known else ">" if t.vcpus > CEILING_CPU_THRESHOLD else "<="
    if s.ipv6:
        steps.append(
            f"IPv6: one /80 on the primary ENI serves every pod; kubelet's max-pods limits the node: "
            f"{ceiling_value} ({relation} {CEILING_CPU_THRESHOLD} vCPUs)"
        )
        if not t.ipv6_supported:
            notes.append(f"{t.instance_type} does not support IPv6 (Ipv6Supported is false)")
    elif s.ceiling and not vcpus_known:
        steps.append(f"ceiling: not reached: {r['raw_max_pods']} <= {CEILING_LOW_CPU}, the lower of the two "
                     f"ceilings (the vCPU count is unknown, and not needed)")
    elif s.ceiling:
        steps.append(
            f"ceiling: {ceiling_value} for {t.vcpus} vCPUs ({relation} {CEILING_CPU_THRESHOLD}); "
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
        ceiling_value=ceiling_value,
        ceiling_applied=ceiling_applied,
        max_pods=int(r["max_pods"]),
        branch_enis=branch,
        source=t.source,
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
    """Max pods on one node of ``instance_type`` under the VPC CNI, as the former max-pods-calculator.sh gave it.

    With no flags it equals the published ``eni-max-pods.txt`` value, for every line of it; ``ceiling=True``
    applies the 110/250 ceiling that the calculator printed by default. Prefix delegation is counted as the
    calculator counted it: CNI >= 1.9.0 and ``Hypervisor == "nitro"``, so never on bare metal such as
    m5.metal, although ipamd delegates prefixes there since CNI 1.11 (:func:`prefix_delegation_supported`).

    Raises :class:`~ekslib.errors.EkslibError` for ``ipv6=True`` where ipamd cannot delegate prefixes (Xen,
    e.g. t2.large: ipamd refuses to start), and where the answer needs the vCPU count of a type only the VPC
    CNI's table knows (the ceiling above a raw 110, or IPv6): ``python -m ekslib refresh-data --live``.

    >>> max_pods("p5.48xlarge"), max_pods("m5.4xlarge", ceiling=True), max_pods("p3.2xlarge")
    (100, 110, 58)
    """
    s = Settings(cni_version, prefix_delegation, custom_networking, max_eni, ceiling, ipv6, security_groups_for_pods)
    t = instance_type_info(instance_type)
    branch = branch_eni_limits().get(t.instance_type, 0) if security_groups_for_pods else 0
    r = _pod_counts(t.enis, t.ipv4_per_eni, _vcpus(t), t.nitro, t.bare_metal, branch, s)
    if not r["known"]:
        _refuse_unknown(t, s, r)
    return int(r["max_pods"])


#: The four modes compared across the notebooks and the benchmark.
MODES: dict[str, dict[str, Any]] = {
    "standard": {},
    "custom networking": {"custom_networking": True},
    "prefix delegation": {"prefix_delegation": True},
    "prefix delegation + ceiling": {"prefix_delegation": True, "ceiling": True},
}


def _nullable(values: Any, missing: Any, length: int) -> pd.arrays.IntegerArray:
    """An ``Int64`` column of ``values`` with ``<NA>`` where ``missing``."""
    data = np.broadcast_to(np.asarray(values, dtype="int64"), length).copy()
    mask = np.broadcast_to(np.asarray(missing, dtype=bool), length).copy()
    return pd.arrays.IntegerArray(data, mask)


def capacity_table(instance_types: pd.DataFrame | None = None, **settings: Any) -> pd.DataFrame:
    """Max pods of every instance type at once (vectorised), with each step of the formula as a column.

    Takes the keyword arguments of :func:`max_pods`; ``instance_types`` defaults to
    :func:`~ekslib.sources.load_instance_types`. Where :func:`max_pods` would raise for one type, the table
    says ``<NA>`` (``max_pods`` and ``ceiling_value`` are ``Int64`` columns): under the ceiling (above a raw
    110) or IPv6 for a type whose vCPUs are unknown, and under IPv6 where ipamd cannot delegate prefixes.

    >>> table = capacity_table(prefix_delegation=True)
    >>> int(table.loc["m5.large", "max_pods"])
    434
    >>> capacity_table(ceiling=True).loc[["p3.2xlarge", "p3.16xlarge"], "max_pods"].tolist()
    [58, <NA>]
    """
    s = Settings(**settings)
    types = load_instance_types() if instance_types is None else instance_types
    count = len(types)
    limits = branch_eni_limits()
    branch = np.fromiter((limits.get(name, 0) for name in types.index), dtype="int64", count=count)
    vcpus = types["vcpus"].to_numpy(dtype="float64", na_value=np.nan)
    bare_metal = (types["bare_metal"].to_numpy(dtype=bool) if "bare_metal" in types
                  else np.zeros(count, dtype=bool))
    r = _pod_counts(
        types["enis"].to_numpy(),
        types["ipv4_per_eni"].to_numpy(),
        vcpus,
        types["hypervisor"].to_numpy() == "nitro",
        bare_metal,
        branch,
        s,
    )
    table = types[["family", "size", "vcpus", "enis", "network_cards", "ipv4_per_eni", "hypervisor"]].copy()
    for name in ("enis_for_pods", "trunk_eni", "prefix_applied", "addresses_per_slot", "slots_per_eni",
                 "pod_addresses", "raw_max_pods"):
        table[name] = np.broadcast_to(r[name], count)
    table["ceiling_value"] = _nullable(r["ceiling_value"], r["vcpus_unknown"], count)
    table["max_pods"] = _nullable(r["max_pods"], ~np.asarray(r["known"]), count)
    table["branch_enis"] = branch
    if "source" in types:
        table["source"] = types["source"]
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
    """Lines of the VPC CNI's published ``eni-max-pods.txt`` that the standard formula does not reproduce.

    Compares ``ENIs x (IPv4 per ENI - 1) + 2`` on the merged data (:func:`ekslib.sources.load_instance_types`:
    the VPC CNI's own limits table first) with every line of the bundled file. Both files come from one run
    of the CNI's generator (``scripts/gen_vpc_ip_limits.go``), so the answer is empty: the formula
    reproduces every published line. A line for a type the data does not know would show with ``<NA>``.
    For the types on which moto's copy of EC2 disagrees, see :func:`ec2_snapshot_differences`.

    >>> len(published_differences())
    0
    """
    published = _published.load_published_max_pods()["max_pods"]
    table = capacity_table()
    formula = table["max_pods"].reindex(published.index)
    frame = pd.DataFrame({
        "published": published,
        "formula": formula,
        "enis (card 0)": table["enis"].reindex(published.index).astype("Int64"),
        "ipv4 per ENI": table["ipv4_per_eni"].reindex(published.index).astype("Int64"),
        "network cards": table["network_cards"].reindex(published.index).astype("Int64"),
    })
    return frame[(frame["published"] != frame["formula"]).fillna(True)]


def ec2_snapshot_differences() -> pd.DataFrame:
    """Published lines the formula would miss on the EC2 snapshot alone, with both sources' network cards.

    The standard formula on the EC2 snapshot (moto's copy of ``DescribeInstanceTypes``, or the live API after
    ``python -m ekslib refresh-data --live``) against the published ``eni-max-pods.txt``, for the types both
    know; where they differ, the card count and card-0 ENIs in EC2's record and in the VPC CNI's newer table
    (``pkg/vpc/vpc_ip_resource_limit.go``, August 2026). Field by field: :func:`ekslib.sources.source_differences`.

    >>> ec2_snapshot_differences().loc["i7ie.48xlarge"].tolist()
    [737, 394, 2, 8, 1, 15]
    """
    published = _published.load_published_max_pods()["max_pods"]
    ec2 = load_ec2_snapshot()
    shared = ec2.index.intersection(published.index).sort_values()
    on_ec2 = capacity_table(ec2.loc[shared])["max_pods"]
    cni = _published.load_cni_limits().reindex(shared)
    frame = pd.DataFrame({
        "published": published.reindex(shared),
        "formula on EC2": on_ec2,
        "EC2 cards": ec2.loc[shared, "network_cards"],
        "EC2 card-0 ENIs": ec2.loc[shared, "enis"],
        "VPC CNI cards": cni["network_cards"],
        "VPC CNI card-0 ENIs": cni["card0_enis"],
    })
    return frame[frame["published"] != frame["formula on EC2"]]


def kube_reserved_memory_mib(pods: int) -> int:
    """Memory the EKS AMIs reserve for kubelet for a node of ``pods`` max pods: ``11 x pods + 255`` MiB.

    Source: github.com/awslabs/amazon-eks-ami (nodeadm's kube-reserved memory). ``pods`` is the maxPods that
    nodeadm computes (the ENI formula, or its ``maxPodsExpression``), not one a kubelet config drop-in sets:
    raising maxPods by a drop-in does not raise the reservation. More max pods is not free.

    >>> kube_reserved_memory_mib(17), kube_reserved_memory_mib(110)
    (442, 1465)
    """
    return 11 * whole("pods", pods, minimum=0) + 255
