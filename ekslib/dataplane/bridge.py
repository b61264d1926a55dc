"""The other design, for contrast: kubenet's bridge.

:func:`bridge_dataplane` is the *other* design, the one the study notes draw: kubenet (the CNI ``bridge``
plugin) puts every pod's veth on a Linux bridge ``cbr0`` holding the gateway ``.1`` of the node's pod CIDR;
pods on one node reach each other by ARP across the bridge, and pod addresses are not VPC addresses (other
nodes' pod CIDRs need routes in the VPC route table). The VPC CNI does **not** do this.

Source: the Kubernetes docs on kubenet (removed from kubelet in 1.24; the CNI ``bridge`` plugin keeps the
design) and github.com/containernetworking/plugins ``plugins/main/bridge``.

>>> from ekslib.cluster.kubectl import load_sample
>>> c = load_sample("two-node")
>>> bridge_dataplane(c, c.nodes[0].name).cni
'kubenet'
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Network

from ekslib.cluster.model import Cluster, Node
from ekslib.dataplane.vpc_cni import eni_interfaces, loopback, mac_address, netns_name, node_context
from ekslib.errors import EkslibError
from ekslib.facts import BRIDGE, DEFAULT_MTU, KUBENET_CLUSTER_CIDR, RULE_DEFAULT, RULE_LOCAL, RULE_MAIN
from ekslib.linux.iproute import sorted_routes
from ekslib.linux.objects import Interface, NetNamespace, NodeDataplane, Rule, VethPair
from ekslib.linux.routes import Route


def bridge_dataplane(cluster: Cluster, node: str | Node, *, cluster_cidr: str | IPv4Network = KUBENET_CLUSTER_CIDR,
                     mtu: int = DEFAULT_MTU, bridge: str = BRIDGE, pod_mtu: int | None = None) -> NodeDataplane:
    """The same node and pods under kubenet's bridge design (what the study notes draw), for comparison.

    The node gets the ``i``-th /24 of ``cluster_cidr`` as its pod CIDR (``i`` = its place in the cluster);
    ``cbr0`` holds the CIDR's ``.1``; pods get ``.2``, ``.3``, ... (host-local IPAM) with routes
    ``default via <.1> dev eth0`` and ``<pod CIDR> dev eth0 proto kernel scope link``; their veths
    (``veth<8 hex>``) are ports of ``cbr0``. Only eth0 is used: kubenet does not take addresses from ENIs.
    ``bridge`` names the bridge (flannel's CNI calls it ``cni0``) and ``pod_mtu`` the MTU of the bridge and the
    pods when it is not eth0's (an overlay's).

    >>> from ekslib.cluster import load_sample
    >>> c = load_sample("two-node")
    >>> from ekslib.linux.iproute import ip_rule_text
    >>> dp = bridge_dataplane(c, c.nodes[1].name)
    >>> str(dp.pod_cidr), dp.cni, ip_rule_text(dp).count("\\n") + 1
    ('10.244.1.0/24', 'kubenet', 3)
    """
    n, vpc_pods, host_pods = node_context(cluster, node)
    inner_mtu = pod_mtu or mtu
    index = [x.name for x in cluster.nodes].index(n.name)
    blocks = IPv4Network(cluster_cidr).subnets(new_prefix=24)
    pod_cidr = next(b for i, b in enumerate(blocks) if i == index)
    if len(vpc_pods) > pod_cidr.num_addresses - 3:
        raise EkslibError(f"node {n.name}: {len(vpc_pods)} pods do not fit its pod CIDR {pod_cidr}")
    gateway = pod_cidr.network_address + 1
    primary_subnet = cluster.subnet(n.primary_eni.subnet_id)
    bridge_index = 3
    interfaces = [loopback(), *eni_interfaces(cluster, n, mtu, only_primary=True),
                  Interface(bridge_index, bridge, "bridge", mac_address(n.name, bridge), inner_mtu, (f"{gateway}/24",))]
    routes = [Route(None, "eth0", via=primary_subnet.router),
              Route(primary_subnet.cidr, "eth0", proto="kernel", scope="link", src=n.address),
              Route(pod_cidr, bridge, proto="kernel", scope="link", src=gateway)]
    veths, namespaces = [], []
    for i, pod in enumerate(vpc_pods):
        address = pod_cidr.network_address + 2 + i
        host_name = f"veth{hashlib.sha1((n.name + pod.key).encode()).hexdigest()[:8]}"
        host_mac, pod_mac = mac_address(n.name, host_name), mac_address(pod.key, "eth0", "bridge")
        netns = netns_name(pod)
        host_index = bridge_index + 1 + i
        veths.append(VethPair(pod.key, netns, host_name, "eth0", address, 24, host_mac, pod_mac, bridge=bridge))
        interfaces.append(Interface(host_index, host_name, "veth", host_mac, inner_mtu, (), peer_index=3,
                                    master=bridge))
        namespaces.append(NetNamespace(
            netns, pod.key,
            (loopback(), Interface(3, "eth0", "veth", pod_mac, inner_mtu, (f"{address}/24",), peer_index=host_index)),
            (Route(None, "eth0", via=gateway), Route(pod_cidr, "eth0", proto="kernel", scope="link", src=address))))
    rules = (Rule(RULE_LOCAL, "local"), Rule(RULE_MAIN, "main"), Rule(RULE_DEFAULT, "default"))
    return NodeDataplane(n.name, "kubenet", NetNamespace("host", None, tuple(interfaces), tuple(sorted_routes(routes))),
                         tuple(namespaces), tuple(veths), rules, {}, tuple(p.key for p in host_pods), pod_cidr, mtu)


