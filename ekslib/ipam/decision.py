"""The decision ipamd takes every 5 s: grow the pool, shrink it, or free an ENI.

One function, :func:`pool_decision`, vectorised over nodes, serves the one-node simulator
(:mod:`ekslib.ipam.simulation`) and the fleet simulation (:mod:`ekslib.ipam.fleet`), so the two cannot
disagree. Source: github.com/aws/amazon-vpc-cni-k8s ``pkg/ipamd/ipamd.go`` (``isDatastorePoolTooLow``,
``increaseDatastorePool``, ``decreaseDatastorePool``, ``tryFreeENI``) and ``datastore/data_store.go``
(``getDeletableENI``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ekslib._checks import ceil_div
from ekslib.ipam.settings import NodeLimits, PoolSettings

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


def pool_decision(counts: PoolCounts, limits: NodeLimits, settings: PoolSettings, *, backoff: Any = False,
                  decrease_due: Any = True) -> PoolDecision:
    """ipamd's ``updateIPPoolIfRequired`` as arithmetic, on one node or on arrays of nodes alike.

    ``backoff``: within 120 s of an InsufficientCidrBlocks/InsufficientFreeAddressesInSubnet error (no
    growing; an InvalidParameterValue answer starts no back-off); ``decrease_due``: more than 30 s since the
    last decrease. One function serves the one-node simulator and :mod:`ekslib.ipam`, so the two cannot disagree.

    >>> from ekslib.ipam.settings import PoolSettings, node_limits
    >>> limits = node_limits("t3.small", PoolSettings())
    >>> d = pool_decision(PoolCounts(total=3, assigned=3, free_prefixes=0, room=0, enis=1), limits, PoolSettings())
    >>> int(d.assign), int(d.attach)
    (0, 3)

    With MINIMUM_IP_TARGET and no WARM_IP_TARGET (taken as 0) the pool is short only while it holds fewer
    than the minimum, so it stops growing there, however many pods wait (VPC CNI README):

    >>> s = PoolSettings(minimum_ip_target=5)
    >>> full = PoolCounts(total=5, assigned=5, free_prefixes=0, room=0, enis=2)
    >>> d = pool_decision(full, node_limits("t3.small", s), s)
    >>> bool(d.low), int(d.attach)
    (False, 0)
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
            short = ceil_div(short, unit)
            over = np.maximum(np.minimum(free_prefixes, prefixes - ceil_div(assigned + warm, unit)), 0)
            over = np.maximum(np.minimum(over, prefixes - ceil_div(minimum, unit)), 0)
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

    >>> from ekslib.ipam.settings import PoolSettings, node_limits
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
        need = int(ceil_div(need, limits.unit)) * limits.unit if limits.prefix_mode else need
        ok &= ~((warm.sum(axis=-1, keepdims=True) - warm) < need)
    if settings.minimum_ip_target is not None:
        need = settings.minimum_ip_target
        need = int(ceil_div(need, limits.unit)) * limits.unit if limits.prefix_mode else need
        ok &= ~((size.sum(axis=-1, keepdims=True) - size) < need)
    if limits.prefix_mode and settings.warm_prefix_target:
        free = np.asarray(free_prefixes)
        ok &= ~((free.sum(axis=-1, keepdims=True) - free) < settings.warm_prefix_target)
    return ok


