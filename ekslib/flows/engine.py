"""The packet-tracing engine: :func:`trace` follows one packet, and its reply, through pods, nodes and the VPC.

It interprets the real thing at every step, as the kernel and EC2 do (no scenario is known to it):

* in a pod's namespace: the routing decision on the pod's routes (``default via 169.254.1.1``), the static
  neighbour entry, out of ``eth0`` and across the veth to the host;
* on a node: netfilter's hooks in kernel order on the node's rules -- what :func:`ekslib.dataplane.node_ruleset`
  generates (the VPC CNI's and kube-proxy's), or a pasted ``iptables-save`` -- with connection tracking between
  raw and mangle, the routing decision on the node's policy rules (512, 1024, 1536, 32765) and route tables
  (:func:`ekslib.linux.routing.route`, with the packet's mark), then FORWARD or INPUT, then POSTROUTING;
  locally generated packets (a host-network pod) take OUTPUT and are routed again when their mark or address
  changed (``ip_route_me_harder``);
* in the VPC (:mod:`ekslib.flows.vpc`): EC2's source/destination check on the ENI the packet leaves by, the
  subnet's route table, the ENI that holds the destination, the internet gateway's 1:1 NAT, the NAT gateway;
* the reply starts at the receiver, addressed back to the source it saw, and meets the same conntrack tables, so
  every translation is undone where the kernel undoes it (de-SNAT in PREROUTING, de-DNAT in POSTROUTING).

Hook order and conntrack placement: ``net/netfilter`` priorities (raw -300, conntrack -200, mangle -150, nat
-100 / +100, filter 0); dataplane.md section 1.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from ekslib.cluster.model import Cluster, Eni, Node, Pod
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.errors import EkslibError, suggest
from ekslib.flows.conntrack import ConntrackTable
from ekslib.flows.flow import Address, Flow, Hop, Where
from ekslib.flows.netfilter_walk import EPHEMERAL_PORTS, Packet, Walk, run_hook
from ekslib.flows.vpc import VpcFabric
from ekslib.flows.world import NodeView, World, world_of
from ekslib.linux.netfilter import Ruleset
from ekslib.linux.routing import route

#: How many hops a packet may take before the engine calls it a loop (Linux's default TTL is 64).
MAX_HOPS = 400


@dataclass
class Endpoint:
    """One end of a flow: a pod, a node (its host network) or a host outside the VPC, and its address."""

    kind: str  # "pod", "node", "outside"
    name: str
    address: Address
    node: str = ""

    @property
    def label(self) -> str:
        return {"pod": f"pod {self.name}", "node": f"node {self.name}"}.get(self.kind, self.name)


@dataclass
class _Result:
    delivered: bool
    reason: str = ""
    receiver: Endpoint | None = None
    seen_src: Address | None = None
    seen_dst: Address | None = None


@dataclass
class Tracer:
    """One trace: the world, the seeded generator, conntrack tables and the hops recorded so far."""

    world: World
    protocol: str
    rng: random.Random
    prefer: IPv4Address | None = None
    hops: list[Hop] = field(default_factory=list)
    conntrack: dict[str, ConntrackTable] = field(default_factory=dict)
    recent: dict = field(default_factory=dict)
    probabilities: dict[str, float] = field(default_factory=dict)
    translations: list[str] = field(default_factory=list)
    evaluated: int = 0
    direction: str = "request"
    lb_target: str | None = None
    notes: list[str] = field(default_factory=list)
    _steps: int = 0

    def step(self) -> int:
        self._steps += 1
        if self._steps > MAX_HOPS:
            raise _Loop()
        return self._steps

    def hop(self, where: Where, kind: str, packet: Packet, **kw) -> None:
        self.hops.append(Hop(self.step(), where, kind, packet.src, packet.dst, direction=self.direction,
                             mark=packet.mark, **kw))

    def table(self, zone: str) -> ConntrackTable:
        return self.conntrack.setdefault(zone, ConntrackTable(zone))

    # ------------------------------------------------------------------------------------------- a node
    def _walk(self, view: NodeView, in_iface: str | None = None, out_iface: str | None = None) -> Walk:
        return Walk(view.zone, view.dataplane.host, view.ruleset, self.rng, self.step, self.hops,
                    self.direction, in_iface, out_iface, self.recent, prefer=self.prefer)

    def _finish(self, walk: Walk) -> None:
        self.evaluated += walk.evaluated
        for label, p in walk.probabilities.items():
            self.probabilities[label] = self.probabilities.get(label, 0.0) + p
        self.translations += walk.translations

    def _track(self, view: NodeView, packet: Packet, where: Where) -> None:
        """Conntrack (priority -200): find the packet's connection, or make one."""
        table = self.table(view.zone)
        conn, direction = table.find(packet.protocol, packet.src, packet.dst)
        if conn is None:
            conn, direction = table.new(packet.protocol, packet.src, packet.dst), "original"
            self.hop(where, "conntrack", packet, action="new connection (NEW)")
        else:
            if direction == "reply":
                conn.seen_reply = True
            self.hop(where, "conntrack", packet, action=f"{direction} direction of a tracked connection",
                     rule=conn.entry().text())
        packet.conn, packet.direction = conn, direction

    def _undo_nat(self, view: NodeView, packet: Packet, where: Where, manip: str) -> None:
        """The reply's translation from the connection: ``dst`` (in PREROUTING / OUTPUT) or ``src`` (POSTROUTING)."""
        conn = packet.conn
        if conn is None or packet.direction != "reply":
            return
        if manip == "dst" and conn.snatted and packet.dst != conn.original_src:
            rewrite = f"dst {packet.dst} -> {conn.original_src}"
            packet.dst = conn.original_src
            self.translations.append(f"de-SNAT at {view.zone}: {rewrite}")
            self.hop(where, "conntrack", packet, action="de-SNAT (reply)", rewrite=rewrite, changed=("dst",),
                     rule=conn.entry().text())
        if manip == "src" and conn.dnatted and packet.src != conn.original_dst:
            rewrite = f"src {packet.src} -> {conn.original_dst}"
            packet.src = conn.original_dst
            self.translations.append(f"de-DNAT at {view.zone}: {rewrite}")
            self.hop(where, "conntrack", packet, action="de-DNAT (reply)", rewrite=rewrite, changed=("src",),
                     rule=conn.entry().text())

    def _route(self, view: NodeView, packet: Packet, where: Where):
        decision = route(view.dataplane.host, packet.dst.ip, src=packet.src.ip, fwmark=packet.mark,
                         rules=view.dataplane.rules, tables=view.dataplane.tables)
        self.hop(where, "policy-rule", packet, rule=decision.rule_text or "(no rule matched)",
                 action=f"lookup {decision.table}" if decision.table is not None else "unreachable")
        if decision.reachable:
            self.hop(where, "route", packet, rule=decision.text(),
                     action="local delivery" if decision.local else f"out of {decision.device}")
        return decision

    def node_in(self, view: NodeView, iface: str, packet: Packet):
        """A packet arriving on ``iface`` (a host veth or an ENI) of a node."""
        zone = view.zone
        walk = self._walk(view, in_iface=iface)
        verdict = run_hook(walk, "PREROUTING", packet, ("raw",))
        if verdict == "ACCEPT":
            self._track(view, packet, Where(zone, iface, "PREROUTING", "", "conntrack"))
            verdict = run_hook(walk, "PREROUTING", packet, ("mangle",))
        if verdict == "ACCEPT":
            self._undo_nat(view, packet, Where(zone, iface, "PREROUTING", "nat"), "dst")
            verdict = run_hook(walk, "PREROUTING", packet, ("nat",))
        self._finish(walk)
        if verdict != "ACCEPT":
            return self._drop(verdict, zone, packet)
        decision = self._route(view, packet, Where(zone, iface, "routing"))
        if not decision.reachable:
            return _Result(False, f"no route to {packet.dst.ip} on {zone}")
        if decision.local:
            walk = self._walk(view, in_iface=iface)
            verdict = run_hook(walk, "INPUT", packet, ("mangle", "filter"))
            if verdict == "ACCEPT":  # a reply to a local process: its source restored at LOCAL_IN (nat, +100)
                self._undo_nat(view, packet, Where(zone, iface, "INPUT", "nat"), "src")
                verdict = run_hook(walk, "INPUT", packet, ("nat",))
            self._finish(walk)
            if verdict != "ACCEPT":
                return self._drop(verdict, zone, packet)
            return self._deliver_host(view, packet)
        walk = self._walk(view, in_iface=iface, out_iface=decision.device)
        verdict = run_hook(walk, "FORWARD", packet)
        self._finish(walk)
        if verdict != "ACCEPT":
            return self._drop(verdict, zone, packet)
        self.hop(Where(zone, iface, "FORWARD"), "forward", packet, action=f"forward {iface} -> {decision.device}")
        return self.node_out(view, packet, decision.device, in_iface=iface, gateway=decision.gateway)

    def node_send(self, view: NodeView, packet: Packet):
        """A packet a process of the node sends (the node itself, or a host-network pod)."""
        zone = view.zone
        where = Where(zone, "", "routing")
        decision = self._route(view, packet, where)
        if not decision.reachable:
            return _Result(False, f"no route to {packet.dst.ip} on {zone}")
        walk = self._walk(view, out_iface=decision.device)
        verdict = run_hook(walk, "OUTPUT", packet, ("raw",))
        if verdict == "ACCEPT":
            self._track(view, packet, Where(zone, "", "OUTPUT", "", "conntrack"))
            self._undo_nat(view, packet, Where(zone, "", "OUTPUT", "nat"), "dst")
            mark, dst = packet.mark, packet.dst
            verdict = run_hook(walk, "OUTPUT", packet, ("mangle", "nat", "filter"))
            if verdict == "ACCEPT" and (packet.mark != mark or packet.dst != dst):
                decision = self._route(view, packet, Where(zone, "", "routing", "", "reroute"))
        self._finish(walk)
        if verdict != "ACCEPT":
            return self._drop(verdict, zone, packet)
        if decision.local:
            return self._deliver_host(view, packet)
        return self.node_out(view, packet, decision.device, in_iface=None, gateway=decision.gateway)

    def node_out(self, view: NodeView, packet: Packet, device: str, in_iface: str | None,
                 gateway: IPv4Address | None = None):
        zone = view.zone
        walk = self._walk(view, in_iface=in_iface, out_iface=device)
        verdict = run_hook(walk, "POSTROUTING", packet, ("mangle",))
        if verdict == "ACCEPT":
            self._undo_nat(view, packet, Where(zone, device, "POSTROUTING", "nat"), "src")
            verdict = run_hook(walk, "POSTROUTING", packet, ("nat",))
        self._finish(walk)
        if verdict != "ACCEPT":
            return self._drop(verdict, zone, packet)
        interface = view.dataplane.host.interface(device)
        if interface is not None and interface.kind == "bridge":
            # the bridge forwards to the port that answers ARP for the destination (the CNI bridge plugin)
            veth = next((v for v in view.dataplane.veths if v.bridge == device and v.address == packet.dst.ip), None)
            if veth is None:
                self.hop(Where(zone, device), "drop", packet, action="DROP", rule="no neighbour answers ARP")
                return _Result(False, f"no port of bridge {device} on {zone} has {packet.dst.ip}")
            self.hop(Where(zone, device), "bridge", packet, action=f"ARP {packet.dst.ip} -> port {veth.host_name}",
                     rule=f"{device}: {veth.pod_mac} via {veth.host_name}")
            device = veth.host_name
        if interface is not None and interface.kind == "vxlan":
            return self.encapsulate(view, interface.name, packet, gateway)
        veth = view.veth_by_host.get(device)
        if veth is not None:
            self.hop(Where(zone, device), "veth", packet, action=f"{device} -> {veth.pod} eth0")
            if veth.address != packet.dst.ip:
                return _Result(False, f"pod {veth.pod} does not have {packet.dst.ip}")
            return self._deliver(Endpoint("pod", veth.pod, Address(veth.address), view.name), packet,
                                 Where(f"pod {veth.pod}", "eth0"))
        eni = view.eni_by_iface.get(device)
        if eni is None:
            return _Result(False, f"{zone}: device {device} is neither a pod's veth nor an ENI")
        return self.eni_out(view, eni, packet)

    def encapsulate(self, view: NodeView, device: str, packet: Packet, gateway: IPv4Address | None):
        """Out of a VXLAN device: the neighbour entry gives the remote device's MAC, the forwarding database the
        remote node; the packet leaves the node inside UDP from this node's address (RFC 7348)."""
        from ekslib.dataplane.overlay import VXLAN_OVERHEAD, VXLAN_PORT, vtep_of

        found = vtep_of(view.dataplane, gateway) if gateway is not None else None
        where = Where(view.zone, device)
        if found is None:
            self.hop(where, "drop", packet, action="DROP", rule=f"no neighbour for {gateway} on {device}")
            return _Result(False, f"{device} on {view.zone} has no tunnel endpoint for {gateway}")
        neigh, fdb = found
        local = view.dataplane.host.interface("eth0").addresses[0].split("/")[0]
        outer = Packet(Address(IPv4Address(local), self.rng.randint(*EPHEMERAL_PORTS)), Address(fdb.dst, VXLAN_PORT),
                       "udp", inner=packet)
        mtu = view.dataplane.host.interface(device).mtu
        self.hop(where, "encapsulate", outer, rule=f"{neigh.text()}; {fdb.text()}",
                 action=f"VXLAN: inner {packet.src} -> {packet.dst} inside UDP {outer.src} -> {outer.dst}",
                 note=f"+{VXLAN_OVERHEAD} bytes (outer Ethernet 14, IPv4 20, UDP 8, VXLAN 8): the pod MTU is {mtu}, "
                      f"eth0's {mtu + VXLAN_OVERHEAD}", changed=("src", "dst"))
        return self.node_send(view, outer)

    def _deliver_host(self, view: NodeView, packet: Packet):
        if packet.inner is not None:
            tunnel = next((i for i in view.dataplane.host.interfaces if i.kind == "vxlan"), None)
            if tunnel is not None:
                inner = packet.inner
                self.hop(Where(view.zone, tunnel.name), "decapsulate", inner,
                         action=f"VXLAN: UDP {packet.src} -> {packet.dst} carried {inner.src} -> {inner.dst}",
                         changed=("src", "dst"))
                return self.node_in(view, tunnel.name, inner)
        node = self.world.cluster.node(view.name)
        return self._deliver(Endpoint("node", node.name, Address(packet.dst.ip), node.name), packet,
                             Where(view.zone, "", "INPUT"))

    def _deliver(self, receiver: Endpoint, packet: Packet, where: Where):
        self.hop(where, "deliver", packet, action=f"delivered to {receiver.label}")
        return _Result(True, receiver=receiver, seen_src=packet.src, seen_dst=packet.dst)

    def _drop(self, verdict, zone: str, packet: Packet | None = None):
        """A netfilter verdict other than ACCEPT. The connection a dropped first packet opened in this zone is
        never confirmed (nf_conntrack confirms an entry only when its first packet leaves the last hook), so it
        leaves no entry: the kernel's ``conntrack -L`` shows nothing for it, as the real-kernel lab observed."""
        conn = getattr(packet, "conn", None)
        if conn is not None and packet.direction == "original" and conn.zone == zone and not conn.seen_reply:
            table = self.table(zone)
            if conn in table.connections:
                table.connections.remove(conn)
        rule = verdict.rule.text if getattr(verdict, "rule", None) is not None else verdict.where
        last = self.hops[-1] if self.hops else None
        where = last.where if last is not None else Where(zone)
        src, dst = (last.src, last.dst) if last else (Address(IPv4Address(0)), Address(IPv4Address(0)))
        self.hops.append(Hop(self.step(), where, "drop", src, dst, rule=rule, action=str(verdict),
                             direction=self.direction))
        return _Result(False, f"{verdict} on {zone} by {rule}")

    # ------------------------------------------------------------------------------------------- a pod
    def pod_send(self, pod: Pod, packet: Packet):
        view = self.world.node(pod.node)
        ns = view.dataplane.namespace(pod.key)
        where = Where(f"pod {pod.key}", "eth0")
        self.hop(where, "send", packet, action="send")
        decision = route(ns, packet.dst.ip, src=packet.src.ip)
        self.hop(where, "route", packet, rule=decision.text(),
                 action="local delivery" if decision.local else f"out of {decision.device}")
        if not decision.reachable:
            return _Result(False, f"no route in pod {pod.key}")
        if decision.local:  # to the pod's own address: it never leaves the pod's namespace
            return self._deliver(Endpoint("pod", pod.key, Address(packet.dst.ip), pod.node), packet, where)
        neigh = next((n for n in ns.neighbours if n.address == decision.gateway), None)
        if neigh is not None:
            self.hop(where, "neighbour", packet, rule=neigh.text(), action=f"to {neigh.lladdr}")
        veth = view.dataplane.veth(pod.key)
        self.hop(Where(f"pod {pod.key}", "eth0"), "veth", packet, action=f"eth0 -> {veth.host_name} on {view.name}")
        return self.node_in(view, veth.host_name, packet)

    # ------------------------------------------------------------------------------------------- the VPC
    def eni_out(self, view: NodeView, eni: Eni, packet: Packet):
        where = Where("vpc", eni.id)
        self.hop(Where(view.zone, eni.interface), "eni", packet, action=f"out of {eni.interface} ({eni.id})")
        if not _holds(eni, packet.src.ip):
            self.hops.append(Hop(self.step(), where, "drop", packet.src, packet.dst,
                                 rule="EC2 source/destination check", action="DROP", direction=self.direction))
            return _Result(False, f"EC2's source/destination check: {eni.id} ({eni.interface} of {view.name}) does "
                                  f"not hold {packet.src.ip}, so the VPC drops the packet")
        self.hop(where, "src-dst-check", packet, rule="EC2 source/destination check",
                 action=f"{eni.id} holds {packet.src.ip}: pass")
        for lb in self.world.fabric.load_balancers.values():
            conn, direction = self.table(f"LB {lb.service}").find(packet.protocol, packet.src, packet.dst)
            if conn is not None and direction == "reply":
                # the VPC returns a load-balanced flow through its load balancer (NLB client IP preservation)
                return self.load_balancer(lb, packet, steered=True)
        return self.vpc_route(self.world.cluster.subnet(eni.subnet_id), packet)

    def load_balancer(self, lb, packet: Packet, steered: bool = False):
        """A packet at a load balancer: a new flow goes to a healthy target (DNAT, and SNAT to the load balancer's
        own address unless it keeps the client's), a reply is translated back."""
        where = Where(lb.label, "", "", "", lb.scheme)
        table = self.table(f"LB {lb.service}")
        conn, direction = table.find(packet.protocol, packet.src, packet.dst)
        subnet = self.world.cluster.subnet_of_address(lb.private_ips[0])
        if conn is not None and direction == "reply":
            conn.seen_reply = True
            old = f"{packet.src} -> {packet.dst}"
            packet.src, packet.dst = conn.original_dst, conn.original_src
            rewrite = f"{old} becomes {packet.src} -> {packet.dst}"
            self.translations.append(f"{lb.label}, reply: {rewrite}")
            self.hop(where, "load-balancer", packet, action="reply through the load balancer" +
                     (" (steered back by the VPC)" if steered else ""), rewrite=rewrite, changed=("src", "dst"))
            return self.vpc_route(subnet, packet)
        if packet.dst.ip not in lb.private_ips or packet.dst.port != lb.port:
            self.hop(where, "drop", packet, action="DROP", rule=f"listener {lb.protocol.upper()}:{lb.port}")
            return _Result(False, f"{lb.label} has no listener on {packet.dst}")
        healthy = [tg for tg in lb.targets if tg.healthy] or list(lb.targets)  # all unhealthy: NLBs fail open
        for tg in lb.targets:
            self.notes.append(f"{lb.label} health check of {tg.address}:{tg.port}: {tg.check}")
        if not healthy:
            self.hop(where, "drop", packet, action="DROP", rule="no registered target")
            return _Result(False, f"{lb.label} has no target")
        wanted = self.lb_target
        preferred = [tg for tg in healthy if wanted is not None and wanted in (str(tg.address), tg.node)]
        target = (preferred or healthy)[0] if preferred else healthy[self.rng.randrange(len(healthy))]
        for tg in healthy:
            self.probabilities[f"{lb.label} -> {tg.address}:{tg.port}"] = 1 / len(healthy)
        conn = table.new(packet.protocol, packet.src, packet.dst)
        new_dst = Address(target.address, target.port)
        new_src = packet.src if lb.preserve_client_ip else Address(lb.private_ips[0],
                                                                   self.rng.randint(1024, 65535))
        rewrite = f"dst {packet.dst} -> {new_dst}"
        if new_src != packet.src:
            rewrite += f"; src {packet.src} -> {new_src}"
        packet.dst, packet.src = new_dst, new_src
        conn.dnat(new_dst)
        conn.snat(new_src)
        how = "proxy: a new connection to" if lb.proxy else "to"
        keeps = "keeps the client's address" if lb.preserve_client_ip else "from its own address"
        self.translations.append(f"{lb.label}: {rewrite}")
        self.hop(where, "load-balancer", packet, action=f"{how} target {new_dst} ({keeps})", rewrite=rewrite,
                 changed=("dst",) if new_src == conn.original_src else ("src", "dst"),
                 rule=f"listener {lb.protocol.upper()}:{lb.port}; healthy: "
                      + ", ".join(f"{tg.address}:{tg.port}" for tg in healthy),
                 note="; ".join(f"{tg.address}: {tg.check}" for tg in lb.targets))
        return self.vpc_route(subnet, packet)

    def vpc_route(self, subnet, packet: Packet):
        fabric = self.world.fabric
        r = fabric.route(packet.dst.ip, subnet)
        where = Where("vpc", subnet.id, "", f"route table of {subnet.id}")
        if r is None:
            self.hop(where, "drop", packet, rule="(no route)", action="DROP")
            return _Result(False, f"the route table of {subnet.id} has no route to {packet.dst.ip}")
        self.hop(where, "vpc-route", packet, rule=r.text(), action=f"to {r.target}")
        if r.target == "local":
            kind, eni = fabric.holder(packet.dst.ip)
            if kind == "eni":
                view = self.world.node(eni.node)
                self.hop(Where("vpc", eni.id), "src-dst-check", packet, rule="EC2 source/destination check",
                         action=f"{eni.id} holds {packet.dst.ip}: deliver to {eni.interface} of {eni.node}")
                return self.node_in(view, eni.interface, packet)
            if kind == "load-balancer":
                return self.load_balancer(fabric.load_balancer_at(packet.dst.ip), packet)
            if kind == "control-plane":
                return self._deliver(Endpoint("outside", "EKS control plane", Address(packet.dst.ip)), packet,
                                     Where("EKS control plane ENI"))
            self.hop(where, "drop", packet, rule=r.text(), action="DROP")
            return _Result(False, f"no ENI in the VPC holds {packet.dst.ip}: nothing receives it")
        if r.target == "pcx":
            self.hop(Where("peering connection"), "vpc-route", packet, rule=r.text(), action="across the peering")
            return self._outside(packet)
        if r.target == "nat":
            return self.nat_gateway_out(packet)
        return self.igw_out(packet)

    def igw_out(self, packet: Packet):
        fabric = self.world.fabric
        where = Where("internet gateway")
        if fabric.private_ip_of(packet.src.ip) is None and not _is_public(fabric, packet.src.ip):
            public = fabric.public_ip_of(packet.src.ip)
            if public is None:
                self.hop(where, "drop", packet, rule="1:1 NAT of public IPv4 addresses", action="DROP")
                return _Result(False, f"the internet gateway translates only addresses that have a public IPv4 "
                                      f"address; {packet.src.ip} has none, so the packet cannot leave the VPC")
            rewrite = f"src {packet.src} -> {packet.src.with_ip(public)}"
            packet.src = packet.src.with_ip(public)
            self.translations.append(f"internet gateway: {rewrite}")
            self.hop(where, "internet-gateway", packet, action="1:1 NAT", rewrite=rewrite, changed=("src",))
        else:
            self.hop(where, "internet-gateway", packet, action="forward (already public)")
        return self._outside(packet)

    def nat_gateway_out(self, packet: Packet):
        nat = self.world.fabric.nat_gateway
        assert nat is not None
        where = Where(f"NAT gateway {nat.id}", nat.subnet_id)
        table = self.table(f"NAT gateway {nat.id}")
        conn = table.new(packet.protocol, packet.src, packet.dst)
        new = Address(nat.elastic_ip, self.rng.randint(1024, 65535) if packet.src.port is not None else None)
        rewrite = f"src {packet.src} -> {new}"
        conn.snat(new)
        packet.src = new
        self.translations.append(f"NAT gateway {nat.id}: {rewrite}")
        self.hop(where, "nat-gateway", packet, action="SNAT to its Elastic IP", rewrite=rewrite, changed=("src",),
                 rule=conn.entry().text())
        return self.igw_out(packet)

    def _outside(self, packet: Packet):
        fabric = self.world.fabric
        name = fabric.host_name(packet.dst.ip) or f"host {packet.dst.ip}"
        return self._deliver(Endpoint("outside", name, Address(packet.dst.ip)), packet, Where(name))

    def outside_send(self, packet: Packet, origin: str):
        """A packet from a host outside the VPC (the internet, or the peered VPC)."""
        fabric = self.world.fabric
        self.hop(Where(origin), "send", packet, action="send")
        nat = fabric.nat_gateway
        if nat is not None and packet.dst.ip == nat.elastic_ip:
            self.hop(Where("internet gateway"), "internet-gateway", packet, action="to the NAT gateway's EIP")
            table = self.table(f"NAT gateway {nat.id}")
            conn, direction = table.find(packet.protocol, packet.src, packet.dst)
            where = Where(f"NAT gateway {nat.id}", nat.subnet_id)
            if conn is None or direction != "reply":
                self.hop(where, "drop", packet, action="DROP", rule="no connection")
                return _Result(False, "a NAT gateway accepts no connection from outside")
            rewrite = f"dst {packet.dst} -> {conn.original_src}"
            packet.dst = conn.original_src
            conn.seen_reply = True
            self.translations.append(f"de-SNAT at NAT gateway {nat.id}: {rewrite}")
            self.hop(where, "nat-gateway", packet, action="de-SNAT (reply)", rewrite=rewrite, changed=("dst",))
            return self.vpc_route(self.world.cluster.subnet(nat.subnet_id), packet)
        private = fabric.private_ip_of(packet.dst.ip)
        if private is not None:
            rewrite = f"dst {packet.dst} -> {packet.dst.with_ip(private)}"
            packet.dst = packet.dst.with_ip(private)
            self.translations.append(f"internet gateway: {rewrite}")
            self.hop(Where("internet gateway"), "internet-gateway", packet, action="1:1 NAT", rewrite=rewrite,
                     changed=("dst",))
            kind, eni = fabric.holder(private)
            if kind == "eni":
                return self.vpc_route(self.world.cluster.subnet(eni.subnet_id), packet)
            if kind == "load-balancer":
                return self.load_balancer(fabric.load_balancer_at(private), packet)
        if self.world.cluster.vpc.contains(packet.dst.ip) and origin.startswith("peered"):
            kind, eni = fabric.holder(packet.dst.ip)
            self.hop(Where("peering connection"), "vpc-route", packet, action="across the peering")
            if kind == "eni":
                return self.vpc_route(self.world.cluster.subnet(eni.subnet_id), packet)
        self.hop(Where("internet"), "drop", packet, action="DROP")
        return _Result(False, f"{packet.dst.ip} is not reachable from {origin}: only public addresses are")


