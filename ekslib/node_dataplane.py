"""One node's own data plane, as data: network namespaces, veth pairs, routes, policy rules and neighbours.

:func:`node_dataplane` models what the AWS VPC CNI sets up on a node (vpc-cni.md section 4; sources
github.com/aws/amazon-vpc-cni-k8s ``cmd/routed-eni-cni-plugin/driver/driver.go`` and
``pkg/networkutils/network.go``). There is **no bridge**: every pod is routed.

* one network namespace per pod (host-network pods such as ``aws-node`` and ``kube-proxy`` stay in the
  host's); a veth pair joins it to the host: host side ``eni<11 hex>``, pod side ``eth0`` with the pod's IP
  as a /32;
* in the pod: ``169.254.1.1 dev eth0 scope link``, ``default via 169.254.1.1 dev eth0`` and a permanent ARP
  entry for 169.254.1.1 with the host veth's MAC (the address exists nowhere: it only makes the pod hand every
  packet to the host);
* on the host, main table: ``<pod IP> dev <host veth> scope link`` per pod; policy rules 512 ``to <pod IP>
  lookup main``, 1024 ``fwmark 0x80/0x80 lookup main`` (NodePort and SNAT-bound traffic leaves by eth0),
  1536 ``from <pod IP> lookup <N>`` only for pods whose address a secondary ENI holds, 32765 ``from <ENI
  primary IP> lookup <N>``; table N = device number + 1 holds ``default via <subnet .1> dev ethN``;
* MTU 9001 (``AWS_VPC_ENI_MTU``).

:func:`bridge_dataplane` is the *other* design, the one the seed notes draw: kubenet (the CNI ``bridge``
plugin) puts every pod's veth on a Linux bridge ``cbr0`` holding the gateway ``.1`` of the node's pod CIDR;
pods on one node reach each other by ARP across the bridge, and pod addresses are not VPC addresses (other
nodes' pod CIDRs need routes in the VPC route table). The VPC CNI does **not** do this.

``ip_rule_text``, ``ip_route_text``, ``ip_addr_text`` and ``ip_neigh_text`` print what ``ip rule``,
``ip route``, ``ip addr`` and ``ip neigh`` would show on the node or in a pod.

>>> from ekslib.kubectl import load_sample
>>> c = load_sample("two-node")
>>> dp = node_dataplane(c, c.nodes[0].name)
>>> print(ip_rule_text(dp).splitlines()[0]); dp.cni
0:	from all lookup local
'aws-vpc-cni'
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pandas as pd

from ekslib.cluster import Cluster, Node, Pod, Route, RouteTable
from ekslib.errors import EkslibError

__all__ = [
    "POD_GATEWAY", "DEFAULT_MTU", "CONNMARK", "RULE_LOCAL", "RULE_TO_POD", "RULE_FWMARK", "RULE_FROM_POD",
    "RULE_FROM_ENI", "RULE_MAIN", "RULE_DEFAULT", "KUBENET_CLUSTER_CIDR", "Rule", "Neighbour", "Interface",
    "VethPair", "NetNamespace", "NodeDataplane", "node_dataplane", "bridge_dataplane", "ip_rule_text",
    "ip_route_text", "ip_addr_text", "ip_neigh_text", "veth_table",
]

#: The pod's gateway: a link-local address no interface has (driver.go); a static ARP entry answers for it.
POD_GATEWAY = IPv4Address("169.254.1.1")
#: ``AWS_VPC_ENI_MTU`` default (pkg/networkutils/network.go ``defaultMTU``).
DEFAULT_MTU = 9001
#: The VPC CNI's connection mark for traffic that must leave by the primary ENI (``AWS_VPC_K8S_CNI_CONNMARK``).
CONNMARK = 0x80
#: Rule priorities: the kernel's own (0, 32766, 32767) and the VPC CNI's (network.go, driver.go).
RULE_LOCAL, RULE_TO_POD, RULE_FWMARK, RULE_FROM_POD, RULE_FROM_ENI, RULE_MAIN, RULE_DEFAULT = (
    0, 512, 1024, 1536, 32765, 32766, 32767)
#: The cluster CIDR kubenet examples use (kubeadm/flannel's 10.244.0.0/16), cut into /24 pod CIDRs per node
#: (kube-controller-manager ``--node-cidr-mask-size`` default 24).
KUBENET_CLUSTER_CIDR = IPv4Network("10.244.0.0/16")
BRIDGE = "cbr0"
LOOPBACK_MTU = 65536


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy-routing rule as ``ip rule show`` prints it.

    >>> Rule(512, "main", dst=IPv4Network("192.168.96.5/32")).text()
    '512:\\tfrom all to 192.168.96.5 lookup main'
    >>> Rule(1024, "main", fwmark=(0x80, 0x80)).text()
    '1024:\\tfrom all fwmark 0x80/0x80 lookup main'
    """

    priority: int
    table: int | str
    src: IPv4Network | None = None
    dst: IPv4Network | None = None
    fwmark: tuple[int, int] | None = None

    def text(self) -> str:
        """The line of ``ip rule show``: a /32 is printed without its length, as iproute2 does."""
        def net(n: IPv4Network) -> str:
            return str(n.network_address) if n.prefixlen == 32 else str(n)

        words = [f"{self.priority}:\tfrom", net(self.src) if self.src else "all"]
        if self.dst is not None:
            words += ["to", net(self.dst)]
        if self.fwmark is not None:
            words += ["fwmark", f"{self.fwmark[0]:#x}/{self.fwmark[1]:#x}"]
        return " ".join(words) + f" lookup {self.table}"


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A neighbour (ARP) entry as ``ip neigh show`` prints it."""

    address: IPv4Address
    dev: str
    lladdr: str
    state: str = "PERMANENT"

    def text(self) -> str:
        return f"{self.address} dev {self.dev} lladdr {self.lladdr} {self.state}"


@dataclass(frozen=True, slots=True)
class Interface:
    """A network interface of one namespace: ``addresses`` are ``address/length`` strings.

    ``peer_index`` is the ifindex of a veth's other end (``eth0@if3``); ``master`` the bridge it is on.
    """

    index: int
    name: str
    kind: str
    mac: str = ""
    mtu: int = DEFAULT_MTU
    addresses: tuple[str, ...] = ()
    peer_index: int | None = None
    master: str | None = None

    @property
    def display_name(self) -> str:
        """``name@ifN`` for a veth end, as ``ip link`` shows it."""
        return f"{self.name}@if{self.peer_index}" if self.peer_index is not None else self.name


@dataclass(frozen=True, slots=True)
class VethPair:
    """A pod's veth pair: ``host_name`` in the host namespace, ``pod_name`` (eth0) in ``netns``.

    ``table`` is the route table of the ENI holding the pod's address (None: the primary ENI, main table);
    ``bridge`` is set only in the bridge (kubenet) model.
    """

    pod: str
    netns: str
    host_name: str
    pod_name: str
    address: IPv4Address
    prefixlen: int
    host_mac: str
    pod_mac: str
    eni_id: str = ""
    table: int | None = None
    bridge: str | None = None


@dataclass(frozen=True, slots=True)
class NetNamespace:
    """A network namespace: ``host`` or a pod's (``cni-<uuid>``, as containerd names them)."""

    name: str
    pod: str | None
    interfaces: tuple[Interface, ...]
    routes: tuple[Route, ...]
    neighbours: tuple[Neighbour, ...] = ()


