"""Walking a packet through a namespace's netfilter rules, as the kernel does: hook by hook, table by table,
chain by chain, rule by rule, with the rules' own matches and targets (no scenario knows any chain by name).

Kernel semantics followed (``man 8 iptables`` and ``man 8 iptables-extensions``; ``net/ipv4/netfilter/ip_tables.c``
``ipt_do_table``): the tables of a hook run in priority order (raw, mangle, nat, filter); in a chain the first rule
whose matches all hold acts; ``ACCEPT`` ends the table, ``DROP``/``REJECT`` end the packet, ``RETURN`` (or the
chain's end) goes back to the caller, and at the end of a built-in chain its policy decides; ``-j CHAIN`` calls,
``-g CHAIN`` jumps without return; ``MARK``/``CONNMARK`` change marks and go on; ``DNAT``/``SNAT``/``MASQUERADE``
translate and end the table. Only the first packet of a connection walks the nat table (``nf_nat_inet_fn``).
``-m statistic --mode random`` draws from a seeded generator, and the walk records the chance of each branch.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface

from ekslib.flows.conntrack import Connection
from ekslib.flows.flow import HOOK_TABLES, Address, Hop, Where
from ekslib.linux.netfilter import (
    AddrtypeOptions,
    ConnmarkOptions,
    ConntrackOptions,
    DnatOptions,
    MarkOptions,
    MarkTargetOptions,
    MasqueradeOptions,
    MultiportOptions,
    PortOptions,
    RecentOptions,
    RejectOptions,
    Rule,
    Ruleset,
    SnatOptions,
    StatisticOptions,
)
from ekslib.linux.objects import NetNamespace
from ekslib.linux.routing import LOOPBACK, interface_addresses

_PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
#: Linux's default ``net.ipv4.ip_local_port_range`` (32768-60999): the source ports a client and a NAT pick from.
EPHEMERAL_PORTS = (32768, 60999)
#: How deep chains may call each other before the walk gives up (the kernel refuses loops when rules load).
MAX_DEPTH = 64


@dataclass
class Packet:
    """The packet being walked: addresses and ports, protocol, its mark, and its connection (if tracked)."""

    src: Address
    dst: Address
    protocol: str
    mark: int = 0
    conn: Connection | None = None
    direction: str = "original"
    inner: Packet | None = None

    @property
    def new(self) -> bool:
        """The first packet of its connection (the only one the nat table sees)."""
        return self.conn is not None and self.direction == "original" and not self.conn.seen_reply


@dataclass
class Walk:
    """The state one walk through a namespace's hooks keeps: where, the interfaces, the hops it records."""

    zone: str
    namespace: NetNamespace
    ruleset: Ruleset
    rng: random.Random
    step: Callable[[], int]
    hops: list[Hop]
    direction: str
    in_iface: str | None = None
    out_iface: str | None = None
    recent: dict[tuple[str, IPv4Address], float] = field(default_factory=dict)
    evaluated: int = 0
    probabilities: dict[str, float] = field(default_factory=dict)
    prefer: IPv4Address | None = None
    translations: list[str] = field(default_factory=list)

    # -- addresses of this namespace
    def addresses_on(self, iface: str | None) -> tuple[IPv4Address, ...]:
        """The interface's addresses in the order ``ip addr`` lists them (all interfaces for None)."""
        return _ordered_addresses(self.namespace, iface)

    def address_type(self, address: IPv4Address, limit_iface: str | None = None) -> str:
        """``LOCAL``, ``MULTICAST``, ``BROADCAST`` or ``UNICAST``, as the kernel's routing tables type it."""
        if address in LOOPBACK or address in interface_addresses(self.namespace, limit_iface):
            return "LOCAL"
        if address.is_multicast:
            return "MULTICAST"
        if address == IPv4Address("255.255.255.255"):
            return "BROADCAST"
        return "UNICAST"

    def record(self, hook: str, table: str, chain: str, rule: Rule, packet: Packet, action: str,
               rewrite: str = "", changed: tuple[str, ...] = (), note: str = "") -> None:
        self.hops.append(Hop(self.step(), Where(self.zone, self.in_iface or self.out_iface or "", hook, table, chain),
                             "netfilter", packet.src, packet.dst, rule_text(rule), action, rewrite, changed,
                             self.direction, note, packet.mark))


