"""The subnet planner: how many nodes and pods a set of subnets holds, and what runs out first.

Each node's pool is settled at its pods (:func:`ekslib.ipam.steady.steady_states`); whole free /28 blocks
and loose addresses are counted as EC2 hands them out (AWS reserves 5 addresses per subnet, Amazon VPC User
Guide "Subnet CIDR blocks"; a prefix needs a wholly free aligned /28, EC2 User Guide "Assign prefixes to
network interfaces").

>>> plan = plan_subnets(["10.0.0.0/24"], [FleetGroup("t3.medium", 2)])
>>> plan.subnets["nodes"].tolist()
[2]
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ekslib._checks import ceil_div, is_whole, parse_subnet, whole
from ekslib.errors import EkslibError
from ekslib.facts import (
    INSUFFICIENT_CIDR_BLOCKS,
    INSUFFICIENT_FREE_ADDRESSES,
    IPS_PER_PREFIX,
    RESERVED_AT_END,
    RESERVED_AT_START,
)
from ekslib.ipam.subnet_space import usable_addresses

# ------------------------------------------------------------------------------------------ the planner

@dataclass(frozen=True)
class FleetGroup:
    """A node group: ``nodes`` nodes of ``instance_type``, spread round-robin over ``subnets`` (indexes into
    the cluster's subnet list; None: all of them), each running ``pods_per_node`` pods with a VPC address
    (``'max'``: as many as the node can run).

    >>> FleetGroup("m5.large", 3, subnets=[0, 2])
    FleetGroup(instance_type='m5.large', nodes=3, subnets=(0, 2), pods_per_node='max')
    """

    instance_type: str
    nodes: int
    subnets: tuple[int, ...] | None = None
    pods_per_node: int | str = "max"

    def __post_init__(self) -> None:
        whole("nodes", self.nodes, minimum=0)
        if self.pods_per_node != "max":
            whole("pods_per_node", self.pods_per_node, minimum=0, also="'max'")
        if self.subnets is not None:
            object.__setattr__(self, "subnets", tuple(self.subnets))


def fleet_group(item: FleetGroup | Sequence[Any]) -> FleetGroup:
    """A :class:`FleetGroup` from itself or from a tuple ``(instance_type, nodes[, pods_per_node])``.

    >>> fleet_group(("t3.medium", 4, 10)).pods_per_node
    10
    """
    if isinstance(item, FleetGroup):
        return item
    if isinstance(item, (tuple, list)) and 2 <= len(item) <= 3 and isinstance(item[0], str):
        return FleetGroup(item[0], item[1], pods_per_node=item[2] if len(item) == 3 else "max")
    raise EkslibError(f"node group {item!r} is not a FleetGroup nor an (instance_type, nodes[, pods_per_node]) tuple")


def place_nodes(node_groups: Sequence[FleetGroup], subnets: int) -> list[int]:
    """The subnet index of every node, group by group, round-robin over each group's subnets.

    >>> place_nodes([FleetGroup("m5.large", 4), FleetGroup("t3.small", 2, subnets=(1,))], 3)
    [0, 1, 2, 0, 1, 1]
    """
    where = []
    for group in node_groups:
        choices = group.subnets if group.subnets is not None else tuple(range(subnets))
        if not choices or any(not is_whole(i) or not 0 <= i < subnets for i in choices):
            raise EkslibError(f"node group {group.instance_type}: subnets {group.subnets!r} must be indexes 0 to "
                              f"{subnets - 1} of the subnet list")
        where += [int(choices[i % len(choices)]) for i in range(group.nodes)]
    return where


def blocks_and_loose(network: Any) -> tuple[int, int]:
    """Whole free /28 blocks and loose addresses of an empty subnet (the first and last /28 hold the 5 reserved
    addresses, so their other 27 addresses can never make a prefix).

    >>> blocks_and_loose("10.0.0.0/24"), blocks_and_loose("10.0.0.0/28")
    ((14, 27), (0, 11))
    """
    network = parse_subnet(network)
    size = network.num_addresses
    if size <= IPS_PER_PREFIX:
        return 0, size - RESERVED_AT_START - RESERVED_AT_END
    return size // IPS_PER_PREFIX - 2, 2 * IPS_PER_PREFIX - RESERVED_AT_START - RESERVED_AT_END


def _fits(network: ipaddress.IPv4Network, singles: int, blocks: int) -> bool:
    """Whether ``singles`` single addresses and ``blocks`` aligned /28s fit an empty subnet (singles packed
    into the reserved-edge /28s first, then into whole blocks)."""
    blocks_free, loose = blocks_and_loose(network)
    broken = max(0, int(ceil_div(singles - loose, IPS_PER_PREFIX)))
    return blocks + broken <= blocks_free


@dataclass(frozen=True)
class SubnetPlan:
    """What a cluster layout holds: per node group (one node's addresses) and per subnet, with the cluster totals.

    ``node_groups`` columns: instance_type, nodes, pods_per_node, max_pods, enis, node_ip, eni_ips,
    pod_addresses, prefixes, assigned, warm, held (addresses one node takes from its subnet).
    ``subnets`` columns: subnet, name, usable, nodes, node_ips, eni_ips, pod_addresses, assigned, warm, held,
    free, free_prefixes (whole /28s left when addresses are packed: the best case), fits, more_nodes (of
    ``more_nodes_type``), more_pods (on the nodes already there, spread evenly), limit (what stops it).
    """

    node_groups: pd.DataFrame
    subnets: pd.DataFrame
    settings: Any

    @property
    def totals(self) -> pd.Series:
        """Cluster-wide sums of the subnet table."""
        numbers = ["usable", "nodes", "node_ips", "eni_ips", "pod_addresses", "assigned", "warm", "held", "free",
                   "more_pods"]
        return self.subnets[numbers].sum()

    def summary(self) -> str:
        """One line per subnet, in words."""
        lines = []
        for _, row in self.subnets.iterrows():
            lines.append(f"{row['subnet']}: {row['nodes']} nodes hold {row['held']:,} of {row['usable']:,} addresses "
                         f"({row['assigned']:,} for pods, {row['warm']:,} warm, {row['node_ips'] + row['eni_ips']:,} "
                         f"node and ENI primaries); {max(row['free'], 0):,} left: {row['more_nodes']:,} more "
                         f"{row['more_nodes_type']} nodes or {row['more_pods']:,} more pods before {row['limit']}")
        return "\n".join(lines)


def plan_subnets(subnets: Sequence[Any] | dict[str, Any], node_groups: Sequence[FleetGroup | Sequence[Any]], *,
                 settings: Any = None, **pool_settings: Any) -> SubnetPlan:
    """Addresses a cluster holds in its subnets once every node's warm pool has settled, and what still fits.

    ``subnets``: CIDRs (one per AZ) or ``{name: cidr}``; ``node_groups``: :class:`FleetGroup` or
    ``(instance_type, nodes[, pods_per_node])`` tuples, nodes spread round-robin over the subnets;
    ``pool_settings``: the fields of :class:`ekslib.ipam.PoolSettings`. Each node holds its own address,
    one primary address per extra ENI, and the pod addresses its pool keeps (assigned + warm), as
    :func:`ekslib.ipam.steady_states` gives them. ``more_nodes``/``more_pods``: how many more fit before
    EC2 answers InsufficientFreeAddressesInSubnet (InsufficientCidrBlocks in prefix mode).

    Three /24s against three /19s for 24 m5.large nodes at their max 27 pods (3 ENIs x 9 + 3 = 30 each):

    >>> small = plan_subnets(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"], [("m5.large", 24)])
    >>> small.subnets[["nodes", "held", "free", "more_nodes"]].iloc[0].tolist()
    [8, 240, 11, 0]
    >>> large = plan_subnets(["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"], [("m5.large", 24)])
    >>> large.subnets[["nodes", "held", "free", "more_nodes"]].iloc[0].tolist()
    [8, 240, 7947, 264]
    """
    from ekslib.ipam.settings import pool_settings as make_settings
    from ekslib.ipam.steady import steady_states

    s = make_settings(settings, **pool_settings)
    if isinstance(subnets, dict):
        names, cidrs = [str(k) for k in subnets], list(subnets.values())
    else:
        cidrs = list(subnets)
        names = [f"subnet-{i + 1}" for i in range(len(cidrs))]
    if not cidrs:
        raise EkslibError("plan_subnets needs at least one subnet CIDR")
    networks = [parse_subnet(c) for c in cidrs]
    groups = [fleet_group(g) for g in node_groups]
    if not groups:
        raise EkslibError("plan_subnets needs at least one node group")
    where = place_nodes(groups, len(networks))

    tables: dict[str, pd.DataFrame] = {}
    for group in groups:
        if group.instance_type not in tables:
            table = steady_states(group.instance_type, settings=s)
            # pods beyond a pool that stops growing (MINIMUM_IP_TARGET without WARM_IP_TARGET) never get an
            # address: a node runs only the pod counts without pending pods
            tables[group.instance_type] = table[table["pending"] == 0]
    group_frame = pd.DataFrame([_group_row(group, tables[group.instance_type], s) for group in groups])
    kinds = [g for g, group in enumerate(groups) for _ in range(group.nodes)]
    code = INSUFFICIENT_CIDR_BLOCKS if bool((group_frame["prefixes"] > 0).any()) else INSUFFICIENT_FREE_ADDRESSES
    rows = []
    for i, (name, network) in enumerate(zip(names, networks)):
        members = [g for g, at in zip(kinds, where) if at == i]
        nodes = [(tables[groups[g].instance_type], int(group_frame.at[g, "pods_per_node"])) for g in members]
        for g, (table, pods) in zip(members, nodes):
            if not _fits(network, *_need(table, pods)):
                one = _need(table, pods)
                raise EkslibError(
                    f"subnet {network} ({usable_addresses(network)} usable addresses) is too small for even one "
                    f"{group_frame.at[g, 'instance_type']} node: at {pods} pods it holds {one[0]} addresses"
                    + (f" and {one[1]} /28 prefixes" if one[1] else ""))
        singles = sum(_need(table, pods)[0] for table, pods in nodes)
        blocks = sum(_need(table, pods)[1] for table, pods in nodes)
        fits = _fits(network, singles, blocks)
        blocks_free, loose = blocks_and_loose(network)
        here = group_frame.iloc[members] if members else group_frame.iloc[0:0]
        sums = {c: int(here[c].sum()) for c in ("node_ip", "eni_ips", "pod_addresses", "assigned", "warm", "held")}
        most = max(set(members), key=members.count) if members else 0
        one = _need(tables[groups[most].instance_type], int(group_frame.at[most, "pods_per_node"]))
        more_pods, stopped = _more_pods(network, nodes, singles, blocks) if fits else (0, True)
        rows.append({
            "subnet": str(network), "name": name, "usable": usable_addresses(network), "nodes": len(members),
            "node_ips": sums["node_ip"], "eni_ips": sums["eni_ips"], "pod_addresses": sums["pod_addresses"],
            "assigned": sums["assigned"], "warm": sums["warm"], "held": sums["held"],
            "free": usable_addresses(network) - sums["held"],
            "free_prefixes": max(blocks_free - blocks - max(0, int(ceil_div(singles - loose, IPS_PER_PREFIX))), 0),
            "fits": fits,
            "more_nodes": _more_nodes(network, singles, blocks, one) if fits else 0,
            "more_nodes_type": group_frame.at[most, "instance_type"], "more_pods": more_pods,
            "limit": code if stopped else _full(s)})
    return SubnetPlan(group_frame, pd.DataFrame(rows), s)


def _full(settings: Any) -> str:
    """What stops more pods when the subnet does not: max pods, or a pool that stops growing."""
    if settings.pool_ceiling is not None:
        return (f"every node's pool stops at MINIMUM_IP_TARGET={settings.minimum_ip_target} (no WARM_IP_TARGET) "
                f"or at its max pods")
    return "every node reaches its max pods"


def _group_row(group: FleetGroup, table: pd.DataFrame, settings: Any) -> dict[str, Any]:
    """One node of ``group`` at its pods per node, from its steady-state table (pod counts with an address)."""
    limit = len(table) - 1
    pods = limit if group.pods_per_node == "max" else int(group.pods_per_node)
    if pods > limit:
        why = ""
        if settings.pool_ceiling is not None:
            why = (f": MINIMUM_IP_TARGET={settings.minimum_ip_target} without WARM_IP_TARGET stops the pool there "
                   f"and later pods wait (VPC CNI README); set warm_ip_target too")
        raise EkslibError(f"pods_per_node={pods} does not fit {group.instance_type}: at most {limit} pods with an "
                          f"address{why}")
    row = table.iloc[pods]
    return {"instance_type": row["instance_type"], "nodes": group.nodes, "pods_per_node": pods,
            "max_pods": int(row["max_pods"]), "enis": int(row["enis"]), "node_ip": 1, "eni_ips": int(row["enis"]) - 1,
            "pod_addresses": int(row["ips"]), "prefixes": int(row["prefixes"]), "assigned": pods,
            "warm": int(row["unused"]), "held": int(row["enis"] + row["ips"])}


def _need(table: pd.DataFrame, pods: int) -> tuple[int, int]:
    """(single addresses, /28 prefixes) one node takes from its subnet with ``pods`` pods."""
    row = table.iloc[pods]
    prefixes = int(row["prefixes"])
    return int(row["enis"]) + (0 if prefixes else int(row["ips"])), prefixes


def _more_nodes(network: ipaddress.IPv4Network, singles: int, blocks: int, one: tuple[int, int]) -> int:
    """How many more nodes needing ``one`` = (addresses, prefixes) fit (binary search: fitting is monotone)."""
    low, high = 0, network.num_addresses
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(network, singles + middle * one[0], blocks + middle * one[1]):
            low = middle
        else:
            high = middle - 1
    return low


def _more_pods(network: ipaddress.IPv4Network, nodes: list[tuple[pd.DataFrame, int]], singles: int,
               blocks: int) -> tuple[int, bool]:
    """Pods that still fit on ``nodes`` (each to the node with the fewest pods) and whether the subnet (True)
    rather than max pods stopped them."""
    heap = [(pods, i) for i, (_, pods) in enumerate(nodes) if pods + 1 < len(nodes[i][0])]
    heapq.heapify(heap)
    more = 0
    while heap:
        pods, i = heapq.heappop(heap)
        table = nodes[i][0]
        (s0, b0), (s1, b1) = _need(table, pods), _need(table, pods + 1)
        if not _fits(network, singles + s1 - s0, blocks + b1 - b0):
            return more, True
        singles, blocks, more = singles + s1 - s0, blocks + b1 - b0, more + 1
        if pods + 2 < len(table):
            heapq.heappush(heap, (pods + 1, i))
    return more, False