@dataclass(frozen=True)
class NodeDataplane:
    """A node's namespaces, veth pairs, policy rules and numbered route tables (see the module docstring).

    ``cni`` says which design this is: ``"aws-vpc-cni"`` (routed veths) or ``"kubenet"`` (bridge ``cbr0``).
    """

    node: str
    cni: str
    host: NetNamespace
    pods: tuple[NetNamespace, ...]
    veths: tuple[VethPair, ...]
    rules: tuple[Rule, ...]
    tables: Mapping[int, RouteTable] = field(default_factory=dict)
    host_network_pods: tuple[str, ...] = ()
    pod_cidr: IPv4Network | None = None
    mtu: int = DEFAULT_MTU

    def namespace(self, pod: str | None = None) -> NetNamespace:
        """The host namespace (``pod=None``) or the namespace of pod ``namespace/name``."""
        if pod is None or pod in self.host_network_pods:
            return self.host
        for ns in self.pods:
            if ns.pod == pod:
                return ns
        known = ", ".join(ns.pod or "" for ns in self.pods[:6])
        raise EkslibError(f"pod {pod!r} has no network namespace on node {self.node}; pods here: {known}"
                          f"{', ...' if len(self.pods) > 6 else ''} (host network: {', '.join(self.host_network_pods)})")

    def veth(self, pod: str) -> VethPair:
        """The veth pair of pod ``namespace/name``."""
        for pair in self.veths:
            if pair.pod == pod:
                return pair
        raise EkslibError(f"pod {pod!r} has no veth on node {self.node} (a host-network pod has none)")


def _mac(*parts: str) -> str:
    """A deterministic locally administered MAC (02:...) from ``parts`` (the kernel picks random ones)."""
    digest = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return "02:" + ":".join(digest[i:i + 2] for i in range(0, 10, 2))


