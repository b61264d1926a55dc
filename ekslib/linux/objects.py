"""A node's Linux networking as plain objects: namespaces, interfaces, veth pairs, policy rules, neighbours.

These are what ``ip netns``, ``ip link``, ``ip addr``, ``ip rule`` and ``ip neigh`` show (iproute2; the
kernel's FIB rules, ``man 8 ip-rule``). :mod:`ekslib.dataplane` fills them with what a CNI builds;
:mod:`ekslib.linux.iproute` prints them.

>>> from ipaddress import IPv4Network
>>> Rule(512, "main", dst=IPv4Network("10.0.1.5/32")).text()
'512:\\tfrom all to 10.0.1.5 lookup main'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from ekslib.errors import EkslibError
from ekslib.facts import DEFAULT_MTU
from ekslib.linux.routes import Route, RouteTable


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy-routing rule as ``ip rule show`` prints it.

    >>> Rule(512, "main", dst=IPv4Network("192.168.96.5/32")).text()
    '512:\\tfrom all to 192.168.96.5 lookup main'
    >>> Rule(1024, "main", fwmark=(0x80, 0x80)).text()
    '1024:\\tfrom all fwmark 0x80/0x80 lookup main'
    """

    priority: int
    table: int | str
    src: IPv4Network | None = None
    dst: IPv4Network | None = None
    fwmark: tuple[int, int] | None = None

    def text(self) -> str:
        """The line of ``ip rule show``: a /32 is printed without its length, as iproute2 does."""
        def net(n: IPv4Network) -> str:
            return str(n.network_address) if n.prefixlen == 32 else str(n)

        words = [f"{self.priority}:\tfrom", net(self.src) if self.src else "all"]
        if self.dst is not None:
            words += ["to", net(self.dst)]
        if self.fwmark is not None:
            words += ["fwmark", f"{self.fwmark[0]:#x}/{self.fwmark[1]:#x}"]
        return " ".join(words) + f" lookup {self.table}"


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A neighbour (ARP) entry as ``ip neigh show`` prints it."""

    address: IPv4Address
    dev: str
    lladdr: str
    state: str = "PERMANENT"

    def text(self) -> str:
        return f"{self.address} dev {self.dev} lladdr {self.lladdr} {self.state}"


@dataclass(frozen=True, slots=True)
class Interface:
    """A network interface of one namespace: ``addresses`` are ``address/length`` strings.

    ``peer_index`` is the ifindex of a veth's other end (``eth0@if3``); ``master`` the bridge it is on.
    """

    index: int
    name: str
    kind: str
    mac: str = ""
    mtu: int = DEFAULT_MTU
    addresses: tuple[str, ...] = ()
    peer_index: int | None = None
    master: str | None = None

    @property
    def display_name(self) -> str:
        """``name@ifN`` for a veth end, as ``ip link`` shows it."""
        return f"{self.name}@if{self.peer_index}" if self.peer_index is not None else self.name


@dataclass(frozen=True, slots=True)
class VethPair:
    """A pod's veth pair: ``host_name`` in the host namespace, ``pod_name`` (eth0) in ``netns``.

    ``table`` is the route table of the ENI holding the pod's address (None: the primary ENI, main table);
    ``bridge`` is set only in the bridge (kubenet) model.
    """

    pod: str
    netns: str
    host_name: str
    pod_name: str
    address: IPv4Address
    prefixlen: int
    host_mac: str
    pod_mac: str
    eni_id: str = ""
    table: int | None = None
    bridge: str | None = None


@dataclass(frozen=True, slots=True)
class FdbEntry:
    """A forwarding-database entry of a VXLAN device, as ``bridge fdb show`` prints it: frames for ``lladdr``
    go, encapsulated, to the tunnel endpoint ``dst`` (``man 8 bridge``).

    >>> FdbEntry("0e:2a:6c:1d:5f:01", "flannel.1", IPv4Address("192.168.128.4")).text()
    '0e:2a:6c:1d:5f:01 dev flannel.1 dst 192.168.128.4 self permanent'
    """

    lladdr: str
    dev: str
    dst: IPv4Address

    def text(self) -> str:
        return f"{self.lladdr} dev {self.dev} dst {self.dst} self permanent"


@dataclass(frozen=True, slots=True)
class NetNamespace:
    """A network namespace: ``host`` or a pod's (``cni-<uuid>``, as containerd names them)."""

    name: str
    pod: str | None
    interfaces: tuple[Interface, ...]
    routes: tuple[Route, ...]
    neighbours: tuple[Neighbour, ...] = ()
    fdb: tuple[FdbEntry, ...] = ()

    def interface(self, name: str) -> Interface | None:
        """The interface called ``name``, or None."""
        return next((i for i in self.interfaces if i.name == name), None)


@dataclass(frozen=True)
class NodeDataplane:
    """A node's namespaces, veth pairs, policy rules and numbered route tables (see the module docstring).

    ``cni`` says which design this is: ``"aws-vpc-cni"`` (routed veths) or ``"kubenet"`` (bridge ``cbr0``).
    """

    node: str
    cni: str
    host: NetNamespace
    pods: tuple[NetNamespace, ...]
    veths: tuple[VethPair, ...]
    rules: tuple[Rule, ...]
    tables: Mapping[int, RouteTable] = field(default_factory=dict)
    host_network_pods: tuple[str, ...] = ()
    pod_cidr: IPv4Network | None = None
    mtu: int = DEFAULT_MTU

    def namespace(self, pod: str | None = None) -> NetNamespace:
        """The host namespace (``pod=None``) or the namespace of pod ``namespace/name``."""
        if pod is None or pod in self.host_network_pods:
            return self.host
        for ns in self.pods:
            if ns.pod == pod:
                return ns
        known = ", ".join(ns.pod or "" for ns in self.pods[:6])
        raise EkslibError(f"pod {pod!r} has no network namespace on node {self.node}; pods here: {known}"
                          f"{', ...' if len(self.pods) > 6 else ''} "
                          f"(host network: {', '.join(self.host_network_pods)})")

    def veth(self, pod: str) -> VethPair:
        """The veth pair of pod ``namespace/name``."""
        for pair in self.veths:
            if pair.pod == pod:
                return pair
        raise EkslibError(f"pod {pod!r} has no veth on node {self.node} (a host-network pod has none)")
