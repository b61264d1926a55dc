"""Netfilter rules as data: a :class:`Ruleset` of :class:`Table` s of :class:`Chain` s of :class:`Rule` s.

The objects are frozen dataclasses, typed so that a packet-tracing engine can evaluate a rule without re-parsing
text: addresses are :mod:`ipaddress` networks with a negation flag, interfaces keep iptables' ``+`` wildcard,
ports are ranges, marks are integers, and every :class:`Match` and :class:`Target` holds its options as fields
(``Match("addrtype", AddrtypeOptions(...))``). A few ``matches``/``contains``/``apply`` helpers say what a test
or a mark operation does to a packet.

Text lives in :mod:`ekslib.linux.iptables_save`: ``rule.text`` / ``str(rule)`` and :func:`render` print what
``iptables-save`` (iptables 1.8.9, nf_tables backend: Debian 12, EKS AL2023) prints back after
``iptables-restore``; :func:`parse_iptables_save` and :meth:`Rule.parse` read that text, and the looser text a
person writes, into the same objects. The two are inverse: ``parse_iptables_save(render(x)) == x``.

Constructors put equivalent spellings into one form, so that rules iptables-save prints alike compare equal:
``-i +`` is no ``-i``, ``-s 0.0.0.0/0`` no ``-s``, ``--dport 0:65535`` on tcp/udp no ``--dport``, a probability
is rounded to the kernel's 2**-31 steps, states and address types are kept in print order, missing built-in
chains are added, and chains and tables are kept in the order iptables-save lists them (not the order given).
They also refuse what iptables or the kernel would refuse (a jump to a missing chain, DNAT outside nat, ...).

Objects are immutable; the builder methods of :class:`Ruleset` (``add_chain``, ``append``, ``insert``,
``extend``, ``set_policy``) return a new ruleset.

>>> rule = Rule.parse('-A KUBE-SERVICES -d 10.100.0.10 -p udp -m comment --comment "kube-dns" --dport 53 '
...                   '-j KUBE-SVC-TCOU7JCQXEZGVUNU')
>>> rule.text
'-A KUBE-SERVICES -d 10.100.0.10/32 -p udp -m comment --comment kube-dns -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU'
>>> rule.destination.matches("10.100.0.10"), rule.find("udp")[0].options.dport.matches(53)
(True, True)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from ekslib.errors import EkslibError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

MASK32 = 0xFFFFFFFF

#: Tables in the order iptables-save (nft backend) prints them -- ``enum nft_table_type`` in iptables/nft.h,
#: walked by ``nft_for_each_table`` (iptables/nft.c) -- each with its built-in chains in hook order.
BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
    "raw": ("PREROUTING", "OUTPUT"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
}
TABLE_ORDER = tuple(BUILTIN_CHAINS)
VERDICTS = ("ACCEPT", "DROP", "RETURN")
SUPPORTED_MATCHES = ("addrtype", "comment", "connmark", "conntrack", "mark", "multiport", "recent", "sctp",
                     "state", "statistic", "tcp", "udp")
SUPPORTED_TARGETS = (*VERDICTS, "CONNMARK", "DNAT", "MARK", "MASQUERADE", "REJECT", "SNAT")
#: Targets iptables has but this model does not: ``-j LOG`` is an error, not a jump to a chain named LOG.
UNSUPPORTED_TARGETS = frozenset((
    "AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNSECMARK", "CT", "DSCP", "ECN", "HMARK", "IDLETIMER", "LED",
    "LOG", "MIRROR", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "QUEUE", "RATEEST", "REDIRECT", "SAME", "SECMARK",
    "SET", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP", "TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG"))
#: The protocols whose match module carries ports (``-p tcp --dport 80`` loads ``-m tcp``).
PORT_PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}

#: ``rtn_names`` (extensions/libxt_addrtype.c) in bit order, the order they are printed in.
ADDRESS_TYPES = ("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE",
                 "PROHIBIT", "THROW", "NAT", "XRESOLVE")
#: conntrack states in ``print_state`` order (extensions/libxt_conntrack.c); ``-m state`` knows the first five.
CONNTRACK_STATES = ("INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT")
#: ``reject_table`` (extensions/libipt_REJECT.c): (name, alias) in table order.
REJECT_TYPES = (("icmp-net-unreachable", "net-unreach"), ("icmp-host-unreachable", "host-unreach"),
                ("icmp-proto-unreachable", "proto-unreach"), ("icmp-port-unreachable", "port-unreach"),
                ("icmp-net-prohibited", "net-prohib"), ("icmp-host-prohibited", "host-prohib"),
                ("tcp-reset", "tcp-rst"), ("icmp-admin-prohibited", "admin-prohib"))
MAX_COMMENT_BYTES = 255  # XT_MAX_COMMENT_LEN - 1
MAX_CHAIN_NAME = 28  # XT_EXTENSION_MAXNAMELEN - 1


class NetfilterError(EkslibError):
    """A rule, chain or table that iptables would refuse, or that this model does not support.

    ``location`` is ``(table, chain, rule index or None)`` when the error is about one place of a table; the
    parser turns it into a line number.
    """

    def __init__(self, message: str, location: tuple[str, str, int | None] | None = None):
        super().__init__(message)
        self.location = location


def _check_u32(value: int, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MASK32:
        raise NetfilterError(f"{what} must be an integer from 0 to 0xffffffff, not {value!r}")


def _check_name(name: str, what: str, longest: int) -> None:
    if (not isinstance(name, str) or not name or len(name) > longest or name[0] in "-!"
            or any(c.isspace() or not c.isprintable() or c in "\"'\\/" for c in name)):
        raise NetfilterError(f"bad {what} {name!r}: 1 to {longest} printable characters without spaces, quotes "
                             "or slashes, not starting with '-' or '!'")


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass in __post_init__


# --------------------------------------------------------------------------------------- addresses and ports


@dataclass(frozen=True)
class AddressMatch:
    """``[!] -s``/``-d``: an IPv4 network (host bits cleared, as iptables clears them).

    >>> AddressMatch("10.1.2.3/16"), AddressMatch("10.0.0.0/8", negated=True).matches("10.0.0.1")
    (AddressMatch(network=IPv4Network('10.1.0.0/16'), negated=False), False)
    """

    network: ipaddress.IPv4Network
    negated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.network, ipaddress.IPv4Network):
            _set(self, "network", ipaddress.IPv4Network(self.network, strict=False))

    def matches(self, address: str | ipaddress.IPv4Address) -> bool:
        """Whether a packet with this address passes the test."""
        return (ipaddress.IPv4Address(address) in self.network) != self.negated


@dataclass(frozen=True)
class InterfaceMatch:
    """``[!] -i``/``-o``: an interface name; a trailing ``+`` matches every name with that prefix.

    >>> InterfaceMatch("eni+").matches("eni3a8f"), InterfaceMatch("vlan+", negated=True).matches("eth0")
    (True, True)
    """

    name: str
    negated: bool = False

    def __post_init__(self) -> None:
        if (not isinstance(self.name, str) or not self.name or len(self.name) > 15 or self.name[0] in "-!"
                or any(c.isspace() or c in "/\"'\\" or not c.isprintable() for c in self.name)):
            raise NetfilterError(f"bad interface name {self.name!r}: 1 to 15 characters (IFNAMSIZ - 1) without "
                                 "spaces, quotes or '/', not starting with '-' or '!'")

    def matches(self, interface: str) -> bool:
        hit = interface.startswith(self.name[:-1]) if self.name.endswith("+") else interface == self.name
        return hit != self.negated


@dataclass(frozen=True)
class ProtocolMatch:
    """``[!] -p``: an IP protocol number; ``name`` is what iptables-save prints (iptables' own names, then
    /etc/protocols, else the number).

    >>> ProtocolMatch(6).name, ProtocolMatch(47).name, ProtocolMatch(58).name
    ('tcp', 'gre', 'ipv6-icmp')
    """

    number: int
    negated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.number, int) or not 0 <= self.number <= 255:
            raise NetfilterError(f"protocol number must be 0..255, not {self.number!r}")
        if self.number == 0 and self.negated:
            raise NetfilterError("! -p all: rule would never match protocol (iptables refuses it)")

    @property
    def name(self) -> str:
        from ekslib.linux.iptables_save import protocol_name

        return protocol_name(self.number)

    def matches(self, number: int) -> bool:
        return (number == self.number) != self.negated


@dataclass(frozen=True)
class PortRange:
    """A port, or an inclusive range ``first..last`` (``last`` defaults to ``first``).

    >>> PortRange(53), PortRange(8000, 8080).contains(8080)
    (PortRange(first=53, last=53), True)
    """

    first: int
    last: int | None = None

    def __post_init__(self) -> None:
        if self.last is None:
            _set(self, "last", self.first)
        for port in (self.first, self.last):
            if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
                raise NetfilterError(f"port must be 0..65535, not {port!r}")
        if self.first > self.last:
            raise NetfilterError(f"invalid port range {self.first}:{self.last} (min > max)")

    def contains(self, port: int) -> bool:
        return self.first <= port <= self.last  # type: ignore[operator]


@dataclass(frozen=True)
class PortMatch:
    """``[!] --dport 80`` or ``--sport 1024:65535``: a range and a negation flag.

    >>> PortMatch(PortRange(80), negated=True).matches(443)
    True
    """

    ports: PortRange
    negated: bool = False

    def matches(self, port: int) -> bool:
        return self.ports.contains(port) != self.negated


# ----------------------------------------------------------------------------------------------------- matches


@dataclass(frozen=True)
class PortOptions:
    """``-m tcp`` / ``-m udp`` / ``-m sctp`` (``struct xt_tcp``): source and destination port tests.

    >>> Match("tcp", PortOptions(dport=PortMatch(PortRange(30080)))).text
    '-m tcp --dport 30080'
    """

    sport: PortMatch | None = None
    dport: PortMatch | None = None


@dataclass(frozen=True)
class CommentOptions:
    """``-m comment --comment TEXT``: at most 255 bytes (UTF-8) of one line.

    >>> Match("comment", CommentOptions("AWS, SNAT")).text
    '-m comment --comment "AWS, SNAT"'
    """

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or any(c in "\n\r\0" for c in self.text):
            raise NetfilterError(f"bad comment {self.text!r}: one line of text")
        if len(self.text.encode()) > MAX_COMMENT_BYTES:
            raise NetfilterError(f"comment is {len(self.text.encode())} bytes long: the kernel keeps "
                                 f"{MAX_COMMENT_BYTES} (iptables would silently cut it)")


@dataclass(frozen=True)
class AddrtypeOptions:
    """``-m addrtype`` (``struct xt_addrtype_info_v1``): route types of the source/destination address, each
    test negatable; ``limit_iface_in``/``_out`` look the address up on the packet's interface only.

    >>> Match("addrtype", AddrtypeOptions(dst_type=("LOCAL",), dst_negated=True)).text
    '-m addrtype ! --dst-type LOCAL'
    """

    src_type: tuple[str, ...] = ()
    dst_type: tuple[str, ...] = ()
    src_negated: bool = False
    dst_negated: bool = False
    limit_iface_in: bool = False
    limit_iface_out: bool = False

    def __post_init__(self) -> None:
        for name in ("src_type", "dst_type"):
            types = getattr(self, name)
            types = (types,) if isinstance(types, str) else tuple(types)
            if any(t not in ADDRESS_TYPES for t in types):
                raise NetfilterError(f"bad address type in {types!r}: one of {', '.join(ADDRESS_TYPES)}")
            _set(self, name, tuple(t for t in ADDRESS_TYPES if t in types))
        if not self.src_type and not self.dst_type:
            raise NetfilterError("addrtype: you must specify --src-type or --dst-type")
        if (self.src_negated and not self.src_type) or (self.dst_negated and not self.dst_type):
            raise NetfilterError("addrtype: a negation needs its --src-type/--dst-type")
        if self.limit_iface_in and self.limit_iface_out:
            raise NetfilterError("addrtype: --limit-iface-in and --limit-iface-out exclude each other")


def quantize_probability(probability: float) -> float:
    """The probability the kernel keeps: ``lround(0x80000000 * p) / 0x80000000`` (``statistic_parse``,
    extensions/libxt_statistic.c), a multiple of 2**-31.

    >>> f"{quantize_probability(0.2):.11f}", f"{quantize_probability(1 / 3):.11f}"
    ('0.20000000019', '0.33333333349')
    """
    if not 0.0 <= probability <= 1.0:
        raise NetfilterError(f'statistic: bad value for option "--probability", or out of range (0-1): '
                             f"{probability!r}")
    scaled = Decimal(0x80000000) * Decimal(probability)
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)) / 0x80000000


@dataclass(frozen=True)
class StatisticOptions:
    """``-m statistic``: ``mode="random"`` with a ``probability`` (kept as the kernel rounds it), or
    ``mode="nth"`` matching packet ``packet`` of every ``every``; ``negated`` inverts the test.

    >>> StatisticOptions("random", 1 / 3).probability == 0x2AAAAAAB / 2**31
    True
    """

    mode: Literal["random", "nth"]
    probability: float | None = None
    every: int | None = None
    packet: int = 0
    negated: bool = False

    def __post_init__(self) -> None:
        if self.mode == "random":
            if self.probability is None or self.every is not None or self.packet:
                raise NetfilterError("statistic: --mode random takes --probability (and no --every/--packet)")
            _set(self, "probability", quantize_probability(float(self.probability)))
        elif self.mode == "nth":
            if self.every is None or self.probability is not None:
                raise NetfilterError("statistic: --mode nth takes --every and --packet (and no --probability)")
            if not 1 <= self.every <= MASK32 or not 0 <= self.packet < self.every:
                raise NetfilterError(f"statistic: need --every >= 1 and 0 <= --packet <= every-1, not "
                                     f"{self.every}/{self.packet}")
        else:
            raise NetfilterError(f'statistic: Bad mode "{self.mode}": random or nth')


@dataclass(frozen=True)
class MarkOptions:
    """``-m mark`` / ``-m connmark``: the (conn)mark matches when ``mark & mask == value``, unless negated.

    >>> MarkOptions(0x4000, 0x4000, negated=True).matches(0x4080)
    False
    """

    value: int
    mask: int = MASK32
    negated: bool = False

    def __post_init__(self) -> None:
        _check_u32(self.value, "mark value")
        _check_u32(self.mask, "mark mask")

    def matches(self, mark: int) -> bool:
        return ((mark & self.mask) == self.value) != self.negated


@dataclass(frozen=True)
class ConntrackOptions:
    """``-m conntrack --ctstate`` / ``-m state --state``: the connection is in one of ``states`` (kept in
    ``CONNTRACK_STATES`` order), unless negated.

    >>> ConntrackOptions(("ESTABLISHED", "RELATED")).states
    ('RELATED', 'ESTABLISHED')
    """

    states: tuple[str, ...]
    negated: bool = False

    def __post_init__(self) -> None:
        states = (self.states,) if isinstance(self.states, str) else tuple(self.states)
        if not states or any(s not in CONNTRACK_STATES for s in states):
            raise NetfilterError(f"bad conntrack states {states!r}: some of {', '.join(CONNTRACK_STATES)}")
        _set(self, "states", tuple(s for s in CONNTRACK_STATES if s in states))

    def matches(self, state: str) -> bool:
        return (state in self.states) != self.negated


@dataclass(frozen=True)
class RecentOptions:
    """``-m recent`` (kube-proxy's session affinity): ``command`` set/rcheck/update/remove on the list ``name``,
    keyed by the source (``rsource``) or destination address under ``mask``; ``seconds``/``hitcount`` limit a
    check, ``reap`` purges older entries, ``rttl`` also compares the TTL.

    >>> Match("recent", RecentOptions("rcheck", "KUBE-SEP-S1", seconds=10800, reap=True)).text
    '-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-S1 --mask 255.255.255.255 --rsource'
    """

    command: Literal["set", "rcheck", "update", "remove"]
    name: str = "DEFAULT"
    seconds: int | None = None
    reap: bool = False
    hitcount: int | None = None
    rttl: bool = False
    mask: ipaddress.IPv4Address = ipaddress.IPv4Address("255.255.255.255")
    rsource: bool = True
    negated: bool = False

    def __post_init__(self) -> None:
        if self.command not in ("set", "rcheck", "update", "remove"):
            raise NetfilterError(f"recent: bad command {self.command!r}: set, rcheck, update or remove")
        _check_name(self.name, "recent --name", 199)
        if self.name in (".", ".."):
            raise NetfilterError(f"recent: --name {self.name} is refused by the kernel (a /proc/net/xt_recent entry)")
        if self.seconds is not None:
            _check_u32(self.seconds, "recent --seconds")
            if self.seconds == 0:
                raise NetfilterError('recent: bad value for option "--seconds", or out of range (1-4294967295)')
        if self.reap and self.seconds is None:
            raise NetfilterError('recent: option "--reap" also requires "--seconds"')
        if self.hitcount is not None:
            _check_u32(self.hitcount, "recent --hitcount")
            if self.hitcount == 0:
                _set(self, "hitcount", None)  # 0 is "no hitcount": recent_save prints nothing
        if self.rttl and self.command in ("set", "remove"):
            raise NetfilterError(f'recent: option "--rttl" cannot be used together with "--{self.command}"')
        if self.command in ("set", "remove") and (self.seconds is not None or self.hitcount is not None):
            raise NetfilterError(f"recent --{self.command} takes no --seconds/--hitcount/--reap (the kernel's "
                                 "recent_mt_check refuses them)")
        if not isinstance(self.mask, ipaddress.IPv4Address):
            _set(self, "mask", ipaddress.IPv4Address(self.mask))


@dataclass(frozen=True)
class MultiportOptions:
    """``-m multiport``: the source (``sports``), destination (``dports``) or either (``ports``) port is in
    ``ports``, unless negated; at most 15 slots, a range taking two (``XT_MULTI_PORTS``).

    >>> MultiportOptions("dports", (PortRange(80), PortRange(8000, 8080))).matches(8443)
    False
    """

    direction: Literal["sports", "dports", "ports"]
    ports: tuple[PortRange, ...]
    negated: bool = False

    def __post_init__(self) -> None:
        if self.direction not in ("sports", "dports", "ports"):
            raise NetfilterError(f"multiport: bad direction {self.direction!r}: sports, dports or ports")
        ports = tuple(p if isinstance(p, PortRange) else PortRange(p) for p in self.ports)
        _set(self, "ports", ports)
        if not ports or sum(1 if p.first == p.last else 2 for p in ports) > 15:
            raise NetfilterError("multiport: 1 to 15 ports (a range counts twice): too many ports specified")

    def matches(self, port: int) -> bool:
        return any(p.contains(port) for p in self.ports) != self.negated


MatchOptions = (PortOptions | CommentOptions | AddrtypeOptions | StatisticOptions | MarkOptions | ConntrackOptions
                | RecentOptions | MultiportOptions)
MATCH_OPTIONS: dict[str, type] = {
    "addrtype": AddrtypeOptions, "comment": CommentOptions, "connmark": MarkOptions, "conntrack": ConntrackOptions,
    "mark": MarkOptions, "multiport": MultiportOptions, "recent": RecentOptions, "sctp": PortOptions,
    "state": ConntrackOptions, "statistic": StatisticOptions, "tcp": PortOptions, "udp": PortOptions,
}


@dataclass(frozen=True)
class Match:
    """``-m MODULE OPTIONS``: a module of ``SUPPORTED_MATCHES`` and its options object.

    >>> Match("mark", MarkOptions(0x4000, 0x4000, negated=True)).text
    '-m mark ! --mark 0x4000/0x4000'
    >>> Match("conntrack", ConntrackOptions(("ESTABLISHED", "RELATED"))).text
    '-m conntrack --ctstate RELATED,ESTABLISHED'
    """

    module: str
    options: MatchOptions | None = None

    def __post_init__(self) -> None:
        kind = MATCH_OPTIONS.get(self.module)
        if kind is None:
            raise NetfilterError(f"unsupported match {self.module!r}: supported are {', '.join(SUPPORTED_MATCHES)}")
        if self.options is None and kind is PortOptions:
            _set(self, "options", PortOptions())
        if not isinstance(self.options, kind):
            raise NetfilterError(f"-m {self.module} takes {kind.__name__}, not {self.options!r}")
        if self.module == "state" and set(self.options.states) & {"SNAT", "DNAT"}:  # type: ignore[union-attr]
            raise NetfilterError("-m state knows INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED (SNAT/DNAT need "
                                 "-m conntrack --ctstate)")
        if self.module in ("tcp", "udp"):
            opts = self.options
            assert isinstance(opts, PortOptions)
            _set(self, "options", PortOptions(_nft_port(self.module, opts.sport), _nft_port(self.module, opts.dport)))

    @property
    def text(self) -> str:
        """``-m MODULE OPTIONS`` as iptables-save prints it."""
        from ekslib.linux.iptables_save import match_args

        return " ".join(match_args(self))


def _nft_port(module: str, port: PortMatch | None) -> PortMatch | None:
    """A tcp/udp port test as iptables-nft stores it and reads it back: a full ``0:65535`` is no test
    (``skip_ports_match``, libxt_tcp.c), and ``! 0:N`` is stored as ``> N`` (``expr_gen_range_cmp16``,
    iptables/nft.c) and read back as ``N+1:65535`` (``port_match_single_to_range``, iptables/nft-ruleparse.c)."""
    if port is None:
        return None
    first, last = port.ports.first, port.ports.last
    if (first, last) == (0, 65535):
        if port.negated:
            raise NetfilterError(f"-m {module} ! 0:65535 is not supported: iptables-nft 1.8.9 drops the whole "
                                 "match, so the rule would match every packet")
        return None
    if port.negated and first == 0 and last != 0:
        return PortMatch(PortRange(last + 1, 65535))  # type: ignore[operator]
    return port


# ----------------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class NatRange:
    """The ``A[-B][:P[-Q]]`` of ``--to-destination``/``--to-source``: an address range, a port range, or both.

    >>> r = NatRange("192.168.1.5", ports=PortRange(8080))
    >>> r.max_ip, r.ports
    (IPv4Address('192.168.1.5'), PortRange(first=8080, last=8080))
    """

    min_ip: ipaddress.IPv4Address | None = None
    max_ip: ipaddress.IPv4Address | None = None
    ports: PortRange | None = None

    def __post_init__(self) -> None:
        for name in ("min_ip", "max_ip"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, ipaddress.IPv4Address):
                _set(self, name, ipaddress.IPv4Address(value))
        if self.max_ip is None and self.min_ip is not None:
            _set(self, "max_ip", self.min_ip)
        if self.min_ip is None and (self.max_ip is not None or self.ports is None):
            raise NetfilterError("NAT range: give an address (range), a port (range) or both")
        if self.min_ip is not None and self.max_ip < self.min_ip:  # type: ignore[operator]
            raise NetfilterError(f"NAT range {self.min_ip}-{self.max_ip}: min > max")

@dataclass(frozen=True)
class DnatOptions:
    """``-j DNAT``: rewrite the destination to ``to``; ``random``/``persistent`` pick among a range.

    >>> Target("DNAT", DnatOptions(NatRange("10.0.0.1", "10.0.0.3"), random=True)).text
    '-j DNAT --to-destination 10.0.0.1-10.0.0.3 --random'
    """

    to: NatRange
    random: bool = False
    persistent: bool = False


@dataclass(frozen=True)
class SnatOptions:
    """``-j SNAT``: rewrite the source to ``to``; ``random``/``random_fully`` randomise the source port.

    >>> SnatOptions(NatRange("192.168.1.10"), random_fully=True).to.min_ip
    IPv4Address('192.168.1.10')
    """

    to: NatRange
    random: bool = False
    random_fully: bool = False
    persistent: bool = False


@dataclass(frozen=True)
class MasqueradeOptions:
    """``-j MASQUERADE``: SNAT to the outgoing interface's address, source ports from ``to_ports``.

    >>> Target("MASQUERADE", MasqueradeOptions(PortRange(1024, 2047))).text
    '-j MASQUERADE --to-ports 1024-2047'
    """

    to_ports: PortRange | None = None
    random: bool = False
    random_fully: bool = False


@dataclass(frozen=True)
class MarkTargetOptions:
    """``-j MARK``: ``mark = (mark & ~mask) ^ value`` (``--set-xmark``; the other spellings -- ``--set-mark``,
    ``--or-mark``, ``--and-mark``, ``--xor-mark`` -- are this with another value/mask, ``mark_tg_parse``).

    >>> hex(MarkTargetOptions(0x4000, 0x4000).apply(0x80)), hex(MarkTargetOptions(0x4000, 0).apply(0x4080))
    ('0x4080', '0x80')
    """

    value: int
    mask: int = MASK32

    def __post_init__(self) -> None:
        _check_u32(self.value, "MARK value")
        _check_u32(self.mask, "MARK mask")

    def apply(self, mark: int) -> int:
        return (mark & ~self.mask & MASK32) ^ self.value


@dataclass(frozen=True)
class ConnmarkOptions:
    """``-j CONNMARK`` (``connmark_tg_shift`` in the kernel's net/netfilter/xt_connmark.c): ``"set"`` does
    ``ctmark = (ctmark & ~ctmask) ^ ctmark_value``, ``"save"`` ``ctmark = (ctmark & ~ctmask) ^ (mark & nfmask)``,
    ``"restore"`` ``mark = (mark & ~nfmask) ^ (ctmark & ctmask)``.

    >>> hex(ConnmarkOptions("restore", nfmask=0x80, ctmask=0x80).apply(0x0, ctmark=0x80)[0])
    '0x80'
    """

    mode: Literal["set", "save", "restore"]
    ctmark: int = 0
    ctmask: int = MASK32
    nfmask: int = MASK32

    def __post_init__(self) -> None:
        if self.mode not in ("set", "save", "restore"):
            raise NetfilterError(f"CONNMARK: bad mode {self.mode!r}: set, save or restore")
        for name in ("ctmark", "ctmask", "nfmask"):
            _check_u32(getattr(self, name), f"CONNMARK {name}")
        if self.mode == "set" and self.nfmask != MASK32:
            raise NetfilterError("CONNMARK set: nfmask is not used (iptables drops it); leave it at 0xffffffff")
        if self.mode != "set" and self.ctmark:
            raise NetfilterError(f"CONNMARK {self.mode}: ctmark is only for mode 'set'")

    def apply(self, mark: int, ctmark: int) -> tuple[int, int]:
        """(packet mark, connection mark) after the target."""
        if self.mode == "set":
            return mark, (ctmark & ~self.ctmask & MASK32) ^ self.ctmark
        if self.mode == "save":
            return mark, (ctmark & ~self.ctmask & MASK32) ^ (mark & self.nfmask)
        return (mark & ~self.nfmask & MASK32) ^ (ctmark & self.ctmask), ctmark


@dataclass(frozen=True)
class RejectOptions:
    """``-j REJECT``: drop and answer with ``reject_with`` (a name of ``REJECT_TYPES``).

    >>> Target("REJECT", RejectOptions("tcp-reset")).text
    '-j REJECT --reject-with tcp-reset'
    """

    reject_with: str = "icmp-port-unreachable"

    def __post_init__(self) -> None:
        if self.reject_with not in [name for name, _ in REJECT_TYPES]:
            raise NetfilterError(f"REJECT: bad type {self.reject_with!r}: one of "
                                 f"{', '.join(name for name, _ in REJECT_TYPES)}")


TargetOptions = DnatOptions | SnatOptions | MasqueradeOptions | MarkTargetOptions | ConnmarkOptions | RejectOptions
TARGET_OPTIONS: dict[str, type] = {"CONNMARK": ConnmarkOptions, "DNAT": DnatOptions, "MARK": MarkTargetOptions,
                                   "MASQUERADE": MasqueradeOptions, "REJECT": RejectOptions, "SNAT": SnatOptions}
_DEFAULT_TARGET_OPTIONS = {"MASQUERADE": MasqueradeOptions, "REJECT": RejectOptions}


@dataclass(frozen=True)
class Target:
    """``-j NAME [OPTIONS]``: a verdict (ACCEPT, DROP, RETURN), an extension target of ``SUPPORTED_TARGETS``
    with its options object, or a jump to a user chain; ``goto=True`` makes it ``-g CHAIN``.

    >>> Target("DNAT", DnatOptions(NatRange("192.168.1.5", ports=PortRange(8080)))).text
    '-j DNAT --to-destination 192.168.1.5:8080'
    >>> Target("REJECT").text, Target("KUBE-SVC-X", goto=True).text
    ('-j REJECT --reject-with icmp-port-unreachable', '-g KUBE-SVC-X')
    """

    name: str
    options: TargetOptions | None = None
    goto: bool = False

    def __post_init__(self) -> None:
        kind = TARGET_OPTIONS.get(self.name)
        if kind is not None:
            if self.options is None and self.name in _DEFAULT_TARGET_OPTIONS:
                _set(self, "options", _DEFAULT_TARGET_OPTIONS[self.name]())
            if not isinstance(self.options, kind):
                raise NetfilterError(f"-j {self.name} takes {kind.__name__}, not {self.options!r}")
        elif self.options is not None:
            raise NetfilterError(f"-j {self.name} takes no options")
        elif self.name in UNSUPPORTED_TARGETS:
            raise NetfilterError(f"unsupported target {self.name}: supported are {', '.join(SUPPORTED_TARGETS)} "
                                 "and jumps to user chains")
        elif self.name not in VERDICTS:
            _check_name(self.name, "chain name", MAX_CHAIN_NAME)
        if self.goto and not self.is_jump:
            raise NetfilterError(f"-g {self.name}: goto needs a user chain")

    @property
    def is_jump(self) -> bool:
        """A jump (or goto) to a user chain, rather than a verdict or an extension target."""
        return self.name not in SUPPORTED_TARGETS

    @property
    def text(self) -> str:
        from ekslib.linux.iptables_save import target_args

        return " ".join(target_args(self))


# ------------------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """One ``-A CHAIN ...`` line: the IPv4 header tests, the matches in order, the target (``None`` for a rule
    that only counts) and the ``[packets:bytes]`` counters of ``iptables-save -c`` (``None`` when not given).

    >>> r = Rule("AWS-SNAT-CHAIN-0", out_iface=InterfaceMatch("vlan+", negated=True),
    ...          matches=(Match("comment", CommentOptions("AWS, SNAT")),),
    ...          target=Target("SNAT", SnatOptions(NatRange("192.168.1.10"), random_fully=True)))
    >>> str(r)
    '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -j SNAT --to-source 192.168.1.10 --random-fully'
    """

    chain: str
    source: AddressMatch | None = None
    destination: AddressMatch | None = None
    in_iface: InterfaceMatch | None = None
    out_iface: InterfaceMatch | None = None
    protocol: ProtocolMatch | None = None
    matches: tuple[Match, ...] = ()
    target: Target | None = None
    counters: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _check_name(self.chain, "chain name", MAX_CHAIN_NAME)
        _set(self, "matches", tuple(self.matches))
        for name, flag in (("source", "-s"), ("destination", "-d")):
            address = getattr(self, name)
            if address is not None and address.network == ipaddress.IPv4Network("0.0.0.0/0"):
                if address.negated:
                    raise NetfilterError(f"! {flag} 0.0.0.0/0 matches nothing (iptables-nft refuses it)")
                _set(self, name, None)  # save_ipv4_addr prints nothing for 0.0.0.0/0
        for name in ("in_iface", "out_iface"):
            iface = getattr(self, name)
            if iface is not None and iface.name == "+" and not iface.negated:
                _set(self, name, None)  # save_iface: "-i +" matches any interface and is not printed
        if self.protocol is not None and self.protocol.number == 0:
            _set(self, "protocol", None)  # -p all
        if self.counters is not None:
            if len(self.counters) != 2 or any(not isinstance(n, int) or n < 0 for n in self.counters):
                raise NetfilterError(f"bad counters {self.counters!r}: two non-negative integers")
            _set(self, "counters", tuple(self.counters))
        self._check_protocol_needs()

    def _check_protocol_needs(self) -> None:
        """What iptables checks between ``-p`` and the matches and targets that need a protocol."""
        proto = self.protocol
        plain = None if proto is None or proto.negated else proto.number
        seen: set[str] = set()
        for index, match in enumerate(self.matches):
            if match.module in ("mark", "connmark"):
                # both print --mark, and iptables merges a module's options only at its first -m, so a later
                # instance of the one loaded first would have its --mark read by the other (see _owner)
                other = "connmark" if match.module == "mark" else "mark"
                first = [m.module for m in self.matches[:index + 1]]
                if match.module in first[:-1] and other in first and \
                        first.index(other) > first.index(match.module):
                    raise NetfilterError(f"-m {match.module} again after -m {other}: iptables would read its --mark "
                                         f"as -m {other}'s; put the -m {match.module} matches before -m {other}")
            if match.module in PORT_PROTOCOLS:
                if plain != PORT_PROTOCOLS[match.module]:
                    raise NetfilterError(f"{match.module.upper()} match requires '-p {match.module}'")
                if match.module in seen:
                    raise NetfilterError(f"a second -m {match.module} in one rule is not supported "
                                         "(iptables-nft merges them)")
                seen.add(match.module)
            if match.module == "multiport" and plain not in (6, 17, 136, 132, 33):
                raise NetfilterError("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'")
        options = self.target.options if self.target else None
        ports = [options.to.ports] if isinstance(options, (DnatOptions, SnatOptions)) else []
        ports += [options.to_ports] if isinstance(options, MasqueradeOptions) else []
        if any(p is not None for p in ports) and (proto is None or proto.number not in (6, 17, 132, 33)):
            raise NetfilterError("Need TCP, UDP, SCTP or DCCP with port specification")
        if isinstance(options, RejectOptions) and options.reject_with == "tcp-reset" and plain != 6:
            raise NetfilterError("REJECT --reject-with tcp-reset needs -p tcp (the kernel refuses it otherwise)")

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Read one ``-A CHAIN ...`` line, as iptables-save prints it or as a person writes it."""
        from ekslib.linux.iptables_save import parse_rule

        return parse_rule(text)

    @property
    def text(self) -> str:
        """The line as iptables-save prints it (``[packets:bytes]`` first when the rule carries counters)."""
        from ekslib.linux.iptables_save import rule_text

        return rule_text(self)

    def __str__(self) -> str:
        return self.text

    def find(self, module: str) -> tuple[Match, ...]:
        """The matches of one module, in order."""
        return tuple(m for m in self.matches if m.module == module)


@dataclass(frozen=True)
class Chain:
    """A chain: ``policy`` is ACCEPT or DROP for a built-in chain and ``None`` (printed ``-``) for a user chain.

    >>> Chain("KUBE-SERVICES").policy is None, Chain("INPUT", "DROP").policy
    (True, 'DROP')
    """

    name: str
    policy: Literal["ACCEPT", "DROP"] | None = None
    counters: tuple[int, int] = (0, 0)
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.name, "chain name", MAX_CHAIN_NAME)
        if self.policy not in (None, "ACCEPT", "DROP"):
            raise NetfilterError(f"chain {self.name}: bad policy {self.policy!r}: ACCEPT, DROP, or None (user chain)")
        _set(self, "rules", tuple(self.rules))
        _set(self, "counters", tuple(self.counters))
        for index, rule in enumerate(self.rules):
            if rule.chain != self.name:
                raise NetfilterError(f"rule {index + 1} of chain {self.name} is for chain {rule.chain}")


@dataclass(frozen=True)
class Table:
    """A table and its chains, kept as iptables-save lists them: built-in chains in hook order, then user chains
    by name (``nft_cache_sort_chains``, iptables/nft-cache.c); missing built-in chains are added (ACCEPT).

    Construction checks what the kernel checks: jumps go to existing user chains and no loop is reachable from
    a built-in chain; DNAT/SNAT/MASQUERADE only in nat and only reached from their hooks; REJECT only in filter;
    no ``-i`` in OUTPUT/POSTROUTING nor ``-o`` in PREROUTING/INPUT (nor addrtype ``--limit-iface-in/out`` there).

    >>> [c.name for c in Table("filter", (Chain("KUBE-B"), Chain("KUBE-A"), Chain("INPUT", "DROP"))).chains]
    ['INPUT', 'FORWARD', 'OUTPUT', 'KUBE-A', 'KUBE-B']
    """

    name: str
    chains: tuple[Chain, ...] = ()

    def __post_init__(self) -> None:
        if self.name not in BUILTIN_CHAINS:
            raise NetfilterError(f"unknown table {self.name!r}: one of {', '.join(TABLE_ORDER)}")
        builtins = BUILTIN_CHAINS[self.name]
        by_name: dict[str, Chain] = {}
        for chain in self.chains:
            where = (self.name, chain.name, None)
            if chain.name in by_name:
                raise NetfilterError(f"chain {chain.name} declared twice in table {self.name}", where)
            if (chain.name in builtins) != (chain.policy is not None):
                kind = "a built-in chain needs a policy (ACCEPT or DROP)" if chain.name in builtins else \
                    "a user chain has no policy ('-')"
                raise NetfilterError(f"chain {chain.name} in table {self.name}: {kind}", where)
            if chain.name in SUPPORTED_TARGETS or chain.name in UNSUPPORTED_TARGETS:
                raise NetfilterError(f"chain name {chain.name} is a target name", where)
            by_name[chain.name] = chain
        ordered = [by_name.get(name) or Chain(name, "ACCEPT") for name in builtins]
        ordered += sorted((c for c in self.chains if c.name not in builtins), key=lambda c: c.name.encode())
        _set(self, "chains", tuple(ordered))
        _check_table(self)

    def chain(self, name: str) -> Chain:
        for chain in self.chains:
            if chain.name == name:
                return chain
        raise NetfilterError(f"no chain {name!r} in table {self.name}: it has {', '.join(c.name for c in self.chains)}")

    def rules(self, chain: str) -> tuple[Rule, ...]:
        return self.chain(chain).rules


_NAT_HOOKS = {"DNAT": ("PREROUTING", "OUTPUT"), "SNAT": ("POSTROUTING", "INPUT"), "MASQUERADE": ("POSTROUTING",)}


def _check_table(table: Table) -> None:
    """The kernel's checks (xt targets' ``.table``/``.hooks``, nft's chain validation) and iptables' -i/-o check."""
    chains = {c.name: c for c in table.chains}
    builtins = BUILTIN_CHAINS[table.name]
    for chain in table.chains:
        for index, rule in enumerate(chain.rules):
            where = (table.name, chain.name, index)
            target = rule.target
            if target is not None and target.is_jump and target.name not in chains:
                raise NetfilterError(f"-{'g' if target.goto else 'j'} {target.name}: no chain {target.name} in "
                                     f"table {table.name}, and {target.name} is not a supported target "
                                     f"({', '.join(SUPPORTED_TARGETS)})", where)
            if target is not None and target.is_jump and target.name in builtins:
                raise NetfilterError(f"-j {target.name}: a rule cannot jump to a built-in chain", where)
            if target is not None and target.name in _NAT_HOOKS and table.name != "nat":
                raise NetfilterError(f"-j {target.name} is only valid in the nat table", where)
            if target is not None and target.name == "REJECT" and table.name != "filter":
                raise NetfilterError("-j REJECT is only valid in the filter table", where)
            if chain.name in builtins:
                _check_hook(rule, chain.name, where)
    reached: dict[str, set[str]] = {name: set() for name in chains}
    for hook in builtins:
        _walk(table.name, chains, hook, hook, reached, ())
    for chain in table.chains:
        for index, rule in enumerate(chain.rules):
            if rule.target is not None and rule.target.name in _NAT_HOOKS:
                allowed = _NAT_HOOKS[rule.target.name]
                bad = sorted(reached[chain.name] - set(allowed))
                if bad:
                    raise NetfilterError(f"-j {rule.target.name} is only valid in {'/'.join(allowed)}, but chain "
                                         f"{chain.name} is reached from {', '.join(bad)}",
                                         (table.name, chain.name, index))


def _check_hook(rule: Rule, chain: str, where: tuple[str, str, int]) -> None:
    if rule.in_iface is not None and chain in ("OUTPUT", "POSTROUTING"):
        raise NetfilterError(f"Can't use -i with {chain}", where)
    if rule.out_iface is not None and chain in ("PREROUTING", "INPUT"):
        raise NetfilterError(f"Can't use -o with {chain}", where)
    for match in rule.find("addrtype"):
        opts = match.options
        assert isinstance(opts, AddrtypeOptions)
        if opts.limit_iface_in and chain in ("OUTPUT", "POSTROUTING"):
            raise NetfilterError(f"addrtype --limit-iface-in is not valid in {chain}", where)
        if opts.limit_iface_out and chain in ("PREROUTING", "INPUT"):
            raise NetfilterError(f"addrtype --limit-iface-out is not valid in {chain}", where)


def _walk(table: str, chains: dict[str, Chain], name: str, hook: str, reached: dict[str, set[str]],
          path: tuple[tuple[str, int], ...]) -> None:
    """Mark every chain reached from ``hook``; a jump back into the current path is a loop."""
    if any(chain == name for chain, _ in path):
        loop = " -> ".join([*(chain for chain, _ in path), name])
        raise NetfilterError(f"loop {loop}: the kernel refuses it (too many links)", (table, *path[-1]))
    if hook in reached[name]:
        return
    reached[name].add(hook)
    for index, rule in enumerate(chains[name].rules):
        if rule.target is not None and rule.target.is_jump:
            _walk(table, chains, rule.target.name, hook, reached, (*path, (name, index)))


@dataclass(frozen=True)
class Ruleset:
    """Tables, kept in the order iptables-save prints them (mangle, security, raw, filter, nat). Immutable: the
    builder methods return a new ruleset; a table is created (with its built-in chains) when first used.

    >>> rs = Ruleset().add_chain("nat", "KUBE-MARK-MASQ").append("nat", "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000")
    >>> rs.rules("nat", "KUBE-MARK-MASQ")[0].text
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'
    >>> print(rs.text, end="")
    *nat
    :PREROUTING ACCEPT [0:0]
    :INPUT ACCEPT [0:0]
    :OUTPUT ACCEPT [0:0]
    :POSTROUTING ACCEPT [0:0]
    :KUBE-MARK-MASQ - [0:0]
    -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
    COMMIT
    """

    tables: tuple[Table, ...] = ()

    def __post_init__(self) -> None:
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise NetfilterError(f"a table appears twice: {names}")
        _set(self, "tables", tuple(sorted(self.tables, key=lambda t: TABLE_ORDER.index(t.name))))

    @classmethod
    def parse(cls, text: str) -> Ruleset:
        """Read iptables-save (or iptables-restore) text: see :func:`parse_iptables_save`."""
        return parse_iptables_save(text)

    @property
    def text(self) -> str:
        """What iptables-save prints for this ruleset, without its comment lines: see :func:`render`."""
        return render(self)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise NetfilterError(f"no table {name!r} in this ruleset: it has {', '.join(t.name for t in self.tables)}")

    def chain(self, table: str, name: str) -> Chain:
        return self.table(table).chain(name)

    def rules(self, table: str, chain: str) -> tuple[Rule, ...]:
        return self.table(table).rules(chain)

    def _edit(self, table: str, edit: Callable[[Table], tuple[Chain, ...]]) -> Ruleset:
        current = next((t for t in self.tables if t.name == table), None) or Table(table)
        return Ruleset((*(t for t in self.tables if t.name != table), Table(table, edit(current))))

    def add_chain(self, table: str, name: str) -> Ruleset:
        """A new ruleset with an empty user chain ``name`` in ``table`` (created if needed)."""
        def edit(t: Table) -> tuple[Chain, ...]:
            if any(c.name == name for c in t.chains):
                raise NetfilterError(f"chain {name} already exists in table {table}")
            return (*t.chains, Chain(name))
        return self._edit(table, edit)

    def set_policy(self, table: str, chain: str, policy: Literal["ACCEPT", "DROP"]) -> Ruleset:
        """A new ruleset with a built-in chain's policy set (``iptables -P``)."""
        if chain not in BUILTIN_CHAINS.get(table, ()):
            raise NetfilterError(f"{chain} is not a built-in chain of table {table}: only those have a policy")
        return self._edit(table, lambda t: tuple(replace(c, policy=policy) if c.name == chain else c
                                                 for c in t.chains))

    def insert(self, table: str, rule: Rule | str, position: int = 1) -> Ruleset:
        """A new ruleset with ``rule`` (a :class:`Rule` or an ``-A CHAIN ...`` line) at 1-based ``position`` of
        its chain, like ``iptables -I CHAIN POSITION``. The chain must exist (built-in chains always do)."""
        new = rule if isinstance(rule, Rule) else Rule.parse(rule)

        def edit(t: Table) -> tuple[Chain, ...]:
            old = t.chain(new.chain)
            if not 1 <= position <= len(old.rules) + 1:
                raise NetfilterError(f"position {position} is outside 1..{len(old.rules) + 1} in chain {old.name}")
            rules = (*old.rules[:position - 1], new, *old.rules[position - 1:])
            return tuple(replace(c, rules=rules) if c is old else c for c in t.chains)
        return self._edit(table, edit)

    def append(self, table: str, rule: Rule | str) -> Ruleset:
        """A new ruleset with ``rule`` appended to its chain, like ``iptables -A``."""
        new = rule if isinstance(rule, Rule) else Rule.parse(rule)
        current = next((t for t in self.tables if t.name == table), None) or Table(table)
        return self.insert(table, new, len(current.rules(new.chain)) + 1)

    def extend(self, table: str, rules: Iterable[Rule | str]) -> Ruleset:
        """A new ruleset with the rules appended in turn (the table is checked once, not once per rule)."""
        new = [rule if isinstance(rule, Rule) else Rule.parse(rule) for rule in rules]

        def edit(t: Table) -> tuple[Chain, ...]:
            for rule in new:
                t.chain(rule.chain)  # an unknown chain raises, naming the table's chains
            return tuple(replace(c, rules=c.rules + tuple(r for r in new if r.chain == c.name)) for c in t.chains)
        return self._edit(table, edit)


def render(ruleset: Ruleset, *, stamp: datetime | None = None, version: str = "v1.8.9 (nf_tables)",
           counters: bool | None = None) -> str:
    """What ``iptables-save`` prints for ``ruleset``: see :func:`ekslib.linux.iptables_save.render`."""
    from ekslib.linux.iptables_save import render as render_text

    return render_text(ruleset, stamp=stamp, version=version, counters=counters)


def parse_iptables_save(text: str) -> Ruleset:
    """Read iptables-save text, or what a person writes for iptables-restore, into a :class:`Ruleset`: see
    :func:`ekslib.linux.iptables_save.parse_iptables_save`."""
    from ekslib.linux.iptables_save import parse_iptables_save as parse

    return parse(text)
