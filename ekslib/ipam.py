"""ipamd's warm pool on one node: the decision it takes every 5 s, a step-by-step simulator, and steady states.

Everything here follows the VPC CNI's own code (github.com/aws/amazon-vpc-cni-k8s, ``pkg/ipamd/ipamd.go`` and
``pkg/ipamd/datastore/data_store.go``) and ``shared/reference/vpc-cni.md`` section 3:

* every 5 s (``ipPoolMonitorInterval``) ipamd checks the pool. Secondary-IP mode counts addresses, P per ENI
  (IPv4 per ENI - 1, ``GetENIIPv4Limit``); prefix mode counts /28 prefixes, P per ENI, 16 addresses each.
* pool too low: with ``WARM_IP_TARGET``/``MINIMUM_IP_TARGET`` set, when ``short = max(WARM_IP - available,
  MINIMUM_IP - total, 0) > 0`` (in prefixes: ceil(short / 16)); otherwise when ``available < P x
  WARM_ENI_TARGET`` (prefix mode: ``available < 16 x WARM_PREFIX_TARGET``), or ``available == 0`` with a
  target of 0. Never once the node holds ``max pods`` addresses (``isDatastorePoolTooLow``).
* growing (``increaseDatastorePool``): top up ONE existing ENI, the first with a free slot, with
  ``min(free slots, wanted)`` (``tryAssignIPs``/``tryAssignPrefixes``); only when no ENI has a free slot,
  attach a new ENI with ``min(wanted, P)`` (``tryAllocateENI``). Wanted: P (warm-ENI mode), ``short``
  (IP targets), ``max(1, WARM_PREFIX_TARGET - free prefixes)`` (prefix mode).
* shrinking: only with IP targets (``over = max(min(available - WARM_IP, total - MINIMUM_IP), 0)``) or in
  prefix mode (free prefixes above ``WARM_PREFIX_TARGET``), at most once per 30 s
  (``decreaseIPPoolInterval``; the check is ``<= 30 s``, so 35 s apart at the 5 s loop).
* freeing an ENI (``tryFreeENI``, every loop): never the primary ENI, one with pods, one younger than 60 s
  (``minENILifeTime``), one with an address in cooldown, nor one the targets still need (``getDeletableENI``).
  Warm-ENI mode looks for one when ``available >= (WARM_ENI_TARGET + 1) x P``.
* a pod's address, once released, is not given to another pod for 30 s (``IP_COOLDOWN_PERIOD``); an ENI
  takes up to ~10 s to attach (``eniAttachTime``; docs/eni-and-ip-target.md); after
  ``InsufficientCidrBlocks``/``InsufficientFreeAddressesInSubnet`` ipamd waits 120 s before trying again.
* settings: WARM_IP_TARGET, MINIMUM_IP_TARGET and MAX_ENI <= 0 mean unset; WARM_ENI_TARGET < 0 means its
  default 1 while 0 is a real value; WARM_PREFIX_TARGET < 0 means 0. Prefix mode with WARM_PREFIX_TARGET
  and both IP targets at 0 is refused by aws-node (``cmd/aws-vpc-cni/main.go``). Prefix mode on a
  non-Nitro type falls back to secondary-IP mode (``isConfigValid``).

Where Go walks a map (which ENI to top up, free or release from: random order in ipamd), this model is
deterministic: it tops up and assigns from the oldest ENI first and frees from the newest first.

Two findings from the code: (1) the published row WARM_IP_TARGET=2 / MINIMUM_IP_TARGET=5 at 0 pods lists
"2,3" addresses per ENI, but ipamd fills the primary ENI first (3), then attaches a second ENI with the 2
still short: 3,2; four rows of the prefix table contradict themselves (:func:`published_row_problems`).
(2) WARM_ENI_TARGET=0 with exactly a full ENI's worth of pods never settles: the idle ENI meets
``available >= (0 + 1) x P``, is freed once 60 s old, and is attached again as soon as the pool is empty.

>>> steady_state("t3.small", 5).per_eni
(3, 3, 3)
>>> steady_state("t3.small", 58, prefix_delegation=True).per_eni
(3, 2)
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ekslib.capacity import HOST_NETWORK_PODS, IPS_PER_PREFIX
from ekslib.capacity import max_pods as capacity_max_pods
from ekslib.data import instance_type_info
from ekslib.errors import EkslibError
from ekslib.subnets import INSUFFICIENT_CIDR_BLOCKS, INSUFFICIENT_FREE_ADDRESSES, SubnetSpace

#: ipamd checks its pool every 5 s (ipamd.go ``ipPoolMonitorInterval``).
POOL_LOOP_S = 5
#: ipamd shrinks the pool at most once per 30 s (``decreaseIPPoolInterval``).
DECREASE_INTERVAL_S = 30
#: A released pod address waits 30 s before another pod gets it (data_store.go ``IP_COOLDOWN_PERIOD``).
IP_COOLDOWN_S = 30
#: Creating and attaching an ENI "can take up to 10 seconds" (docs/eni-and-ip-target.md; ``eniAttachTime``).
ENI_ATTACH_DELAY_S = 10
#: An ENI younger than 60 s is never freed (data_store.go ``minENILifeTime``).
MIN_ENI_AGE_S = 60
#: After InsufficientCidrBlocks / InsufficientFreeAddressesInSubnet ipamd waits 120 s
#: (ipamd.go ``insufficientCidrErrorCooldown``).
INSUFFICIENT_ADDRESSES_BACKOFF_S = 120
#: steady_state() calls a pool that has not settled this long after a pod arrived a cycle (beyond the 60 s
#: ENI age, the 30 s cooldown and shrink interval, and the 120 s back-off).
SETTLE_LIMIT_S = 600
#: The subnets the one-node simulator draws from by default (a /19 as in EKS best-practice layouts).
DEFAULT_SUBNET = "10.0.0.0/19"
#: The ENIConfig subnet for pod ENIs under custom networking (a CG-NAT range, as the EKS docs suggest).
DEFAULT_POD_SUBNET = "100.64.0.0/19"

#: EC2 API calls, as ipamd makes them (pkg/awsutils/awsutils.go): a new ENI is created with its addresses,
#: attached and marked delete-on-termination; a freed ENI is detached and deleted.
ASSIGN_CALL = "AssignPrivateIpAddresses"
UNASSIGN_CALL = "UnassignPrivateIpAddresses"
ATTACH_ENI_CALLS = ("CreateNetworkInterface", "AttachNetworkInterface", "ModifyNetworkInterfaceAttribute")
FREE_ENI_CALLS = ("DetachNetworkInterface", "DeleteNetworkInterface")


# --------------------------------------------------------------------------------------------- settings

def _whole(name: str, value: Any, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EkslibError(f"{name} must be a whole number{' or None' if allow_none else ''}, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class PoolSettings:
    """ipamd's pool settings (environment variables of the ``aws-node`` DaemonSet), read as ipamd reads them.

    After construction the targets hold what ipamd uses: ``warm_ip_target``, ``minimum_ip_target`` and
    ``max_eni`` are None when unset (any value <= 0); ``warm_eni_target`` is 1 when None or negative
    (``getWarmENITarget``; 0 stays 0: grow only when no address is left); ``warm_prefix_target`` is 1 when
    None (the value the shipped manifest ``config/master/aws-k8s-cni.yaml`` sets) and 0 when <= 0.
    ``max_pods`` is kubelet's max-pods, which ipamd reads (None: the max-pods calculator's value for the
    mode); ``ip_cooldown_period`` is ``IP_COOLDOWN_PERIOD`` in seconds.

    >>> PoolSettings(warm_ip_target=0, minimum_ip_target=-3, max_eni=0)
    PoolSettings(warm_eni_target=1, warm_ip_target=None, minimum_ip_target=None, warm_prefix_target=1, ...)
    >>> PoolSettings(prefix_delegation=True, warm_prefix_target=0)
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: prefix_delegation=True with warm_prefix_target=0 and neither warm_ip_target ...
    """

    warm_eni_target: int | None = 1
    warm_ip_target: int | None = None
    minimum_ip_target: int | None = None
    warm_prefix_target: int | None = None
    max_eni: int | None = None
    prefix_delegation: bool = False
    custom_networking: bool = False
    ip_cooldown_period: int = IP_COOLDOWN_S
    max_pods: int | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for flag in ("prefix_delegation", "custom_networking"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise EkslibError(f"{flag} must be True or False, not {getattr(self, flag)!r}")
            put(flag, bool(getattr(self, flag)))
        eni = _whole("warm_eni_target", self.warm_eni_target)
        put("warm_eni_target", 1 if eni is None or eni < 0 else eni)
        for name in ("warm_ip_target", "minimum_ip_target", "max_eni"):
            value = _whole(name, getattr(self, name))
            put(name, value if value is not None and value > 0 else None)
        prefix = _whole("warm_prefix_target", self.warm_prefix_target)
        put("warm_prefix_target", 1 if prefix is None else max(prefix, 0))
        cooldown = _whole("ip_cooldown_period", self.ip_cooldown_period, allow_none=False)
        if cooldown < 0:
            raise EkslibError(f"ip_cooldown_period={cooldown} is not valid: IP_COOLDOWN_PERIOD is 0 or more seconds "
                              f"(aws-node refuses a negative value)")
        pods = _whole("max_pods", self.max_pods)
        if pods is not None and pods < 1:
            raise EkslibError(f"max_pods={pods} is not valid: kubelet's max-pods is at least 1 (or None: the "
                              f"calculator's value)")
        if self.prefix_delegation and self.warm_prefix_target == 0 and not self.ip_targets_set:
            raise EkslibError(
                "prefix_delegation=True with warm_prefix_target=0 and neither warm_ip_target nor minimum_ip_target "
                "set is refused by aws-node: 'Setting WARM_PREFIX_TARGET = 0 is not supported while "
                "WARM_IP_TARGET/MINIMUM_IP_TARGET is not set' (ipamd would keep no warm prefix at all); set "
                "warm_prefix_target >= 1 or an IP target")

    @property
    def ip_targets_set(self) -> bool:
        """True when WARM_IP_TARGET or MINIMUM_IP_TARGET is set: they override the ENI and prefix targets."""
        return self.warm_ip_target is not None or self.minimum_ip_target is not None

    @property
    def mode(self) -> str:
        """Which rule sizes the pool: ``'warm IP'``, ``'warm prefix'`` or ``'warm ENI'``."""
        if self.ip_targets_set:
            return "warm IP"
        return "warm prefix" if self.prefix_delegation else "warm ENI"


def pool_settings(settings: PoolSettings | None = None, **overrides: Any) -> PoolSettings:
    """A :class:`PoolSettings` from keyword arguments; an unknown name is refused with the valid ones.

    >>> pool_settings(warm_ip_target=2).mode
    'warm IP'
    >>> pool_settings(warm_ip=2)
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: unknown pool setting 'warm_ip'; valid: warm_eni_target, warm_ip_target, ...
    """
    names = [f.name for f in dataclasses.fields(PoolSettings)]
    unknown = [key for key in overrides if key not in names]
    if unknown:
        raise EkslibError(f"unknown pool setting {unknown[0]!r}; valid: {', '.join(names)}")
    base = settings if settings is not None else PoolSettings()
    if not overrides:
        return base
    raw = {name: getattr(base, name) for name in names}
    return PoolSettings(**{**raw, **overrides})


@dataclass(frozen=True)
class NodeLimits:
    """The limits ipamd works within on one instance type with given settings."""

    instance_type: str
    enis: int
    slots_per_eni: int
    prefix_mode: bool
    max_pods: int
    custom_networking: bool
    notes: tuple[str, ...] = ()

    @property
    def unit(self) -> int:
        """Addresses per slot: 16 in prefix mode, else 1."""
        return IPS_PER_PREFIX if self.prefix_mode else 1

    @property
    def pod_enis(self) -> int:
        """ENIs that give pod addresses (custom networking: not the primary ENI)."""
        return self.enis - int(self.custom_networking)

    @property
    def max_pod_addresses(self) -> int:
        """Pods with a VPC address the node can run: its address capacity, and kubelet's max-pods less the
        two host-network pods (aws-node, kube-proxy)."""
        return min(self.pod_enis * self.slots_per_eni * self.unit, self.max_pods - HOST_NETWORK_PODS)


def node_limits(instance_type: str, settings: PoolSettings) -> NodeLimits:
    """ENIs, slots per ENI, mode and max-pods of ``instance_type`` under ``settings``.

    >>> node_limits("t3.small", PoolSettings(prefix_delegation=True))
    NodeLimits(instance_type='t3.small', enis=3, slots_per_eni=3, prefix_mode=True, max_pods=110, ...)
    """
    t = instance_type_info(instance_type)
    notes: list[str] = []
    enis = t.enis if settings.max_eni is None else min(settings.max_eni, t.enis)
    prefix_mode = settings.prefix_delegation and t.nitro
    if settings.prefix_delegation and not t.nitro:
        notes.append(f"{t.instance_type} is not Nitro: ipamd falls back to secondary-IP mode (isConfigValid)")
    if settings.custom_networking and enis < 2:
        raise EkslibError(f"custom networking on {t.instance_type} with {enis} ENI(s) leaves no ENI for pod addresses "
                          f"(the primary ENI gives none); ipamd fails: 'Failed to attach any ENIs for custom "
                          f"networking'")
    if t.ipv4_per_eni < 2:
        raise EkslibError(f"{t.instance_type} has {t.ipv4_per_eni} IPv4 address per ENI: no secondary slot for pods")
    if settings.max_pods is not None:
        pods = settings.max_pods
    else:
        pods = capacity_max_pods(t.instance_type, prefix_delegation=prefix_mode, ceiling=prefix_mode,
                                 custom_networking=settings.custom_networking, max_eni=settings.max_eni)
    return NodeLimits(t.instance_type, enis, t.ipv4_per_eni - 1, prefix_mode, pods, settings.custom_networking,
                      tuple(notes))


# ------------------------------------------------------------------------------------ the pool decision

@dataclass(frozen=True)
class PoolCounts:
    """What ipamd's pool loop looks at, for one node (scalars) or many (numpy arrays of one value per node).

    ``total``/``assigned``: pod addresses attached (secondary IPs, or prefixes x 16) and assigned to pods;
    ``free_prefixes``: prefixes with no assigned address; ``room``: free slots on the first ENI that can
    take more (0: none); ``enis``: ENIs attached or attaching, primary included; ``idle_enis``: non-primary
    ENIs without pods.
    """

    total: Any
    assigned: Any
    free_prefixes: Any
    room: Any
    enis: Any
    idle_enis: Any = 0


@dataclass(frozen=True)
class PoolDecision:
    """What one pool loop does (per node): grow one ENI, attach one, release addresses, look for an ENI to free.

    ``assign``: slots to add to the first ENI with room; ``attach``: slots for a new ENI (0: no new ENI);
    ``release``: slots over the targets to release now; ``check_free_eni``: look for a deletable ENI.
    """

    low: Any
    high: Any
    want: Any
    assign: Any
    attach: Any
    release: Any
    check_free_eni: Any


def _ceil_div(x: Any, y: int) -> Any:
    return -(-np.asarray(x) // y)


def pool_decision(counts: PoolCounts, limits: NodeLimits, settings: PoolSettings, *, backoff: Any = False,
                  decrease_due: Any = True) -> PoolDecision:
    """ipamd's ``updateIPPoolIfRequired`` as arithmetic, on one node or on arrays of nodes alike.

    ``backoff``: within 120 s of an InsufficientCidrBlocks/InsufficientFreeAddressesInSubnet error (no
    growing); ``decrease_due``: more than 30 s since the last decrease. One function serves the one-node
    simulator and :mod:`ekslib.ipam_cluster`, so the two cannot disagree.

    >>> limits = node_limits("t3.small", PoolSettings())
    >>> d = pool_decision(PoolCounts(total=3, assigned=3, free_prefixes=0, room=0, enis=1), limits, PoolSettings())
    >>> int(d.assign), int(d.attach)
    (0, 3)
    """
    total = np.asarray(counts.total)
    assigned = np.asarray(counts.assigned)
    free_prefixes = np.asarray(counts.free_prefixes)
    available = total - assigned
    slots, unit = limits.slots_per_eni, limits.unit
    if settings.ip_targets_set:
        warm = settings.warm_ip_target or 0
        minimum = settings.minimum_ip_target or 0
        short = np.maximum(np.maximum(warm - available, 0), minimum - total)
        over = np.maximum(np.minimum(np.maximum(available - warm, 0), total - minimum), 0)
        if limits.prefix_mode:
            prefixes = total // unit
            short = _ceil_div(short, unit)
            over = np.maximum(np.minimum(free_prefixes, prefixes - _ceil_div(assigned + warm, unit)), 0)
            over = np.maximum(np.minimum(over, prefixes - _ceil_div(minimum, unit)), 0)
            want = np.maximum(short, 1)
        else:
            want = short
        low = short > 0
        high = over > 0
        check_free = np.ones_like(low, dtype=bool)
    else:
        target = settings.warm_prefix_target if limits.prefix_mode else settings.warm_eni_target
        low = (available < (unit if limits.prefix_mode else slots) * target) | ((target == 0) & (available == 0))
        check_free = available >= (target + 1) * slots * unit
        if limits.prefix_mode:
            want = np.maximum(target - free_prefixes, 1)
            over = np.maximum(free_prefixes - target, 0)
            high = over > 0
            check_free = check_free | (np.asarray(counts.idle_enis) > 0)
        else:
            want = np.full_like(total, slots)
            over = np.zeros_like(total)
            high = np.zeros_like(low, dtype=bool)
    low = low & (total < limits.max_pods)
    grow = low & ~np.asarray(backoff, dtype=bool)
    room = np.asarray(counts.room)
    assign = np.where(grow & (room > 0), np.minimum(room, want), 0)
    attach = np.where(grow & (room <= 0) & (np.asarray(counts.enis) < limits.enis), np.minimum(want, slots), 0)
    release = np.where(~low & high & np.asarray(decrease_due, dtype=bool), over, 0)
    return PoolDecision(low, high, np.where(low, want, 0), assign, attach, release, check_free)


def deletable_enis(units: Any, assigned: Any, free_prefixes: Any, cooling: Any, old_enough: Any, primary: Any,
                   limits: NodeLimits, settings: PoolSettings) -> np.ndarray:
    """Which ENIs ipamd may free (``getDeletableENI``), as a mask over the last axis (one entry per ENI).

    Not the primary ENI, not one younger than 60 s, with an address in cooldown or with pods, and not one
    without which the other ENIs fall below WARM_IP_TARGET (warm addresses), MINIMUM_IP_TARGET (attached
    addresses) or WARM_PREFIX_TARGET (free prefixes); in prefix mode the IP targets round up to whole
    prefixes. Non-existent ENIs: pass 0 ``units`` and True ``primary``.

    >>> limits = node_limits("t3.small", PoolSettings())
    >>> deletable_enis([3, 3], [3, 0], [0, 0], [0, 0], [True, True], [True, False], limits, PoolSettings())
    array([False,  True])
    """
    size = np.asarray(units) * limits.unit
    assigned = np.asarray(assigned)
    ok = ~np.asarray(primary, dtype=bool) & np.asarray(old_enough, dtype=bool)
    ok &= (np.asarray(cooling) == 0) & (assigned == 0)
    warm = size - assigned
    if settings.warm_ip_target is not None:
        need = settings.warm_ip_target
        need = int(_ceil_div(need, limits.unit)) * limits.unit if limits.prefix_mode else need
        ok &= ~((warm.sum(axis=-1, keepdims=True) - warm) < need)
    if settings.minimum_ip_target is not None:
        need = settings.minimum_ip_target
        need = int(_ceil_div(need, limits.unit)) * limits.unit if limits.prefix_mode else need
        ok &= ~((size.sum(axis=-1, keepdims=True) - size) < need)
    if limits.prefix_mode and settings.warm_prefix_target:
        free = np.asarray(free_prefixes)
        ok &= ~((free.sum(axis=-1, keepdims=True) - free) < settings.warm_prefix_target)
    return ok


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


# ------------------------------------------------------------------------------------------------ schedules

#: A schedule: ``(time_s, delta)`` events, ``+n`` pods arriving on the node or ``-n`` leaving (newest first,
#: as a ReplicaSet scales down: kube-controller-manager deletes the most recently created pods first).
Schedule = Sequence[tuple[float, int]]


def ramp(pods: int, *, every_s: float = POOL_LOOP_S, start_s: float = 0.0,
         hold_s: float | None = None) -> list[tuple[float, int]]:
    """``pods`` pods arriving one every ``every_s``; with ``hold_s``, leaving again one by one after that hold.

    >>> ramp(3, every_s=10)
    [(0.0, 1), (10.0, 1), (20.0, 1)]
    >>> ramp(2, every_s=5, hold_s=60)
    [(0.0, 1), (5.0, 1), (65.0, -1), (70.0, -1)]
    """
    _count("pods", pods)
    if not every_s > 0 or start_s < 0:
        raise EkslibError(f"every_s must be > 0 and start_s >= 0, not every_s={every_s}, start_s={start_s}")
    events = [(float(start_s + i * every_s), 1) for i in range(pods)]
    if hold_s is not None:
        if hold_s < 0:
            raise EkslibError(f"hold_s must be >= 0, not {hold_s}")
        down = start_s + (pods - 1) * every_s + hold_s
        events += [(float(down + i * every_s), -1) for i in range(pods)]
    return events


def scale(targets: Sequence[tuple[float, int]]) -> list[tuple[float, int]]:
    """Events that move the pod count to each ``(time_s, pods)`` target in turn (a Deployment being scaled).

    >>> scale([(0, 5), (300, 2), (600, 8)])
    [(0.0, 5), (300.0, -3), (600.0, 6)]
    """
    events, current = [], 0
    for time_s, pods in sorted(targets, key=lambda item: item[0]):
        _count("pods", pods)
        if pods != current:
            events.append((float(time_s), pods - current))
            current = pods
    return events


def churn(pods: int, duration_s: float, *, lifetime_s: float = 300.0, seed: int = 0) -> list[tuple[float, int]]:
    """``pods`` pods from time 0, each replaced by a new pod when it ends (exponential lifetimes, mean
    ``lifetime_s``), for ``duration_s``; deterministic for a given ``seed``.

    >>> events = churn(4, 600, lifetime_s=120, seed=1)
    >>> events[0], sum(delta for _, delta in events)
    ((0.0, 4), 4)
    """
    _count("pods", pods)
    if not lifetime_s > 0 or not duration_s > 0:
        raise EkslibError(f"lifetime_s and duration_s must be > 0, not {lifetime_s} and {duration_s}")
    rng = random.Random(seed)
    events: list[tuple[float, int]] = [(0.0, pods)] if pods else []
    for _ in range(pods):
        t = rng.expovariate(1 / lifetime_s)
        while t < duration_s:
            events += [(round(t, 3), -1), (round(t, 3), 1)]
            t += rng.expovariate(1 / lifetime_s)
    return sorted(events, key=lambda e: (e[0], e[1]))


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise EkslibError(f"{name} must be a whole number >= 0, not {value!r}")
    return int(value)


def _events(schedule: Schedule) -> list[tuple[float, int]]:
    events = []
    for item in schedule:
        try:
            time_s, delta = item
        except (TypeError, ValueError):
            raise EkslibError(f"schedule event {item!r} is not a (time_s, delta_pods) pair") from None
        if isinstance(delta, bool) or not isinstance(delta, (int, np.integer)):
            raise EkslibError(f"schedule event {item!r}: delta_pods must be a whole number such as 3 or -2")
        if not isinstance(time_s, (int, float, np.number)) or not math.isfinite(time_s) or time_s < 0:
            raise EkslibError(f"schedule event {item!r}: time_s must be a finite number of seconds >= 0")
        events.append((float(time_s), int(delta)))
    return sorted(events, key=lambda e: e[0])


# ------------------------------------------------------------------------------------- one node, simulated

class _Eni:
    """One attached ENI: its primary address and its slots (secondary addresses or /28 prefixes) as ints."""

    __slots__ = ("name", "primary", "space", "created_s", "ready_s", "slots", "slot_used", "is_primary")

    def __init__(self, name: str, primary: int, space: SubnetSpace, created_s: float, ready_s: float,
                 is_primary: bool):
        self.name, self.primary, self.space = name, primary, space
        self.created_s, self.ready_s, self.is_primary = created_s, ready_s, is_primary
        self.slots: list[int] = []
        self.slot_used: list[int] = []

    @property
    def assigned(self) -> int:
        return sum(self.slot_used)


class NodeSimulation:
    """ipamd on one node, step by step at the 5 s pool loop, with real addresses from real subnets.

    ``add_pods``/``remove_pods`` change the pods scheduled on the node; :meth:`step` advances one loop
    (CNI ADD for pending pods, then ipamd's pool decision); :meth:`row` is the state as a timeline row.
    Every ENI has its primary address and its secondary addresses (or /28 prefixes) drawn from ``subnet``
    (pod ENIs from ``pod_subnet`` under custom networking), so that who holds which address can be checked.

    >>> sim = NodeSimulation("t3.medium")
    >>> sim.add_pods(6)
    >>> for _ in range(6):
    ...     _ = sim.step()
    >>> sim.row()["pods_running"], sim.row()["enis"], sim.row()["ips_attached"]
    (6, 3, 15)
    """

    def __init__(self, instance_type: str, *, subnet: Any = DEFAULT_SUBNET, pod_subnet: Any = None,
                 used_addresses: Iterable[Any] = (), attach_delay_s: float = ENI_ATTACH_DELAY_S,
                 settings: PoolSettings | None = None, **overrides: Any):
        self.settings = pool_settings(settings, **overrides)
        self.limits = node_limits(instance_type, self.settings)
        if not 0 <= attach_delay_s < 3600:
            raise EkslibError(f"attach_delay_s must be 0 to 3600 seconds, not {attach_delay_s}")
        self.attach_delay_s = attach_delay_s
        self.subnet = SubnetSpace(subnet, used_addresses)
        if self.settings.custom_networking:
            self.pod_subnet = SubnetSpace(pod_subnet if pod_subnet is not None else DEFAULT_POD_SUBNET)
        else:
            if pod_subnet is not None:
                raise EkslibError("pod_subnet is the ENIConfig subnet of custom networking: pass "
                                  "custom_networking=True with it")
            self.pod_subnet = self.subnet
        self.now = 0.0
        primary = self.subnet.allocate_address_int()
        if primary is None:
            raise EkslibError(f"subnet {self.subnet.network} has no free address for the node's primary IP")
        self.enis: list[_Eni] = [_Eni("eni-0", primary, self.subnet, -math.inf, -math.inf, True)]
        self._eni_counter = 1
        self._owner: dict[int, int] = {}          # address -> pod id
        self._released: dict[int, float] = {}     # address -> when its pod released it
        self._cooling: deque[tuple[float, int]] = deque()
        self._pod_address: dict[int, int] = {}    # pod id -> address
        self._alive: list[int] = []               # pod ids in arrival order
        self._pending: deque[int] = deque()
        self._next_pod = 0
        self.ec2_calls: dict[str, int] = {}
        self.failures = 0
        self._last_decrease = -math.inf
        self._last_insufficient = -math.inf
        self._events: list[str] = []

    # -- pods -----------------------------------------------------------------------------------------
    def add_pods(self, count: int) -> None:
        """``count`` pods scheduled on the node: they wait (pending) until CNI ADD gets them an address."""
        for _ in range(_count("count", count)):
            self._alive.append(self._next_pod)
            self._pending.append(self._next_pod)
            self._next_pod += 1
        if count:
            self._events.append(f"+{count} pod{'s' if count > 1 else ''}")

    def remove_pods(self, count: int) -> None:
        """``count`` pods deleted, newest first; a running pod's address goes into cooldown."""
        count = min(_count("count", count), len(self._alive))
        for _ in range(count):
            pod = self._alive.pop()
            address = self._pod_address.pop(pod, None)
            if address is None:
                self._pending.remove(pod)
                continue
            del self._owner[address]
            eni, slot = self._slot_of(address)
            eni.slot_used[slot] -= 1
            self._released[address] = self.now
            self._cooling.append((self.now, address))
        if count:
            self._events.append(f"-{count} pod{'s' if count > 1 else ''}")

    def _slot_of(self, address: int) -> tuple[_Eni, int]:
        key = address - address % IPS_PER_PREFIX if self.limits.prefix_mode else address
        for eni in self.enis:
            if key in eni.slots:
                return eni, eni.slots.index(key)
        raise KeyError(address)

    def _cooling_now(self, address: int) -> bool:
        released = self._released.get(address)
        return released is not None and self.now - released <= self.settings.ip_cooldown_period

    def _free_address(self, eni: _Eni) -> tuple[int, int] | None:
        unit = self.limits.unit
        for slot, base in enumerate(eni.slots):
            if eni.slot_used[slot] >= unit:
                continue
            for address in range(base, base + unit):
                if address not in self._owner and not self._cooling_now(address):
                    return slot, address
        return None

    def _place_pending(self) -> int:
        placed = 0
        while self._pending and len(self._pod_address) < self.limits.max_pod_addresses:
            found = None
            for eni in self.enis:
                if eni.ready_s <= self.now and len(eni.slots) and eni.assigned < len(eni.slots) * self.limits.unit:
                    found = self._free_address(eni)
                    if found:
                        break
            if found is None:
                break
            slot, address = found
            pod = self._pending.popleft()
            self._owner[address] = pod
            self._pod_address[pod] = address
            self._released.pop(address, None)
            eni.slot_used[slot] += 1
            placed += 1
        return placed

    # -- counts and EC2 ---------------------------------------------------------------------------------
    def _ready(self) -> list[_Eni]:
        return [eni for eni in self.enis if eni.ready_s <= self.now]

    def _cooling_by_eni(self) -> dict[str, int]:
        while self._cooling and self.now - self._cooling[0][0] > self.settings.ip_cooldown_period:
            self._cooling.popleft()
        counts: dict[str, int] = {}
        for released, address in self._cooling:
            if self._released.get(address) == released and address not in self._owner:
                try:
                    eni, _ = self._slot_of(address)
                except KeyError:        # released from the node since
                    continue
                counts[eni.name] = counts.get(eni.name, 0) + 1
        return counts

    def counts(self) -> PoolCounts:
        """The pool as ipamd's loop sees it now (ready ENIs only)."""
        ready = self._ready()
        unit, slots = self.limits.unit, self.limits.slots_per_eni
        room = 0
        for eni in ready:
            if not (eni.is_primary and self.limits.custom_networking) and len(eni.slots) < slots:
                room = slots - len(eni.slots)
                break
        return PoolCounts(
            total=sum(len(e.slots) for e in ready) * unit,
            assigned=sum(e.assigned for e in ready),
            free_prefixes=sum(used == 0 for e in ready for used in e.slot_used) if self.limits.prefix_mode else 0,
            room=room, enis=len(self.enis),
            idle_enis=sum(1 for e in ready if not e.is_primary and e.assigned == 0))

    def _amount(self, count: int) -> str:
        """``count`` slots in words: '3 IPs', '1 prefix', '2 prefixes'."""
        if self.limits.prefix_mode:
            return f"{count} prefix{'es' if count != 1 else ''}"
        return f"{count} IP{'s' if count != 1 else ''}"

    def _call(self, name: str, times: int = 1) -> None:
        self.ec2_calls[name] = self.ec2_calls.get(name, 0) + times

    def _take(self, space: SubnetSpace) -> int | None:
        return space.allocate_prefix_int() if self.limits.prefix_mode else space.allocate_address_int()

    def _fail(self, code: str) -> None:
        self.failures += 1
        self._last_insufficient = self.now
        self._events.append(f"{code}: ipamd backs off {INSUFFICIENT_ADDRESSES_BACKOFF_S} s")

    def _assign(self, eni: _Eni, count: int) -> None:
        """AssignPrivateIpAddresses on ``eni``: all ``count`` or nothing; on failure ipamd asks for one."""
        code = INSUFFICIENT_CIDR_BLOCKS if self.limits.prefix_mode else INSUFFICIENT_FREE_ADDRESSES
        for attempt in (count, 1) if count > 1 else (1,):
            self._call(ASSIGN_CALL)
            taken = [self._take(eni.space) for _ in range(attempt)]
            if None not in taken:
                eni.slots += taken
                eni.slot_used += [0] * attempt
                self._events.append(f"{ASSIGN_CALL}: +{self._amount(attempt)} on {eni.name}")
                return
            for value in taken:
                if value is not None:
                    eni.space.release_int(value, self.limits.unit)
        self._fail(code)

    def _attach(self, count: int) -> None:
        """CreateNetworkInterface with ``count`` slots, attach it; usable after the attach delay."""
        space = self.pod_subnet
        self._call(ATTACH_ENI_CALLS[0])
        primary = space.allocate_address_int()
        taken = [self._take(space) for _ in range(count)] if primary is not None else []
        if primary is None or None in taken:
            for value in taken:
                if value is not None:
                    space.release_int(value, self.limits.unit)
            if primary is not None:
                space.release_int(primary)
            short_of = INSUFFICIENT_FREE_ADDRESSES if primary is None or not self.limits.prefix_mode \
                else INSUFFICIENT_CIDR_BLOCKS
            self._fail(short_of)
            return
        for name in ATTACH_ENI_CALLS[1:]:
            self._call(name)
        eni = _Eni(f"eni-{self._eni_counter}", primary, space, self.now, self.now + self.attach_delay_s, False)
        self._eni_counter += 1
        eni.slots, eni.slot_used = taken, [0] * count
        self.enis.append(eni)
        self._events.append(f"attach {eni.name} with {self._amount(count)}")

    def _release(self, count: int) -> None:
        """UnassignPrivateIpAddresses: release ``count`` slots with no assigned address, newest ENI first."""
        for eni in reversed(self._ready()):
            free = [i for i, used in enumerate(eni.slot_used) if used == 0]
            if not free or count <= 0:
                continue
            chosen = free[-min(count, len(free)):]
            for i in sorted(chosen, reverse=True):
                eni.space.release_int(eni.slots[i], self.limits.unit)
                del eni.slots[i]
                del eni.slot_used[i]
            count -= len(chosen)
            self._call(UNASSIGN_CALL)
            self._events.append(f"{UNASSIGN_CALL}: -{self._amount(len(chosen))} on {eni.name}")

    def _try_free_eni(self) -> None:
        ready = self._ready()
        cooling = self._cooling_by_eni()
        mask = deletable_enis(
            [len(e.slots) for e in ready], [e.assigned for e in ready],
            [sum(u == 0 for u in e.slot_used) for e in ready], [cooling.get(e.name, 0) for e in ready],
            [self.now - e.created_s >= MIN_ENI_AGE_S for e in ready], [e.is_primary for e in ready],
            self.limits, self.settings)
        for eni, ok in zip(reversed(ready), reversed(mask.tolist())):
            if ok:
                for base in eni.slots:
                    eni.space.release_int(base, self.limits.unit)
                eni.space.release_int(eni.primary)
                self.enis.remove(eni)
                for name in FREE_ENI_CALLS:
                    self._call(name)
                self._events.append(f"free {eni.name}")
                return

    # -- the loop -------------------------------------------------------------------------------------
    def pool_loop(self) -> None:
        """One run of ipamd's pool check (``updateIPPoolIfRequired``) at the current time."""
        if any(eni.ready_s > self.now for eni in self.enis):
            return                      # ipamd waits in tryAllocateENI until the new ENI is attached
        counts = self.counts()
        backoff = self.now - self._last_insufficient <= INSUFFICIENT_ADDRESSES_BACKOFF_S
        due = self.now - self._last_decrease > DECREASE_INTERVAL_S
        d = pool_decision(counts, self.limits, self.settings, backoff=backoff, decrease_due=due)
        if d.assign > 0:
            eni = next(e for e in self._ready() if not (e.is_primary and self.limits.custom_networking)
                       and len(e.slots) < self.limits.slots_per_eni)
            self._assign(eni, int(d.assign))
        elif d.attach > 0:
            self._attach(int(d.attach))
        elif not d.low and d.high and due:
            self._last_decrease = self.now
            if d.release > 0:
                self._release(int(d.release))
        if d.check_free_eni:
            self._try_free_eni()

    def step(self, dt: float = POOL_LOOP_S) -> list[str]:
        """Advance ``dt`` seconds: ENIs finish attaching, pending pods get addresses, the pool loop runs, and
        pods get any address it added. Returns what happened (as text)."""
        self.now += dt
        self.tick()
        events, self._events = self._events, []
        return events

    def tick(self) -> None:
        """At the current time: CNI ADD for pending pods, the pool loop, CNI ADD again."""
        for eni in self.enis:
            if self.now - POOL_LOOP_S < eni.ready_s <= self.now:
                self._events.append(f"{eni.name} ready")
        placed = self._place_pending()
        self.pool_loop()
        placed += self._place_pending()
        if placed:
            self._events.append(f"{placed} pod{'s' if placed > 1 else ''} got an address")

    def take_events(self) -> list[str]:
        """What happened since the last call (as text)."""
        events, self._events = self._events, []
        return events

    def settled(self, *, growth_only: bool = False) -> bool:
        """True when nothing more will happen without new pods: no ENI attaching, no pod that could get an
        address, and a pool loop with nothing to add, release or free (ENI age and cooldown aside);
        ``growth_only``: nothing more to add (releases and frees aside)."""
        if any(eni.ready_s > self.now for eni in self.enis):
            return False
        if self._pending and len(self._pod_address) < self.limits.max_pod_addresses and any(
                self._free_address(e) for e in self._ready()):
            return False
        backoff = self.now - self._last_insufficient <= INSUFFICIENT_ADDRESSES_BACKOFF_S
        d = pool_decision(self.counts(), self.limits, self.settings, backoff=backoff)
        if d.assign > 0 or d.attach > 0:
            return False
        if growth_only:
            return True
        if d.release > 0:
            return False
        ready = self._ready()
        could_free = deletable_enis([len(e.slots) for e in ready], [e.assigned for e in ready],
                                    [sum(u == 0 for u in e.slot_used) for e in ready], [0] * len(ready),
                                    [True] * len(ready), [e.is_primary for e in ready], self.limits, self.settings)
        return not (d.check_free_eni and could_free.any())

    # -- state ----------------------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """The node now, as one timeline row."""
        ready = self._ready()
        unit = self.limits.unit
        attached = sum(len(e.slots) for e in ready) * unit
        assigned = len(self._owner)
        return {
            "time_s": self.now, "pods_running": assigned, "pods_pending": len(self._pending), "enis": len(self.enis),
            "ips_attached": attached, "prefixes": sum(len(e.slots) for e in ready) if self.limits.prefix_mode else 0,
            "assigned": assigned, "available": attached - assigned, "cooldown": sum(self._cooling_by_eni().values()),
            "ec2_calls": sum(self.ec2_calls.values()), "failures": self.failures,
            "subnet_free": self.subnet.free_count,
        }

    def pod_addresses(self) -> dict[int, ipaddress.IPv4Address]:
        """Each running pod's address."""
        return {pod: ipaddress.IPv4Address(address) for pod, address in self._pod_address.items()}

    def pending_pods(self) -> list[int]:
        """Pods waiting for an address, oldest first."""
        return list(self._pending)

    def eni_table(self) -> pd.DataFrame:
        """One row per ENI: name, primary address, slots (addresses or prefixes), assigned, ready."""
        unit = self.limits.unit
        rows = []
        for eni in self.enis:
            slots = [ipaddress.IPv4Network((base, 32 - int(math.log2(unit)))) if self.limits.prefix_mode
                     else ipaddress.IPv4Address(base) for base in eni.slots]
            rows.append({"eni": eni.name, "primary_ip": ipaddress.IPv4Address(eni.primary), "slots": slots,
                         "pods_per_slot": list(eni.slot_used), "assigned": eni.assigned,
                         "ready": eni.ready_s <= self.now, "created_s": eni.created_s,
                         "subnet": str(eni.space.network)})
        return pd.DataFrame(rows)


def simulate(instance_type: str, schedule: Schedule, *, duration_s: float | None = None, subnet: Any = DEFAULT_SUBNET,
             pod_subnet: Any = None, used_addresses: Iterable[Any] = (), attach_delay_s: float = ENI_ATTACH_DELAY_S,
             **settings: Any) -> pd.DataFrame:
    """A timeline of ipamd's pool on one node at the 5 s loop, for a schedule of pod arrivals and departures.

    ``schedule``: ``(time_s, delta_pods)`` events (see :func:`ramp`, :func:`scale`, :func:`churn`); an event
    takes effect at the first loop at or after its time. ``duration_s`` defaults to 5 minutes after the last
    event. ``settings``: the fields of :class:`PoolSettings`. One row per loop: pods running and pending,
    ENIs, pod addresses attached (``prefixes`` in prefix mode), assigned, available, in cooldown, EC2 calls
    (cumulative), failed allocations, the subnet's free addresses and what happened (``event``).

    >>> timeline = simulate("t3.medium", ramp(6, every_s=5), duration_s=60)
    >>> timeline.iloc[-1][["pods_running", "enis", "ips_attached", "available", "ec2_calls"]].astype(int).tolist()
    [6, 3, 15, 9, 7]
    """
    events = _events(schedule)
    sim = NodeSimulation(instance_type, subnet=subnet, pod_subnet=pod_subnet, used_addresses=used_addresses,
                         attach_delay_s=attach_delay_s, **settings)
    last = events[-1][0] if events else 0.0
    end = last + 300.0 if duration_s is None else float(duration_s)
    if not 0 <= end <= 7 * 24 * 3600:
        raise EkslibError(f"duration_s must be 0 to 604800 seconds (a week), not {duration_s}")
    rows, at = [], 0
    steps = int(end // POOL_LOOP_S)
    for k in range(steps + 1):
        t = k * POOL_LOOP_S
        sim.now = float(t)
        arrivals = 0
        while at < len(events) and events[at][0] <= t:     # departures first, then this loop's arrivals
            delta = events[at][1]
            if delta < 0:
                sim.remove_pods(-delta)
            else:
                arrivals += delta
            at += 1
        sim.add_pods(arrivals)
        sim.tick()
        row = sim.row()
        row["event"] = "; ".join(sim.take_events())
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update(instance_type=sim.limits.instance_type, settings=sim.settings, limits=sim.limits)
    return frame


# ------------------------------------------------------------------------------------------- steady state

@dataclass(frozen=True)
class PoolState:
    """The pool of one node once it settles for a fixed pod count (pods arriving one by one on a fresh node).

    ``ips``: pod addresses attached (secondary IPs, or prefixes x 16); ``per_eni``: addresses per ENI in
    secondary-IP mode, prefixes per ENI in prefix mode (every attached ENI, primary first); ``unused``:
    attached addresses no pod uses; ``ec2_calls``: EC2 calls made from boot to the steady state.
    """

    instance_type: str
    pods: int
    settings: PoolSettings
    limits: NodeLimits
    enis: int
    ips: int
    prefixes: int
    assigned: int
    unused: int
    per_eni: tuple[int, ...]
    pods_per_eni: tuple[int, ...]
    pods_per_prefix: tuple[int, ...]
    ec2_calls: int
    seconds: float
    notes: tuple[str, ...] = field(default=())

    @property
    def unused_prefixes(self) -> int:
        """Prefixes without a pod (0 in secondary-IP mode)."""
        return self.pods_per_prefix.count(0)

    @property
    def subnet_addresses(self) -> int:
        """Subnet addresses the node holds: every ENI's primary address (the node's own included) plus the
        pod addresses attached."""
        return self.enis + self.ips

    def as_dict(self) -> dict[str, Any]:
        """The state as a flat dict (settings flattened), e.g. for a DataFrame row."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("settings", "limits")}
        data.update(dataclasses.asdict(self.settings))
        data.update(max_pods=self.limits.max_pods, max_pod_addresses=self.limits.max_pod_addresses,
                    prefix_mode=self.limits.prefix_mode, unused_prefixes=self.unused_prefixes)
        return data


def _ramp(sim: NodeSimulation, pods: int) -> Iterable[tuple[int, bool]]:
    """Add pods one by one to ``sim``, letting the pool settle after each; yield ``(pods, settled)`` at 0 and
    after each pod (settled False: the pool cycles, and the state is the one right after growing)."""

    def settle() -> bool:
        start = sim.now
        while not sim.settled():
            sim.step()
            if sim.now - start > SETTLE_LIMIT_S:
                # ipamd's rules can cycle: e.g. WARM_ENI_TARGET=0 frees an idle ENI once 60 s old
                # (available >= (0 + 1) x P) and attaches it again as soon as the pool is empty
                while not sim.settled(growth_only=True):
                    sim.step()
                return False
        return True

    yield 0, settle()
    for count in range(1, pods + 1):
        sim.add_pods(1)
        yield count, settle()


def _state(sim: NodeSimulation, pods: int, calm: bool) -> PoolState:
    ready = sim._ready()
    per_eni = tuple(len(e.slots) for e in ready)
    ips = sum(per_eni) * sim.limits.unit
    notes = list(sim.limits.notes)
    if not calm:
        notes.append(f"the pool does not settle at {pods} pods: ipamd keeps attaching and freeing an ENI "
                     f"({sim.settings.mode} mode); shown after growing")
    return PoolState(
        instance_type=sim.limits.instance_type, pods=pods, settings=sim.settings, limits=sim.limits,
        enis=len(ready), ips=ips, prefixes=sum(per_eni) if sim.limits.prefix_mode else 0, assigned=pods,
        unused=ips - pods, per_eni=per_eni, pods_per_eni=tuple(e.assigned for e in ready),
        pods_per_prefix=tuple(u for e in ready for u in e.slot_used) if sim.limits.prefix_mode else (),
        ec2_calls=sum(sim.ec2_calls.values()), seconds=sim.now, notes=tuple(notes))


def _fresh(instance_type: str, pods: int | None, settings: PoolSettings | None,
           overrides: dict[str, Any]) -> tuple[NodeSimulation, int]:
    sim = NodeSimulation(instance_type, settings=settings, **overrides)
    if pods is None:
        return sim, sim.limits.max_pod_addresses
    _count("pods", pods)
    if pods > sim.limits.max_pod_addresses:
        raise EkslibError(f"pods={pods} does not fit {sim.limits.instance_type}: at most "
                          f"{sim.limits.max_pod_addresses} pods with an address (max pods {sim.limits.max_pods}, "
                          f"of which {HOST_NETWORK_PODS} host-network)")
    return sim, pods


def steady_state(instance_type: str, pods: int, *, settings: PoolSettings | None = None, **overrides: Any) -> PoolState:
    """The pool once it settles with ``pods`` pods, reached as ipamd reaches it: a fresh node, then pods
    arriving one by one, each waiting until the pool has settled. Reproduces the published tables of
    ``docs/eni-and-ip-target.md`` and ``docs/prefix-and-ip-target.md`` (see :func:`compare_published`).

    >>> s = steady_state("t3.small", 0, warm_ip_target=2, minimum_ip_target=5)
    >>> s.enis, s.ips, s.unused, s.per_eni
    (2, 5, 5, (3, 2))
    """
    sim, pods = _fresh(instance_type, pods, settings, overrides)
    for count, calm in _ramp(sim, pods):
        pass
    return _state(sim, count, calm)


def steady_states(instance_type: str, pods: int | None = None, *, settings: PoolSettings | None = None,
                  **overrides: Any) -> pd.DataFrame:
    """:func:`steady_state` for every pod count from 0 to ``pods`` (None: as many as the node can run), in one
    ramp; one row per pod count (``PoolState.as_dict`` columns, ``per_eni`` as a tuple).

    >>> table = steady_states("t3.small")
    >>> table[["pods", "enis", "ips", "unused"]].iloc[[0, 1, 4, 9]].values.tolist()
    [[0, 1, 3, 3], [1, 2, 6, 5], [4, 3, 9, 5], [9, 3, 9, 0]]
    """
    sim, pods = _fresh(instance_type, pods, settings, overrides)
    rows = [_state(sim, count, calm).as_dict() for count, calm in _ramp(sim, pods)]
    return pd.DataFrame(rows)
