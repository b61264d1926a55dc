"""The VPC around the nodes: who holds each address, each subnet's route table, the gateways, the outside hosts.

Facts, with their public sources:

* a subnet's route table always has the ``local`` route for the VPC's CIDRs: inside the VPC a packet goes
  straight to the ENI that holds its destination, unchanged (Amazon VPC User Guide, "Route tables"); a public
  subnet routes ``0.0.0.0/0`` to an internet gateway, a private one to a NAT gateway (eksctl creates one, in a
  public subnet: ``vpc.nat.gateway: Single``, its default);
* EC2's source/destination check: an ENI sends only packets whose source address it holds, and receives only
  packets for an address it holds (EC2 User Guide, "Source/destination checking"); the VPC CNI relies on it being
  on, which is why a pod's reply must leave by the ENI that holds the pod's address, or by eth0 once SNATed;
* an internet gateway performs 1:1 NAT between an ENI's *primary* private address and its public address, and
  drops what has no public address (VPC User Guide, "Internet gateways": "instances must have a public IPv4
  address"); a public NAT gateway translates the source to its Elastic IP (VPC User Guide, "NAT gateways");
* the EKS control plane's ENIs sit in the cluster's subnets (EKS User Guide, "Cluster VPC and subnet
  requirements") and answer for ``default/kubernetes``.

Outside the VPC the addresses are the documentation ranges of RFC 5737 (198.51.100.0/24 for public addresses of
the VPC, 203.0.113.0/24 for hosts on the internet), so nothing here names a real host.

>>> from ekslib.cluster import build_cluster
>>> vpc = VpcFabric.of(build_cluster([("t3.medium", 2)], private_networking=False))
>>> vpc.route("internet", vpc.subnet_of_node(vpc.cluster.nodes[0].name)).target
'igw'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from ekslib.cluster.model import Cluster, Eni, Subnet
from ekslib.errors import EkslibError, suggest

#: Named hosts outside the VPC (RFC 5737 TEST-NET-3): a web server on the internet, an outside client.
OUTSIDE_HOSTS: dict[str, IPv4Address] = {"internet": IPv4Address("203.0.113.10"), "client": IPv4Address("203.0.113.77")}
#: A peered VPC (or an on-premises network over a VPN), reached by a peering connection, and a host in it.
PEERED_CIDR = IPv4Network("10.20.0.0/16")
PEERED_HOST = IPv4Address("10.20.1.10")
#: Public addresses (RFC 5737 TEST-NET-2): the NAT gateway's Elastic IP, then the nodes' public IPv4 addresses.
NAT_GATEWAY_EIP = IPv4Address("198.51.100.20")
FIRST_NODE_PUBLIC_IP = IPv4Address("198.51.100.100")


@dataclass(frozen=True)
class VpcRoute:
    """One route of a subnet's route table: destination and target (``local``, ``igw``, ``nat``, ``pcx``)."""

    destination: IPv4Network
    target: str

    def text(self) -> str:
        names = {"local": "local", "igw": "igw-0a1b2c3d (internet gateway)",
                 "nat": "nat-0a1b2c3d (NAT gateway)", "pcx": "pcx-0a1b2c3d (peering connection)"}
        return f"{self.destination} -> {names.get(self.target, self.target)}"


@dataclass(frozen=True)
class NatGateway:
    """A public NAT gateway: an ENI in a public subnet with a private address, and its Elastic IP."""

    id: str
    subnet_id: str
    private_ip: IPv4Address
    elastic_ip: IPv4Address


