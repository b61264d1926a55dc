"""iptables-save text for the objects of :mod:`ekslib.linux.netfilter`, both ways.

:func:`render` prints a :class:`~ekslib.linux.netfilter.Ruleset` exactly as ``iptables-save`` (iptables 1.8.9,
nf_tables backend) prints it back after ``iptables-restore``; :func:`parse_iptables_save` and :func:`parse_rule`
read that text -- or the looser text a person writes for ``iptables-restore`` -- into the same objects, applying
the normalisations iptables applies (``-p tcp --dport 53`` gains ``-m tcp``, ``-d 10.0.0.1`` becomes
``10.0.0.1/32``, ``--or-mark 0x4000`` becomes ``--set-xmark 0x4000/0x4000``, ...). Each printer names the iptables
function it follows; ``tests/test_netfilter.py`` checks the result against the real ``iptables-save``.

A line iptables would refuse, or that uses a match, target or option this model does not support, raises
:class:`ParseError` naming the line number, the line, the piece at fault and what is supported. Not read:
other matches and targets (LOG, CT, limit, set, physdev, icmp, ...), tcp flags and options, conntrack options but
the state, service and host names, address lists (``-s a,b``), non-contiguous masks, IPv6, ``-f``, ``-c``,
getopt's abbreviated option names (``--to`` for ``--to-destination``), and commands other than ``-A``/``-I``.

File and function names are those of iptables.git (read in its 1.8.11 tree; the 1.8.9 output was checked with
the binary).

>>> rs = parse_iptables_save('''*nat
... :KUBE-MARK-MASQ - [0:0]
... -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
... COMMIT''')
>>> print(render(rs), end="")
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
COMMIT
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ekslib.linux.netfilter import (
    ADDRESS_TYPES,
    BUILTIN_CHAINS,
    MASK32,
    MAX_COMMENT_BYTES,
    PORT_PROTOCOLS,
    REJECT_TYPES,
    SUPPORTED_MATCHES,
    SUPPORTED_TARGETS,
    UNSUPPORTED_TARGETS,
    AddressMatch,
    AddrtypeOptions,
    Chain,
    CommentOptions,
    ConnmarkOptions,
    ConntrackOptions,
    DnatOptions,
    InterfaceMatch,
    MarkOptions,
    MarkTargetOptions,
    MasqueradeOptions,
    Match,
    MultiportOptions,
    NatRange,
    NetfilterError,
    PortMatch,
    PortOptions,
    PortRange,
    ProtocolMatch,
    RecentOptions,
    RejectOptions,
    Rule,
    Ruleset,
    SnatOptions,
    StatisticOptions,
    Table,
    Target,
)

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["PROTOCOL_NUMBERS", "ParseError", "Token", "c_uint", "chain_line", "mark_text", "match_args",
           "parse_address", "parse_iptables_save", "parse_nat_ports", "parse_nat_range", "parse_ports",
           "parse_protocol", "parse_rule", "protocol_name", "quote", "render", "rule_args", "rule_text",
           "target_args", "tokenize"]

# ``xtables_chain_protos`` (libxtables/xtables.c): iptables' own names; the first one of a number is printed.
_CHAIN_PROTOS = (("tcp", 6), ("sctp", 132), ("udp", 17), ("udplite", 136), ("icmp", 1), ("ipv6-icmp", 58),
                 ("icmpv6", 58), ("esp", 50), ("ah", 51), ("mobility-header", 135), ("ipv6-mh", 135), ("mh", 135),
                 ("dccp", 33), ("ipcomp", 108), ("all", 0))
# Debian netbase's /etc/protocols (name number alias): ``proto_to_name`` falls back to getprotobynumber().
_ETC_PROTOCOLS = (
    "ip 0 IP;hopopt 0 HOPOPT;icmp 1 ICMP;igmp 2 IGMP;ggp 3 GGP;ipencap 4 IP-ENCAP;st 5 ST;tcp 6 TCP;egp 8 EGP;"
    "igp 9 IGP;pup 12 PUP;udp 17 UDP;hmp 20 HMP;xns-idp 22 XNS-IDP;rdp 27 RDP;iso-tp4 29 ISO-TP4;dccp 33 DCCP;"
    "xtp 36 XTP;ddp 37 DDP;idpr-cmtp 38 IDPR-CMTP;ipv6 41 IPv6;ipv6-route 43 IPv6-Route;ipv6-frag 44 IPv6-Frag;"
    "idrp 45 IDRP;rsvp 46 RSVP;gre 47 GRE;esp 50 IPSEC-ESP;ah 51 IPSEC-AH;skip 57 SKIP;ipv6-icmp 58 IPv6-ICMP;"
    "ipv6-nonxt 59 IPv6-NoNxt;ipv6-opts 60 IPv6-Opts;rspf 73 RSPF;vmtp 81 VMTP;eigrp 88 EIGRP;ospf 89 OSPFIGP;"
    "ax.25 93 AX.25;ipip 94 IPIP;etherip 97 ETHERIP;encap 98 ENCAP;pim 103 PIM;ipcomp 108 IPCOMP;vrrp 112 VRRP;"
    "l2tp 115 L2TP;isis 124 ISIS;sctp 132 SCTP;fc 133 FC;mobility-header 135 Mobility-Header;"
    "udplite 136 UDPLite;mpls-in-ip 137 MPLS-in-IP;hip 139 HIP;shim6 140 Shim6;wesp 141 WESP;rohc 142 ROHC;"
    "ethernet 143 Ethernet")
PROTOCOL_NUMBERS: dict[str, int] = dict(_CHAIN_PROTOS)
_PROTOCOL_NAMES: dict[int, str] = {}
for _name, _number in _CHAIN_PROTOS:
    _PROTOCOL_NAMES.setdefault(_number, _name)
for _entry in _ETC_PROTOCOLS.split(";"):
    _name, _num, _alias = _entry.split()
    PROTOCOL_NUMBERS.setdefault(_name, int(_num))
    PROTOCOL_NUMBERS.setdefault(_alias, int(_num))
    _PROTOCOL_NAMES.setdefault(int(_num), _name)
_NO_QUOTE = frozenset("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


# -------------------------------------------------------------------------------------------------- printing


def quote(text: str) -> str:
    """``xtables_save_string`` (libxtables/xtables.c), used for ``--comment``: bare when non-empty and only
    ``[A-Za-z0-9_-]``, else in double quotes with ``"``, ``\\`` and ``'`` escaped by a backslash.

    >>> print(quote("kube-dns"), quote("AWS, SNAT"), quote("kube-system/kube-dns:dns"), quote("it's"), quote(""))
    kube-dns "AWS, SNAT" "kube-system/kube-dns:dns" "it\\'s" ""
    """
    if text and all(c in _NO_QUOTE for c in text):
        return text
    return '"' + "".join("\\" + c if c in "\"\\'" else c for c in text) + '"'


def mark_text(value: int, mask: int = MASK32) -> str:
    """``xtables_print_val_mask`` (libxtables/xtables.c): hex, ``/mask`` only when not 0xffffffff.

    >>> mark_text(16384), mark_text(0x80, 0x80)
    ('0x4000', '0x80/0x80')
    """
    return f"0x{value:x}" if mask == MASK32 else f"0x{value:x}/0x{mask:x}"


def protocol_name(number: int) -> str:
    """``proto_to_name`` (iptables/xshared.c): iptables' own name, else /etc/protocols', else the number.

    >>> protocol_name(6), protocol_name(58), protocol_name(47), protocol_name(254)
    ('tcp', 'ipv6-icmp', 'gre', '254')
    """
    return _PROTOCOL_NAMES.get(number, str(number))


def _neg(negated: bool) -> list[str]:
    return ["!"] if negated else []


def _ports(ports: PortRange, sep: str = ":") -> str:
    return str(ports.first) if ports.first == ports.last else f"{ports.first}{sep}{ports.last}"


def _nat_range(r: NatRange) -> str:
    """``sprint_range`` (extensions/libxt_NAT.c): ``A[-B]`` then ``:P[-Q]``."""
    out = "" if r.min_ip is None else str(r.min_ip) if r.max_ip == r.min_ip else f"{r.min_ip}-{r.max_ip}"
    return out if r.ports is None else f"{out}:{_ports(r.ports, '-')}"


def _flags(*pairs: tuple[str, bool]) -> list[str]:
    return [flag for flag, on in pairs if on]


def _port_options(o: PortOptions) -> list[str]:
    """``tcp_save``/``udp_save``/``sctp_save``: ``[!] --sport`` then ``[!] --dport``, ``a:b`` for a range."""
    out: list[str] = []
    for flag, port in (("--sport", o.sport), ("--dport", o.dport)):
        if port is not None:
            out += [*_neg(port.negated), flag, _ports(port.ports)]
    return out


def _addrtype(o: AddrtypeOptions) -> list[str]:
    """``addrtype_save_v1`` (libxt_addrtype.c): src, dst (types comma-joined in bit order), limit-iface."""
    out: list[str] = []
    if o.src_type:
        out += [*_neg(o.src_negated), "--src-type", ",".join(o.src_type)]
    if o.dst_type:
        out += [*_neg(o.dst_negated), "--dst-type", ",".join(o.dst_type)]
    return out + _flags(("--limit-iface-in", o.limit_iface_in), ("--limit-iface-out", o.limit_iface_out))


def _statistic(o: StatisticOptions) -> list[str]:
    """``print_match`` (libxt_statistic.c): the ``!`` comes after ``--mode``; ``%.11f``; ``--packet`` always."""
    if o.mode == "random":
        return ["--mode", "random", *_neg(o.negated), "--probability", f"{o.probability:.11f}"]
    return ["--mode", "nth", *_neg(o.negated), "--every", str(o.every), "--packet", str(o.packet)]


def _recent(o: RecentOptions) -> list[str]:
    """``recent_save`` (libxt_recent.c): command, seconds, reap, hitcount, rttl, then always name, mask, side."""
    out = [*_neg(o.negated), f"--{o.command}"]
    out += ["--seconds", str(o.seconds)] if o.seconds is not None else []
    out += ["--reap"] if o.reap else []
    out += ["--hitcount", str(o.hitcount)] if o.hitcount is not None else []
    out += ["--rttl"] if o.rttl else []
    return [*out, "--name", o.name, "--mask", str(o.mask), "--rsource" if o.rsource else "--rdest"]


def match_args(match: Match) -> list[str]:
    """``-m MODULE`` and the module's save function's words (``save_matches_and_target``, iptables/nft-shared.c).

    >>> " ".join(match_args(Match("statistic", StatisticOptions("random", 0.5))))
    '-m statistic --mode random --probability 0.50000000000'
    """
    o: Any = match.options
    if isinstance(o, PortOptions):
        words = _port_options(o)
    elif isinstance(o, CommentOptions):  # comment_save (libxt_comment.c)
        words = ["--comment", quote(o.text)]
    elif isinstance(o, AddrtypeOptions):
        words = _addrtype(o)
    elif isinstance(o, StatisticOptions):
        words = _statistic(o)
    elif isinstance(o, MarkOptions):  # mark_mt_save (libxt_mark.c), connmark_mt_save (libxt_connmark.c)
        words = [*_neg(o.negated), "--mark", mark_text(o.value, o.mask)]
    elif isinstance(o, ConntrackOptions):  # conntrack_dump / state_save (libxt_conntrack.c), print_state order
        words = [*_neg(o.negated), "--state" if match.module == "state" else "--ctstate", ",".join(o.states)]
    elif isinstance(o, RecentOptions):
        words = _recent(o)
    else:  # MultiportOptions: __multiport_save_v1 (libxt_multiport.c)
        words = [*_neg(o.negated), f"--{o.direction}", ",".join(_ports(p) for p in o.ports)]
    return ["-m", match.module, *words]


def target_args(target: Target) -> list[str]:
    """``-j NAME`` (``-g`` for goto) and the target's save function's words.

    >>> " ".join(target_args(Target("MASQUERADE", MasqueradeOptions(random_fully=True))))
    '-j MASQUERADE --random-fully'
    """
    o: Any = target.options
    head = ["-g" if target.goto else "-j", target.name]
    if isinstance(o, DnatOptions):  # DNAT_save -> __NAT_print (libxt_NAT.c)
        return [*head, "--to-destination", _nat_range(o.to), *_flags(("--random", o.random),
                                                                       ("--persistent", o.persistent))]
    if isinstance(o, SnatOptions):  # SNAT_save -> __NAT_print: random, random-fully, persistent
        return [*head, "--to-source", _nat_range(o.to), *_flags(
            ("--random", o.random), ("--random-fully", o.random_fully), ("--persistent", o.persistent))]
    if isinstance(o, MasqueradeOptions):  # MASQUERADE_save -> __NAT_print
        ports = ["--to-ports", _ports(o.to_ports, "-")] if o.to_ports is not None else []
        return [*head, *ports, *_flags(("--random", o.random), ("--random-fully", o.random_fully))]
    if isinstance(o, MarkTargetOptions):  # mark_tg_save (libxt_MARK.c): always --set-xmark value/mask
        return [*head, "--set-xmark", f"0x{o.value:x}/0x{o.mask:x}"]
    if isinstance(o, ConnmarkOptions):  # connmark_tg_save (libxt_CONNMARK.c)
        if o.mode == "set":
            return [*head, "--set-xmark", f"0x{o.ctmark:x}/0x{o.ctmask:x}"]
        return [*head, f"--{o.mode}-mark", "--nfmask", f"0x{o.nfmask:x}", "--ctmask", f"0x{o.ctmask:x}"]
    if isinstance(o, RejectOptions):  # REJECT_save (libipt_REJECT.c): always printed, long name
        return [*head, "--reject-with", o.reject_with]
    return head


def rule_args(rule: Rule) -> list[str]:
    """``nft_ipv4_save_rule`` (iptables/nft-ipv4.c): ``-A CHAIN``, ``-s -d`` (``save_ipv4_addr``, always with a
    prefix length), ``-i -o -p`` (``save_rule_details``), the matches in order, the target."""
    out = ["-A", rule.chain]
    for flag, test in (("-s", rule.source), ("-d", rule.destination)):
        if test is not None:
            out += [*_neg(test.negated), flag, str(test.network)]
    for flag, iface in (("-i", rule.in_iface), ("-o", rule.out_iface)):
        if iface is not None:
            out += [*_neg(iface.negated), flag, iface.name]
    if rule.protocol is not None:
        out += [*_neg(rule.protocol.negated), "-p", protocol_name(rule.protocol.number)]
    for match in rule.matches:
        out += match_args(match)
    return out + (target_args(rule.target) if rule.target is not None else [])


def rule_text(rule: Rule, counters: bool | None = None) -> str:
    """The rule's line; ``[packets:bytes]`` first if ``counters`` (or, when ``None``, if the rule has them)."""
    line = " ".join(rule_args(rule))
    if counters is False or (counters is None and rule.counters is None):
        return line
    packets, octets = rule.counters or (0, 0)
    return f"[{packets}:{octets}] {line}"


