"""Routes and numbered route tables, as ``ip route show [table N]`` prints them (iproute2).

>>> from ipaddress import IPv4Network
>>> Route(IPv4Network("10.0.1.5/32"), "eni0123456789a", scope="link").text()
'10.0.1.5 dev eni0123456789a scope link'
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

# ----------------------------------------------------------------------------------------------- routes


@dataclass(frozen=True, slots=True)
class Route:
    """One route as ``ip route`` shows it; ``destination=None`` is ``default``.

    >>> Route(IPv4Network("192.168.101.5/32"), "enib5faff8a083", scope="link").text()
    '192.168.101.5 dev enib5faff8a083 scope link'
    >>> Route(None, "eth1", via=IPv4Address("192.168.96.1")).text()
    'default via 192.168.96.1 dev eth1'
    """

    destination: IPv4Network | None
    dev: str
    via: IPv4Address | None = None
    proto: str | None = None
    scope: str | None = None
    src: IPv4Address | None = None

    def text(self) -> str:
        """The line ``ip route show`` prints (a /32 destination is printed without its length, as iproute2 does)."""
        if self.destination is None:
            words = ["default"]
        elif self.destination.prefixlen == 32:
            words = [str(self.destination.network_address)]
        else:
            words = [str(self.destination)]
        if self.via is not None:
            words += ["via", str(self.via)]
        words += ["dev", self.dev]
        if self.proto:
            words += ["proto", self.proto]
        if self.scope:
            words += ["scope", self.scope]
        if self.src is not None:
            words += ["src", str(self.src)]
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class RouteTable:
    """A numbered policy-routing table (``ip route show table N``) and the ENI it belongs to."""

    number: int
    eni_id: str
    routes: tuple[Route, ...]

    def text(self) -> str:
        """The table as ``ip route show table N`` prints it."""
        return "\n".join(route.text() for route in self.routes)


