"""The cluster as a graph (networkx), and small analyses on it.

:func:`to_networkx` gives a ``networkx.DiGraph`` whose nodes carry ``kind`` (``vpc``, ``subnet``, ``node``,
``eni``, ``pod``, ``service``, ``control-plane-eni``: EKS's network interfaces for the API server) and whose edges
carry ``kind``:

===============  ===================  ==========================================================
edge kind        from -> to           meaning
===============  ===================  ==========================================================
``contains``     vpc -> subnet        the subnet's CIDR is in the VPC
``contains``     subnet -> node       the node's primary address (its ENI 0) is in the subnet
``contains``     subnet -> eni        the ENI's addresses come from the subnet
``contains``     subnet ->            EKS's control-plane ENI has its address in the subnet
                 control-plane-eni
``attached``     node -> eni          the ENI is attached at ``device_number`` (``interface`` ethN)
``holds-address``  eni -> pod         the ENI holds the pod's address; the pod sits behind ``host_veth``
``host-network`` node -> pod          the pod uses the node's own address (no veth)
``selects``      service -> pod       the pod is an endpoint of the service (by selector, or in one of the
                                      service's EndpointSlices: ``slice``, ``ready`` say which and how)
``selects``      service ->           an endpoint of the service's EndpointSlice is the control-plane ENI's
                 control-plane-eni    address (``default/kubernetes``)
===============  ===================  ==========================================================

Graph node ids are ``"<kind>:<name>"`` (:func:`node_id`); addresses are strings. The layered picture
VPC > subnets > nodes > ENIs > pods follows ``contains`` (vpc, subnet -> node), ``attached``,
``holds-address`` and ``host-network`` edges.

>>> from ekslib.cluster import build_cluster
>>> g = to_networkx(build_cluster([("t3.medium", 2)]))
>>> sorted({d["kind"] for _, d in g.nodes(data=True)})
['control-plane-eni', 'eni', 'node', 'pod', 'service', 'subnet', 'vpc']
>>> sorted(pods_sharing_node_address(g)["owner"].value_counts().items())
[('DaemonSet/aws-node', 2), ('DaemonSet/kube-proxy', 2)]
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd

from ekslib.cluster.model import Cluster
from ekslib.errors import EkslibError
from ekslib.facts import IPS_PER_PREFIX, RESERVED_PER_SUBNET

__all__ = ["NODE_KINDS", "EDGE_KINDS", "node_id", "to_networkx", "pods_per_eni", "address_use_per_subnet",
           "pods_sharing_node_address"]

NODE_KINDS = ("vpc", "subnet", "node", "eni", "pod", "service", "control-plane-eni")
EDGE_KINDS = ("contains", "attached", "holds-address", "host-network", "selects")


def node_id(kind: str, name: str) -> str:
    """The graph id of a model object: ``node_id("pod", "ns/x")`` -> ``'pod:ns/x'``."""
    if kind not in NODE_KINDS:
        raise EkslibError(f"kind {kind!r} is not one of {', '.join(NODE_KINDS)}")
    return f"{kind}:{name}"


def _port_text(port: Any) -> str:
    text = f"{port.port}/{port.protocol}->{port.target_port}"
    return text + (f" (nodePort {port.node_port})" if port.node_port is not None else "")


def to_networkx(cluster: Cluster) -> nx.DiGraph:
    """The cluster as a typed ``networkx.DiGraph`` (see the module docstring for node and edge kinds).

    >>> from ekslib.cluster import build_cluster
    >>> g = to_networkx(build_cluster([("t3.medium", 1)], workloads=[]))
    >>> [g.edges[u, v]["kind"] for u, v in g.out_edges(node_id("node", next(iter(g.graph["nodes"]))))][:2]
    ['attached', 'attached']
    """
    g = nx.DiGraph(
        name=cluster.name,
        service_cidr=str(cluster.service_cidr),
        prefix_delegation=cluster.prefix_delegation,
        veth_prefix=cluster.veth_prefix,
        nodes=[n.name for n in cluster.nodes],
    )
    vpc = node_id("vpc", cluster.vpc.id)
    nodes: list[tuple[str, dict[str, Any]]] = [
        (
            vpc,
            {
                "kind": "vpc",
                "label": cluster.vpc.id,
                "cidrs": [str(c) for c in cluster.vpc.cidrs],
                "inferred": cluster.vpc.inferred,
            },
        )
    ]
    edges: list[tuple[str, str, dict[str, Any]]] = []
    for s in cluster.subnets:
        sid = node_id("subnet", s.id)
        nodes.append(
            (
                sid,
                {
                    "kind": "subnet",
                    "label": s.name or s.id,
                    "id": s.id,
                    "az": s.az,
                    "cidr": str(s.cidr),
                    "public": s.public,
                    "router": str(s.router),
                    "size": s.size,
                    "usable": s.usable,
                    "inferred": s.inferred,
                },
            )
        )
        edges.append((vpc, sid, {"kind": "contains"}))
    for n in cluster.nodes:
        nid = node_id("node", n.name)
        nodes.append(
            (
                nid,
                {
                    "kind": "node",
                    "label": n.name,
                    "name": n.name,
                    "instance_type": n.instance_type,
                    "az": n.az,
                    "address": str(n.address),
                    "subnet": n.subnet_id,
                    "max_pods": n.max_pods,
                    "instance_id": n.instance_id,
                    "nodegroup": n.nodegroup,
                    "enis": len(n.enis),
                },
            )
        )
        edges.append((node_id("subnet", n.subnet_id), nid, {"kind": "contains"}))
        for e in n.enis:
            eid = node_id("eni", e.id)
            nodes.append(
                (
                    eid,
                    {
                        "kind": "eni",
                        "label": f"{e.id} ({e.interface})",
                        "id": e.id,
                        "node": n.name,
                        "device_number": e.device_number,
                        "interface": e.interface,
                        "subnet": e.subnet_id,
                        "primary_ip": str(e.primary_ip),
                        "secondary_ips": [str(a) for a in e.secondary_ips],
                        "prefixes": [str(p) for p in e.prefixes],
                        "capacity": e.capacity,
                        "mac": e.mac,
                        "route_table": e.route_table_number or "main",
                        "primary": e.is_primary,
                        "inferred": e.inferred,
                    },
                )
            )
            edges.append((nid, eid, {"kind": "attached", "device_number": e.device_number, "interface": e.interface}))
            edges.append((node_id("subnet", e.subnet_id), eid, {"kind": "contains"}))
    for p in cluster.pods:
        key, address, veth = p.key, str(p.address), p.host_veth or ""
        pid = f"pod:{key}"
        nodes.append(
            (
                pid,
                {
                    "kind": "pod",
                    "label": key,
                    "namespace": p.namespace,
                    "name": p.name,
                    "node": p.node,
                    "address": address,
                    "host_network": p.host_network,
                    "eni": p.eni_id,
                    "host_veth": veth,
                    "owner": f"{p.owner_kind}/{p.owner_name}".strip("/"),
                },
            )
        )
        if p.host_network:
            edges.append((f"node:{p.node}", pid, {"kind": "host-network", "address": address}))
        else:
            edges.append((f"eni:{p.eni_id}", pid, {"kind": "holds-address", "address": address, "host_veth": veth}))
    for s in cluster.services:
        svc = node_id("service", s.key)
        nodes.append(
            (
                svc,
                {
                    "kind": "service",
                    "label": s.key,
                    "namespace": s.namespace,
                    "name": s.name,
                    "type": s.type,
                    "cluster_ip": str(s.cluster_ip) if s.cluster_ip else "",
                    "ports": [_port_text(p) for p in s.ports],
                    "external_traffic_policy": s.external_traffic_policy,
                    "endpoints": len(s.endpoints),
                    "load_balancer": s.load_balancer,
                },
            )
        )
        edges.extend((svc, node_id("pod", key), {"kind": "selects"}) for key in s.endpoints)
    control_plane = {}
    for e in cluster.control_plane_enis:
        cid = node_id("control-plane-eni", e.id)
        control_plane[e.address] = cid
        nodes.append(
            (
                cid,
                {
                    "kind": "control-plane-eni",
                    "label": f"{e.id} (EKS control plane)",
                    "id": e.id,
                    "subnet": e.subnet_id,
                    "address": str(e.address),
                    "description": e.description,
                    "inferred": e.inferred,
                },
            )
        )
        edges.append((node_id("subnet", e.subnet_id), cid, {"kind": "contains"}))
    pods = {p.key for p in cluster.pods}
    for sl in cluster.endpoint_slices:
        svc = node_id("service", sl.service)
        for ep in sl.endpoints:
            target = (node_id("pod", ep.target_pod) if ep.target_pod in pods
                      else control_plane.get(ep.address))
            if target is not None:  # an endpoint that is neither (an address outside the model) has no graph node
                edges.append((svc, target, {"kind": "selects", "slice": sl.name, "ready": ep.ready}))
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


def _as_graph(source: Cluster | nx.DiGraph) -> nx.DiGraph:
    if isinstance(source, Cluster):
        return to_networkx(source)
    if isinstance(source, nx.Graph):
        return source
    raise EkslibError(f"expected a Cluster or the graph to_networkx returns, not {type(source).__name__}")


def _of_kind(g: nx.DiGraph, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(n, d) for n, d in g.nodes(data=True) if d.get("kind") == kind]


def pods_per_eni(source: Cluster | nx.DiGraph) -> pd.DataFrame:
    """One row per ENI: its node, device, subnet, addresses held for pods (``capacity``), pods on it, free.

    Host-network pods are not counted: they use the node's address, not one the ENI holds for pods.

    >>> from ekslib.cluster import build_cluster
    >>> table = pods_per_eni(build_cluster([("t3.medium", 1)], workloads=[("web", 7)]))
    >>> table[["device_number", "capacity", "pods", "free"]].values.tolist()
    [[0, 5, 5, 0], [1, 5, 4, 1], [2, 5, 0, 5]]
    """
    g = _as_graph(source)
    rows = []
    for n, d in _of_kind(g, "eni"):
        pods = sum(1 for _, _, e in g.out_edges(n, data=True) if e["kind"] == "holds-address")
        rows.append(
            {
                "eni": d["id"],
                "node": d["node"],
                "device_number": d["device_number"],
                "interface": d["interface"],
                "subnet": d["subnet"],
                "mode": "prefixes" if d["prefixes"] else "secondary IPs",
                "capacity": d["capacity"],
                "pods": pods,
                "free": d["capacity"] - pods,
                "route_table": d["route_table"],
            }
        )
    columns = ["eni", "node", "device_number", "interface", "subnet", "mode", "capacity", "pods", "free", "route_table"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["node", "device_number"], kind="stable").reset_index(drop=True)


def address_use_per_subnet(source: Cluster | nx.DiGraph) -> pd.DataFrame:
    """One row per subnet: size, AWS's 5 reserved, what the ENIs hold (primaries, secondary IPs, prefix
    addresses), how much of that pods use and how much is warm, EKS's control-plane ENIs, and what is still free.

    ``used`` = ENI primaries + secondary IPs + 16 per prefix + control-plane ENIs: what EC2 counts as taken
    (``AvailableIpAddressCount`` = usable - used). Inferred subnets (CIDR guessed) show their guess.

    >>> from ekslib.cluster import build_cluster
    >>> t = address_use_per_subnet(build_cluster([("t3.medium", 1)], workloads=[]))
    >>> t.loc[t["used"] > 0, ["size", "usable", "used", "pod_addresses", "warm", "control_plane_enis", "free"]
    ...       ].values.tolist()
    [[8192, 8187, 13, 2, 8, 1, 8174], [8192, 8187, 1, 0, 0, 1, 8186]]
    """
    g = _as_graph(source)
    stats = {
        d["id"]: {"eni_primaries": 0, "secondary_ips": 0, "prefix_addresses": 0, "pod_addresses": 0,
                  "control_plane_enis": 0}
        for _, d in _of_kind(g, "subnet")
    }
    for _, d in _of_kind(g, "control-plane-eni"):
        stats[d["subnet"]]["control_plane_enis"] += 1
    for n, d in _of_kind(g, "eni"):
        row = stats[d["subnet"]]
        row["eni_primaries"] += 1
        row["secondary_ips"] += len(d["secondary_ips"])
        row["prefix_addresses"] += IPS_PER_PREFIX * len(d["prefixes"])
        row["pod_addresses"] += sum(1 for _, _, e in g.out_edges(n, data=True) if e["kind"] == "holds-address")
    rows = []
    for _, d in _of_kind(g, "subnet"):
        s = stats[d["id"]]
        used = s["eni_primaries"] + s["secondary_ips"] + s["prefix_addresses"] + s["control_plane_enis"]
        rows.append(
            {
                "subnet": d["id"],
                "name": d["label"],
                "az": d["az"],
                "cidr": d["cidr"],
                "public": d["public"],
                "size": d["size"],
                "reserved": min(RESERVED_PER_SUBNET, d["size"]),
                "usable": d["usable"],
                **s,
                "used": used,
                "warm": s["secondary_ips"] + s["prefix_addresses"] - s["pod_addresses"],
                "free": d["usable"] - used,
                "used_pct": round(100 * used / d["usable"], 2) if d["usable"] else 0.0,
                "inferred": d["inferred"],
            }
        )
    return pd.DataFrame(rows)


def pods_sharing_node_address(source: Cluster | nx.DiGraph) -> pd.DataFrame:
    """The host-network pods (``aws-node``, ``kube-proxy``, ...): each with its node and the node's address."""
    g = _as_graph(source)
    rows = [
        {
            "node": g.nodes[u]["name"],
            "address": e["address"],
            "pod": g.nodes[v]["label"],
            "namespace": g.nodes[v]["namespace"],
            "name": g.nodes[v]["name"],
            "owner": g.nodes[v]["owner"],
        }
        for u, v, e in g.edges(data=True)
        if e["kind"] == "host-network"
    ]
    return pd.DataFrame(rows, columns=["node", "address", "pod", "namespace", "name", "owner"])