def _netns_name(pod: Pod) -> str:
    """``cni-<uuid>``: containerd's name for a pod's network namespace (here derived from the pod, stable)."""
    return f"cni-{uuid.uuid5(uuid.NAMESPACE_DNS, pod.key + '.pod')}"


def _host32(address: IPv4Address) -> IPv4Network:
    return IPv4Network(f"{address}/32")


def _loopback() -> Interface:
    return Interface(1, "lo", "loopback", "00:00:00:00:00:00", LOOPBACK_MTU, ("127.0.0.1/8",))


def _node_context(cluster: Cluster, node: str | Node) -> tuple[Node, list[Pod], list[Pod]]:
    n = cluster.node(node.name if isinstance(node, Node) else node)
    pods = list(cluster.pods_on_node(n.name))
    return n, [p for p in pods if not p.host_network], [p for p in pods if p.host_network]


def _eni_interfaces(cluster: Cluster, node: Node, mtu: int, only_primary: bool = False) -> list[Interface]:
    out = []
    for eni in node.enis:
        if only_primary and not eni.is_primary:
            continue
        subnet = cluster.subnet(eni.subnet_id)
        out.append(Interface(2 + eni.device_number, eni.interface, "eni", eni.mac or _mac(eni.id), mtu,
                             (f"{eni.primary_ip}/{subnet.cidr.prefixlen}",)))
    return out


def node_dataplane(cluster: Cluster, node: str | Node, *, mtu: int = DEFAULT_MTU) -> NodeDataplane:
    """The VPC CNI's data plane on ``node`` (routed veths, no bridge): see the module docstring.

    >>> from ekslib.kubectl import load_sample
    >>> c = load_sample("two-node")
    >>> dp = node_dataplane(c, c.nodes[0].name)
    >>> pod = dp.veths[0].pod
    >>> print(ip_route_text(dp, pod=pod))
    default via 169.254.1.1 dev eth0
    169.254.1.1 dev eth0 scope link
    """
    n, vpc_pods, host_pods = _node_context(cluster, node)
    primary_subnet = cluster.subnet(n.primary_eni.subnet_id)
    interfaces = [_loopback(), *_eni_interfaces(cluster, n, mtu)]
    next_index = max(i.index for i in interfaces) + 1
    routes = [Route(None, "eth0", via=primary_subnet.router),
              Route(primary_subnet.cidr, "eth0", proto="kernel", scope="link", src=n.address)]
    rules = [Rule(RULE_LOCAL, "local"), Rule(RULE_FWMARK, "main", fwmark=(CONNMARK, CONNMARK)),
             Rule(RULE_MAIN, "main"), Rule(RULE_DEFAULT, "default")]
    tables: dict[int, RouteTable] = {}
    for eni in n.enis:
        table = cluster.eni_route_table(eni.id)
        if table is not None:
            tables[table.number] = table
            rules.append(Rule(RULE_FROM_ENI, table.number, src=_host32(eni.primary_ip)))
    enis = {e.id: e for e in n.enis}
    veths: list[VethPair] = []
    namespaces: list[NetNamespace] = []
    for pod in vpc_pods:
        eni = enis.get(pod.eni_id)
        table = eni.route_table_number if eni is not None else None
        host_name = pod.host_veth or f"veth{hashlib.sha1(pod.key.encode()).hexdigest()[:8]}"
        host_mac, pod_mac = _mac(n.name, host_name), _mac(pod.key, "eth0")
        netns = _netns_name(pod)
        pair = VethPair(pod.key, netns, host_name, "eth0", pod.address, 32, host_mac, pod_mac, pod.eni_id, table)
        veths.append(pair)
        interfaces.append(Interface(next_index, host_name, "veth", host_mac, mtu, (), peer_index=3))
        namespaces.append(NetNamespace(
            netns, pod.key,
            (_loopback(), Interface(3, "eth0", "veth", pod_mac, mtu, (f"{pod.address}/32",), peer_index=next_index)),
            (Route(None, "eth0", via=POD_GATEWAY), Route(_host32(POD_GATEWAY), "eth0", scope="link")),
            (Neighbour(POD_GATEWAY, "eth0", host_mac),)))
        next_index += 1
        routes.append(Route(_host32(pod.address), host_name, scope="link"))
        rules.append(Rule(RULE_TO_POD, "main", dst=_host32(pod.address)))
        if table is not None:
            rules.append(Rule(RULE_FROM_POD, table, src=_host32(pod.address)))
    return NodeDataplane(
        n.name, "aws-vpc-cni", NetNamespace("host", None, tuple(interfaces), tuple(_sorted_routes(routes))),
        tuple(namespaces), tuple(veths), tuple(_sorted_rules(rules)), tables, tuple(p.key for p in host_pods),
        None, mtu)


