"""``with Lab(cluster) as lab:`` -- the cluster's data plane in real network namespaces, real packets through it.

>>> from ekslib.lab import Lab, lab_support
>>> ok, why = lab_support()
>>> if ok:
...     with Lab() as lab:
...         seen = lab.connect("client", "internet").seen_source
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import subprocess
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

from ekslib.cluster.model import Cluster
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.errors import EkslibError, suggest
from ekslib.flows.flow import Address, ConntrackEntry, Flow
from ekslib.lab.kernel import PREFIX, Kernel, _command, lab_support, reclaim_stale, run_in, run_many
from ekslib.lab.plan import LabPlan, lab_plan
from ekslib.lab.traffic import Attempt, Traffic, parse_conntrack

_COUNTER = itertools.count()
_OPEN: set[Lab] = set()


@dataclass(frozen=True)
class Dropped:
    """A rule whose packet counter rose: where it is and its text (``iptables-save`` / ``ebtables`` syntax)."""

    namespace: str
    stands_for: str
    rule: str
    packets: int


@dataclass
class Observation:
    """What the kernel did with one connection: delivered and to whom, the addresses the receiver saw, whether
    the client got the answer, every lab conntrack entry, and the drop rules whose counters rose."""

    attempt: Attempt
    receiver: str
    conntrack: tuple[ConntrackEntry, ...]
    dropped: tuple[Dropped, ...]

    @property
    def delivered(self) -> bool:
        return self.attempt.delivered

    @property
    def seen_source(self) -> Address | None:
        return self.attempt.source_seen

    @property
    def reply_accepted(self) -> bool:
        return self.attempt.reply_accepted


class Lab:
    """A cluster's data plane in network namespaces (see :mod:`ekslib.lab.plan` for what is built).

    ``cluster`` defaults to the Services scenarios' cluster (three nodes, a pod on a secondary ENI, a NodePort, a
    load balancer); ``cni`` are the VPC CNI's settings of every node. Everything the lab makes is named
    ``<prefix>-<pid>-<n>-...`` and removed on exit, on an exception and on Ctrl-C (KeyboardInterrupt unwinds
    the ``with``); a lab left by a killed process is removed when the next one starts.
    """

    def __init__(self, cluster: Cluster | None = None, *, cni: VpcCniSettings | None = None,
                 prefix: str = PREFIX, ports: tuple[int, ...] = (80, 8080)) -> None:
        if cluster is None:
            from ekslib.flows.scenarios import service_cluster

            cluster = service_cluster()
        if not prefix.isalpha() or not prefix.islower() or len(prefix) > 8:
            raise EkslibError(f"prefix {prefix!r}: up to 8 lower-case letters (it starts every namespace name)")
        self.cluster, self.cni, self.prefix, self.ports = cluster, cni or VpcCniSettings(), prefix, ports
        self.tag = f"{prefix}-{os.getpid()}-{next(_COUNTER)}"
        self.plan: LabPlan = lab_plan(cluster, tag=self.tag, cni=self.cni)
        self.kernel: Kernel | None = None
        self.traffic: Traffic | None = None
        self.reclaimed: list[str] = []
        self.timings: dict[str, float] = {}
        self._counters: dict[str, dict[str, int]] = {}

    # -- life cycle
    def start(self) -> Lab:
        ok, why = lab_support()
        if not ok:
            raise EkslibError(f"no lab here: {why}")
        self.reclaimed = reclaim_stale(self.prefix)
        started = time.perf_counter()
        self.kernel = Kernel(self.plan)
        _OPEN.add(self)
        try:
            self.kernel.up()
            self._start_traffic()
        except BaseException:
            self.stop()
            raise
        self.timings["up"] = time.perf_counter() - started
        return self

    def _start_traffic(self) -> None:
        receivers = {s.name: s.stands_for for s in self.plan.namespaces if s.role in ("pod", "host")}
        ports = set(self.ports)
        for svc in self.cluster.services:
            for port in svc.ports:
                if isinstance(port.target_port, int):
                    ports.add(port.target_port)
        self.traffic = Traffic(receivers, tuple(sorted(ports)))
        self.traffic.start()
        self._counters = {}  # a new lab: every counter starts at zero

    def stop(self) -> None:
        started = time.perf_counter()
        if self.traffic is not None:
            self.traffic.close()
            self.traffic = None
        if self.kernel is not None:
            self.kernel.down()
            self.kernel = None
        _OPEN.discard(self)
        self.timings["down"] = time.perf_counter() - started

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.kernel is not None

    def _need(self) -> Kernel:
        if self.kernel is None:
            raise EkslibError("the lab is not running: use `with Lab(...) as lab:` or lab.start()")
        return self.kernel

    # -- reconfiguration: same nodes, pods and addresses; other Services or VPC CNI settings
    def reconfigure(self, cluster: Cluster | None = None, *, cni: VpcCniSettings | None = None) -> None:
        """Load the rules of ``cluster`` (same nodes, ENIs and pods; other Services or annotations) and ``cni``
        settings into the running lab: every node's iptables, the VPC's and the load balancers', and policy rule
        1024 where the settings add or remove it."""
        kernel = self._need()
        cluster = cluster or self.cluster
        if _topology(cluster) != _topology(self.cluster):
            raise EkslibError("reconfigure keeps the nodes, ENIs and pods; build a new Lab for another cluster")
        new = lab_plan(cluster, tag=self.tag, cni=cni or self.cni)
        old_rules = set(self.plan.rules)
        new_rules = set(new.rules)
        for rule in sorted(old_rules - new_rules, key=lambda r: (r.ns, r.priority)):
            kernel.rule("del", rule)
        for rule in sorted(new_rules - old_rules, key=lambda r: (r.ns, r.priority)):
            kernel.rule("add", rule)
        old_routes, new_routes = set(self.plan.routes), set(new.routes)
        kernel.plan = new
        changed = {s.name for s in new.namespaces} - {s.name for s, t in zip(self.plan.namespaces, new.namespaces)
                                                     if s == t}
        kernel.load_rules(only=changed)
        for name in changed:  # iptables-restore starts the counters of what it loads at zero
            self._counters.pop(name, None)
        for r in new_routes - old_routes:
            kernel.add_route(r)
        self.plan, self.cluster, self.cni = new, cluster, new.cni

    # -- names
    def namespace_of(self, what: str) -> str:
        """The lab namespace of a pod (``namespace/name``), a node, an outside host, ``vpc``, ``nat-gateway`` or
        ``load-balancer``."""
        for table in (self.plan.pod_namespaces, self.plan.node_namespaces, self.plan.host_namespaces):
            if what in table:
                return table[what]
        for space in self.plan.namespaces:
            if space.role == what:
                return space.name
        known = [*self.plan.pod_namespaces, *self.plan.node_namespaces, *self.plan.host_namespaces]
        hint = suggest(what, known, n=3)
        raise EkslibError(f"nothing called {what!r} in this lab" + (f"; did you mean {', '.join(hint)}?" if hint
                                                                   else f" (outside hosts: "
                                                                        f"{', '.join(self.plan.host_namespaces)})"))

    def stands_for(self, namespace: str) -> str:
        return self.plan.namespace(namespace).stands_for if namespace else ""

    def address_of(self, what: str) -> IPv4Address:
        """The address of a pod, node or outside host."""
        for pod in self.cluster.pods:
            if pod.key == what:
                return pod.address
        for node in self.cluster.nodes:
            if node.name == what:
                return node.address
        from ekslib.flows.vpc import VpcFabric

        return VpcFabric.of(self.cluster).host(what)

    # -- traffic and the kernel's records
    def connect(self, source: str, destination: str | Address, *, protocol: str = "tcp", port: int | None = None,
                sport: int = 40000) -> Observation:
        """One real connection from ``source`` (a pod, node or outside host) to ``destination``
        (``address:port``, or a pod / node / host name with ``port``, default 80)."""
        self._need()
        src_ns = self.namespace_of(source)
        if isinstance(destination, Address):
            dst = destination
        elif ":" in destination or destination.replace(".", "").isdigit():
            dst = Address.parse(destination)
        else:
            dst = Address(self.address_of(destination))
        if dst.port is None:
            dst = dst.with_port(port or 80)
        attempt = self.traffic.connect(src_ns, dst, protocol.lower(), sport)
        # a connection that went through read its conntrack only; one that failed reads the drop counters too (a
        # connection that goes through moves no DROP counter: the VPC's bridge floods no unknown unicast, and
        # the source/destination check counts only unicast)
        conntrack, dropped = self._observe(counters=not (attempt.delivered and attempt.reply_accepted))
        return Observation(attempt, self.stands_for(attempt.receiver_namespace), conntrack, dropped)

    def replay(self, flow: Flow, *, sport: int | None = None) -> Observation:
        """The engine's ``flow`` played for real: the same source, destination, protocol and source port."""
        first = flow.hops[0]
        source = first.where.namespace
        for prefix in ("pod ", "node "):
            source = source.removeprefix(prefix)
        return self.connect(source, first.dst, protocol=flow.protocol,
                            sport=sport if sport is not None else first.src.port)

    def _observe(self, conntrack: bool = True, counters: bool = True
                 ) -> tuple[tuple[ConntrackEntry, ...], tuple[Dropped, ...]]:
        """After a connection, side by side in each namespace: conntrack (read and emptied with ``conntrack
        -D``) and the DROP rules' packet counters (``iptables-save -c``; ``ebtables -L --Lc`` in the VPC)."""
        zones = self.zones()
        jobs = []
        for space in self.plan.namespaces:
            parts = []
            if space.name in zones and conntrack:
                parts.append("conntrack -D 2>/dev/null")
            if space.role in ("node", "vpc") and counters:
                parts.append(f"echo {_COUNTERS}")
                parts.append("iptables-save -c" if space.role == "node" else "ebtables -L --Lc; iptables-save -c")
            if parts:
                jobs.append((space.name, ["sh", "-c", "; ".join(parts)]))
        outputs = run_many([(ns, command, None) for ns, command in jobs], check=False)
        entries: list[ConntrackEntry] = []
        dropped: list[Dropped] = []
        for (ns, _), text in zip(jobs, outputs):
            tracked, _, counters = text.partition(_COUNTERS)
            if ns in zones:
                entries += parse_conntrack(tracked, zones[ns])
            if counters:
                now = _drop_counters(counters)
                for rule, count in now.items():
                    before = self._counters.get(ns, {}).get(rule, 0)
                    if count > before:
                        dropped.append(Dropped(ns, self._describe(ns, rule), rule, count - before))
                self._counters[ns] = now
        return tuple(entries), tuple(dropped)

    def zones(self) -> dict[str, str]:
        """Namespace -> conntrack zone name (as the engine names it) for the namespaces that translate."""
        out = {s.name: s.zone for s in self.plan.namespaces if s.zone}
        lb = next((s for s in self.plan.namespaces if s.role == "load-balancer"), None)
        if lb is not None:
            out[lb.name] = f"LB {lb.stands_for}"
        return out

    def conntrack(self, *, flush: bool = False) -> tuple[ConntrackEntry, ...]:
        """Every lab conntrack entry of the namespaces that translate (``conntrack -L`` in each, side by side);
        ``flush`` empties the tables as it reads them (``conntrack -D`` prints what it deletes)."""
        zones = self.zones()
        command = ["conntrack", "-D" if flush else "-L"]
        outputs = run_many([(ns, command, None) for ns in zones], check=False)
        return tuple(e for (ns, zone), text in zip(zones.items(), outputs) for e in parse_conntrack(text, zone))

    def conntrack_text(self, what: str) -> str:
        """What ``conntrack -L`` prints inside the namespace of ``what`` (a node, ``nat-gateway``...)."""
        return run_in(self.namespace_of(what), ["conntrack", "-L"], check=False)

    def flush(self) -> None:
        self.conntrack(flush=True)

    def dropped(self) -> tuple[Dropped, ...]:
        """The drop rules whose packet counters rose since the last look (each connection looks, so this is what
        happened since the last one)."""
        return self._observe(conntrack=False)[1]

    def _describe(self, ns: str, rule: str) -> str:
        space = self.plan.namespace(ns)
        check = re.search(r"SDC-(\S+)-(IN|OUT)\b", rule)
        if space.role == "vpc" and check:
            port = check[1]
            return f"EC2's source/destination check at {self.plan.ports.get(port, port)}"
        return f"{space.role} {space.stands_for}"

    def iptables_save(self, node: str) -> str:
        """What ``iptables-save`` prints inside ``node``'s namespace (the kernel's own account of its rules)."""
        return run_in(self.namespace_of(node), ["iptables-save"])

    def chain_walk(self, source: str | Flow, destination: str | Address | None = None, *, node: str,
                   protocol: str = "tcp", port: int | None = None, sport: int = 40000) -> ChainWalk:
        """The rules the first packet of one new connection matched in ``node``, in the kernel's order, as
        ``xtables-monitor --trace`` reports them (a ``-j TRACE`` rule in raw PREROUTING and OUTPUT while it
        runs), with the connection's Observation. ``source`` may be an engine Flow: then its connection is
        replayed. No steps where this kernel cannot trace."""
        ns = self.namespace_of(node)
        if isinstance(source, Flow):
            protocol = source.protocol
        match = ["-p", protocol] + (["--syn"] if protocol == "tcp" else [])
        for chain in ("PREROUTING", "OUTPUT"):
            run_in(ns, ["iptables", "-t", "raw", "-I", chain, *match, "-j", "TRACE"])
        monitor = subprocess.Popen(_command(ns, ["xtables-monitor", "--trace"]), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        try:
            time.sleep(0.2)  # let the monitor subscribe before the packet goes
            if isinstance(source, Flow):
                observation = self.replay(source)
            else:
                observation = self.connect(source, destination, protocol=protocol, port=port, sport=sport)
            time.sleep(0.1)
        finally:
            monitor.terminate()
            out, _ = monitor.communicate(timeout=5)
            for chain in ("PREROUTING", "OUTPUT"):
                run_in(ns, ["iptables", "-t", "raw", "-D", chain, *match, "-j", "TRACE"], check=False)
        return ChainWalk(node, tuple(parse_trace(out)), observation)


@dataclass(frozen=True)
class ChainWalk:
    """The kernel's chain walk of one packet in ``node`` and the connection it opened."""

    node: str
    steps: tuple[TraceStep, ...]
    observation: Observation

    def rules(self) -> list[str]:
        """``table chain: rule`` for every rule the packet matched, in order."""
        return [f"{s.table} {s.chain}: {s.rule}" for s in self.steps if s.is_rule]


@dataclass(frozen=True)
class TraceStep:
    """One line of ``xtables-monitor --trace``: a rule the packet matched (or a chain's policy), its verdict and
    the rule as ``iptables-save`` prints it."""

    table: str
    chain: str
    verdict: str
    rule: str

    @property
    def is_rule(self) -> bool:
        return bool(self.rule)


def parse_trace(text: str) -> list[TraceStep]:
    """The first traced packet's steps from ``xtables-monitor --trace`` output (our own TRACE rule left out).

    >>> parse_trace(" TRACE: 2 0ad595f5 nat:KUBE-MARK-MASQ:rule:0x36:CONTINUE  -4 -t nat -A KUBE-MARK-MASQ -j "
    ...             "MARK --set-xmark 0x4000/0x4000")[0].rule
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'
    """
    steps, first = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("TRACE:"):
            continue
        parts = line.split(None, 4)
        if len(parts) < 4:
            continue
        packet_id, where = parts[2], parts[3]
        first = first or packet_id
        if packet_id != first:
            continue
        table, chain, kind, *rest = where.split(":")
        verdict = rest[-1] if rest else ""
        rule = parts[4] if len(parts) > 4 else ""
        rule = re.sub(r"^-4 -t \S+ ", "", rule.strip())
        if rule.endswith("-j TRACE"):
            continue
        steps.append(TraceStep(table, chain, verdict if kind == "rule" else f"policy {verdict}",
                               rule if kind == "rule" else ""))
    return steps


_COUNTERS = "@@ekslab-counters@@"


def _drop_counters(text: str) -> dict[str, int]:
    """Packet counters of the DROP (and REJECT) rules in ``iptables-save -c`` and ``ebtables -L --Lc`` output."""
    rules: dict[str, int] = {}
    chain = ""
    for line in text.splitlines():
        if line.startswith("Bridge chain:"):
            chain = line.split()[2].rstrip(",")
        elif "-j DROP" in line and "pcnt =" in line:
            rules[f"-A {chain} {line.split(' , pcnt')[0]}"] = int(line.split("pcnt = ")[1].split()[0])
        elif line.startswith("[") and ("-j DROP" in line or "-j REJECT" in line):
            count, _, rule = line.partition("] ")
            rules[rule] = int(count[1:].split(":")[0])
    return rules


def _topology(cluster: Cluster) -> tuple:
    return (tuple((n.name, n.enis) for n in cluster.nodes), tuple((p.key, p.address) for p in cluster.pods),
            cluster.subnets)


@atexit.register
def _stop_open_labs() -> None:
    for lab in list(_OPEN):
        lab.stop()
