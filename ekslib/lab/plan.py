"""What a lab builds, as data: namespaces, veth pairs, bridges, addresses, routes, policy rules, neighbours,
sysctls and the rule text each namespace loads. Pure: nothing here touches a kernel, so it is tested everywhere.

The plan is read off the same model the engine walks, so the two cannot drift apart:

* each node is a namespace built from :func:`ekslib.dataplane.node_dataplane` (its ENIs as ``eth0``, ``eth1``...,
  the pods' veths with the same names and MACs, routes, tables, policy rules 512 / 1024 / 1536 / 32765) and
  loads :func:`ekslib.dataplane.iptables_save` of that node with ``iptables-restore``;
* each pod is a namespace wired as the VPC CNI wires it (``eth0`` with the pod's /32, ``169.254.1.1``, a
  permanent neighbour entry for it with the host veth's MAC);
* the VPC is one namespace: a bridge per subnet holding the subnet's router address (``.1``), one bridge port per
  ENI; EC2's source/destination check is an ``ebtables`` chain per port (a port sends only the addresses its ENI
  holds and receives only those); a private subnet's default route goes to the NAT gateway (its own namespace,
  SNAT to its Elastic IP), a public one's to the internet gateway (1:1 NAT between a primary private address and
  its public address, and a drop for everything else that has no public address); the outside hosts of
  :class:`ekslib.flows.vpc.VpcFabric` (``internet``, ``client``, ``peered-vpc``) are namespaces behind it;
* load balancers are one namespace (an ENI per subnet they span) that DNATs to their targets as the fabric says
  (instance targets: ``node:NodePort``; IP targets: the pod), SNATs to their own address where the client's is
  not preserved (a Classic Load Balancer, NLB IP targets over TCP without ``preserve_client_ip``), and the VPC
  returns a target's replies to the load balancer that sent it the connection, as AWS's fabric does.

How a node stands in for an EC2 instance (dataplane.md section 4, shown to work on this kind of machine): a
secondary private address of an ENI is a proxy-ARP entry on that ENI (``ip neigh add proxy <pod IP> dev ethN``,
``proxy_delay=0``); ``arp_ignore=1``, ``arp_announce=2`` and ``rp_filter=2`` keep two ENIs on one subnet from
answering for each other; addresses of secondary ENIs are added ``noprefixroute``, as ipamd removes the kernel's
subnet route for them (``pkg/networkutils/network.go``, ``setupENINetwork``).

>>> from ekslib.flows.scenarios import scenario_cluster
>>> plan = lab_plan(scenario_cluster("private"), tag="ekslab-1-0")
>>> plan.namespace_of_role("vpc"), len(plan.node_namespaces)
('ekslab-1-0-vpc', 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from ekslib.cluster.model import Cluster
from ekslib.dataplane.iptables import iptables_save
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.dataplane.vpc_cni import mac_address, node_dataplane
from ekslib.errors import EkslibError
from ekslib.flows.vpc import LoadBalancer, VpcFabric
from ekslib.linux.routes import Route

#: The link-local address the VPC router answers on toward the outside hosts (each has its own veth).
OUTSIDE_GATEWAY = IPv4Address("169.254.0.1")
#: MTU of the links to the outside hosts (the internet's 1500; inside the VPC the ENIs' 9001).
INTERNET_MTU = 1500
#: Policy routing in the VPC namespace: VPC-local first (a subnet route table's ``local`` route), then the private
#: subnets' table (default route to the NAT gateway), then a load balancer's return table per load balancer.
VPC_LOCAL_PRIORITY, PRIVATE_PRIORITY, LB_RETURN_PRIORITY = 100, 110, 90
PRIVATE_TABLE, LB_RETURN_TABLE = 100, 200
#: Sysctls (dataplane.md section 4): every namespace forwards where it routes, never sends or takes ICMP
#: redirects (the router and the NAT gateway forward out of the interface a packet came in by), and nodes keep two
#: ENIs on one subnet apart.
COMMON_SYSCTLS = {"net.ipv4.conf.all.send_redirects": "0", "net.ipv4.conf.default.send_redirects": "0",
                  "net.ipv4.conf.all.accept_redirects": "0", "net.ipv4.conf.default.accept_redirects": "0"}
ROUTER_SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "2",
                  "net.ipv4.conf.default.rp_filter": "2"}
NODE_SYSCTLS = {**ROUTER_SYSCTLS, "net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.all.arp_announce": "2"}


@dataclass(frozen=True)
class LabNamespace:
    """A network namespace of the lab: its full name, role (``vpc``, ``node``, ``pod``, ``host``,
    ``nat-gateway``, ``load-balancer``), what it stands for (a node's or pod's name, an outside host's name), the
    zone name the engine gives its connection-tracking table, its sysctls and the rule text it loads."""

    name: str
    role: str
    stands_for: str
    zone: str = ""
    sysctls: tuple[tuple[str, str], ...] = ()
    iptables: str = ""
    ebtables: str = ""


@dataclass(frozen=True)
class LabLink:
    """A veth pair: one end in each namespace, with its name and MAC; ``master`` puts end b in a bridge."""

    ns_a: str
    name_a: str
    mac_a: str
    ns_b: str
    name_b: str
    mac_b: str
    mtu: int
    master_b: str = ""


@dataclass(frozen=True)
class LabAddress:
    ns: str
    dev: str
    address: IPv4Address
    prefixlen: int
    noprefixroute: bool = False


@dataclass(frozen=True)
class LabRoute:
    """A route (:class:`ekslib.linux.routes.Route`) in namespace ``ns``, table ``table`` (254 is main)."""

    ns: str
    route: Route
    table: int = 254


@dataclass(frozen=True)
class LabRule:
    ns: str
    priority: int
    table: int
    src: IPv4Network | None = None
    dst: IPv4Network | None = None
    fwmark: tuple[int, int] | None = None


@dataclass(frozen=True)
class LabNeighbour:
    """A permanent neighbour (``lladdr`` set) or a proxy-ARP entry (``proxy=True``)."""

    ns: str
    dev: str
    address: IPv4Address
    lladdr: str = ""
    proxy: bool = False


@dataclass(frozen=True)
class LabPlan:
    """Everything a lab creates, in creation order; ``tag`` prefixes every namespace name."""

    tag: str
    cluster: Cluster
    cni: VpcCniSettings
    namespaces: tuple[LabNamespace, ...]
    bridges: tuple[tuple[str, str, int], ...]  # (namespace, bridge name, mtu)
    links: tuple[LabLink, ...]
    addresses: tuple[LabAddress, ...]
    routes: tuple[LabRoute, ...]
    rules: tuple[LabRule, ...]
    neighbours: tuple[LabNeighbour, ...]
    ports: dict[str, str] = field(default_factory=dict)  # VPC bridge port -> what it stands for

    def namespace_of_role(self, role: str) -> str:
        return next(n.name for n in self.namespaces if n.role == role)

    @property
    def node_namespaces(self) -> dict[str, str]:
        """Node name -> its namespace."""
        return {n.stands_for: n.name for n in self.namespaces if n.role == "node"}

    @property
    def pod_namespaces(self) -> dict[str, str]:
        """Pod ``namespace/name`` -> its namespace (host-network pods live in their node's)."""
        out = {n.stands_for: n.name for n in self.namespaces if n.role == "pod"}
        nodes = self.node_namespaces
        for pod in self.cluster.pods:
            if pod.host_network:
                out[pod.key] = nodes[pod.node]
        return out

    @property
    def host_namespaces(self) -> dict[str, str]:
        """Outside host name (``internet``, ``client``, ``peered-vpc``) -> its namespace."""
        return {n.stands_for: n.name for n in self.namespaces if n.role == "host"}

    def namespace(self, name: str) -> LabNamespace:
        return next(n for n in self.namespaces if n.name == name)


def _sysctls(base: dict[str, str], **more: str) -> tuple[tuple[str, str], ...]:
    if not base and not more:  # pods and outside hosts keep the kernel's defaults
        return ()
    return tuple(sorted({**COMMON_SYSCTLS, **base, **more}.items()))


def lab_plan(cluster: Cluster, *, tag: str, cni: VpcCniSettings | None = None) -> LabPlan:
    """The lab of ``cluster`` (nodes with the VPC CNI's ``cni`` settings), every namespace named ``<tag>-<role>``.

    >>> from ekslib.flows.scenarios import scenario_cluster
    >>> plan = lab_plan(scenario_cluster("private"), tag="t")
    >>> sorted({n.role for n in plan.namespaces})
    ['host', 'load-balancer', 'nat-gateway', 'node', 'pod', 'vpc']
    """
    cni = cni or VpcCniSettings()
    fabric = VpcFabric.of(cluster)
    b = _Builder(tag, cluster, cni, fabric)
    b.vpc()
    for i, node in enumerate(cluster.nodes):
        b.node(i, node.name)
    b.outside()
    if fabric.nat_gateway is not None:
        b.nat_gateway()
    if fabric.load_balancers:
        b.load_balancers()
    b.vpc_rules()
    return LabPlan(tag, cluster, cni, tuple(b.namespaces), tuple(b.bridges), tuple(b.links), tuple(b.addresses),
                   tuple(b.routes), tuple(b.rules), tuple(b.neighbours), dict(b.ports))


class _Builder:
    def __init__(self, tag: str, cluster: Cluster, cni: VpcCniSettings, fabric: VpcFabric) -> None:
        self.tag, self.cluster, self.cni, self.fabric = tag, cluster, cni, fabric
        self.namespaces: list[LabNamespace] = []
        self.bridges: list[tuple[str, str, int]] = []
        self.links: list[LabLink] = []
        self.addresses: list[LabAddress] = []
        self.routes: list[LabRoute] = []
        self.rules: list[LabRule] = []
        self.neighbours: list[LabNeighbour] = []
        self.ports: dict[str, str] = {}
        self.vpc_ns = f"{tag}-vpc"
        self.bridge_of = {s.id: f"br{j}" for j, s in enumerate(cluster.subnets)}
        self.ebtables: list[str] = []
        self.lb_marks: dict[str, int] = {}

    # -- the VPC router
    def vpc(self) -> None:
        for subnet in self.cluster.subnets:
            br = self.bridge_of[subnet.id]
            self.bridges.append((self.vpc_ns, br, 9001))
            self.addresses.append(LabAddress(self.vpc_ns, br, subnet.router, subnet.cidr.prefixlen))

    def port(self, ns: str, name: str, mac: str, subnet_id: str, port: str, stands_for: str,
             holds: tuple[IPv4Network, ...] | None) -> None:
        """A veth from ``ns`` (``name``) to the VPC bridge of ``subnet_id`` (``port``); ``holds`` is what EC2's
        source/destination check lets through (None: no check, as for a NAT gateway or a load balancer)."""
        peer_mac = mac_address(self.tag, "vpc", port)
        self.links.append(LabLink(ns, name, mac, self.vpc_ns, port, peer_mac, 9001, self.bridge_of[subnet_id]))
        self.ports[port] = stands_for
        if holds is not None:
            self.ebtables.extend(_src_dst_check(port, holds, stands_for))

    # -- nodes and pods
    def node(self, i: int, name: str) -> None:
        cluster = self.cluster
        ns = f"{self.tag}-n{i}"
        dp = node_dataplane(cluster, name, settings=self.cni)
        node = cluster.node(name)
        self.namespaces.append(LabNamespace(ns, "node", name, f"node {name}", _sysctls(NODE_SYSCTLS),
                                            iptables_save(cluster, name, cni=self.cni)))
        interfaces = {itf.name: itf for itf in dp.host.interfaces}
        for eni in node.enis:
            itf = interfaces[eni.interface]
            holds = tuple(IPv4Network(f"{a}/32") for a in (eni.primary_ip, *eni.secondary_ips)) + eni.prefixes
            self.port(ns, eni.interface, itf.mac, eni.subnet_id, f"n{i}e{eni.device_number}", f"{eni.id} "
                      f"({eni.interface} of {name})", holds)
            subnet = cluster.subnet(eni.subnet_id)
            self.addresses.append(LabAddress(ns, eni.interface, eni.primary_ip, subnet.cidr.prefixlen,
                                             noprefixroute=True))
            for address in eni.secondary_ips:
                self.neighbours.append(LabNeighbour(ns, eni.interface, address, proxy=True))
            for prefix in eni.prefixes:
                for address in prefix:
                    self.neighbours.append(LabNeighbour(ns, eni.interface, address, proxy=True))
        for route in dp.host.routes:
            self.routes.append(LabRoute(ns, route))
        for number, table in dp.tables.items():
            for route in table.routes:
                self.routes.append(LabRoute(ns, route, number))
        for rule in dp.rules:
            if isinstance(rule.table, int):
                self.rules.append(LabRule(ns, rule.priority, rule.table, rule.src, rule.dst, rule.fwmark))
            elif rule.table == "main" and rule.priority not in (32766,):
                self.rules.append(LabRule(ns, rule.priority, 254, rule.src, rule.dst, rule.fwmark))
        for j, (veth, pod_ns) in enumerate(zip(dp.veths, dp.pods)):
            pns = f"{self.tag}-n{i}p{j}"
            self.namespaces.append(LabNamespace(pns, "pod", veth.pod, "", _sysctls({})))
            self.links.append(LabLink(ns, veth.host_name, veth.host_mac, pns, veth.pod_name, veth.pod_mac, dp.mtu))
            self.addresses.append(LabAddress(pns, veth.pod_name, veth.address, veth.prefixlen))
            for route in pod_ns.routes:
                self.routes.append(LabRoute(pns, route))
            for neighbour in pod_ns.neighbours:
                self.neighbours.append(LabNeighbour(pns, neighbour.dev, neighbour.address, neighbour.lladdr))

    # -- outside the VPC
    def outside(self) -> None:
        for name, address in self.fabric.hosts.items():
            ns = f"{self.tag}-{name}"
            port = "pcx0" if name == "peered-vpc" else f"igw-{name}"[:15]
            self.namespaces.append(LabNamespace(ns, "host", name, "", _sysctls({})))
            self.links.append(LabLink(ns, "eth0", mac_address(self.tag, name), self.vpc_ns, port,
                                      mac_address(self.tag, "vpc", port), INTERNET_MTU))
            self.addresses.append(LabAddress(ns, "eth0", address, 32))
            self.addresses.append(LabAddress(self.vpc_ns, port, OUTSIDE_GATEWAY, 32))
            self.routes += [_route(ns, OUTSIDE_GATEWAY, "eth0", scope="link"),
                            _route(ns, None, "eth0", via=OUTSIDE_GATEWAY),
                            _route(self.vpc_ns, address, port, scope="link")]
            if name == "peered-vpc":
                self.routes.append(_route(self.vpc_ns, address, port, scope="link",
                                            table=PRIVATE_TABLE))

    def nat_gateway(self) -> None:
        nat = self.fabric.nat_gateway
        ns = f"{self.tag}-natgw"
        subnet = self.cluster.subnet(nat.subnet_id)
        vpc = " ".join(str(c) for c in self.cluster.vpc.cidrs)
        lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
                 ":POSTROUTING ACCEPT [0:0]"]
        for cidr in self.cluster.vpc.cidrs:
            lines.append(f"-A POSTROUTING -s {cidr} -o eth0 -m comment --comment \"NAT gateway {nat.id}\" "
                         f"-j SNAT --to-source {nat.elastic_ip} --random-fully")
        lines.append("COMMIT")
        self.namespaces.append(LabNamespace(ns, "nat-gateway", nat.id, f"NAT gateway {nat.id}",
                                            _sysctls(ROUTER_SYSCTLS), "\n".join(lines) + "\n"))
        self.port(ns, "eth0", mac_address(self.tag, nat.id), nat.subnet_id, "natgw", f"NAT gateway {nat.id} "
                  f"({vpc})", None)
        self.addresses.append(LabAddress(ns, "eth0", nat.private_ip, subnet.cidr.prefixlen))
        self.routes.append(_route(ns, None, "eth0", via=subnet.router))
        self.routes.append(_route(self.vpc_ns, nat.elastic_ip,
                                    self.bridge_of[nat.subnet_id], via=nat.private_ip))
        self.routes.append(_route(self.vpc_ns, None, self.bridge_of[nat.subnet_id], via=nat.private_ip,
                                    table=PRIVATE_TABLE))

    def load_balancers(self) -> None:
        ns = f"{self.tag}-lb"
        nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
               ":POSTROUTING ACCEPT [0:0]"]
        dev = 0
        default = None
        for k, lb in enumerate(self.fabric.load_balancers.values()):
            mark = 1 << k
            self.lb_marks[lb.service] = mark
            for address in lb.private_ips:
                subnet = next(s for s in self.cluster.subnets if address in s.cidr)
                name = f"eth{dev}"
                self.port(ns, name, mac_address(self.tag, lb.service, str(address)), subnet.id, f"lb{k}e{dev}",
                          lb.label, None)
                # no subnet route: a load balancer reaches its targets through the VPC, which then knows to
                # return their replies to it
                self.addresses.append(LabAddress(ns, name, address, subnet.cidr.prefixlen, noprefixroute=True))
                self.routes.append(_route(ns, subnet.router, name, scope="link"))
                if default is None:
                    default = (name, subnet.router)
                dev += 1
            nat += _load_balancer_rules(lb)
        nat.append("COMMIT")
        self.namespaces.append(LabNamespace(ns, "load-balancer", ", ".join(self.fabric.load_balancers),
                                            "", _sysctls(ROUTER_SYSCTLS), "\n".join(nat) + "\n"))
        if default is not None:
            self.routes.append(_route(ns, None, default[0], via=default[1]))

    # -- the VPC's rules: route tables, the internet gateway, the source/destination check, load balancer returns
    def vpc_rules(self) -> None:
        fabric, ns = self.fabric, self.vpc_ns
        for cidr in self.cluster.vpc.cidrs:
            self.rules.append(LabRule(ns, VPC_LOCAL_PRIORITY, 254, dst=cidr))
        for subnet in self.cluster.subnets:
            if not subnet.public:
                self.rules.append(LabRule(ns, PRIVATE_PRIORITY, PRIVATE_TABLE, src=subnet.cidr))
        mangle = ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                  ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]"]
        for k, lb in enumerate(fabric.load_balancers.values()):
            mark = self.lb_marks[lb.service]
            table = LB_RETURN_TABLE + k
            for link in self.links:
                if link.ns_b == ns and link.name_b.startswith(f"lb{k}e"):
                    mangle.append(f"-A PREROUTING -m mac --mac-source {link.mac_a.upper()} -m conntrack --ctstate "
                                  f"NEW -m comment --comment \"{lb.label}: a connection it opened\" -j CONNMARK "
                                  f"--set-xmark {mark:#x}/{mark:#x}")
            mangle.append(f"-A PREROUTING -m connmark --mark {mark:#x}/{mark:#x} -m conntrack --ctdir REPLY -m "
                          f"comment --comment \"{lb.label}: replies go back to it\" -j MARK --set-xmark "
                          f"{mark:#x}/{mark:#x}")
            self.rules.append(LabRule(ns, LB_RETURN_PRIORITY, table, fwmark=(mark, mark)))
            first = lb.private_ips[0]
            subnet = next(s for s in self.cluster.subnets if first in s.cidr)
            self.routes.append(_route(ns, None, self.bridge_of[subnet.id], via=first, table=table))
        mangle.append("COMMIT")
        nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
               ":POSTROUTING ACCEPT [0:0]"]
        filt = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
        mapped = [(private, public) for private, public in fabric.public_ips.items()]
        mapped += [(lb.private_ips[0], lb.public_ip) for lb in fabric.load_balancers.values() if lb.public_ip]
        for private, public in mapped:
            nat.append(f"-A PREROUTING -d {public}/32 -i igw+ -m comment --comment \"internet gateway\" "
                       f"-j DNAT --to-destination {private}")
            nat.append(f"-A POSTROUTING -s {private}/32 -o igw+ -m comment --comment \"internet gateway\" "
                       f"-j SNAT --to-source {public}")
            filt.append(f"-A FORWARD -s {private}/32 -o igw+ -j ACCEPT")
        if fabric.nat_gateway is not None:
            filt.append(f"-A FORWARD -s {fabric.nat_gateway.elastic_ip}/32 -o igw+ -j ACCEPT")
        filt.append("-A FORWARD -o igw+ -m comment --comment \"internet gateway: no public IPv4 address\" -j DROP")
        nat.append("COMMIT")
        filt.append("COMMIT")
        ebt = ["*filter", ":INPUT ACCEPT", ":FORWARD ACCEPT", ":OUTPUT ACCEPT", *self.ebtables]
        self.namespaces.insert(0, LabNamespace(
            ns, "vpc", self.cluster.vpc.id, "", _sysctls(ROUTER_SYSCTLS, **{
                "net.bridge.bridge-nf-call-iptables": "0", "net.bridge.bridge-nf-call-arptables": "0"}),
            "\n".join(mangle + nat + filt) + "\n", "\n".join(ebt) + "\n"))


