"""Figures of the cluster model: the whole cluster in layers and the selection table.

Every function takes the model (:class:`~ekslib.cluster.Cluster`)
and returns a plain ``go.Figure``; nothing is shown or displayed here.

* :func:`cluster_figure`: VPC > subnets (grouped by Availability Zone) > nodes > ENIs > pods, laid out by a
  deterministic tree layout (no force simulation), with addresses, ENI ids and host veth names in the hover;
  host-network pods (``aws-node``, ``kube-proxy``) sit under their node with a diamond symbol, on the node's
  own address; a big cluster is drawn with WebGL and one marker per ENI;
* :func:`selection_table`: what :func:`cluster_figure` highlights for a node, pod, ENI or address, as a table;

The facts drawn come from the model layer, which cites them: veth names, 169.254.1.1, the /32 routes and the
rules 512/1024/1536/32765 from github.com/aws/amazon-vpc-cni-k8s (``pkg/networkutils``, ``cmd/routed-eni-cni-plugin``;
the VPC CNI README); the bridge design from the Kubernetes kubenet docs and the CNI
``bridge`` plugin (:func:`ekslib.dataplane.bridge_dataplane`).

>>> from ekslib.cluster import load_sample
>>> fig = cluster_figure(load_sample("two-node"), highlight="kube-system/kube-proxy-fxc7w")
>>> fig.layout.title.text
'Cluster two-node: 2 nodes, 5 ENIs, 15 pods (4 on the host network)'
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ekslib._checks import parse_ipv4
from ekslib.cluster.model import Cluster, Eni, Node, Pod
from ekslib.errors import EkslibError, suggest
from ekslib.figures.theme import TEMPLATE, figure

__all__ = ["COLOR_BY", "DETAIL_LIMIT", "LABEL_LIMIT", "WEBGL_POINTS", "cluster_figure", "selection_table"]

#: What :func:`cluster_figure` can colour pods by.
COLOR_BY = ("eni", "namespace")
#: Up to this many pods every pod gets a marker; above it one marker per ENI (area = its pods).
DETAIL_LIMIT = 400
#: Up to this many pods (and while they fit the width) the markers carry text labels.
LABEL_LIMIT = 60
#: Above this many markers the traces are WebGL (``go.Scattergl``).
WEBGL_POINTS = 1000
#: Pods listed in the hover of an aggregated ENI marker.
HOVER_PODS_PER_ENI = 8

#: ENI device colours (eth0, eth1, ...) and namespace colours (D3 and Plotly's "Bold").
_DEVICE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                   "#7f7f7f", "#d62728")
_NAMESPACE_COLOURS = ("#7F3C8D", "#11A579", "#3969AC", "#F2B701", "#E73F74", "#80BA5A", "#E68310", "#008695",
                      "#CF1C90", "#f97b72")
HOST_COLOUR = "#222222"
_HIGHLIGHT = "#d62728"
_GRID = "#9a9a9a"
# tree layout, in "column" and "row" units
_SPINE = 0.35       # the subnet's spine runs this far left of its nodes
_SUBNET_Y = -1.3    # the subnet row (the VPC is at 0)
_FIRST_NODE_Y = -2.6
_BLOCK_GAP = 0.6    # between subnet blocks
_EMPTY_WIDTH = 0.5  # a subnet without nodes, when drawn
_NODE_GAP_DETAIL = 0.8
_NODE_GAP_AGGREGATE = 0.5
# pixels per column with full labels ("coredns 192.168.96.5") and compact ones (addresses only); widest figure
_PX_FULL, _PX_COMPACT, _MAX_WIDTH = 120, 80, 1060
#: a highlighted node or ENI rings its pods one by one only up to this many (the red path marks them all)
_RING_PODS = 12


# ----------------------------------------------------------------------------------------------- helpers


def device_colour(index: int) -> str:
    return _DEVICE_COLOURS[index % len(_DEVICE_COLOURS)]


def short_host(name: str) -> str:
    """``ip-192-168-96-4`` for ``ip-192-168-96-4.us-west-2.compute.internal``."""
    return name.split(".", 1)[0]


def _workload(pod: Pod) -> str:
    """The workload a pod belongs to: the Deployment (ReplicaSet name less its hash), DaemonSet, else the pod."""
    if pod.owner_kind == "ReplicaSet" and "-" in pod.owner_name:
        return pod.owner_name.rsplit("-", 1)[0]
    return pod.owner_name or pod.name


def _check_color_by(color_by: str) -> str:
    if color_by not in COLOR_BY:
        raise EkslibError(f"color_by {color_by!r} is not one of {', '.join(COLOR_BY)}")
    return color_by


def _eni_role(eni: Eni) -> str:
    return "primary ENI" if eni.is_primary else "secondary ENI"


def _pod_where(pod: Pod, eni: Eni | None) -> str:
    """``secondary IP of eni-... (eth1, secondary ENI)`` or ``in prefix 10.0.1.16/28 of ...``."""
    if eni is None:
        return "held by an ENI this cluster does not know"
    prefix = next((p for p in eni.prefixes if pod.address in p), None)
    what = f"in /28 prefix {prefix}" if prefix is not None else "secondary IP"
    return f"{what} of {eni.id} ({eni.interface}, {_eni_role(eni)})"


@dataclass
class _Target:
    """What a highlight selects: one kind (node, pod, eni) and the model objects around it."""

    kind: str
    label: str
    node: Node
    eni: Eni | None = None
    pods: tuple[Pod, ...] = ()


def _resolve(cluster: Cluster, target: str) -> _Target:
    """A node name, pod ``namespace/name``, ENI id or address of ``cluster``; EkslibError otherwise."""
    if not isinstance(target, str) or not target.strip():
        raise EkslibError(f"highlight {target!r} is not valid: give a node name, a pod 'namespace/name', an ENI id "
                          f"or an address of the cluster")
    target = target.strip()
    found = cluster.find(target)
    if isinstance(found, Node):
        return _Target("node", f"node {target}", found, None, cluster.pods_on_node(target))
    if isinstance(found, Pod):
        eni = None if found.host_network else cluster.eni(found.eni_id)
        return _Target("pod", f"pod {target}", cluster.node(found.node), eni, (found,))
    if isinstance(found, Eni):
        return _Target("eni", f"ENI {target}", cluster.node(found.node), found, cluster.pods_on_eni(target))
    try:
        address = parse_ipv4(target, "highlight")
    except EkslibError:
        address = None
    if address is not None:
        pods = cluster.pods_at_address(address)
        if len(pods) == 1:
            return _resolve(cluster, pods[0].key)
        eni = cluster.eni_of_address(address)
        if eni is not None:
            if eni.is_primary and eni.primary_ip == address:
                return _resolve(cluster, eni.node)
            return _resolve(cluster, eni.id)
        info = cluster.address_info(address)
        raise EkslibError(f"highlight {target}: no node, pod or ENI of this cluster has it ({info.role})")
    names = [n.name for n in cluster.nodes] + [p.key for p in cluster.pods] + [e.id for e in cluster.enis]
    close = suggest(target, names, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise EkslibError(f"highlight {target!r} is not a node, pod (namespace/name), ENI id or address of cluster "
                      f"{cluster.name!r}.{hint}")


def selection_table(cluster: Cluster, target: str) -> pd.DataFrame:
    """What :func:`cluster_figure` highlights for ``target`` (node name, pod ``namespace/name``, ENI id or
    address), one row per object: its kind, name, address, ENI and interface, subnet, host veth and a note.

    >>> from ekslib.cluster import load_sample
    >>> c = load_sample("two-node")
    >>> t = selection_table(c, "kube-system/coredns-bmd9kxlllg-66xdv")
    >>> t[["what", "address", "interface", "host veth"]].values.tolist()[0]
    ['pod', '192.168.96.5', 'eth0', 'enid22c1ffcf65']
    """
    found = _resolve(cluster, target)
    rows: list[dict[str, Any]] = []
    node = found.node
    subnet = cluster.subnet(node.subnet_id)

    def eni_row(eni: Eni) -> dict[str, Any]:
        held = (f"{len(eni.prefixes)} /28 prefixes" if eni.prefixes else f"{len(eni.secondary_ips)} secondary IPs")
        used = len(cluster.pods_on_eni(eni.id))
        table = eni.route_table_number or "main"
        return {"what": "ENI", "name": eni.id, "address": str(eni.primary_ip), "ENI": eni.id,
                "interface": eni.interface, "subnet": eni.subnet_id, "host veth": "",
                "note": f"device {eni.device_number} ({_eni_role(eni)}): {held} held, {used} used by pods; "
                        f"route table {table}; its own primary address is never a pod's"}

    def pod_row(pod: Pod) -> dict[str, Any]:
        eni = None if pod.host_network else cluster.eni(pod.eni_id)
        note = (f"host network: the node's own address ({node.primary_eni.interface}'s primary), no veth"
                if pod.host_network else _pod_where(pod, eni))
        services = [s.key for s in cluster.services if pod.key in s.endpoints]
        if services:
            note += "; endpoint of " + ", ".join(services)
        return {"what": "pod", "name": pod.key, "address": str(pod.address),
                "ENI": node.primary_eni.id if pod.host_network else pod.eni_id,
                "interface": node.primary_eni.interface if pod.host_network else (eni.interface if eni else ""),
                "subnet": subnet.id if pod.host_network else (eni.subnet_id if eni else ""),
                "host veth": pod.host_veth or "", "note": note}

    node_row = {"what": "node", "name": node.name, "address": str(node.address), "ENI": node.primary_eni.id,
                "interface": node.primary_eni.interface, "subnet": subnet.id, "host veth": "",
                "note": f"{node.instance_type} in {node.az}; InternalIP = {node.primary_eni.interface}'s primary "
                        f"address; {len(node.enis)} ENIs, {len(cluster.pods_on_node(node.name))} pods "
                        f"(max {node.max_pods})"}
    if found.kind == "node":
        rows.append(node_row)
        rows += [eni_row(e) for e in node.enis]
        rows += [pod_row(p) for p in found.pods]
    elif found.kind == "pod":
        rows.append(pod_row(found.pods[0]))
        if found.eni is not None:
            rows.append(eni_row(found.eni))
        rows.append(node_row)
    else:
        assert found.eni is not None
        rows.append(eni_row(found.eni))
        rows += [pod_row(p) for p in found.pods]
        rows.append(node_row)
    rows.append({"what": "subnet", "name": subnet.name or subnet.id, "address": str(subnet.cidr), "ENI": "",
                 "interface": "", "subnet": subnet.id, "host veth": "",
                 "note": f"{subnet.az}; router {subnet.router}; {cluster.addresses_taken(subnet.id)} of "
                         f"{subnet.usable} usable addresses held by ENIs"})
    return pd.DataFrame(rows, columns=["what", "name", "address", "ENI", "interface", "subnet", "host veth", "note"])


# ----------------------------------------------------------------------------------------------- layout


@dataclass
class _Layout:
    """Positions of everything drawn, by ``(kind, id)``; ``detailed`` nodes show each pod."""

    pos: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    detailed: set[str] = field(default_factory=set)
    subnets: list[str] = field(default_factory=list)
    nodes_of: dict[str, list[Node]] = field(default_factory=dict)
    zones: dict[str, tuple[float, float]] = field(default_factory=dict)
    bottom: float = _SUBNET_Y
    right: float = 0.0
    columns: float = 0.0


def _layout(cluster: Cluster, detailed: set[str], empty_subnets: bool) -> _Layout:
    """The tree layout: subnet blocks side by side (grouped by zone), nodes stacked down each block.

    A detailed node: node row; below it, column 0 holds its host-network pods (on the node's address) and
    columns 1.. its ENIs (by device number) with their pods stacked under them. An aggregated node: one row,
    the node, then its ENIs on the same row.
    """
    out = _Layout(detailed=detailed)
    nodes_of: dict[str, list[Node]] = {s.id: [] for s in cluster.subnets}
    for n in cluster.nodes:
        nodes_of.setdefault(n.subnet_id, []).append(n)
    for nodes in nodes_of.values():
        nodes.sort(key=lambda n: (int(n.address), n.name))
    order = sorted(cluster.subnets, key=lambda s: (s.az, not nodes_of[s.id], s.public, int(s.cidr.network_address)))
    x = 0.0
    for subnet in order:
        nodes = nodes_of[subnet.id]
        if not nodes and not empty_subnets:
            continue
        width = 1 + max(len(n.enis) for n in nodes) if nodes else _EMPTY_WIDTH
        out.pos[("subnet", subnet.id)] = (x - _SPINE, _SUBNET_Y)
        out.subnets.append(subnet.id)
        out.nodes_of[subnet.id] = nodes
        y = _FIRST_NODE_Y
        for node in nodes:
            out.pos[("node", node.name)] = (x, y)
            enis = sorted(node.enis, key=lambda e: e.device_number)
            pods = cluster.pods_on_node(node.name)
            if node.name in detailed:
                host = [p for p in pods if p.host_network]
                for k, pod in enumerate(host):
                    out.pos[("pod", pod.key)] = (x, y - 1 - k)
                deepest = len(host)
                for i, eni in enumerate(enis):
                    ex = x + 1 + i
                    out.pos[("eni", eni.id)] = (ex, y - 1)
                    on_eni = cluster.pods_on_eni(eni.id)
                    for k, pod in enumerate(on_eni):
                        out.pos[("pod", pod.key)] = (ex, y - 2 - k)
                    deepest = max(deepest, 1 + len(on_eni))
                out.bottom = min(out.bottom, y - max(deepest, 1))
                y -= 1 + max(deepest, 1) + _NODE_GAP_DETAIL
            else:
                for i, eni in enumerate(enis):
                    out.pos[("eni", eni.id)] = (x + 1 + i, y)
                out.bottom = min(out.bottom, y)
                y -= 1 + _NODE_GAP_AGGREGATE
        left, right = out.zones.get(subnet.az, (x - _SPINE, x))
        out.zones[subnet.az] = (left, max(right, x + width - 1))
        out.columns += width
        out.right = max(out.right, x + width - 1)
        x += width + _BLOCK_GAP
    return out


# ----------------------------------------------------------------------------------------------- pieces


class _Lines:
    """Line segments gathered into one trace (``None`` between segments)."""

    def __init__(self) -> None:
        self.x: list[float | None] = []
        self.y: list[float | None] = []

    def add(self, *points: tuple[float, float]) -> None:
        for px, py in points:
            self.x.append(round(px, 3))
            self.y.append(round(py, 3))
        self.x.append(None)
        self.y.append(None)


class _Markers:
    """One marker trace being gathered: positions, hover, text and per-point colours and sizes."""

    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self.hover: list[str] = []
        self.text: list[str] = []
        self.short: list[str] = []
        self.colour: list[str] = []
        self.size: list[float] = []

    def add(self, at: tuple[float, float], hover: str, text: str = "", colour: str = "#555", size: float = 10,
            short: str | None = None) -> None:
        self.x.append(round(at[0], 3))
        self.y.append(round(at[1], 3))
        self.hover.append(hover)
        self.text.append(text)
        self.short.append(text if short is None else short)
        self.colour.append(colour)
        self.size.append(size)

    def __len__(self) -> int:
        return len(self.x)


def _scatter(webgl: bool, markers: _Markers, *, name: str, symbol: str, labels: str | bool, legend: bool = True,
             line_colour: str = "#ffffff", textposition: str = "middle right", group: str | None = None
             ) -> dict[str, Any]:
    """One marker trace (a ``scatter`` or, with ``webgl``, a ``scattergl``) of ``markers``, as a plain dict."""
    marker: dict[str, Any] = {"color": markers.colour, "size": markers.size, "symbol": symbol, "opacity": 1,
                              "line": {"width": 1, "color": line_colour}}
    text = markers.short if labels == "compact" else markers.text
    show_text = bool(labels) and any(text)
    trace: dict[str, Any] = {"type": "scattergl" if webgl else "scatter", "x": markers.x, "y": markers.y,
                             "mode": "markers+text" if show_text else "markers", "name": name}
    if show_text:
        trace["text"] = text
    trace.update(textposition=textposition, textfont={"size": 10, "color": "#222"}, hovertext=markers.hover,
                 hoverinfo="text", marker=marker, showlegend=legend, legendgroup=group or name)
    return trace


def _pod_hover(cluster: Cluster, pod: Pod, services: dict[str, list[str]]) -> str:
    node = cluster.node(pod.node)
    owner = f"{pod.owner_kind} {pod.owner_name}" if pod.owner_kind else "no controller"
    lines = [f"<b>{html.escape(pod.key)}</b>"]
    if pod.host_network:
        lines += [f"address {pod.address}: <b>the node's own address</b> (host network)",
                  "no veth: it lives in the node's network namespace",
                  f"node {short_host(node.name)} ({node.primary_eni.interface} = {node.primary_eni.id})"]
    else:
        eni = cluster.eni(pod.eni_id)
        lines += [f"address {pod.address}: {_pod_where(pod, eni)}",
                  f"host veth <b>{pod.host_veth}</b> ↔ eth0 in the pod",
                  f"node {short_host(node.name)}"]
    lines.append(f"{owner} · namespace {pod.namespace}")
    if services.get(pod.key):
        lines.append("endpoint of " + ", ".join(services[pod.key]))
    return "<br>".join(lines)


def _eni_hover(cluster: Cluster, eni: Eni, listed: int) -> str:
    pods = cluster.pods_on_eni(eni.id)
    subnet = cluster.subnet(eni.subnet_id)
    if eni.prefixes:
        held = f"{len(eni.prefixes)} /28 prefixes ({eni.capacity} addresses): " + ", ".join(map(str, eni.prefixes[:4]))
        held += " ..." if len(eni.prefixes) > 4 else ""
    else:
        held = f"{len(eni.secondary_ips)} secondary IPs"
    table = f"route table {eni.route_table_number} (rules 1536 from its pods, 32765 from its primary)" \
        if eni.route_table_number else "main route table (primary ENI)"
    lines = [f"<b>{eni.interface} {eni.id}</b> ({_eni_role(eni)}, device {eni.device_number})",
             f"primary {eni.primary_ip}"
             + (" = the node's address" if eni.is_primary else " (the ENI's own, never a pod's)"),
             f"{held}; {len(pods)} used by pods, {eni.capacity - len(pods)} warm",
             f"subnet {subnet.name or subnet.id if subnet else eni.subnet_id}; {table}"]
    if eni.inferred:
        lines.append("<i>stand-in ENI: no EC2 detail was given (see Cluster.notes)</i>")
    if listed:
        shown = pods[:listed]
        lines += [f"{p.address}  {html.escape(p.key)}  ({p.host_veth})" for p in shown]
        if len(pods) > listed:
            lines.append(f"... and {len(pods) - listed} more pods")
    return "<br>".join(lines)


def _node_hover(cluster: Cluster, node: Node) -> str:
    pods = cluster.pods_on_node(node.name)
    host = [p for p in pods if p.host_network]
    lines = [f"<b>{node.name}</b>",
             f"{node.instance_type} in {node.az}" + (f", {node.instance_id}" if node.instance_id else ""),
             f"address {node.address} (InternalIP = {node.primary_eni.interface}'s primary address)",
             f"{len(node.enis)} ENIs; {len(pods)} pods of max {node.max_pods}, {len(host)} on the host network"]
    if node.nodegroup:
        lines.append(f"node group {node.nodegroup}")
    return "<br>".join(lines)


def _subnet_hover(cluster: Cluster, subnet_id: str) -> str:
    s = cluster.subnet(subnet_id)
    kind = "public" if s.public else "private"
    lines = [f"<b>{s.name or s.id}</b> ({kind}, {s.az})", f"{s.id} {s.cidr}; router {s.router}",
             f"{cluster.addresses_taken(s.id):,} of {s.usable:,} usable addresses held by ENIs (5 reserved by AWS)"]
    if s.inferred:
        lines.append("<i>CIDR inferred from the addresses seen</i>")
    return "<br>".join(lines)


def _vpc_hover(cluster: Cluster, hidden: Sequence[str]) -> str:
    v = cluster.vpc
    lines = [f"<b>{v.id}</b> {', '.join(map(str, v.cidrs))}" + (" (inferred)" if v.inferred else ""),
             f"service CIDR {cluster.service_cidr} (ClusterIPs are not VPC addresses)",
             f"{len(cluster.subnets)} subnets, {len(cluster.nodes)} nodes"]
    if hidden:
        lines.append("subnets without nodes (not drawn): " + "; ".join(
            f"{cluster.subnet(s).name or s} {cluster.subnet(s).cidr}" for s in hidden))
    return "<br>".join(lines)


# ----------------------------------------------------------------------------------------------- the figure


def cluster_figure(cluster: Cluster, *, color_by: str = "eni", highlight: str | None = None,
                   detail_limit: int | None = DETAIL_LIMIT, empty_subnets: bool = False) -> go.Figure:
    """The cluster in layers: VPC > subnets (grouped by zone) > nodes > ENIs > pods, as a deterministic tree.

    Each subnet is a block (blocks side by side, zones shaded), its nodes stacked down it. Under a node,
    column 0 holds its host-network pods (◆, on the node's own address: ``aws-node``, ``kube-proxy``) and the
    next columns its ENIs (▼, eth0 = the primary ENI whose primary address is the node's) with the pods whose
    address each holds stacked under it. Hover gives addresses, ENI ids, host veth names and services.
    ``color_by``: ``"eni"`` (pods take their ENI's device colour) or ``"namespace"``. ``highlight``: a node
    name, pod ``namespace/name``, ENI id or address: its objects get red rings and the path from the VPC
    turns red (:func:`selection_table` lists them).

    Big clusters: with more than ``detail_limit`` pods (None: no limit) each ENI is one marker whose area is
    its pod count and whose hover lists its first pods, and nodes take one row each; the highlighted node is
    still drawn pod by pod (a static figure cannot re-aggregate as you zoom, so choosing a node is the zoom).
    Over :data:`WEBGL_POINTS` markers the traces are WebGL. ``empty_subnets`` also draws subnets without
    nodes (otherwise they are listed in the VPC's hover).

    >>> from ekslib.cluster import build_cluster
    >>> c = build_cluster([("m5.large", 40)], workloads=[("web", 900)])
    >>> fig = cluster_figure(c)
    >>> [t.name for t in fig.data][-1], "one marker per ENI" in fig.layout.title.subtitle.text
    ('ENIs, area = pods on it', True)
    """
    _check_color_by(color_by)
    target = _resolve(cluster, highlight) if highlight is not None else None
    everything = detail_limit is None or len(cluster.pods) <= detail_limit
    detailed = {n.name for n in cluster.nodes} if everything else set()
    if target is not None:
        detailed.add(target.node.name)
    lay = _layout(cluster, detailed, empty_subnets)
    drawn_pods = sum(len(cluster.pods_on_node(n)) for n in detailed)
    x_span = lay.right + 1.3 - min(-_SPINE - 0.3, lay.right / 2 - 2)
    labels: str | bool = False  # full labels, compact ones (addresses only), or none (hover only)
    if everything and len(cluster.pods) <= LABEL_LIMIT:
        if x_span * _PX_FULL <= _MAX_WIDTH:
            labels = "full"
        elif x_span * _PX_COMPACT <= _MAX_WIDTH:
            labels = "compact"
    points = 1 + len(lay.subnets) + len(cluster.nodes) + len(cluster.enis) + drawn_pods
    webgl = points > WEBGL_POINTS
    services: dict[str, list[str]] = {}
    for s in cluster.services:
        for key in s.endpoints:
            services.setdefault(key, []).append(f"{s.key} ({s.type})")
    namespaces = sorted({p.namespace for p in cluster.pods})
    ns_colour = {ns: _NAMESPACE_COLOURS[i % len(_NAMESPACE_COLOURS)] for i, ns in enumerate(namespaces)}

    edges, host_edges = _Lines(), _Lines()
    vpc_x = round((min((x for (k, _), (x, _) in lay.pos.items() if k == "subnet"), default=0.0) + lay.right) / 2, 3)
    vpc_at = (vpc_x, 0.0)
    top = _Markers()
    hidden = [s.id for s in cluster.subnets if s.id not in lay.subnets]
    top.add(vpc_at, _vpc_hover(cluster, hidden),
            f"{cluster.vpc.id} {', '.join(map(str, cluster.vpc.cidrs))}", "#4d4d4d", 18)
    subnets, empty = _Markers(), _Markers()
    nodes = _Markers()
    enis_m = _Markers()
    aggregated = _Markers()
    host_m = _Markers()
    pod_groups: dict[str, _Markers] = {}
    for sid in lay.subnets:
        s_at = lay.pos[("subnet", sid)]
        subnet = cluster.subnet(sid)
        edges.add(vpc_at, s_at)
        block = lay.nodes_of[sid]
        (subnets if block else empty).add(s_at, _subnet_hover(cluster, sid), f"{subnet.name or sid} {subnet.cidr}",
                                          "#8c8c8c", 14)
        if block:
            last = lay.pos[("node", block[-1].name)]
            edges.add(s_at, (s_at[0], last[1]))
        for node in block:
            n_at = lay.pos[("node", node.name)]
            edges.add((s_at[0], n_at[1]), n_at)
            nodes.add(n_at, _node_hover(cluster, node), f"{short_host(node.name)} · {node.instance_type}",
                      "#3d3d3d", 15)
            enis = sorted(node.enis, key=lambda e: e.device_number)
            pods = cluster.pods_on_node(node.name)
            host = [p for p in pods if p.host_network]
            if node.name in detailed:
                bus = n_at[1] - 0.5
                if enis:
                    edges.add(n_at, (n_at[0], bus))
                    edges.add((n_at[0], bus), (lay.pos[("eni", enis[-1].id)][0], bus))
                for eni in enis:
                    e_at = lay.pos[("eni", eni.id)]
                    edges.add((e_at[0], bus), e_at)
                    on_eni = cluster.pods_on_eni(eni.id)
                    if on_eni:
                        edges.add(e_at, lay.pos[("pod", on_eni[-1].key)])
                    colour = device_colour(eni.device_number)
                    enis_m.add(e_at, _eni_hover(cluster, eni, 0), f"{eni.interface} {eni.primary_ip}", colour, 13,
                               eni.interface)
                    for pod in on_eni:
                        group = f"pods on {eni.interface}" if color_by == "eni" else f"namespace {pod.namespace}"
                        c = colour if color_by == "eni" else ns_colour[pod.namespace]
                        pod_groups.setdefault(group, _Markers()).add(
                            lay.pos[("pod", pod.key)], _pod_hover(cluster, pod, services),
                            f"{_workload(pod)} {pod.address}", c, 10, str(pod.address))
                if host:
                    host_edges.add(n_at, lay.pos[("pod", host[-1].key)])
                for pod in host:
                    c = HOST_COLOUR if color_by == "eni" else ns_colour[pod.namespace]
                    host_m.add(lay.pos[("pod", pod.key)], _pod_hover(cluster, pod, services),
                               f"{_workload(pod)}: node IP", c, 11, _workload(pod))
            else:
                if enis:
                    edges.add(n_at, lay.pos[("eni", enis[-1].id)])
                for eni in enis:
                    on_eni = cluster.pods_on_eni(eni.id)
                    if color_by == "eni":
                        c = device_colour(eni.device_number)
                    else:
                        counts = Counter(p.namespace for p in on_eni)
                        c = ns_colour[min(counts, key=lambda ns: (-counts[ns], ns))] if counts else "#bbbbbb"
                    aggregated.add(lay.pos[("eni", eni.id)], _eni_hover(cluster, eni, HOVER_PODS_PER_ENI), "", c,
                                   max(len(on_eni), 1))
                if host:
                    h_at = (n_at[0] + 0.5, n_at[1])
                    hover = (f"<b>{len(host)} host-network pods of {short_host(node.name)}</b> on the node's own "
                             f"address {node.address}<br>"
                             + "<br>".join(html.escape(p.key) for p in host))
                    host_m.add(h_at, hover, "", HOST_COLOUR, 8)

    line_type = "scattergl" if webgl else "scatter"
    data: list[dict[str, Any]] = [
        {"type": line_type, "x": edges.x, "y": edges.y, "mode": "lines", "line": {"color": _GRID, "width": 1},
         "hoverinfo": "skip", "showlegend": False, "name": "tree"}]
    if host_edges.x:
        data.append({"type": line_type, "x": host_edges.x, "y": host_edges.y, "mode": "lines", "hoverinfo": "skip",
                     "showlegend": False, "line": {"color": HOST_COLOUR, "width": 1.2, "dash": "dot"},
                     "name": "host network"})
    data.append(_scatter(webgl, top, name="VPC", symbol="hexagon", labels=True, legend=False,
                         textposition="top center"))
    data.append(_scatter(webgl, subnets, name="subnets", symbol="square", labels=labels or len(lay.subnets) <= 8,
                         legend=False, textposition="middle right"))
    if len(empty):
        data.append(_scatter(webgl, empty, name="subnets without nodes", symbol="square-open", labels=False,
                             legend=False))
    data.append(_scatter(webgl, nodes, name="nodes", symbol="square", labels=labels or len(cluster.nodes) <= 12,
                         legend=False, textposition="middle right"))
    if len(enis_m):
        data.append(_scatter(webgl, enis_m, name="ENIs (eth0 = primary)", symbol="triangle-down", labels=labels,
                             legend=False, textposition="middle right"))
    for group in sorted(pod_groups, key=lambda g: (g.startswith("namespace"), len(g), g)):
        data.append(_scatter(webgl, pod_groups[group], name=group, symbol="circle", labels=labels))
    if len(host_m):
        data.append(_scatter(webgl, host_m, name="host-network pods (node's own address)", symbol="diamond",
                             labels=labels, line_colour="#000000"))
    if len(aggregated):
        trace = _scatter(webgl, aggregated, name="ENIs, area = pods on it", symbol="circle", labels=False)
        biggest = max(aggregated.size)
        trace["marker"].update(sizemode="area", sizeref=2.0 * biggest / 13**2, sizemin=3)
        data.append(trace)

    subtitle = ("VPC > subnets by zone > nodes > ENIs (▼, eth0 = primary) > pods · ◆ host-network pod on the "
                "node's own address · colour: " + ("ENI device" if color_by == "eni" else "namespace"))
    if not everything:
        subtitle += (f" · more than {detail_limit} pods: one marker per ENI, area = its pods (hover lists them)"
                     + ("; highlight a node to see its pods" if target is None else ""))
    if target is not None:
        data += _highlight(lay, target, webgl, vpc_at)
        subtitle += "<br>" + _target_summary(target)
    per_row = 26 if labels else (18 if drawn_pods else 15)
    y_range = [lay.bottom - 1.1, 0.4 + 26 / per_row]  # 26 px above the VPC marker for its label
    height = int(min(max((y_range[1] - y_range[0]) * per_row + 150, 380), 3000))
    x_range = [min(-_SPINE - 0.3, vpc_x - 2), lay.right + (1.3 if labels else 0.8)]
    px = _PX_FULL if labels == "full" else _PX_COMPACT
    summary = cluster.summary()
    layout: dict[str, Any] = {
        "title": {"text": f"Cluster {cluster.name}: {summary['nodes']} nodes, {summary['enis']} ENIs, "
                          f"{summary['pods']} pods ({summary['host-network pods']} on the host network)",
                  "subtitle": {"text": subtitle}},
        "template": TEMPLATE, "height": height, "hovermode": "closest", "plot_bgcolor": "#ffffff",
        "margin": {"l": 20, "r": 20, "t": 120 if target is not None else 100, "b": 20},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 11}},
        "xaxis": {"visible": False, "range": x_range},
        "yaxis": {"visible": False, "range": y_range},
        **_zone_bands(lay),
    }
    if labels:  # labelled figures get a width that fits their columns; the others take the page's
        layout["width"] = int(min(max((x_range[1] - x_range[0]) * px + 40, 860), _MAX_WIDTH + 40))
    return figure(data, layout)


def _zone_bands(lay: _Layout) -> dict[str, list[dict[str, Any]]]:
    """A light band behind each Availability Zone's subnet blocks, named at its top right: the layout's
    ``shapes`` and ``annotations`` (none without zones)."""
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i, (zone, (left, right)) in enumerate(sorted(lay.zones.items())):
        shapes.append({"type": "rect", "x0": left - 0.25, "x1": right + 0.9, "y0": lay.bottom - 1.0,
                       "y1": _SUBNET_Y + 0.6, "fillcolor": "#f2f5fa" if i % 2 == 0 else "#f7f7f2",
                       "line": {"width": 0}, "layer": "below"})
        annotations.append({"x": right + 0.85, "y": lay.bottom - 0.95, "text": f"<i>{zone}</i>", "showarrow": False,
                            "xanchor": "right", "yanchor": "bottom", "font": {"size": 11, "color": "#666"}})
    return {"shapes": shapes, "annotations": annotations} if shapes else {}


def _highlight(lay: _Layout, target: _Target, webgl: bool, vpc_at: tuple[float, float]) -> list[dict[str, Any]]:
    """The red path from the VPC down to the target and red rings on its objects: two traces."""
    node = target.node
    subnet_at = lay.pos[("subnet", node.subnet_id)]
    n_at = lay.pos[("node", node.name)]
    path = _Lines()
    path.add(vpc_at, subnet_at, (subnet_at[0], n_at[1]), n_at)
    ringed: list[tuple[float, float]] = [subnet_at, n_at]
    enis = list(node.enis) if target.kind == "node" else ([target.eni] if target.eni is not None else [])
    for eni in enis:
        e_at = lay.pos[("eni", eni.id)]
        path.add(n_at, (n_at[0], n_at[1] - 0.5), (e_at[0], n_at[1] - 0.5), e_at)
        ringed.append(e_at)
    for pod in target.pods:
        p_at = lay.pos[("pod", pod.key)]
        start = n_at if pod.host_network else lay.pos[("eni", pod.eni_id)]
        path.add(start, p_at)
        if len(target.pods) <= _RING_PODS or pod.host_network:
            ringed.append(p_at)
    kind = "scattergl" if webgl else "scatter"
    return [{"type": kind, "x": path.x, "y": path.y, "mode": "lines", "line": {"color": _HIGHLIGHT, "width": 3},
             "hoverinfo": "skip", "name": "highlight path", "showlegend": False},
            {"type": kind, "x": [round(x, 3) for x, _ in ringed], "y": [round(y, 3) for _, y in ringed],
             "mode": "markers",
             "marker": {"symbol": "circle-open", "size": 22, "color": _HIGHLIGHT, "line": {"width": 2.5}},
             "hoverinfo": "skip", "name": f"highlight: {target.label}", "showlegend": False}]


def _target_summary(target: _Target) -> str:
    """One line on what a highlight selects, for the subtitle."""
    node = target.node
    if target.kind == "pod":
        pod = target.pods[0]
        if pod.host_network:
            return (f"<b>{html.escape(pod.key)}</b>: host network, on node {short_host(node.name)}'s own address "
                    f"{pod.address} (no veth)")
        return (f"<b>{html.escape(pod.key)}</b>: {pod.address}, {_pod_where(pod, target.eni)} on node "
                f"{short_host(node.name)}; host veth {pod.host_veth}")
    if target.kind == "eni":
        eni = target.eni
        assert eni is not None
        return (f"<b>{eni.interface} {eni.id}</b> of node {short_host(node.name)}: primary {eni.primary_ip}, "
                f"{len(target.pods)} pods on it")
    addresses = ", ".join(f"{e.interface} {e.primary_ip}" for e in sorted(node.enis, key=lambda e: e.device_number))
    return (f"<b>node {short_host(node.name)}</b> ({node.instance_type}): {addresses}; "
            f"{len(target.pods)} pods")