def chain_line(chain: Chain) -> str:
    """``:NAME POLICY [packets:bytes]``, ``-`` for a user chain (``nft_chain_save``, iptables/nft.c, and
    ``nft_ipv46_save_chain``, iptables/nft-shared.c)."""
    return f":{chain.name} {chain.policy or '-'} [{chain.counters[0]}:{chain.counters[1]}]"


def render(ruleset: Ruleset, *, stamp: datetime | None = None, version: str = "v1.8.9 (nf_tables)",
           counters: bool | None = None) -> str:
    """What ``iptables-save`` prints (``__do_output``, iptables/xtables-save.c): per table ``*name``, the chain
    lines, every chain's rules in chain order, ``COMMIT``.

    With a ``stamp`` each table is framed by ``# Generated by iptables-save VERSION on DATE`` and ``# Completed
    on DATE`` (``ctime`` format), as iptables-save frames it; without one those lines are left out.
    ``counters=True`` prints ``[packets:bytes]`` before every rule (``iptables-save -c``), ``False`` before none
    (plain ``iptables-save``), ``None`` before the rules that carry counters.

    >>> from datetime import datetime
    >>> from ekslib.linux.netfilter import Ruleset, Table
    >>> print(render(Ruleset((Table("raw"),)), stamp=datetime(2026, 11, 9, 9, 43, 44)), end="")
    # Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov  9 09:43:44 2026
    *raw
    :PREROUTING ACCEPT [0:0]
    :OUTPUT ACCEPT [0:0]
    COMMIT
    # Completed on Mon Nov  9 09:43:44 2026
    """
    out: list[str] = []
    for table in ruleset.tables:
        if stamp is not None:
            out.append(f"# Generated by iptables-save {version} on {stamp.ctime()}")
        out += [f"*{table.name}", *(chain_line(c) for c in table.chains)]
        out += [rule_text(rule, counters) for chain in table.chains for rule in chain.rules]
        out.append("COMMIT")
        if stamp is not None:
            out.append(f"# Completed on {stamp.ctime()}")
    return "".join(line + "\n" for line in out)


