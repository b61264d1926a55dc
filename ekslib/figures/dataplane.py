"""Figures of a node's data plane: namespaces, veth pairs, 169.254.1.1, route tables and policy rules; and the
VPC CNI's routed veths next to kubenet's ``cbr0`` bridge.

Each takes a :class:`~ekslib.linux.objects.NodeDataplane` (from :func:`ekslib.dataplane.node_dataplane` or
:func:`ekslib.dataplane.bridge_dataplane`) or a cluster, and returns a plain ``go.Figure``. The facts drawn
come from the data-plane layer, which cites them (github.com/aws/amazon-vpc-cni-k8s ``pkg/networkutils``,
``cmd/routed-eni-cni-plugin``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ekslib._checks import whole
from ekslib.cluster.model import Cluster
from ekslib.dataplane.bridge import bridge_dataplane
from ekslib.dataplane.vpc_cni import node_dataplane
from ekslib.errors import EkslibError
from ekslib.facts import POD_GATEWAY
from ekslib.figures.cluster import HOST_COLOUR, device_colour, short_host
from ekslib.figures.theme import MONO, TEMPLATE, figure
from ekslib.linux.iproute import ip_neigh_text, ip_route_text
from ekslib.linux.objects import NodeDataplane

__all__ = ["node_figure", "bridge_vs_routed_figure"]

#: x positions of the data-plane drawing (data units): pod box, its eth0, host veth, route note, ENI, right edge.
_POD_RIGHT, _HOST_LEFT, _VETH_X, _NOTE_END, _ENI_X, _DP_RIGHT = 2.7, 3.3, 3.6, 7.1, 9.6, 12.4
_BRIDGE_X = 6.6


def _trim(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _dp_enis(dp: NodeDataplane) -> list[tuple[int, str, str, str]]:
    """(device, interface, address/len, egress note) of the node's ENIs, from its host namespace."""
    out = []
    for i in dp.host.interfaces:
        if i.kind != "eni":
            continue
        device = int(i.name[3:]) if i.name[3:].isdigit() else i.index - 2
        table = next((n for n in dp.tables if n == device + 1), None)
        routes = dp.tables[table].routes if table else dp.host.routes
        via = next((r.via for r in routes if r.destination is None), None)
        note = f"{'table ' + str(table) if table else 'main table'}; default via {via}"
        out.append((device, i.name, i.addresses[0] if i.addresses else "", note))
    return sorted(out)


def _pick(dp: NodeDataplane, max_pods: int) -> list[str]:
    """Up to ``max_pods`` pods of ``dp`` to draw, taken in turn from each route table (main, 2, 3, ...) so that
    pods on a secondary ENI are among them."""
    by_table: dict[int, list[str]] = {}
    for pair in dp.veths:
        by_table.setdefault(pair.table or 0, []).append(pair.pod)
    queues = [by_table[t] for t in sorted(by_table)]
    picked: list[str] = []
    depth = 0
    while len(picked) < min(max_pods, len(dp.veths)):
        picked += [q[depth] for q in queues if depth < len(q)][:max_pods - len(picked)]
        depth += 1
    order = {pair.pod: i for i, pair in enumerate(dp.veths)}
    return sorted(picked, key=order.__getitem__)


@dataclass(frozen=True)
class _Axes:
    """The axes of one subplot of a :func:`~plotly.subplots.make_subplots` grid, as its layout names them
    (``xaxis2``, ``yaxis2``)."""

    xaxis: str
    yaxis: str

    @classmethod
    def of(cls, grid: go.Figure, row: int) -> _Axes:
        """The axes of ``grid``'s subplot at ``row``, column 1."""
        subplot = grid.get_subplot(row, 1)
        return cls(subplot.xaxis.plotly_name, subplot.yaxis.plotly_name)

    @property
    def trace(self) -> dict[str, str]:
        """What puts a trace on these axes (``{"xaxis": "x2", "yaxis": "y2"}``, as ``add_trace(row=2, col=1)``)."""
        return {"xaxis": self.xaxis.replace("axis", ""), "yaxis": self.yaxis.replace("axis", "")}

    @property
    def ref(self) -> dict[str, str]:
        """What puts a shape or an annotation on these axes (``{"xref": "x2", "yref": "y2"}``)."""
        return {"xref": self.xaxis.replace("axis", ""), "yref": self.yaxis.replace("axis", "")}


