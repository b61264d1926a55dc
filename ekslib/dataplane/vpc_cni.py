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

>>> from ekslib.cluster.kubectl import load_sample
>>> c = load_sample("two-node")
>>> node_dataplane(c, c.nodes[0].name).cni
'aws-vpc-cni'
"""

from __future__ import annotations

import hashlib
import uuid
from ipaddress import IPv4Address, IPv4Network

from ekslib.cluster.model import Cluster, Node, Pod
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.facts import (
    DEFAULT_MTU,
    LOOPBACK_MTU,
    POD_GATEWAY,
    RULE_DEFAULT,
    RULE_FROM_ENI,
    RULE_FROM_POD,
    RULE_FWMARK,
    RULE_LOCAL,
    RULE_MAIN,
    RULE_TO_POD,
)
from ekslib.linux.iproute import sorted_routes, sorted_rules
from ekslib.linux.objects import Interface, Neighbour, NetNamespace, NodeDataplane, Rule, VethPair
from ekslib.linux.routes import Route, RouteTable


def mac_address(*parts: str) -> str:
    """A deterministic locally administered MAC (02:...) from ``parts`` (the kernel picks random ones)."""
    digest = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return "02:" + ":".join(digest[i:i + 2] for i in range(0, 10, 2))


def netns_name(pod: Pod) -> str:
    """``cni-<uuid>``: containerd's name for a pod's network namespace (here derived from the pod, stable)."""
    return f"cni-{uuid.uuid5(uuid.NAMESPACE_DNS, pod.key + '.pod')}"


def _host32(address: IPv4Address) -> IPv4Network:
    return IPv4Network(f"{address}/32")


def loopback() -> Interface:
    return Interface(1, "lo", "loopback", "00:00:00:00:00:00", LOOPBACK_MTU, ("127.0.0.1/8",))


def node_context(cluster: Cluster, node: str | Node) -> tuple[Node, list[Pod], list[Pod]]:
    n = cluster.node(node.name if isinstance(node, Node) else node)
    pods = list(cluster.pods_on_node(n.name))
    return n, [p for p in pods if not p.host_network], [p for p in pods if p.host_network]


def eni_interfaces(cluster: Cluster, node: Node, mtu: int, only_primary: bool = False) -> list[Interface]:
    out = []
    for eni in node.enis:
        if only_primary and not eni.is_primary:
            continue
        subnet = cluster.subnet(eni.subnet_id)
        out.append(Interface(2 + eni.device_number, eni.interface, "eni", eni.mac or mac_address(eni.id), mtu,
                             (f"{eni.primary_ip}/{subnet.cidr.prefixlen}",)))
    return out


def eni_route_table(cluster: Cluster, eni_id: str) -> RouteTable | None:
    """An ENI's own route table (number = device + 1) as the VPC CNI writes it; None for the primary ENI.

    Source: github.com/aws/amazon-vpc-cni-k8s ``pkg/networkutils/network.go`` ``setupENINetwork``: a link route
    to the subnet's router and ``default via <router> dev ethN``.

    >>> from ekslib.cluster import build_cluster
    >>> c = build_cluster([("t3.medium", 1)], workloads=[("web", 6)])
    >>> eni_route_table(c, c.nodes[0].enis[0].id) is None, eni_route_table(c, c.nodes[0].enis[1].id).number
    (True, 2)
    """
    eni = cluster.eni(eni_id)
    if eni.route_table_number is None:
        return None
    router = cluster.subnet(eni.subnet_id).router
    routes = (Route(None, eni.interface, via=router),
              Route(IPv4Network(f"{router}/32"), eni.interface, scope="link"))
    return RouteTable(eni.route_table_number, eni.id, routes)


def node_dataplane(cluster: Cluster, node: str | Node, *, mtu: int = DEFAULT_MTU,
                   settings: VpcCniSettings | None = None) -> NodeDataplane:
    """The VPC CNI's data plane on ``node`` (routed veths, no bridge): see the module docstring.

    ``settings`` decide whether rule 1024 (``fwmark 0x80/0x80 lookup main``) is there
    (:attr:`~ekslib.dataplane.settings.VpcCniSettings.policy_rule_1024`).

    >>> from ekslib.cluster import load_sample
    >>> c = load_sample("two-node")
    >>> from ekslib.linux.iproute import ip_route_text
    >>> dp = node_dataplane(c, c.nodes[0].name)
    >>> pod = dp.veths[0].pod
    >>> print(ip_route_text(dp, pod=pod))
    default via 169.254.1.1 dev eth0
    169.254.1.1 dev eth0 scope link
    """
    n, vpc_pods, host_pods = node_context(cluster, node)
    primary_subnet = cluster.subnet(n.primary_eni.subnet_id)
    interfaces = [loopback(), *eni_interfaces(cluster, n, mtu)]
    next_index = max(i.index for i in interfaces) + 1
    routes = [Route(None, "eth0", via=primary_subnet.router),
              Route(primary_subnet.cidr, "eth0", proto="kernel", scope="link", src=n.address)]
    s = settings or VpcCniSettings()
    rules = [Rule(RULE_LOCAL, "local"), Rule(RULE_MAIN, "main"), Rule(RULE_DEFAULT, "default")]
    if s.policy_rule_1024:
        rules.insert(1, Rule(RULE_FWMARK, "main", fwmark=(s.mark, s.mark)))
    tables: dict[int, RouteTable] = {}
    for eni in n.enis:
        table = eni_route_table(cluster, eni.id)
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
        host_mac, pod_mac = mac_address(n.name, host_name), mac_address(pod.key, "eth0")
        netns = netns_name(pod)
        pair = VethPair(pod.key, netns, host_name, "eth0", pod.address, 32, host_mac, pod_mac, pod.eni_id, table)
        veths.append(pair)
        interfaces.append(Interface(next_index, host_name, "veth", host_mac, mtu, (), peer_index=3))
        namespaces.append(NetNamespace(
            netns, pod.key,
            (loopback(), Interface(3, "eth0", "veth", pod_mac, mtu, (f"{pod.address}/32",), peer_index=next_index)),
            (Route(None, "eth0", via=POD_GATEWAY), Route(_host32(POD_GATEWAY), "eth0", scope="link")),
            (Neighbour(POD_GATEWAY, "eth0", host_mac),)))
        next_index += 1
        routes.append(Route(_host32(pod.address), host_name, scope="link"))
        rules.append(Rule(RULE_TO_POD, "main", dst=_host32(pod.address)))
        if table is not None:
            rules.append(Rule(RULE_FROM_POD, table, src=_host32(pod.address)))
    return NodeDataplane(
        n.name, "aws-vpc-cni", NetNamespace("host", None, tuple(interfaces), tuple(sorted_routes(routes))),
        tuple(namespaces), tuple(veths), tuple(sorted_rules(rules)), tables, tuple(p.key for p in host_pods),
        None, mtu)