# --------------------------------------------------------------------------------------------------- reading


class ParseError(NetfilterError):
    """A line iptables would refuse, or one this model does not support: ``line_number`` (1-based, ``None`` for
    a lone rule), ``line`` and ``piece`` (the word at fault) say where."""

    def __init__(self, message: str, *, line_number: int | None = None, line: str = "", piece: str = ""):
        where = f"line {line_number}: " if line_number is not None else ""
        text = f"{where}{message}" + (f"\n    in: {line}" if line else "")
        super().__init__(text)
        self.line_number, self.line, self.piece, self.reason = line_number, line, piece, message


@dataclass(frozen=True)
class Token:
    """One word of a line, and whether it was (partly) in double quotes."""

    text: str
    quoted: bool = False


def tokenize(line: str) -> list[Token]:
    """Split a rule line as iptables-restore does (``add_param_to_argv``, iptables/xshared.c).

    Words split on spaces and tabs; ``"..."`` quotes (a closing quote also ends the word), and inside quotes a
    backslash takes the next character literally. Single quotes are ordinary characters -- which is why
    :func:`shlex.split` would read ``"it\\'s"`` wrongly.

    >>> [t.text for t in tokenize(r'-m comment --comment "it\\'s \\"x\\"" -j ACCEPT')]
    ['-m', 'comment', '--comment', 'it\\'s "x"', '-j', 'ACCEPT']
    """
    tokens: list[Token] = []
    buf: list[str] = []
    quote_open = escaped = quoted = False
    for char in line:
        if quote_open:
            if escaped:
                buf.append(char)
                escaped = False
                continue
            if char == "\\":
                escaped = True
                continue
            if char != '"':
                buf.append(char)
                continue
            quote_open = False  # the closing quote ends the word
        elif char == '"':
            quote_open = quoted = True
            continue
        if char == '"' or (char in " \t\n" and buf):
            tokens.append(Token("".join(buf), quoted))
            buf, quoted = [], False
        elif char not in " \t\n":
            buf.append(char)
    if quote_open:
        raise NetfilterError("unterminated double quote")
    if buf:
        tokens.append(Token("".join(buf), quoted))
    return tokens


def c_uint(text: str, what: str, lo: int = 0, hi: int = MASK32) -> int:
    """A number as ``xtables_strtoul`` reads it (C ``strtoul`` base 0: ``0x`` hex, leading ``0`` octal).

    >>> c_uint("0x4000", "mark"), c_uint("16384", "mark"), c_uint("010", "mark")
    (16384, 16384, 8)
    """
    match = re.fullmatch(r"0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*)", text)
    if match is None:
        raise NetfilterError(f"bad integer value {text!r} for {what}, or out of range ({lo}-{hi})")
    hexa, octal, decimal = match.groups()
    value = int(hexa, 16) if hexa else int(octal, 8) if octal else int(decimal)
    if not lo <= value <= hi:
        raise NetfilterError(f"bad integer value {text!r} for {what}, or out of range ({lo}-{hi})")
    return value


def _decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")


def _port(text: str) -> int:
    """``xtables_parse_port``: decimal numbers only here (service names from /etc/services are not read)."""
    if not _decimal(text) or int(text) > 65535:
        raise NetfilterError(f'Port "{text}" is not supported: write the port number in decimal, 0..65535')
    return int(text)