def _route(ns: str, dst: IPv4Network | IPv4Address | None, dev: str, via: IPv4Address | None = None,
           scope: str | None = None, table: int = 254) -> LabRoute:
    if isinstance(dst, IPv4Address):
        dst = IPv4Network(f"{dst}/32")
    return LabRoute(ns, Route(dst, dev, via=via, scope=scope), table)


def _src_dst_check(port: str, holds: tuple[IPv4Network, ...], what: str) -> list[str]:
    """EC2's source/destination check on one ENI's bridge port, as ebtables chains: out of the port only the
    addresses it holds, into it only those (EC2 User Guide, "Source/destination checking")."""
    out, into = f"SDC-{port}-OUT", f"SDC-{port}-IN"
    lines = [f":{out} RETURN", f":{into} RETURN"]
    # unicast only: EC2 has no broadcast or multicast inside a subnet to check (the lab's bridge still floods
    # the kernel's own IGMP and ARP broadcasts, which no ENI's check should count)
    for chain in ("FORWARD", "INPUT"):
        lines.append(f"-A {chain} -p IPv4 -d Unicast -i {port} -j {out}")
    for chain in ("FORWARD", "OUTPUT"):
        lines.append(f"-A {chain} -p IPv4 -d Unicast -o {port} -j {into}")
    for net in holds:
        lines.append(f"-A {out} -p IPv4 --ip-src {net} -j RETURN")
        lines.append(f"-A {into} -p IPv4 --ip-dst {net} -j RETURN")
    lines.append(f"-A {out} -j DROP")
    lines.append(f"-A {into} -j DROP")
    return lines


