"""Many nodes sharing subnets: pods scheduled up to max pods, seeded churn, ipamd on every node at the 5 s loop.

Every node runs the same pool decision as the one-node simulator (:func:`ekslib.ipam.pool_decision` and
:func:`ekslib.ipam.deletable_enis`, so the logic exists once), on counts held in numpy arrays (node x ENI)
rather than per-address objects, so that 200 nodes over 6 simulated hours run in a few seconds.

What the counts model keeps and what it simplifies (the one-node :func:`ekslib.ipam.simulate` tracks every
address): addresses in the 30 s cooldown are counted per ENI in a ring of 5 s buckets; pods on an ENI are
assumed packed into the fewest prefixes; ipamd releases only addresses (or prefixes) out of cooldown; a
subnet is counted as whole free /28 blocks plus loose free addresses, single addresses are taken from the
loose ones first, and freed single addresses never merge back into blocks (so fragmentation only grows,
the pessimistic case of VPC CNI issues #2749 and #3105). When a subnet cannot give what an ENI
asks for, the allocation fails and pods stay pending. EC2's answer decides what ipamd does next, as in the
one-node model (:mod:`ekslib.ipam.simulation`): ``InsufficientFreeAddressesInSubnet`` (secondary IPs) and
``InsufficientCidrBlocks`` (prefixes, when addresses are free but no whole /28 is) make ipamd back off 120 s;
``InvalidParameterValue`` ("There aren't sufficient free Ipv4 addresses or prefixes", VPC CNI issue #3105:
prefixes, when fewer addresses than asked for are free) does not, so ipamd asks again at every 5 s loop.
Pods go to the node with the fewest pods that is below its max pods (kube-scheduler's spreading,
simplified); running pods end at random (exponential lifetimes).

>>> timeline = simulate_cluster(["10.0.0.0/24"], [FleetGroup("t3.medium", 3)], duration_s=600,
...                             workload=Churn(utilisation=0.5, seed=1))
>>> timeline.columns.tolist()[:6]
['time_s', 'subnet', 'nodes', 'pods_running', 'pods_pending', 'node_ips']
>>> int(timeline["nodes"].iloc[0]), bool((timeline["pods_running"] > 0).any())
(3, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ekslib._checks import ceil_div, parse_subnet
from ekslib._progress import Progress, report
from ekslib.errors import EkslibError
from ekslib.facts import (
    ATTACH_ENI_CALLS,
    DECREASE_INTERVAL_S,
    ENI_ATTACH_DELAY_S,
    FREE_ENI_CALLS,
    INSUFFICIENT_ADDRESSES_BACKOFF_S,
    IPS_PER_PREFIX,
    MIN_ENI_AGE_S,
    POOL_LOOP_S,
)
from ekslib.ipam.decision import PoolCounts, deletable_enis, pool_decision
from ekslib.ipam.planner import FleetGroup, blocks_and_loose, fleet_group, place_nodes
from ekslib.ipam.settings import PoolSettings, node_limits, pool_settings


@dataclass(frozen=True)
class Churn:
    """Seeded pod churn: the cluster asks for ``utilisation`` of its pod capacity on average, swinging by
    +-``wave`` of that over ``period_s``; each pod runs for an exponential time of mean ``lifetime_s``."""

    utilisation: float = 0.7
    lifetime_s: float = 1800.0
    wave: float = 0.3
    period_s: float = 6 * 3600.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.utilisation <= 1:
            raise EkslibError(f"utilisation must be 0 to 1 (a share of the pod capacity), not {self.utilisation}")
        if not self.lifetime_s > 0 or not self.period_s > 0:
            raise EkslibError(f"lifetime_s and period_s must be > 0, not {self.lifetime_s} and {self.period_s}")
        if not 0 <= self.wave <= 1:
            raise EkslibError(f"wave must be 0 to 1, not {self.wave}")

    def target(self, t: float, capacity: int) -> float:
        """Pods the cluster wants at time ``t``."""
        return min(capacity, self.utilisation * capacity * (1 + self.wave * math.sin(2 * math.pi * t / self.period_s)))


class _Subnets:
    """Free space of each subnet as whole free /28 blocks plus loose free addresses."""

    def __init__(self, cidrs: Sequence[Any]):
        self.networks = [parse_subnet(c) for c in cidrs]
        split = np.array([blocks_and_loose(network) for network in self.networks], dtype=np.int64)
        self.blocks, self.loose = split[:, 0].copy(), split[:, 1].copy()

    def free(self) -> np.ndarray:
        return self.loose + IPS_PER_PREFIX * self.blocks

    def give(self, subnet: np.ndarray, *, blocks: np.ndarray, addresses: np.ndarray) -> None:
        """Take back ``blocks`` /28s and ``addresses`` single addresses per entry, into subnet ``subnet[i]``."""
        count = len(self.networks)
        self.blocks += np.bincount(subnet, weights=blocks, minlength=count).astype(np.int64)
        self.loose += np.bincount(subnet, weights=addresses, minlength=count).astype(np.int64)

    def take(self, s: int, addresses: int, blocks: int) -> bool:
        """Take ``addresses`` single addresses (loose first) and ``blocks`` /28s from subnet ``s``, all or nothing."""
        if self.blocks[s] < blocks:
            return False
        spare_blocks = self.blocks[s] - blocks
        if addresses > self.loose[s] + IPS_PER_PREFIX * spare_blocks:
            return False
        broken = max(0, int(ceil_div(addresses - self.loose[s], IPS_PER_PREFIX)))
        self.blocks[s] -= blocks + broken
        self.loose[s] += broken * IPS_PER_PREFIX - addresses
        return True


def simulate_cluster(subnets: Sequence[Any], node_groups: Sequence[FleetGroup], *, duration_s: float = 6 * 3600,
                     workload: Churn | None = None, attach_delay_s: float = ENI_ATTACH_DELAY_S,
                     record_every_s: float = POOL_LOOP_S, settings: PoolSettings | None = None,
                     progress: Progress | None = None, **pool_overrides: Any) -> pd.DataFrame:
    """A tidy timeline of a cluster's address use: one row per recorded loop and subnet.

    Columns: ``time_s, subnet, nodes, pods_running, pods_pending, node_ips`` (the nodes' own addresses),
    ``eni_ips`` (primary addresses of the other ENIs), ``pod_addresses`` (attached for pods, on ENIs still
    attaching too), ``assigned``,
    ``warm`` (attached, unused), ``cooldown``, ``subnet_free``, ``ec2_calls``, ``failures`` and
    ``invalid_parameter_value`` (cumulative; failures are refused allocations, of which the second column
    counts EC2's ``InvalidParameterValue`` answers, the ones ipamd does not back off for).
    ``pool_overrides``: the fields of :class:`ekslib.ipam.PoolSettings`. ``progress(done, total, label)`` hears
    of every 5 % of the simulated time (:mod:`ekslib._progress`).

    >>> t = simulate_cluster(["10.0.0.0/26"], [FleetGroup("m5.large", 4)], duration_s=300,
    ...                      workload=Churn(utilisation=0.9, seed=2))
    >>> int(t["failures"].iloc[-1]) > 0, int(t["subnet_free"].min()) < 16
    (True, True)
    """
    s = pool_settings(settings, **pool_overrides)
    if s.custom_networking:
        raise EkslibError("simulate_cluster models pod ENIs in the nodes' own subnets; custom networking (pod ENIs "
                          "in ENIConfig subnets) is not modelled here: use ekslib.ipam.simulate for one node")
    if not node_groups or not subnets:
        raise EkslibError("simulate_cluster needs at least one subnet and one node group")
    workload = workload or Churn()
    if not 0 < duration_s <= 7 * 24 * 3600 or not record_every_s >= POOL_LOOP_S:
        raise EkslibError(f"duration_s must be > 0 and at most a week, record_every_s >= {POOL_LOOP_S}; got "
                          f"{duration_s} and {record_every_s}")
    if not 0 <= attach_delay_s < 3600:
        raise EkslibError(f"attach_delay_s must be 0 to 3600 seconds, not {attach_delay_s}")
    space = _Subnets(subnets)
    groups = [g for g in (fleet_group(item) for item in node_groups) if g.nodes]
    limits = [node_limits(g.instance_type, s) for g in groups]
    sub = np.array(place_nodes(groups, len(space.networks)), dtype=np.int64)
    n = len(sub)
    if n == 0:
        raise EkslibError("the node groups have no nodes")
    bounds = np.cumsum([0] + [g.nodes for g in groups])
    width = max(lim.enis for lim in limits)
    per_node = {name: np.concatenate([np.full(g.nodes, getattr(lim, name)) for g, lim in zip(groups, limits)])
                for name in ("slots_per_eni", "unit", "max_pod_addresses")}
    slots, unit, cap = per_node["slots_per_eni"], per_node["unit"], per_node["max_pod_addresses"]
    prefix_mode = unit > 1
    for node in range(n):           # every node's own address (its primary ENI's primary IP)
        if not space.take(int(sub[node]), 1, 0):
            raise EkslibError(f"subnet {space.networks[sub[node]]} has no address left for node {node + 1}: it is too "
                              f"small for the node groups placed in it")

    ticks_cool = int(s.ip_cooldown_period // POOL_LOOP_S) + 1
    exists = np.zeros((n, width), bool)
    exists[:, 0] = True
    ready_at = np.full((n, width), -np.inf)
    born = np.full((n, width), -np.inf)
    units = np.zeros((n, width), np.int64)
    pods = np.zeros((n, width), np.int64)
    cool = np.zeros((n, width, ticks_cool), np.int64)
    cooling = np.zeros((n, width), np.int64)
    pending = np.zeros(n, np.int64)
    last_decrease = np.full(n, -np.inf)
    last_fail = np.full(n, -np.inf)
    calls = np.zeros(n, np.int64)
    fails = np.zeros(n, np.int64)
    invalid = np.zeros(n, np.int64)         # refusals without back-off (InvalidParameterValue)
    primary = np.zeros((n, width), bool)
    primary[:, 0] = True
    rng = np.random.default_rng(workload.seed)
    capacity = int(cap.sum())
    p_end = -math.expm1(-POOL_LOOP_S / workload.lifetime_s)
    steps = int(duration_s // POOL_LOOP_S)
    every = max(1, int(record_every_s // POOL_LOOP_S))
    records: list[np.ndarray] = []
    nsub = len(space.networks)

    def per_subnet(values: np.ndarray) -> np.ndarray:
        return np.bincount(sub, weights=values, minlength=nsub)

    previous_target = 0.0
    tell = max(1, steps // 20) if progress is not None else 0
    for k in range(steps + 1):
        t = k * POOL_LOOP_S
        if tell and k and (k % tell == 0 or k == steps):
            report(progress, k, steps, f"{t / 60:.0f} of {steps * POOL_LOOP_S / 60:.0f} simulated minutes")
        # cooldown ring: the bucket of 35 s ago expires, this tick's departures go in
        bucket = k % ticks_cool
        cooling -= cool[:, :, bucket]
        ended = rng.binomial(pods, p_end) if k else np.zeros_like(pods)
        pods -= ended
        cool[:, :, bucket] = ended
        cooling += ended
        if k:
            pending -= rng.binomial(pending, p_end)
        # arrivals: births keep the pod count on the workload's target
        target = workload.target(t, capacity)
        births = rng.poisson(max(0.0, target / workload.lifetime_s * POOL_LOOP_S + target - previous_target)) if k \
            else int(round(target))
        previous_target = target
        load = pods.sum(1) + pending
        _spread(births, load, cap, pending)
        ready = exists & (ready_at <= t)
        _place(pending, pods, cooling, units, unit, ready, cap)
        # ipamd's pool loop on every node not waiting for an ENI to attach
        busy = (exists & (ready_at > t)).any(1)
        total = (units * ready).sum(1) * unit
        assigned = pods.sum(1)
        used_prefixes = ceil_div(pods, IPS_PER_PREFIX)
        free_prefixes = np.where(prefix_mode, ((units - used_prefixes) * ready).sum(1), 0)
        allocatable = ready & (units < slots[:, None])
        first = allocatable.argmax(1)
        room = np.where(allocatable.any(1), slots - units[np.arange(n), first], 0)
        idle = (ready & ~primary & (pods == 0)).sum(1)
        enis = exists.sum(1)
        backoff = t - last_fail <= INSUFFICIENT_ADDRESSES_BACKOFF_S
        due = t - last_decrease > DECREASE_INTERVAL_S
        assign = np.zeros(n, np.int64)
        attach = np.zeros(n, np.int64)
        release = np.zeros(n, np.int64)
        low = np.zeros(n, bool)
        high = np.zeros(n, bool)
        check = np.zeros(n, bool)
        for g, lim in enumerate(limits):
            part = slice(bounds[g], bounds[g + 1])
            d = pool_decision(PoolCounts(total[part], assigned[part], free_prefixes[part], room[part], enis[part],
                                         idle[part]), lim, s, backoff=backoff[part], decrease_due=due[part])
            assign[part], attach[part], release[part] = d.assign, d.attach, d.release
            low[part], high[part], check[part] = d.low, d.high, d.check_free_eni
        assign[busy] = attach[busy] = release[busy] = 0
        check &= ~busy
        for node in np.flatnonzero((assign > 0) | (attach > 0)):
            s_i, u = int(sub[node]), int(unit[node])
            if assign[node]:
                want = int(assign[node])
                calls[node] += 1
                got = want if _take(space, s_i, want, u) else 0
                if not got and want > 1:
                    calls[node] += 1
                    got = 1 if _take(space, s_i, 1, u) else 0
                if got:
                    units[node, first[node]] += got
                elif _backs_off(space, s_i, u, u):     # the last request: one address or one prefix
                    fails[node] += 1
                    last_fail[node] = t
                else:
                    fails[node] += 1
                    invalid[node] += 1
            else:
                want = int(attach[node])
                ok = space.take(s_i, 1 + (0 if u > 1 else want), want if u > 1 else 0)
                calls[node] += len(ATTACH_ENI_CALLS) if ok else 1
                if ok:
                    slot = int(np.argmin(exists[node]))
                    exists[node, slot] = True
                    units[node, slot] = want
                    born[node, slot] = t
                    ready_at[node, slot] = t + attach_delay_s
                elif _backs_off(space, s_i, u, 1 + want * u):
                    fails[node] += 1
                    last_fail[node] = t
                else:
                    fails[node] += 1
                    invalid[node] += 1
        shrink = (release > 0) | (~low & high & due & ~busy)
        last_decrease[shrink] = t
        if (release > 0).any():
            freeable = np.where(prefix_mode[:, None], units - ceil_div(pods + cooling, IPS_PER_PREFIX),
                                units - pods - cooling) * ready
            freeable = np.maximum(freeable, 0)
            reverse = freeable[:, ::-1]
            before = np.cumsum(reverse, 1) - reverse
            take = np.clip(release[:, None] - before, 0, reverse)[:, ::-1]
            units -= take
            calls += (take > 0).sum(1)
            returned = take.sum(1)
            space.give(sub, blocks=np.where(prefix_mode, returned, 0), addresses=np.where(prefix_mode, 0, returned))
        if check.any():
            ready = exists & (ready_at <= t)
            free_per_eni = (units - ceil_div(pods, IPS_PER_PREFIX)) * ready
            gone = np.zeros((n, width), bool)
            for g, lim in enumerate(limits):
                part = slice(bounds[g], bounds[g + 1])
                gone[part] = deletable_enis(units[part] * ready[part], pods[part], free_per_eni[part], cooling[part],
                                            t - born[part] >= MIN_ENI_AGE_S, primary[part] | ~ready[part], lim, s)
            gone &= check[:, None]
            pick = width - 1 - gone[:, ::-1].argmax(1)
            nodes = np.flatnonzero(gone.any(1))
            if len(nodes):
                freed = units[nodes, pick[nodes]]
                space.give(sub[nodes], blocks=np.where(prefix_mode[nodes], freed, 0),
                           addresses=np.where(prefix_mode[nodes], 1, 1 + freed))
                exists[nodes, pick[nodes]] = False
                units[nodes, pick[nodes]] = 0
                ready_at[nodes, pick[nodes]] = -np.inf
                born[nodes, pick[nodes]] = -np.inf
                calls[nodes] += len(FREE_ENI_CALLS)
        ready = exists & (ready_at <= t)
        _place(pending, pods, cooling, units, unit, ready, cap)
        if k % every == 0:
            attached = units.sum(1) * unit        # ENIs still attaching hold their addresses too
            running = pods.sum(1)
            records.append(np.stack([
                np.full(nsub, t), np.arange(nsub), per_subnet(np.ones(n)), per_subnet(running), per_subnet(pending),
                per_subnet(np.ones(n)), per_subnet((exists & ~primary).sum(1)), per_subnet(attached),
                per_subnet(running), per_subnet(attached - running), per_subnet(cooling.sum(1)), space.free(),
                per_subnet(calls), per_subnet(fails), per_subnet(invalid)], axis=1))
    columns = ["time_s", "subnet", "nodes", "pods_running", "pods_pending", "node_ips", "eni_ips", "pod_addresses",
               "assigned", "warm", "cooldown", "subnet_free", "ec2_calls", "failures", "invalid_parameter_value"]
    frame = pd.DataFrame(np.concatenate(records), columns=columns).astype("int64")
    frame["time_s"] = frame["time_s"].astype(float)
    frame["subnet"] = pd.Categorical.from_codes(frame["subnet"], [str(net) for net in space.networks])
    frame.attrs.update(settings=s, node_groups=tuple(groups), workload=workload, capacity=capacity)
    return frame


def _backs_off(space: _Subnets, s: int, unit: int, addresses: int) -> bool:
    """Whether ipamd backs off 120 s after subnet ``s`` refused a request for ``addresses`` addresses: yes for
    InsufficientFreeAddressesInSubnet (secondary IPs, ``unit`` 1) and InsufficientCidrBlocks (prefixes, with
    that many addresses free); no for InvalidParameterValue (prefixes, with fewer addresses free)."""
    return unit == 1 or int(space.free()[s]) >= addresses


def _take(space: _Subnets, s: int, count: int, unit: int) -> bool:
    """Take ``count`` slots (addresses, or /28 blocks when ``unit`` is 16) from subnet ``s``."""
    return space.take(s, 0, count) if unit > 1 else space.take(s, count, 0)


def _spread(births: int, load: np.ndarray, cap: np.ndarray, pending: np.ndarray) -> None:
    """Schedule ``births`` pods, each on the node with the fewest pods that is below its max pods."""
    load = load.copy()
    while births > 0:
        open_ = load < cap
        if not open_.any():
            return                      # the cluster is full: pods stay unschedulable (not on any node)
        level = load[open_].min()
        at = np.flatnonzero(open_ & (load == level))[:births]
        pending[at] += 1
        load[at] += 1
        births -= len(at)


def _place(pending: np.ndarray, pods: np.ndarray, cooling: np.ndarray, units: np.ndarray, unit: np.ndarray,
           ready: np.ndarray, cap: np.ndarray) -> None:
    """CNI ADD for pending pods: addresses out of cooldown on ready ENIs, oldest ENI first, up to max pods."""
    usable = np.maximum(units * unit[:, None] - pods - cooling, 0) * ready
    placed = np.minimum(np.minimum(pending, usable.sum(1)), np.maximum(cap - pods.sum(1), 0))
    if not placed.any():
        return
    before = np.cumsum(usable, 1) - usable
    pods += np.clip(placed[:, None] - before, 0, usable)
    pending -= placed
