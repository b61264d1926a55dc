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
#: Public addresses (RFC 5737 TEST-NET-2): the NAT gateway's Elastic IP, then the nodes' public IPv4 addresses,
#: then the load balancers'.
NAT_GATEWAY_EIP = IPv4Address("198.51.100.20")
FIRST_NODE_PUBLIC_IP = IPv4Address("198.51.100.100")
FIRST_LOAD_BALANCER_PUBLIC_IP = IPv4Address("198.51.100.200")
#: The AWS Load Balancer Controller's annotations (kubernetes-sigs.github.io/aws-load-balancer-controller,
#: "Service annotations"); without ``aws-load-balancer-type: external`` (or ``nlb-ip``) the legacy in-tree
#: provider makes a Classic Load Balancer.
LB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
LB_TARGET_TYPE = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
LB_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
LB_ATTRIBUTES = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"


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


@dataclass(frozen=True)
class Target:
    """A load balancer target: ``address:port`` (a node's NodePort, or a pod), whether the health check passes,
    and why (the check it runs and its answer)."""

    address: IPv4Address
    port: int
    healthy: bool
    check: str
    node: str = ""


@dataclass(frozen=True)
class LoadBalancer:
    """A Service's AWS load balancer: an NLB (instance or IP targets) or a Classic Load Balancer.

    Facts (dataplane.md section 2 and 5): an NLB with instance targets sends to ``node:NodePort`` and keeps the
    client's address by default; with IP targets it sends to ``pod:targetPort`` and keeps the client's address for
    UDP always, for TCP only with ``preserve_client_ip.enabled=true`` (else the pod sees the NLB's private
    address); a CLB is a proxy: the backend sees the CLB's address. Health checks: for
    ``externalTrafficPolicy: Local`` instance targets, HTTP on ``spec.healthCheckNodePort`` ``/healthz``, 200 only
    on nodes with a local ready endpoint (kube-proxy's health-check server), so the NLB skips the others.
    """

    service: str
    kind: str  # "nlb" or "clb"
    target_type: str  # "instance" or "ip"
    scheme: str  # "internet-facing" or "internal"
    protocol: str
    port: int
    private_ips: tuple[IPv4Address, ...]
    public_ip: IPv4Address | None
    preserve_client_ip: bool
    targets: tuple[Target, ...]
    hostname: str = ""

    @property
    def label(self) -> str:
        kind = "NLB" if self.kind == "nlb" else "CLB"
        return f"{kind} of {self.service}" + (f" ({self.target_type} targets)" if self.kind == "nlb" else "")

    @property
    def proxy(self) -> bool:
        """A Classic Load Balancer opens its own connection to the target."""
        return self.kind == "clb"


def load_balancer_of(cluster: Cluster, service_key: str, private_ips: tuple[IPv4Address, ...],
                     public_ip: IPv4Address | None) -> LoadBalancer:
    """The load balancer the cloud controllers make for a ``type: LoadBalancer`` Service, read from its
    annotations as the AWS Load Balancer Controller (or the in-tree provider) reads them."""
    svc = cluster.service(service_key)
    notes = dict(svc.annotations)
    lbc = notes.get(LB_TYPE) in ("external", "nlb-ip")
    kind = "nlb" if lbc or notes.get(LB_TYPE) == "nlb" else "clb"
    target_type = "ip" if notes.get(LB_TYPE) == "nlb-ip" else notes.get(LB_TARGET_TYPE, "instance")
    scheme = notes.get(LB_SCHEME, "internal" if lbc else "internet-facing")
    port = svc.ports[0]
    protocol = port.protocol.lower()
    attributes = dict(a.split("=", 1) for a in notes.get(LB_ATTRIBUTES, "").split(",") if "=" in a)
    default_preserve = target_type == "instance" or protocol == "udp"
    preserve = kind == "nlb" and (protocol == "udp" or attributes.get("preserve_client_ip.enabled",
                                                                       str(default_preserve).lower()) == "true")
    endpoints = cluster.service_endpoints(service_key, port.name or None)
    if target_type == "ip" and kind == "nlb":
        targets = tuple(Target(e.address, e.port, e.ready, "TCP on the traffic port -> "
                               + ("open (a ready endpoint)" if e.ready else "closed (not ready)"), e.node_name)
                        for e in endpoints)
    else:
        local = svc.external_traffic_policy == "Local"
        targets = []
        for node in cluster.nodes:
            has_local = any(e.node_name == node.name and e.ready for e in endpoints)
            if local:
                check = (f"HTTP :{svc.health_check_node_port}/healthz -> "
                         + ("200 (a local ready endpoint)" if has_local else "503 (no local endpoint)"))
                targets.append(Target(node.address, port.node_port, has_local, check, node.name))
            else:
                targets.append(Target(node.address, port.node_port, True, f"TCP :{port.node_port} -> open", node.name))
        targets = tuple(targets)
    return LoadBalancer(service_key, kind, target_type, scheme, protocol, port.port, private_ips, public_ip,
                        preserve, targets, svc.load_balancer)


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
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)

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
        taken: set[IPv4Address] = set()
        public_subnets = [s for s in cluster.subnets if s.public] or list(cluster.subnets)
        for i, svc in enumerate(s for s in cluster.services if s.type == "LoadBalancer" and s.ports):
            internal = dict(svc.annotations).get(LB_SCHEME) == "internal"
            subnets = [s for s in cluster.subnets if not s.public] if internal else public_subnets
            ips = []
            for subnet in subnets[:2] or public_subnets[:1]:  # one ENI per subnet (per AZ) the LB spans
                address = fabric._free_address(subnet, skip=taken | {fabric.nat_gateway.private_ip}
                                               if fabric.nat_gateway else taken)
                taken.add(address)
                ips.append(address)
            public = None if internal else FIRST_LOAD_BALANCER_PUBLIC_IP + i
            fabric.load_balancers[svc.key] = load_balancer_of(cluster, svc.key, tuple(ips), public)
        return fabric

    def _free_address(self, subnet: Subnet, skip: set[IPv4Address] = frozenset()) -> IPv4Address:
        held = {int(a) for e in self.cluster.enis for a in (e.primary_ip, *e.secondary_ips)}
        held |= {int(a) for a in skip}
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
        public subnets, the NAT gateway, internet-facing load balancers), or None."""
        if self.nat_gateway is not None and private == self.nat_gateway.private_ip:
            return self.nat_gateway.elastic_ip
        for lb in self.load_balancers.values():
            if lb.public_ip is not None and private in lb.private_ips:
                return lb.public_ip
        return self.public_ips.get(private)

    def private_ip_of(self, public: IPv4Address) -> IPv4Address | None:
        """The private address behind a public one, or None."""
        if self.nat_gateway is not None and public == self.nat_gateway.elastic_ip:
            return self.nat_gateway.private_ip
        for lb in self.load_balancers.values():
            if lb.public_ip == public:
                return lb.private_ips[0]
        return next((p for p, q in self.public_ips.items() if q == public), None)

    def load_balancer_at(self, address: IPv4Address) -> LoadBalancer | None:
        """The load balancer one of whose ENIs has ``address``, or None."""
        return next((lb for lb in self.load_balancers.values() if address in lb.private_ips), None)

    def load_balancer(self, service: str) -> LoadBalancer:
        """The load balancer of Service ``namespace/name``."""
        try:
            return self.load_balancers[service]
        except KeyError:
            raise EkslibError(f"Service {service!r} has no load balancer; these do: "
                              f"{', '.join(self.load_balancers) or 'none'}") from None

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
        if self.load_balancer_at(address) is not None:
            return "load-balancer", None
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
