"""The kernel's routing decision on the objects of :mod:`ekslib.linux`: policy rules, then the longest prefix.

How Linux decides (``man 8 ip-rule``, "Rule selection"; ``man 8 ip-route``): the rules are walked in priority
order; a rule whose selector matches (``from``, ``to``, ``fwmark value/mask``, ``iif``) makes the kernel look in
its table; a lookup that finds no route goes on to the next rule. The ``local`` table holds the namespace's own
addresses (and 127.0.0.0/8): a hit there means local delivery. In a table, the most specific route wins. A
namespace without policy rules has the kernel's three: 0 ``lookup local``, 32766 ``lookup main``, 32767
``lookup default``.

>>> from ipaddress import IPv4Address, IPv4Network
>>> from ekslib.linux.objects import Interface, NetNamespace
>>> from ekslib.linux.routes import Route
>>> ns = NetNamespace("pod", "default/web", (Interface(3, "eth0", "veth", addresses=("10.0.1.5/32",)),),
...                   (Route(None, "eth0", via=IPv4Address("169.254.1.1")),
...                    Route(IPv4Network("169.254.1.1/32"), "eth0", scope="link")))
>>> decision = route(ns, IPv4Address("10.0.2.7"))
>>> decision.device, str(decision.gateway), decision.rule_text
('eth0', '169.254.1.1', '32766:\\tfrom all lookup main')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from ekslib.facts import RULE_DEFAULT, RULE_LOCAL, RULE_MAIN
from ekslib.linux.objects import NetNamespace, Rule
from ekslib.linux.routes import Route, RouteTable

#: The kernel's rules in a namespace nobody changed.
DEFAULT_RULES = (Rule(RULE_LOCAL, "local"), Rule(RULE_MAIN, "main"), Rule(RULE_DEFAULT, "default"))
LOOPBACK = IPv4Network("127.0.0.0/8")


@dataclass(frozen=True)
class RouteDecision:
    """Where the kernel sends a packet: ``local`` delivery, or out of ``device`` (to ``gateway`` when set).

    ``rule`` is the policy rule whose table had the route, ``table`` that table, ``route`` the route itself
    (None for a local address); ``device is None`` and ``local False`` means unreachable.
    """

    rule: Rule | None
    table: int | str | None
    route: Route | None
    local: bool = False
    device: str | None = None
    gateway: IPv4Address | None = None
    source: IPv4Address | None = None

    @property
    def reachable(self) -> bool:
        return self.local or self.device is not None

    @property
    def rule_text(self) -> str:
        return self.rule.text() if self.rule is not None else ""

    def text(self) -> str:
        """``ip route get`` in words: ``local``, ``10.0.2.7 via 169.254.1.1 dev eth0``, or ``unreachable``."""
        if self.local:
            return "local"
        if self.route is None:
            return "unreachable"
        return self.route.text()


_ADDRESSES: dict[tuple[int, str | None], tuple[NetNamespace, frozenset[IPv4Address]]] = {}


def interface_addresses(ns: NetNamespace, iface: str | None = None) -> frozenset[IPv4Address]:
    """The addresses on one interface of the namespace (or on all of them: what its ``local`` table holds).

    Kept per namespace object (hashing a whole namespace would cost more than the lookup saves).
    """
    hit = _ADDRESSES.get((id(ns), iface))
    if hit is not None and hit[0] is ns:
        return hit[1]
    if len(_ADDRESSES) > 50_000:
        _ADDRESSES.clear()
    found = frozenset(IPv4Interface(a).ip for i in ns.interfaces if iface is None or i.name == iface
                      for a in i.addresses)
    _ADDRESSES[id(ns), iface] = (ns, found)
    return found


def local_addresses(ns: NetNamespace) -> frozenset[IPv4Address]:
    """The addresses configured on the namespace's interfaces (``ip addr``), what its ``local`` table holds."""
    return interface_addresses(ns)


def is_local(ns: NetNamespace, address: IPv4Address) -> bool:
    """True for an address of the namespace or of 127.0.0.0/8 (``addrtype --dst-type LOCAL`` matches these)."""
    return address in LOOPBACK or address in local_addresses(ns)


def _selects(rule: Rule, src: IPv4Address | None, dst: IPv4Address, fwmark: int) -> bool:
    if rule.src is not None and (src is None or src not in rule.src):
        return False
    if rule.dst is not None and dst not in rule.dst:
        return False
    if rule.fwmark is not None:
        value, mask = rule.fwmark
        if fwmark & mask != value:
            return False
    return True


def longest_match(routes: Sequence[Route], dst: IPv4Address) -> Route | None:
    """The most specific route for ``dst`` (``default`` is /0); None when no route covers it."""
    best: Route | None = None
    best_len = -1
    for r in routes:
        length = 0 if r.destination is None else r.destination.prefixlen
        if (r.destination is None or dst in r.destination) and length > best_len:
            best, best_len = r, length
    return best


def route(ns: NetNamespace, dst: IPv4Address, *, src: IPv4Address | None = None, fwmark: int = 0,
          rules: Sequence[Rule] | None = None, tables: Mapping[int, RouteTable] | None = None) -> RouteDecision:
    """The routing decision for a packet to ``dst`` in ``ns`` (``rules``/``tables``: the namespace's policy rules
    and numbered tables; the host namespace of a VPC CNI node has 512, 1024, 1536 and 32765 besides the kernel's).
    """
    tables = tables or {}
    for rule in sorted(rules or DEFAULT_RULES, key=lambda r: r.priority):
        if not _selects(rule, src, dst, fwmark):
            continue
        if rule.table == "local":
            if is_local(ns, dst):
                return RouteDecision(rule, "local", None, local=True, source=dst)
            continue
        if rule.table == "main":
            candidates: Sequence[Route] = ns.routes
        elif rule.table == "default":
            candidates = ()
        else:
            table = tables.get(int(rule.table))
            candidates = table.routes if table is not None else ()
        found = longest_match(candidates, dst)
        if found is not None:
            return RouteDecision(rule, rule.table, found, device=found.dev, gateway=found.via, source=found.src)
    return RouteDecision(None, None, None)