def _load_balancer_rules(lb: LoadBalancer) -> list[str]:
    """A load balancer's DNAT to its healthy targets (equal shares, as kube-proxy writes them), and its SNAT to
    its own address, from a port of its own choosing, where the target is not to see the client's (a CLB opens
    its own connection; an NLB without client IP preservation translates the source)."""
    healthy = [t for t in lb.targets if t.healthy]
    if not healthy:
        raise EkslibError(f"{lb.label} has no healthy target to send to")
    lines = []
    proto = lb.protocol
    for i, target in enumerate(healthy):
        left = len(healthy) - i
        chance = "" if left == 1 else f"-m statistic --mode random --probability {1 / left:.11f} "
        for address in lb.private_ips:
            lines.append(f"-A PREROUTING -d {address}/32 -p {proto} -m {proto} --dport {lb.port} {chance}"
                         f"-m comment --comment \"{lb.label}\" -j DNAT --to-destination {target.address}:"
                         f"{target.port}")
    if lb.proxy or not lb.preserve_client_ip:
        for address in lb.private_ips:
            lines.append(f"-A POSTROUTING -m conntrack --ctstate DNAT --ctorigdst {address}/32 -m comment "
                         f"--comment \"{lb.label}: the target sees the load balancer\" -j SNAT --to-source "
                         f"{address} --random-fully")
    return lines