def parse_ports(text: str) -> PortRange:
    """``parse_tcp_ports`` (libxt_tcp.c): ``P``, ``P:Q``, ``:Q`` (from 0) or ``P:`` (to 65535)."""
    low, colon, high = text.partition(":")
    if not colon:
        return PortRange(_port(text))
    first, last = _port(low) if low else 0, _port(high) if high else 65535
    if first > last:
        raise NetfilterError("invalid portrange (min > max)")
    return PortRange(first, last)


def parse_nat_ports(text: str) -> PortRange:
    """``parse_ports`` (extensions/libxt_NAT.c): ``P`` or ``P-Q``."""
    if ":" in text:
        raise NetfilterError("Invalid port:port syntax - use dash")
    if "/" in text:
        raise NetfilterError(f"the port offset of {text!r} (P-Q/BASE) is not supported")
    low, dash, high = text.partition("-")
    first, last = _port(low), _port(high) if dash else _port(low)
    if last < first:
        raise NetfilterError(f"Port range `{text}' funky")
    return PortRange(first, last)


def parse_nat_range(text: str) -> NatRange:
    """``parse_to`` (extensions/libxt_NAT.c) for IPv4: ``A[-B][:P[-Q]]``.

    >>> parse_nat_range("192.168.1.5:8080") == NatRange("192.168.1.5", ports=PortRange(8080))
    True
    """
    addresses, colon, ports = text.partition(":")
    port_range = parse_nat_ports(ports) if colon else None
    if not addresses:
        return NatRange(None, None, port_range)
    low, dash, high = addresses.partition("-")
    try:
        return NatRange(ipaddress.IPv4Address(low), ipaddress.IPv4Address(high) if dash else None, port_range)
    except ValueError:
        raise NetfilterError(f'Bad IP address "{addresses}" (IPv4 only)') from None


def parse_address(text: str, negated: bool = False) -> AddressMatch:
    """``-s``/``-d``: ``A``, ``A/LEN`` or ``A/MASK`` (one address; host names and lists are not supported).

    >>> str(parse_address("10.0.0.0/255.255.0.0").network), str(parse_address("10.1.2.3/16").network)
    ('10.0.0.0/16', '10.1.0.0/16')
    """
    addr, slash, mask = text.partition("/")
    try:
        address = ipaddress.IPv4Address(addr)
    except ValueError:
        raise NetfilterError(f"{text!r} is not an IPv4 address (host names and address lists are not supported)") \
            from None
    if not slash:
        prefix = 32
    elif _decimal(mask) and int(mask) <= 32:
        prefix = int(mask)
    else:
        try:
            bits = int(ipaddress.IPv4Address(mask))
        except ValueError:
            raise NetfilterError(f"{text!r}: bad mask {mask!r}") from None
        prefix = 32 - (MASK32 ^ bits).bit_length()
        if bits != (MASK32 << (32 - prefix)) & MASK32:
            raise NetfilterError(f"{text!r}: non-contiguous masks are not supported")
    return AddressMatch(ipaddress.IPv4Network((int(address), prefix), strict=False), negated)


def parse_protocol(text: str, negated: bool = False) -> ProtocolMatch:
    """``xtables_parse_protocol`` (libxtables/xtables.c): a number, iptables' names, or /etc/protocols'."""
    if _decimal(text):
        return ProtocolMatch(c_uint(text, "-p", 0, 255), negated)
    if text in PROTOCOL_NUMBERS:
        return ProtocolMatch(PROTOCOL_NUMBERS[text], negated)
    raise NetfilterError(f'unknown protocol "{text}" specified: give a number or one of '
                         f"{', '.join(n for n, _ in _CHAIN_PROTOS)}, gre, ...")


def _prefix_pick(word: str, names: tuple[str, ...], what: str) -> str:
    """The first of ``names`` that ``word`` is a case-insensitive prefix of, as ``strncasecmp(word, name,
    len(word))`` picks it (libxt_conntrack.c ``parse_state``, libxt_addrtype.c ``parse_type``)."""
    for name in names:
        if word and name.lower().startswith(word.lower()):
            return name
    raise NetfilterError(f'Bad {what} "{word}": one of {", ".join(names)}')


# The option tables of the extensions this model reads: spelling -> (id, takes an argument, may be negated).
_O = dict[str, tuple[str, bool, bool]]


class _Ext:
    """A match or target being read: its options (``OPTIONS``), exclusions and what it has been given."""

    OPTIONS: _O = {}
    EXCLUDE: tuple[frozenset[str], ...] = ()
    UNSUPPORTED: tuple[str, ...] = ()  # options iptables has that this model does not

    def __init__(self, name: str):
        self.name = name
        self.seen: list[str] = []

    def feed(self, spelling: str, arg: str, invert: bool) -> None:
        opt_id, _, invertible = self.OPTIONS[spelling]
        if opt_id in self.seen:
            raise NetfilterError(f'{self.name}: option "--{spelling}" can only be used once.')
        if invert and not invertible:
            raise NetfilterError(f'{self.name}: option "--{spelling}" cannot be inverted.')
        for group in self.EXCLUDE:
            other = next((s for s in self.seen if s in group and s != opt_id), None)
            if opt_id in group and other:
                raise NetfilterError(f'{self.name}: option "--{spelling}" cannot be used together with "--{other}".')
        self.seen.append(opt_id)
        self.take(opt_id, arg, invert)

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        raise NotImplementedError

    def build(self) -> Any:
        raise NotImplementedError


class _PortExt(_Ext):  # libxt_tcp.c, libxt_udp.c, libxt_sctp.c
    OPTIONS: _O = {"sport": ("sport", True, True), "source-port": ("sport", True, True),
                   "dport": ("dport", True, True), "destination-port": ("dport", True, True)}
    UNSUPPORTED_BY_MODULE = {"tcp": ("tcp-flags", "syn", "tcp-option"), "udp": (), "sctp": ("chunk-types",)}

    def __init__(self, name: str):
        super().__init__(name)
        self.UNSUPPORTED = self.UNSUPPORTED_BY_MODULE[name]
        self.ports: dict[str, PortMatch] = {}

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        self.ports[opt_id] = PortMatch(parse_ports(arg), invert)

    def build(self) -> PortOptions:
        return PortOptions(self.ports.get("sport"), self.ports.get("dport"))


class _CommentExt(_Ext):  # libxt_comment.c
    OPTIONS: _O = {"comment": ("comment", True, False)}
    text: str | None = None

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        if len(arg.encode()) > MAX_COMMENT_BYTES:
            raise NetfilterError(f"comment of {len(arg.encode())} bytes: the kernel keeps {MAX_COMMENT_BYTES} "
                                 "(iptables would silently cut it); shorten it")
        self.text = arg

    def build(self) -> CommentOptions:
        if self.text is None:
            raise NetfilterError('comment: option "--comment" must be specified')
        return CommentOptions(self.text)