class _Loop(Exception):
    pass


def _holds(eni: Eni, address: IPv4Address) -> bool:
    return address == eni.primary_ip or address in eni.secondary_ips or any(address in p for p in eni.prefixes)


def _is_public(fabric: VpcFabric, address: IPv4Address) -> bool:
    return address in fabric.public_ips.values() or (fabric.nat_gateway is not None
                                                     and address == fabric.nat_gateway.elastic_ip)


# ----------------------------------------------------------------------------------------------- resolving


def resolve(world: World, what: str) -> Endpoint:
    """A source or destination: a pod (``namespace/name``), a node name, an outside host (``internet``,
    ``client``, ``peered-vpc``), an address or ``address:port``."""
    cluster = world.cluster
    if not isinstance(what, str) or not what.strip():
        raise EkslibError(f"{what!r} is not a pod, node, outside host or address")
    text = what.strip()
    found = cluster.find(text)
    if isinstance(found, Pod):
        return _pod_endpoint(found, world)
    if isinstance(found, Node):
        return Endpoint("node", found.name, Address(found.address), found.name)
    if text in world.fabric.hosts:
        return Endpoint("outside", text, Address(world.fabric.hosts[text]))
    if text[:1].isdigit():
        address = Address.parse(text)
        pods = [p for p in cluster.pods_at_address(address.ip) if not p.host_network]
        if pods:
            return Endpoint("pod", pods[0].key, address, pods[0].node)
        node = next((n for n in cluster.nodes if n.address == address.ip), None)
        if node is not None:
            return Endpoint("node", node.name, address, node.name)
        lb = world.fabric.load_balancer_at(world.fabric.private_ip_of(address.ip) or address.ip)
        service = cluster.address_info(address.ip).service if cluster.service_cidr.overlaps(
            IPv4Network(f"{address.ip}/32")) else ""
        name = (world.fabric.host_name(address.ip) or (lb.label if lb else "")
                or (f"service {service}" if service else f"host {address.ip}"))
        return Endpoint("outside" if not cluster.vpc.contains(address.ip) else "address", name, address)
    names = [p.key for p in cluster.pods] + [n.name for n in cluster.nodes] + list(world.fabric.hosts)
    hint = suggest(text, names, n=3)
    hosts = ", ".join(world.fabric.hosts)
    raise EkslibError(f"{text!r} is not a pod (namespace/name), node, outside host ({hosts}) or address of cluster "
                      f"{cluster.name!r}" + (f"; did you mean {', '.join(hint)}?" if hint else ""))