def bridge_dataplane(cluster: Cluster, node: str | Node, *, cluster_cidr: str | IPv4Network = KUBENET_CLUSTER_CIDR,
                     mtu: int = DEFAULT_MTU) -> NodeDataplane:
    """The same node and pods under kubenet's bridge design (what the seed notes draw), for comparison.

    The node gets the ``i``-th /24 of ``cluster_cidr`` as its pod CIDR (``i`` = its place in the cluster);
    ``cbr0`` holds the CIDR's ``.1``; pods get ``.2``, ``.3``, ... (host-local IPAM) with routes
    ``default via <.1> dev eth0`` and ``<pod CIDR> dev eth0 proto kernel scope link``; their veths
    (``veth<8 hex>``) are ports of ``cbr0``. Only eth0 is used: kubenet does not take addresses from ENIs.

    >>> from ekslib.kubectl import load_sample
    >>> c = load_sample("two-node")
    >>> dp = bridge_dataplane(c, c.nodes[1].name)
    >>> str(dp.pod_cidr), dp.cni, ip_rule_text(dp).count("\\n") + 1
    ('10.244.1.0/24', 'kubenet', 3)
    """
    n, vpc_pods, host_pods = _node_context(cluster, node)
    index = [x.name for x in cluster.nodes].index(n.name)
    blocks = IPv4Network(cluster_cidr).subnets(new_prefix=24)
    pod_cidr = next(b for i, b in enumerate(blocks) if i == index)
    if len(vpc_pods) > pod_cidr.num_addresses - 3:
        raise EkslibError(f"node {n.name}: {len(vpc_pods)} pods do not fit its pod CIDR {pod_cidr}")
    gateway = pod_cidr.network_address + 1
    primary_subnet = cluster.subnet(n.primary_eni.subnet_id)
    bridge_index = 3
    interfaces = [_loopback(), *_eni_interfaces(cluster, n, mtu, only_primary=True),
                  Interface(bridge_index, BRIDGE, "bridge", _mac(n.name, BRIDGE), mtu, (f"{gateway}/24",))]
    routes = [Route(None, "eth0", via=primary_subnet.router),
              Route(primary_subnet.cidr, "eth0", proto="kernel", scope="link", src=n.address),
              Route(pod_cidr, BRIDGE, proto="kernel", scope="link", src=gateway)]
    veths, namespaces = [], []
    for i, pod in enumerate(vpc_pods):
        address = pod_cidr.network_address + 2 + i
        host_name = f"veth{hashlib.sha1((n.name + pod.key).encode()).hexdigest()[:8]}"
        host_mac, pod_mac = _mac(n.name, host_name), _mac(pod.key, "eth0", "bridge")
        netns = _netns_name(pod)
        host_index = bridge_index + 1 + i
        veths.append(VethPair(pod.key, netns, host_name, "eth0", address, 24, host_mac, pod_mac, bridge=BRIDGE))
        interfaces.append(Interface(host_index, host_name, "veth", host_mac, mtu, (), peer_index=3, master=BRIDGE))
        namespaces.append(NetNamespace(
            netns, pod.key,
            (_loopback(), Interface(3, "eth0", "veth", pod_mac, mtu, (f"{address}/24",), peer_index=host_index)),
            (Route(None, "eth0", via=gateway), Route(pod_cidr, "eth0", proto="kernel", scope="link", src=address))))
    rules = (Rule(RULE_LOCAL, "local"), Rule(RULE_MAIN, "main"), Rule(RULE_DEFAULT, "default"))
    return NodeDataplane(n.name, "kubenet", NetNamespace("host", None, tuple(interfaces), tuple(_sorted_routes(routes))),
                         tuple(namespaces), tuple(veths), rules, {}, tuple(p.key for p in host_pods), pod_cidr, mtu)


def _sorted_routes(routes: list[Route]) -> list[Route]:
    """``ip route`` order: the default route first, then by destination."""
    return sorted(routes, key=lambda r: (r.destination is not None,
                                         int(r.destination.network_address) if r.destination else 0,
                                         r.destination.prefixlen if r.destination else 0))


def _sorted_rules(rules: list[Rule]) -> list[Rule]:
    def key(rule: Rule) -> tuple[int, int, int]:
        net = rule.src or rule.dst
        return rule.priority, int(net.network_address) if net else 0, rule.table if isinstance(rule.table, int) else 0
    return sorted(rules, key=key)


# ----------------------------------------------------------------------------------------------- as text


def ip_rule_text(dp: NodeDataplane) -> str:
    """The node's ``ip rule show``.

    >>> from ekslib.cluster_build import build_cluster
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

    >>> from ekslib.kubectl import load_sample
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

    >>> from ekslib.kubectl import load_sample
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