def _ordered_addresses(ns: NetNamespace, iface: str | None) -> tuple[IPv4Address, ...]:
    return tuple(IPv4Interface(a).ip for i in ns.interfaces if iface is None or i.name == iface for a in i.addresses)


_TEXT: dict[int, tuple[Rule, str]] = {}


def rule_text(rule: Rule) -> str:
    """``rule.text``, kept per rule object: a trace prints the same rules again and again."""
    hit = _TEXT.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    if len(_TEXT) > 200_000:
        _TEXT.clear()
    text = rule.text
    _TEXT[id(rule)] = (rule, text)
    return text


class Verdict(str):
    """ACCEPT, DROP or REJECT, with the rule that decided (None: the chain's policy)."""

    rule: Rule | None = None
    where: str = ""


def _verdict(name: str, rule: Rule | None = None, where: str = "") -> Verdict:
    v = Verdict(name)
    v.rule, v.where = rule, where
    return v


def run_hook(walk: Walk, hook: str, packet: Packet, tables: tuple[str, ...] | None = None) -> Verdict:
    """Walk ``packet`` through the tables of ``hook`` (all, or those of ``tables``) in priority order; ACCEPT,
    DROP or REJECT."""
    present = {t.name for t in walk.ruleset.tables}
    for table in HOOK_TABLES[hook]:
        if tables is not None and table not in tables:
            continue
        if table not in present or (table == "nat" and not packet.new):
            continue
        chain = walk.ruleset.chain(table, hook)
        result = _walk_chain(walk, hook, table, hook, packet, 0, 1.0)
        if result in ("DROP", "REJECT"):
            return result
        if result is None and chain.policy == "DROP":
            return _verdict("DROP", None, f"{table} {hook} policy DROP")
    return _verdict("ACCEPT")


def _matches(walk: Walk, rule: Rule, packet: Packet) -> bool | StatisticOptions:
    """True when every test of ``rule`` holds; a StatisticOptions when only a random draw is left to decide."""
    if rule.source is not None and not rule.source.matches(packet.src.ip):
        return False
    if rule.destination is not None and not rule.destination.matches(packet.dst.ip):
        return False
    for iface, test in ((walk.in_iface, rule.in_iface), (walk.out_iface, rule.out_iface)):
        if test is not None and (test.negated if iface is None else not test.matches(iface)):
            return False
    if rule.protocol is not None and not rule.protocol.matches(_PROTOCOLS.get(packet.protocol, 0)):
        return False
    pending: StatisticOptions | None = None
    for match in rule.matches:
        o = match.options
        if isinstance(o, PortOptions):
            if (o.sport is not None and (packet.src.port is None or not o.sport.matches(packet.src.port))) or \
                    (o.dport is not None and (packet.dst.port is None or not o.dport.matches(packet.dst.port))):
                return False
        elif isinstance(o, MultiportOptions):
            ports = {"sports": (packet.src.port,), "dports": (packet.dst.port,),
                     "ports": (packet.src.port, packet.dst.port)}[o.direction]
            hit = any(p is not None and any(r.contains(p) for r in o.ports) for p in ports)
            if hit == o.negated:
                return False
        elif isinstance(o, AddrtypeOptions):
            if not _addrtype(walk, o, packet):
                return False
        elif isinstance(o, MarkOptions):
            value = packet.mark if match.module == "mark" else (packet.conn.mark if packet.conn else 0)
            if not o.matches(value):
                return False
        elif isinstance(o, ConntrackOptions):
            states = packet.conn.states(packet.direction) if packet.conn else frozenset({"UNTRACKED"})
            if any(s in o.states for s in states) == o.negated:
                return False
        elif isinstance(o, RecentOptions):
            if not _recent(walk, o, packet):
                return False
        elif isinstance(o, StatisticOptions):
            if o.mode == "random":
                pending = o
            # nth mode: every packet here is the first of its connection: packet 0 matches
            elif (o.packet == 0) == o.negated:
                return False
    return pending if pending is not None else True


