"""What ``ip rule``, ``ip route``, ``ip addr`` and ``ip neigh`` print for a node or a pod (iproute2's formats).

>>> from ekslib.cluster.kubectl import load_sample
>>> from ekslib.dataplane import node_dataplane
>>> c = load_sample("two-node")
>>> print(ip_rule_text(node_dataplane(c, c.nodes[0].name)).splitlines()[0])
0:	from all lookup local
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ekslib.errors import EkslibError
from ekslib.linux.objects import NodeDataplane, Rule
from ekslib.linux.routes import Route


def sorted_routes(routes: list[Route]) -> list[Route]:
    """``ip route`` order: the default route first, then by destination."""
    return sorted(routes, key=lambda r: (r.destination is not None,
                                         int(r.destination.network_address) if r.destination else 0,
                                         r.destination.prefixlen if r.destination else 0))


def sorted_rules(rules: list[Rule]) -> list[Rule]:
    def key(rule: Rule) -> tuple[int, int, int]:
        net = rule.src or rule.dst
        return rule.priority, int(net.network_address) if net else 0, rule.table if isinstance(rule.table, int) else 0
    return sorted(rules, key=key)


# ----------------------------------------------------------------------------------------------- as text


def ip_rule_text(dp: NodeDataplane) -> str:
    """The node's ``ip rule show``.

    >>> from ekslib.cluster import build_cluster
    >>> from ekslib.dataplane import node_dataplane
    >>> c = build_cluster([("t3.medium", 1)], workloads=[("web", 6)])
    >>> text = ip_rule_text(node_dataplane(c, c.nodes[0].name))
    >>> [line.split(":")[0] for line in text.splitlines()].count("1536")   # pods on the second ENI
    3
    """
    return "\n".join(rule.text() for rule in dp.rules)


def ip_route_text(dp: NodeDataplane, table: int | str = "main", *, pod: str | None = None) -> str:
    """``ip route show [table N]`` on the node, or in pod ``namespace/name``'s namespace (``pod=``)."""
    if pod is not None:
        return "\n".join(r.text() for r in dp.namespace(pod).routes)
    if table == "main":
        return "\n".join(r.text() for r in dp.host.routes)
    try:
        return dp.tables[int(table)].text()
    except (KeyError, ValueError):
        raise EkslibError(f"node {dp.node} has no route table {table!r}; tables: main"
                          + "".join(f", {n}" for n in sorted(dp.tables))) from None


def ip_addr_text(dp: NodeDataplane, *, pod: str | None = None) -> str:
    """``ip addr`` (shortened) on the node or in a pod: interfaces, veth peers (``@ifN``), MACs, addresses.

    >>> from ekslib.cluster import load_sample
    >>> from ekslib.dataplane import node_dataplane
    >>> c = load_sample("two-node")
    >>> dp = node_dataplane(c, c.nodes[0].name)
    >>> print(ip_addr_text(dp, pod=dp.veths[0].pod).splitlines()[3])   # doctest: +ELLIPSIS
    3: eth0@if...: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9001
    """
    lines = []
    for i in dp.namespace(pod).interfaces:
        flags = "LOOPBACK,UP,LOWER_UP" if i.kind == "loopback" else "BROADCAST,MULTICAST,UP,LOWER_UP"
        master = f" master {i.master}" if i.master else ""
        lines.append(f"{i.index}: {i.display_name}: <{flags}> mtu {i.mtu}{master}")
        lines.append(f"    link/{'loopback' if i.kind == 'loopback' else 'ether'} {i.mac}")
        for address in i.addresses:
            scope = "host" if i.kind == "loopback" else "global"
            lines.append(f"    inet {address} scope {scope} {i.name}")
    return "\n".join(lines)


def ip_neigh_text(dp: NodeDataplane, *, pod: str) -> str:
    """``ip neigh show`` in pod ``namespace/name``: the VPC CNI's permanent entry for 169.254.1.1 (none
    under kubenet: ARP across the bridge fills the table as pods talk)."""
    return "\n".join(n.text() for n in dp.namespace(pod).neighbours)


def veth_table(dp: NodeDataplane) -> pd.DataFrame:
    """One row per veth pair: pod, its namespace, both ends, the pod's address and the ENI / route table.

    >>> from ekslib.cluster import load_sample
    >>> from ekslib.dataplane import node_dataplane
    >>> c = load_sample("two-node")
    >>> list(veth_table(node_dataplane(c, c.nodes[0].name)).columns)[:4]
    ['pod', 'netns', 'host side', 'pod side']
    """
    rows: list[dict[str, Any]] = [{
        "pod": v.pod, "netns": v.netns, "host side": v.host_name, "pod side": v.pod_name,
        "address": f"{v.address}/{v.prefixlen}", "host MAC": v.host_mac, "ENI": v.eni_id,
        "route table": v.table if v.table is not None else "main", "bridge": v.bridge or ""} for v in dp.veths]
    return pd.DataFrame(rows, columns=["pod", "netns", "host side", "pod side", "address", "host MAC", "ENI",
                                       "route table", "bridge"])