class _AddrtypeExt(_Ext):  # libxt_addrtype.c (revision 1)
    OPTIONS: _O = {"src-type": ("src-type", True, True), "dst-type": ("dst-type", True, True),
                   "limit-iface-in": ("limit-iface-in", False, False),
                   "limit-iface-out": ("limit-iface-out", False, False)}
    EXCLUDE = (frozenset({"limit-iface-in", "limit-iface-out"}),)

    def __init__(self, name: str):
        super().__init__(name)
        self.values: dict[str, Any] = {}

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        if opt_id.endswith("-type"):
            words = arg.split(",")
            key = opt_id[:3]
            self.values[f"{key}_type"] = tuple(_prefix_pick(w, ADDRESS_TYPES, "address type") for w in words)
            self.values[f"{key}_negated"] = invert
        else:
            self.values[opt_id.replace("-", "_")] = True

    def build(self) -> AddrtypeOptions:
        return AddrtypeOptions(**self.values)


class _StatisticExt(_Ext):  # libxt_statistic.c
    OPTIONS: _O = {"mode": ("mode", True, False), "probability": ("probability", True, True),
                   "every": ("every", True, True), "packet": ("packet", True, False)}
    EXCLUDE = (frozenset({"probability", "every"}), frozenset({"probability", "packet"}))

    def __init__(self, name: str):
        super().__init__(name)
        self.values: dict[str, Any] = {}

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        if invert:
            self.values["negated"] = True
        if opt_id == "mode":
            if arg not in ("random", "nth"):
                raise NetfilterError(f'statistic: Bad mode "{arg}": random or nth')
            self.values["mode"] = arg
        elif opt_id == "probability":
            if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", arg) or not 0 <= float(arg) <= 1:
                raise NetfilterError('statistic: bad value for option "--probability", or out of range (0-1).')
            self.values["probability"] = float(arg)
        else:
            self.values[opt_id] = c_uint(arg, f"--{opt_id}", 1 if opt_id == "every" else 0)

    def build(self) -> StatisticOptions:
        if "mode" not in self.values:
            raise NetfilterError('statistic: option "--mode" must be specified.')
        if "every" in self.seen and "packet" not in self.seen:
            raise NetfilterError('statistic: option "--every" also requires "--packet".')
        if "packet" in self.seen and "every" not in self.seen:
            raise NetfilterError('statistic: option "--packet" also requires "--every".')
        return StatisticOptions(**self.values)


class _MarkExt(_Ext):  # libxt_mark.c, libxt_connmark.c
    OPTIONS: _O = {"mark": ("mark", True, True)}
    options: MarkOptions | None = None

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        value, slash, mask = arg.partition("/")
        self.options = MarkOptions(c_uint(value, "--mark"), c_uint(mask, "--mark mask") if slash else MASK32, invert)

    def build(self) -> MarkOptions:
        if self.options is None:
            raise NetfilterError(f'{self.name}: option "--mark" must be specified.')
        return self.options


class _ConntrackExt(_Ext):  # libxt_conntrack.c (conntrack and its alias state)
    OPTIONS: _O = {"ctstate": ("state", True, True)}
    UNSUPPORTED = ("ctproto", "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst", "ctorigsrcport",
                   "ctorigdstport", "ctreplsrcport", "ctrepldstport", "ctstatus", "ctexpire", "ctdir")
    options: ConntrackOptions | None = None

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        # parse order of conntrack_ps_state / state_parse_state, which decides what a prefix like "E" means
        names = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED")
        names += ("SNAT", "DNAT") if self.name == "conntrack" else ()
        words = arg.split(",")
        self.options = ConntrackOptions(tuple(_prefix_pick(w, names, "state") for w in words), invert)

    def build(self) -> ConntrackOptions:
        if self.options is None:
            option = "--state" if self.name == "state" else "--ctstate"
            raise NetfilterError(f"{self.name}: {option} must be given (the other conntrack options are not "
                                 "supported)")
        return self.options


class _StateExt(_ConntrackExt):
    OPTIONS: _O = {"state": ("state", True, True)}
    UNSUPPORTED = ()


class _RecentExt(_Ext):  # libxt_recent.c (revision 1)
    _COMMANDS = ("set", "rcheck", "update", "remove")
    OPTIONS: _O = {**{c: (c, False, True) for c in _COMMANDS}, "seconds": ("seconds", True, False),
                   "reap": ("reap", False, False), "hitcount": ("hitcount", True, False),
                   "rttl": ("rttl", False, False), "name": ("name", True, False), "rsource": ("rsource", False, False),
                   "rdest": ("rdest", False, False), "mask": ("mask", True, False)}
    EXCLUDE = (frozenset(_COMMANDS), frozenset({"rttl", "set"}), frozenset({"rttl", "remove"}))

    def __init__(self, name: str):
        super().__init__(name)
        self.values: dict[str, Any] = {}

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        if opt_id in self._COMMANDS:
            self.values.update(command=opt_id, negated=invert)
        elif opt_id in ("seconds", "hitcount"):
            self.values[opt_id] = c_uint(arg, f"--{opt_id}", 1 if opt_id == "seconds" else 0)
        elif opt_id in ("reap", "rttl"):
            self.values[opt_id] = True
        elif opt_id in ("rsource", "rdest"):
            self.values["rsource"] = opt_id == "rsource"  # the last one given wins (recent_parse)
        elif opt_id == "name":
            self.values["name"] = arg
        else:
            try:
                self.values["mask"] = ipaddress.IPv4Address(arg)
            except ValueError:
                raise NetfilterError(f"recent: bad --mask {arg!r}: an IPv4 address") from None

    def build(self) -> RecentOptions:
        if "command" not in self.values:
            raise NetfilterError("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'")
        return RecentOptions(**self.values)


class _MultiportExt(_Ext):  # libxt_multiport.c (revision 1)
    OPTIONS: _O = {"sports": ("sports", True, True), "source-ports": ("sports", True, True),
                   "dports": ("dports", True, True), "destination-ports": ("dports", True, True),
                   "ports": ("ports", True, True)}
    EXCLUDE = (frozenset({"sports", "dports", "ports"}),)
    options: MultiportOptions | None = None

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        ranges = []
        for word in arg.split(","):  # parse_multi_ports_v1: a range must go up
            low, colon, high = word.partition(":")
            if colon and _port(low) >= _port(high):
                raise NetfilterError("invalid portrange specified")
            ranges.append(PortRange(_port(low), _port(high) if colon else None))
        self.options = MultiportOptions(opt_id, tuple(ranges), invert)  # type: ignore[arg-type]

    def build(self) -> MultiportOptions:
        if self.options is None:
            raise NetfilterError("multiport: no ports specified")
        return self.options