def _addrtype(walk: Walk, o: AddrtypeOptions, packet: Packet) -> bool:
    limit_in = walk.in_iface if o.limit_iface_in else None
    limit_out = walk.out_iface if o.limit_iface_out else None
    limit = limit_in or limit_out
    if o.src_type and (walk.address_type(packet.src.ip, limit) in o.src_type) == o.src_negated:
        return False
    return not (o.dst_type and (walk.address_type(packet.dst.ip, limit) in o.dst_type) == o.dst_negated)


def _recent(walk: Walk, o: RecentOptions, packet: Packet) -> bool:
    address = packet.src.ip if o.rsource else packet.dst.ip
    key = (o.name, IPv4Address(int(address) & int(o.mask)))
    if o.command == "set":
        walk.recent[key] = 0.0
        return not o.negated
    hit = key in walk.recent
    if o.command == "remove":
        walk.recent.pop(key, None)
    return hit != o.negated


def _dnat_target(walk: Walk, table: str, chain: str) -> IPv4Address | None:
    """The address a chain DNATs to (its first DNAT rule), to name the branch a random draw picks."""
    try:
        rules = walk.ruleset.rules(table, chain)
    except Exception:  # not a chain of this table (a verdict)
        return None
    for rule in rules:
        if rule.target is not None and isinstance(rule.target.options, DnatOptions):
            return rule.target.options.to.min_ip
    return None


def _walk_chain(walk: Walk, hook: str, table: str, chain: str, packet: Packet, depth: int,
                chance: float) -> Verdict | None:
    """The verdict of ``chain`` (None: fell off its end or RETURNed)."""
    if depth > MAX_DEPTH:
        return _verdict("DROP", None, f"chains call each other more than {MAX_DEPTH} deep")
    reach = 1.0  # chance that a packet entering the chain gets this far (random draws before this rule)
    rules = walk.ruleset.rules(table, chain)
    for index, rule in enumerate(rules):
        walk.evaluated += 1
        hit = _matches(walk, rule, packet)
        if hit is False:
            continue
        target = rule.target
        if isinstance(hit, StatisticOptions):
            p = hit.probability if not hit.negated else 1 - hit.probability
            if target is not None and target.is_jump:
                endpoint = _dnat_target(walk, table, target.name)
                label = str(endpoint) if endpoint is not None else target.name
                walk.probabilities[label] = walk.probabilities.get(label, 0.0) + chance * reach * p
                fire = (endpoint == walk.prefer) if walk.prefer is not None and endpoint is not None else \
                    walk.rng.random() < p
            else:
                fire = walk.rng.random() < p
            reach *= 1 - p
            if not fire:
                continue
            _branches_not_taken(walk, table, rules[index + 1:], packet, chance, reach)
        elif target is not None and target.is_jump and reach < 1.0:
            endpoint = _dnat_target(walk, table, target.name)
            label = str(endpoint) if endpoint is not None else target.name
            walk.probabilities[label] = walk.probabilities.get(label, 0.0) + chance * reach
        if target is None:
            continue
        result = _act(walk, hook, table, chain, rule, packet, depth, chance * reach)
        if result == "CONTINUE":
            continue
        return result
    return None


def _branches_not_taken(walk: Walk, table: str, rules: tuple[Rule, ...], packet: Packet, chance: float,
                        reach: float) -> None:
    """The chances of the random branches after the one a draw took, so the flow reports every endpoint's."""
    for rule in rules:
        hit = _matches(walk, rule, packet)
        if hit is False or rule.target is None or not rule.target.is_jump:
            continue
        p = (hit.probability if not hit.negated else 1 - hit.probability) if isinstance(hit, StatisticOptions) else 1.0
        endpoint = _dnat_target(walk, table, rule.target.name)
        label = str(endpoint) if endpoint is not None else rule.target.name
        walk.probabilities[label] = walk.probabilities.get(label, 0.0) + chance * reach * p
        reach *= 1 - p
        if reach <= 0:
            return


