"""The world a trace runs in: each node's data plane and rules, and the VPC around them, built once per cluster.

A node's rules are what :func:`ekslib.dataplane.node_ruleset` generates (the VPC CNI's and kube-proxy's, the
same text :func:`ekslib.dataplane.iptables_save` prints and the lab loads into a kernel), unless the caller
pastes a node's own ``iptables-save``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from ekslib.cluster.model import Cluster, Eni
from ekslib.dataplane.overlay import overlay_dataplane
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.dataplane.vpc_cni import node_dataplane
from ekslib.errors import EkslibError, suggest
from ekslib.flows.vpc import VpcFabric
from ekslib.linux.netfilter import Ruleset, parse_iptables_save
from ekslib.linux.objects import NodeDataplane, VethPair


@dataclass
class NodeView:
    """One node as the engine needs it: its data plane, its rules, and lookups by interface."""

    name: str
    dataplane: NodeDataplane
    ruleset: Ruleset
    veth_by_host: dict[str, VethPair] = field(default_factory=dict)
    eni_by_iface: dict[str, Eni] = field(default_factory=dict)

    @property
    def zone(self) -> str:
        return f"node {self.name}"


@dataclass
class World:
    """Every node's view and the VPC fabric of one cluster, for some VPC CNI settings (or, ``overlay=True``, the
    same nodes under flannel's VXLAN overlay, for contrast)."""

    cluster: Cluster
    cni: VpcCniSettings
    fabric: VpcFabric
    nodes: dict[str, NodeView]
    overlay: bool = False

    def pod_address(self, pod: str) -> IPv4Address:
        """The address the pod has in this world's data plane (its VPC address, or its overlay address)."""
        p = self.cluster.pod(pod)
        if p.host_network:
            return p.address
        return self.node(p.node).dataplane.veth(p.key).address

    def node(self, name: str) -> NodeView:
        try:
            return self.nodes[name]
        except KeyError:
            hint = suggest(name, list(self.nodes), n=3)
            raise EkslibError(f"no node {name!r}" + (f"; did you mean {', '.join(hint)}?" if hint else "")) from None


def _ruleset(cluster: Cluster, node: str, cni: VpcCniSettings) -> Ruleset:
    try:
        from ekslib.dataplane.iptables import node_ruleset
    except ImportError:  # pragma: no cover - while the kube-proxy layer is absent
        from ekslib.dataplane.vpc_cni_iptables import vpc_cni_ruleset

        return vpc_cni_ruleset(cluster, node, cni)
    return node_ruleset(cluster, node, cni=cni)


#: Worlds per cluster object (by identity: hashing a frozen cluster of 10,000 Services costs more than a trace).
_CACHE: dict[int, tuple[weakref.ref, dict]] = {}


def world_of(cluster: Cluster, *, cni: VpcCniSettings | None = None,
             rules: dict[str, Ruleset | str] | None = None, overlay: bool = False) -> World:
    """The world of ``cluster`` (cached per cluster and settings when no rules are pasted)."""
    cni = cni or VpcCniSettings()
    if rules is None:
        entry = _CACHE.get(id(cluster))
        if entry is None or entry[0]() is not cluster:
            key = id(cluster)
            entry = _CACHE[key] = (weakref.ref(cluster, lambda _ref, key=key, cache=_CACHE: cache.pop(key, None)), {})
        cached = entry[1]
        if (cni, overlay) not in cached:
            cached[cni, overlay] = _build(cluster, cni, {}, overlay)
        return cached[cni, overlay]
    parsed = {}
    for name, value in rules.items():
        cluster.node(name)
        parsed[name] = value if isinstance(value, Ruleset) else parse_iptables_save(value)
    return _build(cluster, cni, parsed, overlay)


def _build(cluster: Cluster, cni: VpcCniSettings, rules: dict[str, Ruleset], overlay: bool = False) -> World:
    views = {}
    for node in cluster.nodes:
        if overlay:  # flannel's own rules are not modelled: an empty ruleset, every policy ACCEPT
            dp = overlay_dataplane(cluster, node.name)
            ruleset = rules.get(node.name) or Ruleset()
        else:
            dp = node_dataplane(cluster, node.name, settings=cni)
            ruleset = rules.get(node.name) or _ruleset(cluster, node.name, cni)
        views[node.name] = NodeView(node.name, dp, ruleset, {v.host_name: v for v in dp.veths},
                                    {e.interface: e for e in node.enis if not overlay or e.is_primary})
    return World(cluster, cni, VpcFabric.of(cluster), views, overlay)