class _NatExt(_Ext):  # libxt_NAT.c: DNAT, SNAT, MASQUERADE
    def __init__(self, name: str):
        super().__init__(name)
        self.values: dict[str, Any] = {}
        self.OPTIONS = {"random": ("random", False, False), "random-fully": ("random_fully", False, False),
                        "persistent": ("persistent", False, False)}
        if name == "DNAT":
            self.OPTIONS = {"to-destination": ("to", True, False), "random": ("random", False, False),
                            "persistent": ("persistent", False, False)}
        elif name == "SNAT":
            self.OPTIONS["to-source"] = ("to", True, False)
        else:
            self.OPTIONS = {"to-ports": ("to_ports", True, False), "random": ("random", False, False),
                            "random-fully": ("random_fully", False, False)}

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        if opt_id == "to":
            self.values["to"] = parse_nat_range(arg)
        elif opt_id == "to_ports":
            self.values["to_ports"] = parse_nat_ports(arg)
        else:
            self.values[opt_id] = True

    def build(self) -> DnatOptions | SnatOptions | MasqueradeOptions:
        if self.name != "MASQUERADE" and "to" not in self.values:
            option = "--to-destination" if self.name == "DNAT" else "--to-source"
            raise NetfilterError(f'{self.name}: option "{option}" must be specified.')
        kind = {"DNAT": DnatOptions, "SNAT": SnatOptions}.get(self.name, MasqueradeOptions)
        return kind(**self.values)


_MARK_OPS = ("set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark")


class _MarkTargetExt(_Ext):  # libxt_MARK.c (revision 2): mark_tg_parse
    OPTIONS: _O = {op: (op, True, False) for op in _MARK_OPS}
    EXCLUDE = (frozenset(_MARK_OPS),)
    options: MarkTargetOptions | None = None

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        self.options = MarkTargetOptions(*_mark_op(opt_id, arg))

    def build(self) -> MarkTargetOptions:
        if self.options is None:
            raise NetfilterError("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required")
        return self.options


def _mark_op(op: str, arg: str) -> tuple[int, int]:
    """(value, mask) of a MARK/CONNMARK operation, as ``mark_tg_parse``/``connmark_tg_parse`` compute them."""
    if op in ("set-xmark", "set-mark"):
        value, slash, mask_text = arg.partition("/")
        mark, mask = c_uint(value, f"--{op}"), c_uint(mask_text, f"--{op} mask") if slash else MASK32
        return (mark, mask) if op == "set-xmark" else (mark, mark | mask)
    number = c_uint(arg, f"--{op}")
    return {"and-mark": (0, ~number & MASK32), "or-mark": (number, number), "xor-mark": (number, 0)}[op]


class _ConnmarkTargetExt(_Ext):  # libxt_CONNMARK.c (revision 1): connmark_tg_parse, in the order given
    OPTIONS: _O = {**{op: (op, True, False) for op in _MARK_OPS}, "save-mark": ("save-mark", False, False),
                   "restore-mark": ("restore-mark", False, False), "ctmask": ("ctmask", True, False),
                   "nfmask": ("nfmask", True, False), "mask": ("mask", True, False)}
    EXCLUDE = (frozenset({*_MARK_OPS, "save-mark", "restore-mark"}), frozenset({"mask", "ctmask"}),
               frozenset({"mask", "nfmask"}))
    UNSUPPORTED = ("left-shift-mark", "right-shift-mark")

    def __init__(self, name: str):
        super().__init__(name)
        self.mode: str | None = None
        self.ctmark, self.ctmask, self.nfmask = 0, MASK32, MASK32

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        if opt_id in _MARK_OPS:
            self.mode = "set"
            self.ctmark, self.ctmask = _mark_op(opt_id, arg)
        elif opt_id in ("save-mark", "restore-mark"):
            self.mode = opt_id[:-5]
        elif opt_id == "mask":
            self.nfmask = self.ctmask = c_uint(arg, "--mask")
        else:
            setattr(self, opt_id, c_uint(arg, f"--{opt_id}"))

    def build(self) -> ConnmarkOptions:
        if self.mode is None:
            raise NetfilterError("CONNMARK target: No operation specified")
        if self.mode == "set":  # connmark_tg_save prints no nfmask for set: it is dropped
            return ConnmarkOptions("set", self.ctmark, self.ctmask)
        return ConnmarkOptions(self.mode, 0, self.ctmask, self.nfmask)  # type: ignore[arg-type]


class _RejectExt(_Ext):  # libipt_REJECT.c: REJECT_parse
    OPTIONS: _O = {"reject-with": ("reject-with", True, False)}
    reject_with = "icmp-port-unreachable"

    def take(self, opt_id: str, arg: str, invert: bool) -> None:
        for name, alias in REJECT_TYPES:  # strncasecmp(name or alias, arg, strlen(arg)): a prefix, in table order
            if name.lower().startswith(arg.lower()) or alias.lower().startswith(arg.lower()):
                self.reject_with = name
                return
        raise NetfilterError(f'unknown reject type "{arg}": one of {", ".join(n for n, _ in REJECT_TYPES)}')

    def build(self) -> RejectOptions:
        return RejectOptions(self.reject_with)


_MATCH_EXTS: dict[str, type[_Ext]] = {
    "tcp": _PortExt, "udp": _PortExt, "sctp": _PortExt, "comment": _CommentExt, "addrtype": _AddrtypeExt,
    "statistic": _StatisticExt, "mark": _MarkExt, "connmark": _MarkExt, "conntrack": _ConntrackExt,
    "state": _StateExt, "recent": _RecentExt, "multiport": _MultiportExt}
_TARGET_EXTS: dict[str, type[_Ext]] = {"DNAT": _NatExt, "SNAT": _NatExt, "MASQUERADE": _NatExt,
                                       "MARK": _MarkTargetExt, "CONNMARK": _ConnmarkTargetExt, "REJECT": _RejectExt}
# getopt's table of iptables' own long options (``original_opts``, iptables/xtables.c), by short letter; the
# rule options this model reads are -s -d -i -o -p -m -j -g.
_BASE_LONG = {
    "append": "A", "delete": "D", "check": "C", "insert": "I", "replace": "R", "list": "L", "list-rules": "S",
    "flush": "F", "zero": "Z", "new-chain": "N", "delete-chain": "X", "rename-chain": "E", "policy": "P",
    "source": "s", "destination": "d", "src": "s", "dst": "d", "protocol": "p", "in-interface": "i", "jump": "j",
    "table": "t", "match": "m", "numeric": "n", "out-interface": "o", "verbose": "v", "wait": "w",
    "wait-interval": "W", "exact": "x", "fragments": "f", "version": "V", "help": "h", "line-numbers": "0",
    "modprobe": "M", "set-counters": "c", "goto": "g", "ipv4": "4", "ipv6": "6"}
_BASE_FIELDS = {"s": "source", "d": "destination", "i": "in_iface", "o": "out_iface", "p": "protocol"}
_SUPPORTED_TEXT = (f"supported matches: {', '.join(SUPPORTED_MATCHES)}; supported targets: "
                   f"{', '.join(SUPPORTED_TARGETS)} and jumps (-j/-g) to user chains")


@dataclass
class _Loaded:
    ext: _Ext
    completed: bool = False
    is_target: bool = False


