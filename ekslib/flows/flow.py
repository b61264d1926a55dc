"""What a traced packet did, as data: hops, the connection-tracking entries it made, and its reply.

A :class:`Flow` is what :func:`ekslib.flows.trace` returns. Each :class:`Hop` says where the packet was (network
namespace, device, netfilter hook, table and chain), its addresses and ports there, the rule, route or policy
rule that acted (as ``iptables-save`` or ``ip`` prints it), what it did and what it rewrote. Conntrack entries are
printed as ``conntrack -L`` prints them (conntrack-tools, ``conntrack -L -o extended`` without the family).

>>> hop = Hop(1, Where("pod default/web-1", device="eth0"), "send", Address.parse("10.0.1.5:40000"),
...           Address.parse("10.0.2.7:80"), action="send")
>>> str(hop.src), hop.where.text()
('10.0.1.5:40000', 'pod default/web-1 eth0')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import pandas as pd

from ekslib._checks import parse_ipv4, whole

#: Kinds of hop, in the order a packet can meet them.
HOP_KINDS = ("send", "route", "neighbour", "veth", "bridge", "netfilter", "conntrack", "policy-rule", "forward", "eni",
             "src-dst-check", "vpc-route", "internet-gateway", "nat-gateway", "load-balancer", "encapsulate",
             "decapsulate", "deliver", "drop")
#: Netfilter's IPv4 hooks, and the tables each walks in priority order (raw, mangle, nat, filter; ``man 8
#: iptables``, section TABLES).
HOOK_TABLES: dict[str, tuple[str, ...]] = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "filter", "nat"),
    "FORWARD": ("mangle", "filter"),
    "OUTPUT": ("raw", "mangle", "nat", "filter"),
    "POSTROUTING": ("mangle", "nat"),
}
#: conntrack-tools prints the protocol name, its number and the seconds left; a new TCP connection that was
#: answered is ESTABLISHED with 432000 s (nf_conntrack_tcp_timeout_established), UDP 120 s once replied.
_CT_TIMEOUT = {"tcp": 431999, "udp": 119, "icmp": 29}
_PROTO_NUMBER = {"tcp": 6, "udp": 17, "icmp": 1}


@dataclass(frozen=True, order=True)
class Address:
    """An IPv4 address with an optional port: ``10.0.1.5:8080`` or ``10.0.1.5``.

    >>> Address.parse("10.0.1.5:8080").port, str(Address.parse("10.0.1.5"))
    (8080, '10.0.1.5')
    """

    ip: IPv4Address
    port: int | None = None

    @classmethod
    def parse(cls, text: str | Address) -> Address:
        """``"a.b.c.d[:port]"`` as an Address; a bad address or a port outside 1-65535 raises EkslibError."""
        if isinstance(text, Address):
            return text
        host, _, port = str(text).partition(":")
        ip = parse_ipv4(host, "address")
        return cls(ip, check_port(int(port), "port") if port.isdigit() else (None if not port else _bad_port(port)))

    def with_ip(self, ip: IPv4Address) -> Address:
        return Address(ip, self.port)

    def with_port(self, port: int | None) -> Address:
        return Address(self.ip, port)

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}" if self.port is not None else str(self.ip)


def _bad_port(port: str) -> int:
    from ekslib.errors import EkslibError

    raise EkslibError(f"port {port!r} is not a whole number from 1 to 65535")


def check_port(port: Any, what: str = "port") -> int:
    """``port`` when it is a whole number from 1 to 65535, else an EkslibError naming it.

    >>> check_port(70000)
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: port 70000 is out of range: a TCP or UDP port is 1 to 65535
    """
    from ekslib.errors import EkslibError

    value = whole(what, port)
    if not 1 <= value <= 65535:
        raise EkslibError(f"{what} {value} is out of range: a TCP or UDP port is 1 to 65535")
    return value


@dataclass(frozen=True)
class Where:
    """Where a hop happens: a network namespace (``pod ns/name``, ``node <name>``, ``vpc``, ``internet``...), and
    inside it a device, a netfilter hook, table and chain, or a route table."""

    namespace: str
    device: str = ""
    hook: str = ""
    table: str = ""
    chain: str = ""

    def text(self) -> str:
        """The parts that are set, joined by spaces: ``node ip-192-168-1-10 PREROUTING nat KUBE-SERVICES``."""
        return " ".join(p for p in (self.namespace, self.device, self.hook, self.table, self.chain) if p)


@dataclass(frozen=True)
class Hop:
    """One step of a packet: where, the addresses and ports there, what acted and what it did.

    ``rule`` is the acting rule's text (``-A KUBE-SERVICES ...``, ``512: from all to 10.0.1.5 lookup main``,
    ``default via 192.168.0.1 dev eth0``); ``rewrite`` says what changed (``dst 10.100.0.10:53 -> 192.168.1.5:53``)
    and ``changed`` which fields (``src``, ``dst``, ``mark`` of the packet, ``ctmark`` of its connection).
    ``where.device`` is the interface the packet came in by while it is inside a node (the way out is in the
    route hop), and the device it leaves by on ``eni``, ``veth`` and tunnel hops.
    """

    step: int
    where: Where
    kind: str
    src: Address
    dst: Address
    rule: str = ""
    action: str = ""
    rewrite: str = ""
    changed: tuple[str, ...] = ()
    direction: str = "request"
    note: str = ""
    mark: int = 0

    def __post_init__(self) -> None:
        if self.kind not in HOP_KINDS:
            from ekslib.errors import EkslibError

            raise EkslibError(f"hop kind {self.kind!r} is not one of {', '.join(HOP_KINDS)}")


@dataclass(frozen=True)
class ConntrackEntry:
    """One connection-tracking entry: the original tuple, the reply tuple the kernel expects, the mark.

    The reply tuple holds the translations: after a DNAT its source is the endpoint, after a SNAT its destination
    is the translated source. ``zone`` is where the entry lives (a node or a gateway).

    >>> e = ConntrackEntry("node-a", "tcp", Address.parse("10.0.1.5:40000"), Address.parse("10.100.0.10:53"),
    ...                    Address.parse("10.0.2.7:53"), Address.parse("10.0.1.5:40000"), mark=0x80)
    >>> print(e.text())
    tcp      6 431999 ESTABLISHED src=10.0.1.5 dst=10.100.0.10 sport=40000 dport=53
    src=10.0.2.7 dst=10.0.1.5 sport=53 dport=40000 [ASSURED] mark=128 use=1
    """

    zone: str
    protocol: str
    original_src: Address
    original_dst: Address
    reply_src: Address
    reply_dst: Address
    mark: int = 0

    @property
    def translated(self) -> tuple[str, ...]:
        """``("dnat",)``, ``("snat",)``, both or none: what the entry translates."""
        out = []
        if self.reply_src != self.original_dst:
            out.append("dnat")
        if self.reply_dst != self.original_src:
            out.append("snat")
        return tuple(out)

    def text(self) -> str:
        """The line ``conntrack -L`` prints for the entry once the reply has been seen."""
        proto = self.protocol
        state = "ESTABLISHED " if proto == "tcp" else ""

        def tup(src: Address, dst: Address) -> str:
            ports = f" sport={src.port} dport={dst.port}" if src.port is not None else ""
            return f"src={src.ip} dst={dst.ip}{ports}"

        return (f"{proto:<8} {_PROTO_NUMBER.get(proto, 0)} {_CT_TIMEOUT.get(proto, 29)} {state}"
                f"{tup(self.original_src, self.original_dst)} {tup(self.reply_src, self.reply_dst)} "
                f"[ASSURED] mark={self.mark} use=1")


@dataclass(frozen=True)
class Flow:
    """A traced packet and its reply.

    ``seen_source`` is the source the receiver sees (``None`` when nothing received it); ``translations`` say
    where each address translation happened; ``probabilities`` give each endpoint's chance where kube-proxy
    chose one at random (the choice itself is seeded); ``reply`` is the answer's own Flow (``None`` when the
    request was dropped). ``rules_evaluated`` counts every netfilter rule the engine evaluated for the request and
    its reply (the reply's own share is ``reply.rules_evaluated``).
    """

    source: str
    destination: str
    protocol: str
    hops: tuple[Hop, ...]
    delivered: bool
    drop_reason: str = ""
    seen_source: Address | None = None
    seen_destination: Address | None = None
    receiver: str = ""
    reply: Flow | None = None
    conntrack: tuple[ConntrackEntry, ...] = ()
    translations: tuple[str, ...] = ()
    probabilities: dict[str, float] = field(default_factory=dict)
    rules_evaluated: int = 0
    scenario: str = ""
    notes: tuple[str, ...] = ()

    def all_hops(self) -> tuple[Hop, ...]:
        """The request's hops, then the reply's."""
        return self.hops + (self.reply.hops if self.reply is not None else ())

    def hop_table(self) -> pd.DataFrame:
        """One row per hop (request, then reply): step, direction, where, kind, src, dst, rule, action, rewrite."""
        rows = [{"step": h.step, "direction": h.direction, "where": h.where.text(), "kind": h.kind,
                 "src": str(h.src), "dst": str(h.dst), "mark": f"{h.mark:#x}" if h.mark else "",
                 "rule": h.rule, "action": h.action, "rewrite": h.rewrite, "note": h.note}
                for h in self.all_hops()]
        return pd.DataFrame(rows, columns=["step", "direction", "where", "kind", "src", "dst", "mark", "rule",
                                           "action", "rewrite", "note"])

    def conntrack_table(self) -> pd.DataFrame:
        """The conntrack entries as a table: where, original and reply tuples, mark, what they translate."""
        return pd.DataFrame([{"zone": e.zone, "protocol": e.protocol,
                              "original": f"{e.original_src} -> {e.original_dst}",
                              "reply": f"{e.reply_src} -> {e.reply_dst}", "mark": f"{e.mark:#x}",
                              "translates": ", ".join(e.translated) or "-"} for e in self.conntrack],
                            columns=["zone", "protocol", "original", "reply", "mark", "translates"])

    def conntrack_text(self, zone: str | None = None) -> str:
        """``conntrack -L`` for every zone (or one): the entries this flow made."""
        return "\n".join(e.text() for e in self.conntrack if zone is None or e.zone == zone)

    @property
    def reply_accepted(self) -> bool:
        """True when a reply reached the client *from the address and port it connected to*: a TCP client drops
        (and its connection times out on) a reply from anywhere else, as in the load balancer hairpin."""
        if self.reply is None or not self.reply.delivered or not self.hops:
            return False
        return self.reply.seen_source == self.hops[0].dst and self.reply.seen_destination == self.hops[0].src

    def summary(self) -> str:
        """Two or three sentences: delivered or not (and why), what the receiver saw, where translations were."""
        if not self.delivered:
            text = f"{self.protocol.upper()} {self.source} -> {self.destination}: dropped ({self.drop_reason})."
        else:
            text = (f"{self.protocol.upper()} {self.source} -> {self.destination}: delivered to {self.receiver}, "
                    f"which sees the packet from {self.seen_source} to {self.seen_destination}.")
        if self.translations:
            text += " Translations: " + "; ".join(self.translations) + "."
        if self.reply is not None:
            text += (" The reply comes back" if self.reply.delivered else
                     f" The reply is dropped ({self.reply.drop_reason})") + (
                f" from {self.reply.seen_source}." if self.reply.delivered else ".")
            if self.reply.delivered and not self.reply_accepted:
                text += (f" But the client connected to {self.hops[0].dst}: it drops a reply from "
                         f"{self.reply.seen_source}, and the connection times out.")
        return text
