"""VPC subnets as the VPC CNI sees them: addresses, aligned /28 prefixes, and when a cluster runs out.

Facts, with their public sources:

* AWS reserves five addresses of every subnet: the first four (network address, VPC router, DNS, future
  use) and the last one (Amazon VPC User Guide, "Subnet CIDR blocks"). A subnet is /16 to /28 (same page).
* A delegated IPv4 prefix is an aligned /28 (16 addresses) of the ENI's subnet; EC2 answers
  ``InsufficientCidrBlocks`` when no aligned /28 is wholly free, even if the subnet has free addresses
  (Amazon EC2 User Guide, "Assign prefixes to network interfaces"; VPC CNI issues #2749, #3105; the fix AWS
  recommends is a subnet CIDR reservation for prefixes). Out of plain addresses it answers
  ``InsufficientFreeAddressesInSubnet``; ipamd then backs off 120 s (github.com/aws/amazon-vpc-cni-k8s
  ``pkg/ipamd/ipamd.go``, ``insufficientCidrErrorCooldown``).

>>> space = SubnetSpace("10.0.0.0/28")
>>> space.free_count, [str(a) for a in space.reserved]
(11, ['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.15'])
>>> len(free_prefixes("10.0.0.0/24", [])), len(free_prefixes(*fragmented_subnet("10.0.0.0/24")))
(14, 0)
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ekslib.errors import EkslibError

#: Addresses AWS reserves at the start and at the end of every subnet (VPC User Guide, "Subnet CIDR blocks").
RESERVED_AT_START = 4
RESERVED_AT_END = 1
#: The subnet sizes a VPC allows (same page): /16 (65,536 addresses) to /28 (16).
LARGEST_SUBNET, SMALLEST_SUBNET = 16, 28
#: A delegated prefix: an aligned /28 of 16 addresses (EC2 User Guide, "Assign prefixes to network interfaces").
PREFIX_LENGTH = 28
PREFIX_SIZE = 16
#: The EC2 error codes of an exhausted or fragmented subnet (EC2 API error codes; ipamd.go).
INSUFFICIENT_FREE_ADDRESSES = "InsufficientFreeAddressesInSubnet"
INSUFFICIENT_CIDR_BLOCKS = "InsufficientCidrBlocks"


def parse_subnet(cidr: Any) -> ipaddress.IPv4Network:
    """``cidr`` as an IPv4 network, refusing host bits, IPv6 and sizes a VPC subnet cannot have.

    >>> parse_subnet("10.0.32.0/19")
    IPv4Network('10.0.32.0/19')
    >>> parse_subnet("10.0.0.1/24")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: '10.0.0.1/24' is not a network: its host bits are set (did you mean 10.0.0.0/24?)
    """
    if isinstance(cidr, ipaddress.IPv4Network):
        network = cidr
    else:
        try:
            network = ipaddress.IPv4Network(str(cidr), strict=True)
        except ValueError as exc:
            if "host bits set" in str(exc):
                loose = ipaddress.IPv4Network(str(cidr), strict=False)
                raise EkslibError(f"{cidr!r} is not a network: its host bits are set (did you mean {loose}?)") from None
            raise EkslibError(f"{cidr!r} is not an IPv4 subnet CIDR such as '10.0.0.0/24'") from None
    if not LARGEST_SUBNET <= network.prefixlen <= SMALLEST_SUBNET:
        raise EkslibError(f"subnet {network} is /{network.prefixlen}: a VPC subnet is /{LARGEST_SUBNET} to "
                          f"/{SMALLEST_SUBNET} (Amazon VPC User Guide, 'Subnet CIDR blocks')")
    return network


def usable_addresses(cidr: Any) -> int:
    """Addresses of a subnet that EC2 can hand out: its size less the 5 AWS reserves.

    >>> usable_addresses("10.0.0.0/24"), usable_addresses("10.0.0.0/19")
    (251, 8187)
    """
    return parse_subnet(cidr).num_addresses - RESERVED_AT_START - RESERVED_AT_END


class SubnetSpace:
    """The addresses of one subnet as EC2 hands them out to ENIs: single addresses and aligned /28 prefixes.

    ``used`` marks addresses already taken by something else. EC2 chooses addresses itself; this model
    hands them out next-fit (each search starts after the last address given), a deterministic stand-in that,
    like EC2, does not give a just-released address straight back.

    >>> space = SubnetSpace("10.0.0.0/24", used=["10.0.0.20"])
    >>> str(space.allocate_address()), str(space.allocate_prefix())
    ('10.0.0.4', '10.0.0.32/28')
    >>> space.free_count
    233
    """

    def __init__(self, cidr: Any, used: Iterable[Any] = ()):
        self.network = parse_subnet(cidr)
        self._base = int(self.network.network_address)
        size = self.network.num_addresses
        self._used = bytearray(size)
        for offset in (*range(RESERVED_AT_START), size - 1):
            self._used[offset] = 1
        self._free = size - RESERVED_AT_START - RESERVED_AT_END
        for address in used:
            offset = self._offset(address)
            if not self._used[offset]:
                self._used[offset] = 1
                self._free -= 1
        self._cursor = RESERVED_AT_START
        self._prefix_cursor = 0

    def _offset(self, address: Any) -> int:
        try:
            value = int(ipaddress.IPv4Address(address if isinstance(address, int) else str(address)))
        except ValueError:
            raise EkslibError(f"{address!r} is not an IPv4 address") from None
        offset = value - self._base
        if not 0 <= offset < len(self._used):
            raise EkslibError(f"address {ipaddress.IPv4Address(value)} is not in subnet {self.network}")
        return offset

    @property
    def reserved(self) -> list[ipaddress.IPv4Address]:
        """The five addresses AWS reserves in this subnet."""
        size = self.network.num_addresses
        return [ipaddress.IPv4Address(self._base + i) for i in (*range(RESERVED_AT_START), size - 1)]

    @property
    def free_count(self) -> int:
        """Addresses still free."""
        return self._free

    def is_free(self, address: Any) -> bool:
        """True when ``address`` is neither reserved nor in use."""
        return not self._used[self._offset(address)]

    def allocate_address_int(self) -> int | None:
        """The next free address as an integer, or None when the subnet is full (fast path for simulations)."""
        if self._free == 0:
            return None
        size = len(self._used)
        at = self._used.find(0, self._cursor)
        if at < 0:
            at = self._used.find(0, 0, self._cursor)
        self._used[at] = 1
        self._free -= 1
        self._cursor = (at + 1) % size
        return self._base + at

    def allocate_prefix_int(self) -> int | None:
        """The first address of the next wholly free aligned /28 as an integer, or None (InsufficientCidrBlocks)."""
        blocks = len(self._used) // PREFIX_SIZE
        empty = bytes(PREFIX_SIZE)
        for step in range(blocks):
            block = (self._prefix_cursor + step) % blocks
            start = block * PREFIX_SIZE
            if self._used[start:start + PREFIX_SIZE] == empty:
                self._used[start:start + PREFIX_SIZE] = b"\x01" * PREFIX_SIZE
                self._free -= PREFIX_SIZE
                self._prefix_cursor = (block + 1) % blocks
                return self._base + start
        return None

    def allocate_address(self) -> ipaddress.IPv4Address | None:
        """The next free address, or None when the subnet is full (EC2: InsufficientFreeAddressesInSubnet)."""
        value = self.allocate_address_int()
        return None if value is None else ipaddress.IPv4Address(value)

    def allocate_prefix(self) -> ipaddress.IPv4Network | None:
        """The next wholly free aligned /28, or None (EC2: InsufficientCidrBlocks)."""
        value = self.allocate_prefix_int()
        return None if value is None else ipaddress.IPv4Network((value, PREFIX_LENGTH))

    def release_int(self, first: int, count: int = 1) -> None:
        """Give back ``count`` addresses from integer address ``first`` (1: an address; 16: a prefix)."""
        start = first - self._base
        for offset in range(start, start + count):
            if not self._used[offset]:
                raise EkslibError(f"address {ipaddress.IPv4Address(self._base + offset)} was not in use")
            self._used[offset] = 0
        self._free += count

    def release(self, item: ipaddress.IPv4Address | ipaddress.IPv4Network | str) -> None:
        """Give back an address or a /28 prefix."""
        if isinstance(item, ipaddress.IPv4Network) or "/" in str(item):
            network = ipaddress.IPv4Network(str(item))
            self.release_int(int(network.network_address), network.num_addresses)
        else:
            self.release_int(self._base + self._offset(item))

    def free_prefixes(self) -> list[ipaddress.IPv4Network]:
        """Every wholly free aligned /28 of the subnet, in address order."""
        empty = bytes(PREFIX_SIZE)
        return [ipaddress.IPv4Network((self._base + start, PREFIX_LENGTH))
                for start in range(0, len(self._used), PREFIX_SIZE)
                if self._used[start:start + PREFIX_SIZE] == empty]


def free_prefixes(subnet_cidr: Any, used_addresses: Iterable[Any]) -> list[ipaddress.IPv4Network]:
    """The free, aligned /28 blocks of a subnet, given the addresses in use (the 5 AWS reserves count as used).

    This is what prefix delegation can still get: a /28 with a single used address in it is lost to prefixes.
    Source: Amazon VPC User Guide "Subnet CIDR blocks" (reserved addresses); EC2 User Guide "Assign prefixes
    to network interfaces" (prefixes are aligned /28s of the subnet).

    >>> [str(p) for p in free_prefixes("10.0.0.0/26", ["10.0.0.17"])]
    ['10.0.0.32/28']
    """
    return SubnetSpace(subnet_cidr, used_addresses).free_prefixes()


def fragmented_subnet(cidr: Any = "10.0.0.0/24", offset: int = 8) -> tuple[ipaddress.IPv4Network,
                                                                            list[ipaddress.IPv4Address]]:
    """A subnet with plenty of free addresses and not one free aligned /28: ``(subnet, used addresses)``.

    One address is in use at ``offset`` inside every /28 (as scattered pod and node addresses leave a
    subnet after months of churn), so EC2 answers ``InsufficientCidrBlocks`` to a prefix request even
    though most of the subnet is free: the VPC CNI pain point of issues #2749 and #3105.

    >>> subnet, used = fragmented_subnet("10.0.0.0/24")
    >>> space = SubnetSpace(subnet, used)
    >>> space.free_count, len(space.free_prefixes()), space.allocate_prefix()
    (235, 0, None)
    """
    network = parse_subnet(cidr)
    if not 0 <= offset < PREFIX_SIZE:
        raise EkslibError(f"offset {offset} is not inside a /28: choose 0 to {PREFIX_SIZE - 1}")
    space = SubnetSpace(network)
    used = []
    for start in range(0, network.num_addresses, PREFIX_SIZE):
        address = network.network_address + start + offset
        if space.is_free(address):
            used.append(address)
    return network, used


# ------------------------------------------------------------------------------------------ the planner

@dataclass(frozen=True)
class NodeGroup:
    """A node group: ``nodes`` nodes of ``instance_type``, spread round-robin over ``subnets`` (indexes into
    the cluster's subnet list; None: all of them), each running ``pods_per_node`` pods with a VPC address
    (``'max'``: as many as the node can run).

    >>> NodeGroup("m5.large", 3, subnets=[0, 2])
    NodeGroup(instance_type='m5.large', nodes=3, subnets=(0, 2), pods_per_node='max')
    """

    instance_type: str
    nodes: int
    subnets: tuple[int, ...] | None = None
    pods_per_node: int | str = "max"

    def __post_init__(self) -> None:
        if isinstance(self.nodes, bool) or not isinstance(self.nodes, (int, np.integer)) or self.nodes < 0:
            raise EkslibError(f"nodes must be a whole number >= 0, not {self.nodes!r}")
        if self.pods_per_node != "max" and (isinstance(self.pods_per_node, bool) or not isinstance(
                self.pods_per_node, (int, np.integer)) or self.pods_per_node < 0):
            raise EkslibError(f"pods_per_node must be 'max' or a whole number >= 0, not {self.pods_per_node!r}")
        if self.subnets is not None:
            object.__setattr__(self, "subnets", tuple(self.subnets))


def node_group(item: NodeGroup | Sequence[Any]) -> NodeGroup:
    """A :class:`NodeGroup` from itself or from a tuple ``(instance_type, nodes[, pods_per_node])``.

    >>> node_group(("t3.medium", 4, 10)).pods_per_node
    10
    """
    if isinstance(item, NodeGroup):
        return item
    if isinstance(item, (tuple, list)) and 2 <= len(item) <= 3 and isinstance(item[0], str):
        return NodeGroup(item[0], item[1], pods_per_node=item[2] if len(item) == 3 else "max")
    raise EkslibError(f"node group {item!r} is not a NodeGroup nor an (instance_type, nodes[, pods_per_node]) tuple")


def place_nodes(node_groups: Sequence[NodeGroup], subnets: int) -> list[int]:
    """The subnet index of every node, group by group, round-robin over each group's subnets.

    >>> place_nodes([NodeGroup("m5.large", 4), NodeGroup("t3.small", 2, subnets=(1,))], 3)
    [0, 1, 2, 0, 1, 1]
    """
    where = []
    for group in node_groups:
        choices = group.subnets if group.subnets is not None else tuple(range(subnets))
        if not choices or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < subnets
                              for i in choices):
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
    if size <= PREFIX_SIZE:
        return 0, size - RESERVED_AT_START - RESERVED_AT_END
    return size // PREFIX_SIZE - 2, 2 * PREFIX_SIZE - RESERVED_AT_START - RESERVED_AT_END


def _fits(network: ipaddress.IPv4Network, singles: int, blocks: int) -> bool:
    """Whether ``singles`` single addresses and ``blocks`` aligned /28s fit an empty subnet (singles packed
    into the reserved-edge /28s first, then into whole blocks)."""
    whole, loose = blocks_and_loose(network)
    broken = max(0, -(-(singles - loose) // PREFIX_SIZE))
    return blocks + broken <= whole


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


def plan_subnets(subnets: Sequence[Any] | dict[str, Any], node_groups: Sequence[NodeGroup | Sequence[Any]], *,
                 settings: Any = None, **pool_settings: Any) -> SubnetPlan:
    """Addresses a cluster holds in its subnets once every node's warm pool has settled, and what still fits.

    ``subnets``: CIDRs (one per AZ) or ``{name: cidr}``; ``node_groups``: :class:`NodeGroup` or
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
    from ekslib.ipam import pool_settings as make_settings  # ipam draws its addresses from this module
    from ekslib.ipam import steady_states

    s = make_settings(settings, **pool_settings)
    if isinstance(subnets, dict):
        names, cidrs = [str(k) for k in subnets], list(subnets.values())
    else:
        cidrs = list(subnets)
        names = [f"subnet-{i + 1}" for i in range(len(cidrs))]
    if not cidrs:
        raise EkslibError("plan_subnets needs at least one subnet CIDR")
    networks = [parse_subnet(c) for c in cidrs]
    groups = [node_group(g) for g in node_groups]
    if not groups:
        raise EkslibError("plan_subnets needs at least one node group")
    where = place_nodes(groups, len(networks))

    tables: dict[str, pd.DataFrame] = {}
    for group in groups:
        if group.instance_type not in tables:
            tables[group.instance_type] = steady_states(group.instance_type, settings=s)
    group_frame = pd.DataFrame([_group_row(group, tables[group.instance_type]) for group in groups])
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
        whole, loose = blocks_and_loose(network)
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
            "free_prefixes": max(whole - blocks - max(0, -(-(singles - loose) // PREFIX_SIZE)), 0), "fits": fits,
            "more_nodes": _more_nodes(network, singles, blocks, one) if fits else 0,
            "more_nodes_type": group_frame.at[most, "instance_type"], "more_pods": more_pods,
            "limit": code if stopped else "every node reaches its max pods"})
    return SubnetPlan(group_frame, pd.DataFrame(rows), s)


def _group_row(group: NodeGroup, table: pd.DataFrame) -> dict[str, Any]:
    """One node of ``group`` at its pods per node, from its steady-state table."""
    limit = len(table) - 1
    pods = limit if group.pods_per_node == "max" else int(group.pods_per_node)
    if pods > limit:
        raise EkslibError(f"pods_per_node={pods} does not fit {group.instance_type}: at most {limit} pods with an "
                          f"address")
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