def _draw_dataplane(data: list[dict[str, Any]], layout: dict[str, Any], dp: NodeDataplane, axes: _Axes,
                    pods: Sequence[str]) -> float:
    """Draw ``dp`` on the subplot of ``axes``: ``pods`` on the left, the host namespace, ENIs on the right. Its
    traces are appended to ``data``; its shapes, annotations and axis settings go into ``layout`` (the plain
    dict of a :func:`~plotly.subplots.make_subplots` grid).

    Returns the lowest y used. Works for both designs: ``aws-vpc-cni`` (each host veth routed by a /32, to the
    ENI holding the pod's address) and ``kubenet`` (host veths are ports of the ``cbr0`` bridge).
    """
    routed = dp.cni == "aws-vpc-cni"
    shown = [dp.veth(key) for key in pods]
    enis = _dp_enis(dp)
    node_address = enis[0][2].split("/")[0] if enis else ""
    n = max(len(shown), 1)
    bottom = min(-(n - 1), 1 - (len(enis) - 1)) - (1.0 if len(dp.veths) > len(shown) else 0.6)
    on, ref = axes.trace, axes.ref
    shapes: list[dict[str, Any]] = layout.setdefault("shapes", [])
    notes: list[dict[str, Any]] = layout.setdefault("annotations", [])
    # the host namespace and its title
    shapes.append({"type": "rect", "x0": _HOST_LEFT, "x1": _ENI_X, "y0": bottom, "y1": 1.6,
                   "line": {"color": "#555", "width": 1.5}, "fillcolor": "#f4f6f8", "layer": "below", **ref})
    notes.append({"x": _HOST_LEFT + 0.1, "y": 1.55, "xanchor": "left", "yanchor": "top", "showarrow": False,
                  "text": f"<b>host network namespace</b> · node {short_host(dp.node)} {node_address}",
                  "font": {"size": 11}, **ref})
    notes.append({"x": 0, "y": 1.55, "xanchor": "left", "yanchor": "top", "showarrow": False, "align": "left",
                  "font": {"size": 10},
                  "text": ("<b>pod network namespaces</b> (one per pod; eth0 = a veth end)" + (
                      f"<br>gateway {POD_GATEWAY}: on no interface; a permanent<br>ARP entry maps it to the "
                      "host veth's MAC" if routed else "<br>gateway: cbr0's address, found by ARP")),
                  **ref})
    # host-network pods: in the host namespace, on the node's address
    if dp.host_network_pods:
        names = ", ".join(key.split("/", 1)[-1] for key in dp.host_network_pods)
        data.append({
            "type": "scatter", "x": [_HOST_LEFT + 0.35], "y": [0.95], "mode": "markers+text",
            "marker": {"symbol": "diamond", "size": 11, "color": HOST_COLOUR},
            "text": [f"{_trim(names, 44)}: host network, on {node_address}"], "textposition": "middle right",
            "textfont": {"size": 10}, "hovertext": ["<br>".join(dp.host_network_pods)], "hoverinfo": "text",
            "showlegend": False, "name": "host-network pods", **on})
    # ENIs on the right edge, eth0 level with the host-network pods (they use its address)
    eni_y: dict[int, float] = {}
    for k, (device, name, address, note) in enumerate(enis):
        eni_y[device] = 1 - k
        data.append({
            "type": "scatter", "x": [_ENI_X], "y": [1 - k], "mode": "markers+text",
            "marker": {"symbol": "square", "size": 13, "color": device_colour(device)},
            "text": [f"{name} {address}"], "textposition": "middle right", "textfont": {"size": 10},
            "hoverinfo": "text", "hovertext": [f"<b>{name}</b> {address}<br>{note}"], "showlegend": False,
            "name": name, **on})
    if not routed:
        gateway = dp.pod_cidr.network_address + 1 if dp.pod_cidr else ""
        data.append({"type": "scatter", "x": [_BRIDGE_X, _BRIDGE_X], "y": [0.45, -(n - 1) - 0.35], "mode": "lines",
                     "line": {"color": "#444", "width": 7}, "hoverinfo": "skip", "showlegend": False,
                     "name": "cbr0", **on})
        notes.append({"x": _BRIDGE_X - 0.1, "y": 0.5, "xanchor": "right", "showarrow": False, "font": {"size": 10},
                      "text": f"<b>cbr0</b> bridge {gateway}/24: ARP between pods", **ref})
        data.append({"type": "scatter", "x": [_BRIDGE_X, _ENI_X], "y": [0.45, 1], "mode": "lines",
                     "hoverinfo": "skip", "line": {"color": "#444", "width": 1.5}, "showlegend": False, **on})
    for i, pair in enumerate(shown):
        y = -i
        ns = dp.namespace(pair.pod)
        gateway = next((r.via for r in ns.routes if r.destination is None), None)
        device = (pair.table - 1) if pair.table else 0
        colour = device_colour(device) if routed else "#444"
        shapes.append({"type": "rect", "x0": 0, "x1": _POD_RIGHT, "y0": y - 0.4, "y1": y + 0.4,
                       "line": {"color": "#888"}, "fillcolor": "#ffffff", "layer": "below", **ref})
        notes.append({"x": 0.08, "y": y, "xanchor": "left", "showarrow": False, "align": "left", "font": {"size": 10},
                      "text": (f"<b>{_trim(pair.pod.split('/', 1)[-1], 30)}</b><br>eth0 {pair.address}/"
                               f"{pair.prefixlen}<br>default via {gateway}"), **ref})
        if routed:
            note = (f"{pair.host_name} · {pair.address}/32 route, rule 512"
                    + (f"; 1536 → table {pair.table}" if pair.table else ""))
        else:
            note = f"{pair.host_name} · port of cbr0"
        neigh = ip_neigh_text(dp, pod=pair.pod) if routed else "none: ARP across the bridge"
        data.append({
            "type": "scatter", "x": [_POD_RIGHT, _VETH_X], "y": [y, y], "mode": "lines+markers",
            "line": {"color": colour, "width": 2}, "marker": {"size": 7, "color": colour}, "hoverinfo": "text",
            "showlegend": False, "name": pair.host_name,
            "hovertext": f"<b>veth pair of {pair.pod}</b><br>pod side eth0 {pair.pod_mac}<br>host side "
                         f"{pair.host_name} {pair.host_mac}<br>pod's ARP for the gateway: {neigh}", **on})
        notes.append({"x": _VETH_X + 0.12, "y": y, "xanchor": "left", "yanchor": "middle" if routed else "bottom",
                      "showarrow": False, "text": note, "font": {"size": 10}, **ref})
        if routed:
            data.append({"type": "scatter", "x": [_NOTE_END, _ENI_X], "y": [y, eni_y.get(device, 1)],
                         "mode": "lines", "line": {"color": colour, "width": 1.2, "dash": "dot"},
                         "hoverinfo": "skip", "showlegend": False, **on})
        else:
            data.append({"type": "scatter", "x": [_VETH_X, _BRIDGE_X], "y": [y, y], "mode": "lines",
                         "hoverinfo": "skip", "line": {"color": "#444", "width": 1.5}, "showlegend": False, **on})
    if len(dp.veths) > len(shown):
        notes.append({"x": 0, "y": bottom + 0.05, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                      "font": {"size": 10, "color": "#666"},
                      "text": f"... and {len(dp.veths) - len(shown)} more pods (veth_table lists every pair)", **ref})
    axis = {"visible": False, "fixedrange": True}
    layout[axes.xaxis].update(range=[-0.1, _DP_RIGHT], **axis)
    layout[axes.yaxis].update(range=[bottom - 0.1, 1.8], **axis)
    return bottom