@dataclass
class VpcFabric:
    """The VPC's view of a cluster: route tables, gateways, public addresses and the hosts outside.

    ``peering`` adds a route to :data:`PEERED_CIDR` by a peering connection in every subnet.
    """

    cluster: Cluster
    public_ips: dict[IPv4Address, IPv4Address] = field(default_factory=dict)
    nat_gateway: NatGateway | None = None
    peering: bool = True
    hosts: dict[str, IPv4Address] = field(default_factory=dict)

    @classmethod
    def of(cls, cluster: Cluster, *, peering: bool = True) -> VpcFabric:
        """The fabric of ``cluster``: public IPs for nodes in public subnets, a NAT gateway in the first public
        subnet (when the cluster has one), the named outside hosts."""
        fabric = cls(cluster, peering=peering and not any(c.overlaps(PEERED_CIDR) for c in cluster.vpc.cidrs))
        public = {s.id for s in cluster.subnets if s.public}
        n = 0
        for node in cluster.nodes:
            if node.primary_eni.subnet_id in public:
                fabric.public_ips[node.address] = FIRST_NODE_PUBLIC_IP + n
                n += 1
        first_public = next((s for s in cluster.subnets if s.public), None)
        if first_public is not None:
            fabric.nat_gateway = NatGateway("nat-0a1b2c3d", first_public.id, fabric._free_address(first_public),
                                            NAT_GATEWAY_EIP)
        fabric.hosts = dict(OUTSIDE_HOSTS)
        if fabric.peering:
            fabric.hosts["peered-vpc"] = PEERED_HOST
        return fabric

    def _free_address(self, subnet: Subnet) -> IPv4Address:
        held = {int(a) for e in self.cluster.enis for a in (e.primary_ip, *e.secondary_ips)}
        held |= {int(e.address) for e in getattr(self.cluster, "control_plane_enis", ())}
        for offset in range(subnet.cidr.num_addresses - 1, 0, -1):  # from the top: nodes take the bottom
            address = subnet.cidr.network_address + offset
            if not subnet.is_reserved(address) and int(address) not in held and \
                    self.cluster.eni_of_address(address) is None:
                return address
        raise EkslibError(f"subnet {subnet.id} has no free address for a NAT gateway")

    # -- addresses
    def host(self, name: str) -> IPv4Address:
        """The address of a named outside host (``internet``, ``client``, ``peered-vpc``)."""
        try:
            return self.hosts[name]
        except KeyError:
            hint = suggest(name, list(self.hosts), n=3)
            raise EkslibError(f"no outside host {name!r}; known: {', '.join(self.hosts)}"
                              + (f" (did you mean {', '.join(hint)}?)" if hint else "")) from None

    def host_name(self, address: IPv4Address) -> str | None:
        """The name of the outside host at ``address``, or None."""
        return next((n for n, a in self.hosts.items() if a == address), None)

    def public_ip_of(self, private: IPv4Address) -> IPv4Address | None:
        """The public IPv4 address mapped to a private one by the internet gateway (nodes' primary addresses in
        public subnets, the NAT gateway), or None."""
        if self.nat_gateway is not None and private == self.nat_gateway.private_ip:
            return self.nat_gateway.elastic_ip
        return self.public_ips.get(private)

    def private_ip_of(self, public: IPv4Address) -> IPv4Address | None:
        """The private address behind a public one, or None."""
        if self.nat_gateway is not None and public == self.nat_gateway.elastic_ip:
            return self.nat_gateway.private_ip
        return next((p for p, q in self.public_ips.items() if q == public), None)

    def holder(self, address: IPv4Address) -> tuple[str, Eni | None]:
        """Who in the VPC holds ``address``: ``("eni", eni)`` for a node's ENI, ``("control-plane", None)``,
        ``("nat-gateway", None)``, or ``("", None)`` for nobody."""
        eni = self.cluster.eni_of_address(address)
        if eni is not None:
            return "eni", eni
        if any(e.address == address for e in getattr(self.cluster, "control_plane_enis", ())):
            return "control-plane", None
        if self.nat_gateway is not None and address == self.nat_gateway.private_ip:
            return "nat-gateway", None
        return "", None

    # -- routing
    def subnet_of_node(self, node: str) -> Subnet:
        return self.cluster.subnet(self.cluster.node(node).primary_eni.subnet_id)

    def route_table(self, subnet: Subnet) -> tuple[VpcRoute, ...]:
        """The subnet's route table: ``local`` for each VPC CIDR, the peering route, then the default route."""
        routes = [VpcRoute(c, "local") for c in self.cluster.vpc.cidrs]
        if self.peering:
            routes.append(VpcRoute(PEERED_CIDR, "pcx"))
        if subnet.public:
            routes.append(VpcRoute(IPv4Network("0.0.0.0/0"), "igw"))
        elif self.nat_gateway is not None:
            routes.append(VpcRoute(IPv4Network("0.0.0.0/0"), "nat"))
        return tuple(routes)

    def route(self, destination: IPv4Address | str, subnet: Subnet) -> VpcRoute | None:
        """The most specific route of ``subnet``'s table for ``destination`` (a host name is looked up)."""
        dst = self.host(destination) if isinstance(destination, str) else destination
        best = None
        for r in self.route_table(subnet):
            if dst in r.destination and (best is None or r.destination.prefixlen > best.destination.prefixlen):
                best = r
        return best