def _pod_endpoint(pod: Pod, world: World) -> Endpoint:
    if pod.host_network:
        return Endpoint("node", pod.node, Address(pod.address), pod.node)
    return Endpoint("pod", pod.key, Address(world.pod_address(pod.key)), pod.node)


# ----------------------------------------------------------------------------------------------- trace


def trace(cluster: Cluster, source: str, destination: str, *, protocol: str = "tcp", port: int | None = None,
          rules: dict[str, Ruleset | str] | None = None, seed: int = 0, cni: VpcCniSettings | None = None,
          endpoint: str | None = None, scenario: str = "", overlay: bool = False,
          target: str | None = None) -> Flow:
    """Follow a packet from ``source`` to ``destination`` and its reply back, hop by hop.

    ``source``/``destination``: a pod ``namespace/name``, a node name, an outside host (``internet``,
    ``client``, ``peered-vpc``), an address or ``address:port``; ``port`` sets the destination port (default 80
    for TCP, 53 for UDP when not given in ``address:port``). ``rules`` maps node names to rulesets (parsed or
    ``iptables-save`` text) that replace the generated ones; ``cni`` are the VPC CNI's settings; ``endpoint``
    (an address) makes a random endpoint choice land there, where the rules allow it; ``seed`` seeds every random
    choice (endpoint, source ports); ``overlay=True`` traces the same pods under flannel's VXLAN overlay instead
    of the VPC CNI (:mod:`ekslib.dataplane.overlay`), for contrast; ``target`` (a node name or address) makes a
    load balancer pick that target when it is healthy.

    A packet nobody receives is not an exception: the Flow says ``delivered=False`` and why.
    """
    from ekslib.flows.flow import check_port

    protocol = protocol.lower() if isinstance(protocol, str) else protocol
    if protocol not in ("tcp", "udp"):
        raise EkslibError(f"protocol {protocol!r} is not supported: tcp or udp")
    world = world_of(cluster, cni=cni, rules=rules, overlay=overlay)
    src, dst = resolve(world, source), resolve(world, destination)
    rng = random.Random(seed)
    dport = dst.address.port if dst.address.port is not None else (
        check_port(port) if port is not None else (53 if protocol == "udp" else 80))
    if port is not None and dst.address.port is not None and check_port(port) != dst.address.port:
        raise EkslibError(f"two destination ports: {destination!r} and port={port}")
    sport = rng.randint(*EPHEMERAL_PORTS)
    prefer = Address.parse(endpoint).ip if endpoint is not None else None
    tracer = Tracer(world, protocol, rng, prefer, lb_target=target)
    packet = Packet(src.address.with_port(sport), dst.address.with_port(dport), protocol)
    try:
        result = _send(tracer, src, packet)
    except _Loop:
        result = _Result(False, f"more than {MAX_HOPS} hops: a routing loop")
    request_hops = tuple(tracer.hops)
    reply_flow = None
    request_rules = tracer.evaluated
    if result.delivered and result.receiver is not None:
        tracer.direction, tracer.hops = "reply", []
        back = Packet(result.seen_dst, result.seen_src, protocol)
        try:
            reply = _send(tracer, result.receiver, back)
        except _Loop:
            reply = _Result(False, f"more than {MAX_HOPS} hops: a routing loop")
        reply_flow = Flow(result.receiver.label, src.label, protocol, tuple(tracer.hops), reply.delivered,
                          reply.reason, reply.seen_src, reply.seen_dst,
                          reply.receiver.label if reply.receiver else "",
                          rules_evaluated=tracer.evaluated - request_rules)
    entries = tuple(c.entry() for t in tracer.conntrack.values() for c in t.connections)
    named = dst.kind != "address" or not dst.name.startswith("host ")
    return Flow(src.label, dst.label if named else str(dst.address.ip), protocol, request_hops,
                result.delivered, result.reason, result.seen_src, result.seen_dst,
                result.receiver.label if result.receiver else "", reply_flow, entries, tuple(tracer.translations),
                dict(sorted(tracer.probabilities.items())), tracer.evaluated, scenario,
                tuple(dict.fromkeys(tracer.notes)))


def _send(tracer: Tracer, origin: Endpoint, packet: Packet) -> _Result:
    if origin.kind == "pod":
        return tracer.pod_send(tracer.world.cluster.pod(origin.name), packet)
    if origin.kind == "node":
        view = tracer.world.node(origin.node)
        tracer.hop(Where(view.zone), "send", packet, action="send")
        return tracer.node_send(view, packet)
    if origin.kind == "outside":
        return tracer.outside_send(packet, origin.name)
    raise EkslibError(f"{origin.name} holds no pod or node: nothing there can send")