def _listing_rows(dp: NodeDataplane, pod: str | None) -> tuple[list[str], list[str]]:
    """(where, entry) rows: ``ip rule``, the main table, each ENI table, and one pod's routes and ARP entry."""
    where: list[str] = []
    entry: list[str] = []

    def add(label: str, text: str) -> None:
        for k, line in enumerate(text.splitlines()):
            where.append(label if k == 0 else "")
            entry.append(html.escape(line.replace("\t", " ")))

    add("ip rule", "\n".join(r.text() for r in dp.rules))
    add("ip route (main)", ip_route_text(dp))
    for number in sorted(dp.tables):
        add(f"ip route table {number}", ip_route_text(dp, number))
    if pod is not None:
        add(f"in pod {pod.split('/', 1)[1][:24]}: ip route", ip_route_text(dp, pod=pod))
        if dp.cni == "aws-vpc-cni":
            add("in the pod: ip neigh", ip_neigh_text(dp, pod=pod))
    return where, entry


def node_figure(dataplane: NodeDataplane, *, max_pods: int = 8) -> go.Figure:
    """One node's own picture: pod namespaces with eth0 on the left, their veth pairs into the host network
    namespace (host-side names), the ENIs on the right, and below it ``ip rule`` and every route table.

    ``dataplane`` is :func:`ekslib.dataplane.node_dataplane`'s (the VPC CNI) or
    :func:`~ekslib.dataplane.bridge_dataplane`'s (kubenet). In the VPC CNI's design each pod's eth0
    holds its address as a /32 and routes ``default via 169.254.1.1``, an address no interface has (a
    permanent ARP entry maps it to the host veth's MAC); the host routes ``<pod IP> dev <host veth>`` (rule
    512) and sends traffic from pods on a secondary ENI to that ENI's table (rule 1536). Dotted lines join
    each pod to the ENI holding its address. ``max_pods`` pods are drawn (``veth_table`` lists them all).

    >>> from ekslib.cluster import load_sample
    >>> from ekslib.dataplane import node_dataplane
    >>> c = load_sample("two-node")
    >>> fig = node_figure(node_dataplane(c, c.nodes[0].name))
    >>> "169.254.1.1" in str(fig.data[-1].cells.values)
    True
    """
    if not isinstance(dataplane, NodeDataplane):
        raise EkslibError(f"node_figure takes a NodeDataplane (ekslib.dataplane.node_dataplane(cluster, node)), "
                          f"not a {type(dataplane).__name__}")
    dp = dataplane
    whole("max_pods", max_pods, minimum=1)
    where, entry = _listing_rows(dp, dp.veths[0].pod if dp.veths else None)
    rows_drawn = max(min(len(dp.veths), max_pods), 1, len(_dp_enis(dp)) - 1) + 2.4
    drawing = rows_drawn * 52
    table = min(len(entry), 18) * 21 + 34
    grid = make_subplots(rows=2, cols=1, specs=[[{"type": "xy"}], [{"type": "table"}]],
                         row_heights=[drawing / (drawing + table), table / (drawing + table)], vertical_spacing=0.03)
    layout = grid.layout.to_plotly_json()
    data: list[dict[str, Any]] = []
    _draw_dataplane(data, layout, dp, _Axes.of(grid, 1), _pick(dp, max_pods))
    listing = grid.get_subplot(2, 1)
    data.append({
        "type": "table", "domain": {"x": list(listing.x), "y": list(listing.y)}, "columnwidth": [0.2, 0.8],
        "header": {"values": ["<b>where</b>", "<b>entry (as iproute2 prints it)</b>"], "align": "left",
                   "fill": {"color": "#e8ecf1"}},
        "cells": {"values": [where, entry], "align": "left", "font": {"family": MONO, "size": 11}, "height": 21}})
    design = ("AWS VPC CNI: routed veth pairs, no bridge" if dp.cni == "aws-vpc-cni"
              else "kubenet: veths on the cbr0 bridge (not the VPC CNI)")
    layout.update(
        title={"text": f"Node {short_host(dp.node)}: its namespaces, veth pairs, routes and rules",
               "subtitle": {"text": f"{design} · {len(dp.veths)} pods with their own namespace, "
                                    f"{len(dp.host_network_pods)} on the host network · MTU {dp.mtu}"}},
        template=TEMPLATE, height=int(drawing + table + 130), margin={"l": 20, "r": 20, "t": 90, "b": 10},
        plot_bgcolor="#ffffff", hovermode="closest")
    return figure(data, layout)