def _parse_words(tokens: list[Token]) -> tuple[str, str, int | None, Rule]:
    """Read ``-A CHAIN ...`` (or ``-I CHAIN [N] ...``) as iptables' ``do_parse`` would (iptables/xshared.c):
    returns the command, the chain, the insert position and the rule."""
    if len(tokens) < 2 or tokens[0].text not in ("-A", "--append", "-I", "--insert"):
        raise NetfilterError(f"a rule line starts with -A CHAIN (or -I CHAIN [N]), not {tokens[0].text!r}"
                             if tokens else "empty rule")
    command, chain, i = tokens[0].text, tokens[1].text, 2
    position = None
    if command in ("-I", "--insert") and len(tokens) > 2 and tokens[2].text.isdigit():
        position, i = int(tokens[2].text), 3
    fields: dict[str, Any] = {}
    loaded: list[_Loaded] = []
    target: Target | None = None
    target_ext: _Loaded | None = None
    proto_used = False
    invert = False
    while i < len(tokens):
        word = tokens[i].text
        if word == "!" and not tokens[i].quoted:
            if invert:
                raise NetfilterError("multiple consecutive ! not allowed")
            invert, i = True, i + 1
            continue
        if not word.startswith("-") or word == "-":
            raise NetfilterError(f"Bad argument `{word}'")
        proto = fields.get("protocol")
        if word.startswith("--"):
            hit = _resolve(word[2:], loaded)
            if hit is None and proto is not None and not proto_used:
                proto_used = True  # load_proto (iptables/xshared.c): -p tcp --dport 80 loads -m tcp implicitly
                name = protocol_name(proto.number)
                if name in PORT_PROTOCOLS:
                    loaded.append(_Loaded(_PortExt(name)))
                    hit = _resolve(word[2:], loaded)
            if hit is None:
                raise _unknown_option(word, loaded, proto)
            owner, spelling = hit
        elif len(word) == 2:
            owner, spelling = None, word[1]
        else:
            raise NetfilterError(f'unknown option "{word}" (short options are not supported run together)')
        if owner is not None:  # an option of a match or target
            opt = owner.ext.OPTIONS.get(spelling)
            if opt is None:
                raise NetfilterError(f"unsupported option --{spelling} of {owner.ext.name}: it supports "
                                     f"{', '.join('--' + o for o in owner.ext.OPTIONS)}")
            arg = ""
            if opt[1]:
                if i + 1 >= len(tokens):
                    raise NetfilterError(f'option "{word}" requires an argument')
                arg = tokens[i + 1].text
            owner.ext.feed(spelling, arg, invert)
            invert, i = False, i + (2 if opt[1] else 1)
            continue
        if spelling not in "sdiopmjg":
            raise NetfilterError(f'unsupported option "{word}": in a rule this model reads -s -d -i -o -p -m -j -g')
        if i + 1 >= len(tokens):
            raise NetfilterError(f'option "{word}" requires an argument')
        arg = tokens[i + 1].text
        i += 2
        if spelling in _BASE_FIELDS:
            kind = _BASE_FIELDS[spelling]
            if kind in fields:
                raise NetfilterError(f"multiple -{spelling} flags not allowed")
            if kind in ("source", "destination"):
                if "," in arg:
                    raise NetfilterError(f"address lists ({arg}) are not supported: write one rule per address")
                fields[kind] = parse_address(arg, invert)
            elif kind == "protocol":
                fields[kind] = parse_protocol(arg, invert)
            else:
                fields[kind] = InterfaceMatch(arg, invert)
        elif invert:
            raise NetfilterError(f"unexpected ! flag before {word}")
        elif spelling == "m":
            if arg not in _MATCH_EXTS:
                raise NetfilterError(f"unsupported match '{arg}'")
            for item in loaded:
                item.completed = item.completed or (not item.is_target and item.ext.name == arg)
            loaded.append(_Loaded(_MATCH_EXTS[arg](arg)))
        else:
            if target is not None or target_ext is not None:
                raise NetfilterError("multiple -j flags not allowed")
            if spelling == "g" and arg in SUPPORTED_TARGETS:
                raise NetfilterError(f"-g {arg}: goto needs a user chain")
            if arg in _TARGET_EXTS:
                target_ext = _Loaded(_TARGET_EXTS[arg](arg), is_target=True)
                loaded.append(target_ext)
            elif arg in UNSUPPORTED_TARGETS:
                raise NetfilterError(f"unsupported target '{arg}'")
            else:
                target = Target(arg, goto=spelling == "g")
        invert = False
    if invert:
        raise NetfilterError("a trailing ! negates nothing")
    matches = tuple(Match(item.ext.name, item.ext.build()) for item in loaded if not item.is_target)
    if target_ext is not None:
        target = Target(target_ext.ext.name, target_ext.ext.build())
    return command, chain, position, Rule(chain, matches=matches, target=target, **fields)


def _resolve(name: str, loaded: list[_Loaded]) -> tuple[_Loaded | None, str] | None:
    """Which option ``--name`` is, as glibc's ``getopt_long`` finds it in iptables' merged option table:
    iptables' own options first, then each loaded extension's, newest first -- an extension's options are merged
    once, at its first load (``command_match``, iptables/xshared.c; ``xtables_merge_options``). An exact name
    wins, else a unique prefix (``--to`` for ``--to-destination``; ``--destination-port`` before ``-m tcp`` is
    loaded is multiport's ``--destination-ports``). ``command_default`` hands the option to the newest instance
    of that extension. Returns (instance or None for iptables' own options, full name), or None if unknown."""
    first_loads: list[_Loaded] = []
    for item in loaded:
        if all(other.ext.name != item.ext.name for other in first_loads):
            first_loads.append(item)
    table: list[tuple[str, _Loaded | None, str]] = [(n, None, short) for n, short in _BASE_LONG.items()]
    for item in reversed(first_loads):
        table += [(n, item, opt[0]) for n, opt in item.ext.OPTIONS.items()]
        table += [(n, item, n) for n in item.ext.UNSUPPORTED]
    found = next((entry for entry in table if entry[0] == name), None)
    if found is None:
        candidates = [entry for entry in table if entry[0].startswith(name)]
        if not candidates:
            return None
        if len({(id(owner), key) for _, owner, key in candidates}) > 1:
            raise NetfilterError(f"option '--{name}' is ambiguous; possibilities: "
                                 f"{' '.join('--' + n for n, _, _ in candidates)}")
        found = candidates[0]
    spelling, owner, key = found
    if owner is None:
        return None, key
    newest = next(item for item in reversed(loaded) if item.ext.name == owner.ext.name and not item.completed)
    return newest, spelling


