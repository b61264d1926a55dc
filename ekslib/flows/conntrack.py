"""Connection tracking, as the kernel keeps it: one table per network namespace (or gateway), entries with an
original and a reply tuple, NAT recorded in the reply tuple, and a connection mark.

How the kernel uses it (``net/netfilter/nf_conntrack_core.c``, ``nf_nat_core.c``; dataplane.md section 1): the
first packet of a connection creates an entry (state NEW) and walks the nat chains; the NAT they choose is written
into the entry's reply tuple. Every later packet, both ways, is matched against the entry and translated without
the nat chains: a reply's destination is restored in PREROUTING (undoing a SNAT, before routing), its source in
POSTROUTING (undoing a DNAT).

>>> from ekslib.flows.flow import Address
>>> table = ConntrackTable("node-a")
>>> conn = table.new("tcp", Address.parse("10.0.1.5:40000"), Address.parse("10.100.0.10:53"))
>>> conn.dnat(Address.parse("10.0.2.7:53"))
>>> table.find("tcp", Address.parse("10.0.2.7:53"), Address.parse("10.0.1.5:40000"))[1]
'reply'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ekslib.flows.flow import Address, ConntrackEntry


@dataclass
class Connection:
    """A tracked connection: its original tuple, the reply tuple it expects, its mark (``ctmark``)."""

    zone: str
    protocol: str
    original_src: Address
    original_dst: Address
    reply_src: Address
    reply_dst: Address
    mark: int = 0
    seen_reply: bool = False

    def dnat(self, destination: Address) -> None:
        """Record a DNAT of the original direction: replies will come from ``destination``."""
        self.reply_src = destination

    def snat(self, source: Address) -> None:
        """Record a SNAT of the original direction: replies will come back to ``source``."""
        self.reply_dst = source

    @property
    def dnatted(self) -> bool:
        return self.reply_src != self.original_dst

    @property
    def snatted(self) -> bool:
        return self.reply_dst != self.original_src

    def states(self, direction: str) -> frozenset[str]:
        """What ``-m conntrack --ctstate`` sees: NEW or ESTABLISHED, plus SNAT/DNAT when the entry translates."""
        out = {"ESTABLISHED" if self.seen_reply or direction == "reply" else "NEW"}
        if self.dnatted:
            out.add("DNAT")
        if self.snatted:
            out.add("SNAT")
        return frozenset(out)

    def entry(self) -> ConntrackEntry:
        """A frozen copy, as ``conntrack -L`` shows it."""
        return ConntrackEntry(self.zone, self.protocol, self.original_src, self.original_dst, self.reply_src,
                              self.reply_dst, self.mark)


@dataclass
class ConntrackTable:
    """The connections of one zone (a node's namespace, a NAT gateway)."""

    zone: str
    connections: list[Connection] = field(default_factory=list)

    def find(self, protocol: str, src: Address, dst: Address) -> tuple[Connection, str] | tuple[None, str]:
        """The connection a packet belongs to and its direction (``original`` or ``reply``), or ``(None, "")``."""
        for conn in self.connections:
            if conn.protocol != protocol:
                continue
            if conn.original_src == src and conn.original_dst == dst:
                return conn, "original"
            if conn.reply_src == src and conn.reply_dst == dst:
                return conn, "reply"
        return None, ""

    def new(self, protocol: str, src: Address, dst: Address) -> Connection:
        """A new connection for a packet from ``src`` to ``dst`` (reply tuple: the inverse, until NAT)."""
        conn = Connection(self.zone, protocol, src, dst, dst, src)
        self.connections.append(conn)
        return conn