def _act(walk: Walk, hook: str, table: str, chain: str, rule: Rule, packet: Packet, depth: int,
         chance: float) -> Verdict | str | None:
    target = rule.target
    assert target is not None
    name, o = target.name, target.options
    if target.is_jump:
        walk.record(hook, table, chain, rule, packet, ("goto " if target.goto else "jump ") + name)
        result = _walk_chain(walk, hook, table, name, packet, depth + 1, chance)
        if target.goto:
            return result
        return "CONTINUE" if result is None else result
    if name == "ACCEPT":
        walk.record(hook, table, chain, rule, packet, "ACCEPT")
        return _verdict("ACCEPT", rule)
    if name in ("DROP", "REJECT"):
        how = f" ({o.reject_with})" if isinstance(o, RejectOptions) else ""
        walk.record(hook, table, chain, rule, packet, name + how)
        return _verdict(name, rule, f"{table} {chain}")
    if name == "RETURN":
        walk.record(hook, table, chain, rule, packet, "RETURN")
        return None
    if isinstance(o, MarkTargetOptions):
        before, packet.mark = packet.mark, o.apply(packet.mark)
        walk.record(hook, table, chain, rule, packet, "MARK", f"mark {before:#x} -> {packet.mark:#x}", ("mark",))
        return "CONTINUE"
    if isinstance(o, ConnmarkOptions):
        ctmark = packet.conn.mark if packet.conn else 0
        mark, new_ctmark = o.apply(packet.mark, ctmark)
        text = []
        if new_ctmark != ctmark:
            text.append(f"ctmark {ctmark:#x} -> {new_ctmark:#x}")
        mark_changed = mark != packet.mark
        if mark_changed:
            text.append(f"mark {packet.mark:#x} -> {mark:#x}")
        packet.mark = mark
        if packet.conn is not None:
            packet.conn.mark = new_ctmark
        changed = (("ctmark",) if new_ctmark != ctmark else ()) + (("mark",) if text and mark_changed else ())
        walk.record(hook, table, chain, rule, packet, "CONNMARK " + o.mode, "; ".join(text), changed)
        return "CONTINUE"
    if isinstance(o, DnatOptions):
        new = Address(o.to.min_ip or packet.dst.ip, o.to.ports.first if o.to.ports else packet.dst.port)
        rewrite = f"dst {packet.dst} -> {new}"
        walk.translations.append(f"DNAT at {walk.zone} ({chain}): {rewrite}")
        packet.dst = new
        if packet.conn is not None:
            packet.conn.dnat(new)
        walk.record(hook, table, chain, rule, packet, "DNAT", rewrite, ("dst",))
        return _verdict("ACCEPT", rule)
    if isinstance(o, (SnatOptions, MasqueradeOptions)):
        if isinstance(o, SnatOptions):
            ip = o.to.min_ip or packet.src.ip
            ports = o.to.ports
        else:
            own = walk.addresses_on(walk.out_iface) or tuple(a for a in walk.addresses_on(None) if a not in LOOPBACK)
            ip, ports = own[0], o.to_ports
        port = packet.src.port
        if port is not None and (o.random or o.random_fully):
            port = walk.rng.randint(*EPHEMERAL_PORTS)
        elif port is not None and ports is not None:
            port = ports.first
        new = Address(ip, port)
        rewrite = f"src {packet.src} -> {new}"
        walk.translations.append(f"{name} at {walk.zone} ({chain}): {rewrite}")
        packet.src = new
        if packet.conn is not None:
            packet.conn.snat(new)
        walk.record(hook, table, chain, rule, packet, name, rewrite, ("src",))
        return _verdict("ACCEPT", rule)
    walk.record(hook, table, chain, rule, packet, name, note="target not modelled: no effect")
    return "CONTINUE"
