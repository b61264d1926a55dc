"""An overlay CNI for contrast: flannel's VXLAN backend on the same nodes, pods behind a bridge, pod traffic
between nodes wrapped in UDP.

What flannel builds (github.com/flannel-io/flannel ``pkg/backend/vxlan``: ``vxlan.go``, ``vxlan_network.go``,
``device.go``; its README "Backends"; the CNI ``bridge`` plugin): each node leases a /24 of the cluster CIDR
(10.244.0.0/16 in its examples); pods sit on the bridge ``cni0`` (the /24's ``.1``); a VXLAN device ``flannel.1``
(VNI 1, UDP port 8472, the Linux kernel's default, not IANA's 4789) holds the /24's ``.0``; for every other node
``<its /24> via <its .0> dev flannel.1 onlink``, a permanent neighbour entry for that ``.0`` with the remote
``flannel.1``'s MAC, and a forwarding-database entry sending that MAC to the remote node's address. VXLAN adds
50 bytes (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8, RFC 7348), so flannel gives pods the underlying MTU
less 50: 8951 on a 9001 ENI. Flannel's own iptables rules (``FLANNEL-FWD``, ``FLANNEL-POSTRTG`` masquerading
traffic that leaves the cluster CIDR) are not modelled: pod-to-pod traffic inside the overlay is not translated.

The VPC never sees a pod address here: only node addresses, in the outer header.

>>> from ekslib.cluster import load_sample
>>> c = load_sample("two-node")
>>> dp = overlay_dataplane(c, c.nodes[0].name)
>>> dp.cni, dp.host.interface("flannel.1").mtu, str(dp.pod_cidr)
('flannel-vxlan', 8951, '10.244.0.0/24')
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

from ekslib.cluster.model import Cluster, Node
from ekslib.dataplane.bridge import bridge_dataplane
from ekslib.dataplane.vpc_cni import mac_address
from ekslib.facts import DEFAULT_MTU, KUBENET_CLUSTER_CIDR
from ekslib.linux.iproute import sorted_routes
from ekslib.linux.objects import FdbEntry, Interface, Neighbour, NodeDataplane
from ekslib.linux.routes import Route

#: flannel's VXLAN device, its VNI and UDP port (flannel ``pkg/backend/vxlan``: ``defaultVNI``, the kernel's
#: default port 8472 when ``Port`` is 0).
VXLAN_DEVICE = "flannel.1"
VXLAN_VNI = 1
VXLAN_PORT = 8472
#: Bytes VXLAN adds to each packet: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 (RFC 7348).
VXLAN_OVERHEAD = 14 + 20 + 8 + 8
#: flannel's bridge.
OVERLAY_BRIDGE = "cni0"


def _pod_cidr(cluster: Cluster, index: int, cluster_cidr: IPv4Network) -> IPv4Network:
    return next(b for i, b in enumerate(cluster_cidr.subnets(new_prefix=24)) if i == index)


def overlay_dataplane(cluster: Cluster, node: str | Node, *, cluster_cidr: str | IPv4Network = KUBENET_CLUSTER_CIDR,
                      mtu: int = DEFAULT_MTU) -> NodeDataplane:
    """The node's data plane under flannel's VXLAN backend (see the module docstring)."""
    cidr = IPv4Network(cluster_cidr)
    inner = mtu - VXLAN_OVERHEAD
    base = bridge_dataplane(cluster, node, cluster_cidr=cidr, mtu=mtu, bridge=OVERLAY_BRIDGE, pod_mtu=inner)
    names = [n.name for n in cluster.nodes]
    me = names.index(base.node)
    vtep = Interface(len(base.host.interfaces) + 10, VXLAN_DEVICE, "vxlan", mac_address(base.node, VXLAN_DEVICE),
                     inner, (f"{base.pod_cidr.network_address}/32",))
    routes, neighbours, fdb = list(base.host.routes), [], []
    for index, other in enumerate(cluster.nodes):
        if index == me:
            continue
        their = _pod_cidr(cluster, index, cidr)
        gateway = their.network_address
        routes.append(Route(their, VXLAN_DEVICE, via=gateway, scope=None, proto=None))
        mac = mac_address(other.name, VXLAN_DEVICE)
        neighbours.append(Neighbour(gateway, VXLAN_DEVICE, mac))
        fdb.append(FdbEntry(mac, VXLAN_DEVICE, other.address))
    host = replace(base.host, interfaces=(*base.host.interfaces, vtep), routes=tuple(sorted_routes(routes)),
                   neighbours=tuple(neighbours), fdb=tuple(fdb))
    return replace(base, cni="flannel-vxlan", host=host)


def vtep_of(dataplane: NodeDataplane, gateway: IPv4Address) -> tuple[Neighbour, FdbEntry] | None:
    """The neighbour entry and the forwarding-database entry that send ``gateway``'s traffic through the tunnel."""
    neigh = next((n for n in dataplane.host.neighbours if n.address == gateway), None)
    if neigh is None:
        return None
    entry = next((f for f in dataplane.host.fdb if f.lladdr == neigh.lladdr), None)
    return (neigh, entry) if entry is not None else None