def _unknown_option(word: str, loaded: list[_Loaded], proto: ProtocolMatch | None) -> NetfilterError:
    spelling = word[2:]
    for item in reversed(loaded):
        if spelling in item.ext.UNSUPPORTED:
            return NetfilterError(f"unsupported option {word} of {item.ext.name}: it supports "
                                  f"{', '.join('--' + o for o in item.ext.OPTIONS)}")
    if proto is not None and protocol_name(proto.number) not in PORT_PROTOCOLS:
        return NetfilterError(f"unknown option \"{word}\": -p {protocol_name(proto.number)} has no supported "
                              f"match module (implicit matches are supported for {', '.join(PORT_PROTOCOLS)})")
    names = ", ".join(item.ext.name for item in loaded) or "no match or target with options"
    return NetfilterError(f'unknown option "{word}" (loaded: {names})')


def parse_rule(text: str) -> Rule:
    """Read one ``[packets:bytes] -A CHAIN ...`` line into a :class:`~ekslib.linux.netfilter.Rule`.

    >>> parse_rule("-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000").text
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0'
    >>> parse_rule("-A X -m limit --limit 5/s -j ACCEPT")
    Traceback (most recent call last):
    ...
    ekslib.linux.iptables_save.ParseError: unsupported match 'limit'; supported matches: ...
        in: -A X -m limit --limit 5/s -j ACCEPT
    """
    command, _, _, rule = _parse_line(text, None)
    if command not in ("-A", "--append"):
        raise ParseError("a lone rule is an -A CHAIN ... line", line=text, piece=command)
    return rule


def _parse_line(text: str, line_number: int | None) -> tuple[str, str, int | None, Rule]:
    line = text.strip(" \t\r\n")
    counters = None
    try:
        found = re.match(r"\[(\d+):(\d+)\]\s*", line)
        if found:
            counters, line = (int(found[1]), int(found[2])), line[found.end():]
        command, chain, position, rule = _parse_words(tokenize(line))
    except NetfilterError as error:
        message = str(error)
        if message.startswith(("unsupported", "unknown option")):
            message += f"; {_SUPPORTED_TEXT}"
        raise ParseError(message, line_number=line_number, line=line, piece=_piece(message)) from None
    return command, chain, position, replace(rule, counters=counters) if counters else rule


def _piece(message: str) -> str:
    found = re.search(r"'([^']*)'|\"([^\"]*)\"|(--[\w-]+)", message)
    return next((g for g in found.groups() if g), "") if found else ""


def parse_iptables_save(text: str) -> Ruleset:
    """Read iptables-save text (or what a person writes for iptables-restore) into a ruleset.

    Understands ``*table`` blocks ended by ``COMMIT``, ``:CHAIN POLICY [packets:bytes]``, ``-A`` and ``-I CHAIN
    [N]`` rules with an optional ``[packets:bytes]`` prefix, and ``#`` comments. As iptables-restore does, it adds
    missing built-in chains and skips a table block that declares and adds nothing.
    """
    tables: list[Table] = []
    current: str | None = None
    chains: dict[str, tuple[str | None, tuple[int, int], int]] = {}
    rules: dict[str, list[tuple[Rule, int]]] = {}
    declared_at: dict[str, int] = {}
    seen_tables: set[str] = set()
    lines = text.split("\n")  # only "\n" ends a line, as for iptables-restore (not str.splitlines' \x85, \u2028)
    for number, raw in enumerate(lines, 1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        if current is None:
            if not line.startswith("*"):
                raise ParseError("expected *TABLE before this line", line_number=number, line=line, piece=line)
            current = line[1:]
            if current not in BUILTIN_CHAINS or current in seen_tables:
                why = "declared twice" if current in seen_tables else \
                    f"unknown table (one of {', '.join(BUILTIN_CHAINS)})"
                raise ParseError(f"table '{current}': {why}", line_number=number, line=line, piece=current)
            seen_tables.add(current)
            chains, rules, declared_at = {}, {c: [] for c in BUILTIN_CHAINS[current]}, {}
        elif line == "COMMIT":
            if chains or any(rules.values()):
                tables.append(_build_table(current, chains, rules, declared_at, lines))
            current = None
        elif line.startswith(":"):
            _declare(line, number, current, chains, rules, declared_at)
        elif line.startswith(("-", "[")):
            command, chain, position, rule = _parse_line(line, number)
            if chain not in rules:
                raise ParseError(f"Chain '{chain}' does not exist in table {current}", line_number=number, line=line,
                                 piece=chain)
            if command in ("-A", "--append"):
                rules[chain].append((rule, number))
            elif position is not None and not 1 <= position <= len(rules[chain]) + 1:
                raise ParseError("Index of insertion too big", line_number=number, line=line, piece=str(position))
            else:
                rules[chain].insert((position or 1) - 1, (rule, number))
        else:
            raise ParseError("not a table, chain, rule or COMMIT line", line_number=number, line=line, piece=line)
    if current is not None:
        last = max(n for n, raw in enumerate(lines, 1) if raw.strip(" \t\r"))
        raise ParseError(f"COMMIT expected for table {current} at the end", line_number=last,
                         line=lines[last - 1].strip(" \t\r"))
    return Ruleset(tuple(tables))


def _declare(line: str, number: int, table: str, chains: dict, rules: dict, declared_at: dict) -> None:
    """``:NAME POLICY [packets:bytes]``."""
    words = line[1:].split()
    found = re.fullmatch(r"\[(\d+):(\d+)\]", words[2]) if len(words) == 3 else None
    if len(words) not in (2, 3) or (len(words) == 3 and not found):
        raise ParseError("a chain line is :NAME POLICY [packets:bytes]", line_number=number, line=line, piece=line)
    name, policy = words[0], words[1]
    if name in declared_at:
        raise ParseError(f"chain {name} declared twice", line_number=number, line=line, piece=name)
    if (name in BUILTIN_CHAINS[table]) != (policy != "-") or policy not in ("-", "ACCEPT", "DROP"):
        why = "a built-in chain's policy is ACCEPT or DROP" if name in BUILTIN_CHAINS[table] else \
            "a user chain's policy is '-'"
        raise ParseError(f"bad policy {policy} for chain {name}: {why}", line_number=number, line=line, piece=policy)
    counters = (int(found[1]), int(found[2])) if found else (0, 0)
    chains[name] = (None if policy == "-" else policy, counters, number)
    rules.setdefault(name, [])
    declared_at[name] = number


def _build_table(name: str, chains: dict, rules: dict, declared_at: dict, lines: list[str]) -> Table:
    """The table, with the kernel's checks mapped back to the line at fault."""
    built = [Chain(chain, policy, counters, tuple(r for r, _ in rules[chain]))
             for chain, (policy, counters, _) in chains.items()]
    built += [Chain(chain, "ACCEPT", (0, 0), tuple(r for r, _ in rules[chain]))
              for chain in BUILTIN_CHAINS[name] if chain not in chains]
    try:
        return Table(name, tuple(built))
    except NetfilterError as error:
        location = error.location
        number = None
        if location is not None and location[2] is not None:
            number = rules[location[1]][location[2]][1]
        elif location is not None:
            number = declared_at.get(location[1])
        line = lines[number - 1].strip(" \t\r") if number else ""
        raise ParseError(str(error), line_number=number, line=line, piece=location[1] if location else "") from None