def bridge_vs_routed_figure(cluster: Cluster, node: str, *, max_pods: int = 4) -> go.Figure:
    """The same node and pods in two designs, one above the other, each labelled with the CNI that uses it.

    Above, the AWS VPC CNI (EKS's default): no bridge; every pod has a routed veth pair, a /32 VPC address
    and the 169.254.1.1 gateway (:func:`ekslib.dataplane.node_dataplane`). Below, the design the study
    notes draw: kubenet (removed from kubelet in Kubernetes 1.24; the CNI ``bridge`` plugin keeps the design)
    puts every host veth on the Linux bridge ``cbr0``, pods share the node's pod CIDR and find each other by
    ARP, and their addresses are not VPC addresses (:func:`ekslib.dataplane.bridge_dataplane`).

    >>> from ekslib.cluster import load_sample
    >>> c = load_sample("two-node")
    >>> fig = bridge_vs_routed_figure(c, c.nodes[0].name)
    >>> [a.text for a in fig.layout.annotations][:1]   # doctest: +ELLIPSIS
    ['<b>AWS VPC CNI</b> (the EKS default): ...']
    """
    whole("max_pods", max_pods, minimum=1)
    routed, bridged = node_dataplane(cluster, node), bridge_dataplane(cluster, node)
    rows = max(min(len(routed.veths), max_pods), 1, len(cluster.node(node).enis) - 1) + 2.4
    titles = ("<b>AWS VPC CNI</b> (the EKS default): routed veths, no bridge; pods hold VPC addresses as /32s, "
              f"gateway {POD_GATEWAY} (static ARP)",
              "<b>kubenet / CNI bridge plugin</b> (what the study notes draw; <b>not</b> the VPC CNI): veths on "
              "the cbr0 bridge, a pod CIDR outside the VPC")
    grid = make_subplots(rows=2, cols=1, subplot_titles=titles, vertical_spacing=0.12)
    layout = grid.layout.to_plotly_json()
    for annotation in layout["annotations"]:  # the two subplot titles, flush left
        annotation.update(x=0, xanchor="left")
        annotation["font"]["size"] = 12
    data: list[dict[str, Any]] = []
    shown = _pick(routed, max_pods)
    _draw_dataplane(data, layout, routed, _Axes.of(grid, 1), shown)
    _draw_dataplane(data, layout, bridged, _Axes.of(grid, 2), shown)
    layout.update(
        title={"text": f"Routed veths vs a bridge, on node {short_host(routed.node)}",
               "subtitle": {"text": "the same pods in two designs, and which CNI uses which"}},
        template=TEMPLATE, height=int(2 * rows * 50 + 200), margin={"l": 20, "r": 20, "t": 110, "b": 10},
        plot_bgcolor="#ffffff", hovermode="closest")
    return figure(data, layout)
