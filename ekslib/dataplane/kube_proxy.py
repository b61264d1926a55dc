"""kube-proxy's iptables mode on a node: the rules it writes for the cluster's Services, as netfilter data.

Read in kube-proxy's current proxier (github.com/kubernetes/kubernetes, read in the fork aroradaman/kubernetes at
4177b600, 2026) ``pkg/proxy/iptables/proxier.go`` (``syncProxyRules``, ``writeServiceToEndpointRules``,
``iptablesJumpChains``, ``portProtoHash``, ``computeProbability``), checked against the iptables-restore inputs
its tests expect (``pkg/proxy/iptables/proxier_test.go``: ``TestOverallIPTablesRules``,
``TestSyncProxyRulesLargeClusterMode``, ``TestDropInvalidRule``, ``TestMasqueradeRule``), and in
``pkg/proxy/topology.go`` (``CategorizeEndpoints``), ``pkg/proxy/serviceport.go`` (``newBaseServiceInfo``),
``pkg/proxy/types.go`` (``ServicePortName.String``), ``pkg/proxy/util/localdetector.go``,
``pkg/util/iptables/iptables.go`` (``EnsureRule``, ``Monitor``), ``cmd/kube-proxy/app/server_linux.go``
(``getLocalDetector``) and ``pkg/kubelet/kubelet_network_linux.go`` (``syncIPTablesRules``):

* **Jumps from the built-in chains** (``iptablesJumpChains``, then ``iptablesKubeletJumpChains``): each is
  ``EnsureRule(Prepend, ...)`` -- ``iptables -I CHAIN`` (position 1) unless the same rule is already there -- so the
  last one ensured ends up first and all of them run before rules others *append* (the VPC CNI's). Their text is
  the extra arguments, then the comment: filter ``INPUT``/``FORWARD -m conntrack --ctstate NEW -m comment
  --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES``, ``INPUT -m comment
  --comment "kubernetes health check service ports" -j KUBE-NODEPORTS``, ``FORWARD``/``OUTPUT -m conntrack
  --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES``, ``FORWARD -m comment
  --comment "kubernetes forwarding rules" -j KUBE-FORWARD``, ``INPUT``/``OUTPUT``/``FORWARD -m conntrack --ctstate
  NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL``; nat ``OUTPUT`` and
  ``PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES``, ``POSTROUTING -m comment
  --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING``; filter ``INPUT``/``OUTPUT -j KUBE-FIREWALL``
  (no comment). kubelet prepends the same KUBE-FIREWALL jumps when it starts, before it starts the kube-proxy pod,
  so on a node they come *last* (``kubelet_chains=True``, the default).
* **One iptables-restore** (``--noflush``: the chains it declares are flushed and rewritten, others kept):
  filter ``KUBE-SERVICES``, ``KUBE-EXTERNAL-SERVICES``, ``KUBE-FORWARD``, ``KUBE-NODEPORTS``,
  ``KUBE-PROXY-FIREWALL`` (and ``KUBE-FIREWALL`` with the "block incoming localnet connections" DROP when
  localhost NodePorts are on); nat ``KUBE-SERVICES``, ``KUBE-NODEPORTS``, ``KUBE-POSTROUTING`` (``-m mark !
  --mark 0x4000/0x4000 -j RETURN``, ``-j MARK --xor-mark 0x4000``, ``-m comment --comment "kubernetes service
  traffic requiring SNAT" -j MASQUERADE --random-fully``), ``KUBE-MARK-MASQ`` (``-j MARK --or-mark 0x4000``), and
  per Service port the chains below. ``KUBE-PROXY-CANARY`` (mangle, nat, filter) is the empty chain ``Monitor``
  keeps to notice a flush.
* **Per Service port** (``ns/name:port``, ``ns/name`` when the port has no name), in one pass: nat
  ``KUBE-SERVICES -m comment --comment "<spn> cluster IP" -m tcp -p tcp -d <clusterIP> --dport <port> -j
  KUBE-SVC-<h>``; ``"<spn> external IP"`` and ``"<spn> loadbalancer IP"`` rules to ``KUBE-EXT-<h>`` (or
  ``KUBE-FW-<h>`` with ``loadBalancerSourceRanges``); ``KUBE-NODEPORTS -m comment --comment <spn> -m tcp -p tcp
  --dport <nodePort> -j KUBE-EXT-<h>``; ``KUBE-SVC-<h>``: the masquerade rule for traffic not from a pod (only
  with a local-traffic detector, or ``--masquerade-all``), then per endpoint i of n ``-m comment --comment "<spn>
  -> <ip:port>" -m statistic --mode random --probability <1/(n-i)>`` (``%0.10f``; iptables-save prints the
  kernel's 2**-31 step with ``%.11f``) ``-j KUBE-SEP-<h'>``, the last one without ``-m statistic`` -- a uniform
  choice; ``KUBE-SEP-<h'>``: ``-m comment --comment <spn> -s <ip> -j KUBE-MARK-MASQ`` (a pod reaching itself)
  and ``-m comment --comment <spn> -m tcp -p tcp -j DNAT --to-destination <ip:port>``. Session affinity
  (``ClientIP``) adds ``-m recent --name KUBE-SEP-<h'> --rcheck --seconds <timeout> --reap`` rules before those
  and ``-m recent --name KUBE-SEP-<h'> --set`` to the DNAT rule.
* ``externalTrafficPolicy: Cluster``: ``KUBE-EXT-<h> -m comment --comment "masquerade traffic for <spn> external
  destinations" -j KUBE-MARK-MASQ``, ``-j KUBE-SVC-<h>``. ``Local``: ``"pod traffic for <spn> external
  destinations" <from a pod> -j KUBE-SVC-<h>`` (only with a local-traffic detector), ``"masquerade LOCAL traffic
  for <spn> external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ``, ``"route LOCAL traffic for
  <spn> external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-<h>``, and ``-j KUBE-SVL-<h>`` (this
  node's endpoints) only when the node has one; without one, filter ``KUBE-EXTERNAL-SERVICES -m comment --comment
  "<spn> has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport <nodePort> -j DROP``. A port
  with no usable endpoint anywhere gets no nat rules, only filter REJECTs ``"<spn> has no endpoints"``.
  ``healthCheckNodePort`` (LoadBalancer + Local): filter ``KUBE-NODEPORTS -m comment --comment "<spn> health
  check node port" -m tcp -p tcp --dport <port> -j ACCEPT``.
* The last rule of nat ``KUBE-SERVICES`` is ``-m comment --comment "kubernetes service nodeports; NOTE: this must
  be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS``; filter ``KUBE-FORWARD`` is
  ``-m conntrack --ctstate INVALID -j DROP`` (left out when ``nf_conntrack_tcp_be_liberal`` is set), ``"kubernetes
  forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT``, ``"kubernetes forwarding conntrack rule" -m
  conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT``.
* **Large clusters**: above 1000 endpoints (all ports of all Services) kube-proxy drops the comments of the
  ``KUBE-SVC``/``KUBE-SVL`` -> ``KUBE-SEP`` rules and of the ``KUBE-SEP`` rules (``appendServiceCommentLocked``),
  "40%+" of the text.
* **Load balancers**: kube-proxy writes rules only for ``status.loadBalancer.ingress[].ip`` (``newBaseServiceInfo``
  skips an ingress without an IP); AWS's ELBs publish a *hostname*, so on EKS in-cluster traffic to an NLB or CLB
  leaves the node, and no ``KUBE-FW-*`` chain exists (dataplane.md section 5).
* **EKS sets no cluster CIDR**: kube-proxy's default ``--detect-local-mode=ClusterCIDR`` then falls back to a no-op
  detector ("Detect-local-mode set to ClusterCIDR, but no cluster CIDR defined"), whose ``IsImplemented()`` is
  false: no ``! -s <clusterCIDR> -j KUBE-MARK-MASQ`` rule in ``KUBE-SVC-*`` (traffic from outside the cluster to a
  ClusterIP is not masqueraded) and no "pod traffic" short cut in ``KUBE-EXT-*`` for Local services (a pod on a
  node without an endpoint that calls the NodePort of a Local service is dropped like an outside client).

What is not modelled: ``-m nfacct`` (the INVALID-drop and localhost-NodePort counters kube-proxy adds when the
kernel has nfnetlink_acct: the netfilter model has no such match), topology-aware routing (zone hints), IPv6,
``ipMode: Proxy`` ingress. kube-proxy walks its Services in Go map order (random on every sync); here Service ports
are taken sorted by name (the order proxier_test.go's ``sortIPTablesRules`` compares in).

>>> chain_name("SVC", "kube-system/kube-dns:dns-tcp", "tcp")
'KUBE-SVC-ERIFXISQEP7F7OF4'
>>> from ekslib.cluster import load_sample
>>> c = load_sample("two-node")
>>> rs = kube_proxy_ruleset(c, c.nodes[0].name)
>>> last = rs.rules("nat", "KUBE-SERVICES")[-1]
>>> last.target.name, last.find("addrtype")[0].text
('KUBE-NODEPORTS', '-m addrtype --dst-type LOCAL')
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from ekslib._checks import parse_ipv4, parse_ipv4_network
from ekslib._perf import paused_gc
from ekslib.cluster.model import Cluster, Service, ServiceEndpoint, ServicePort
from ekslib.errors import EkslibError
from ekslib.facts import (
    KUBE_PROXY_LARGE_CLUSTER_ENDPOINTS,
    KUBE_PROXY_MASQUERADE_BIT,
    SESSION_AFFINITY_TIMEOUT_S,
)
from ekslib.linux.netfilter import (
    BUILTIN_CHAINS,
    AddressMatch,
    AddrtypeOptions,
    Chain,
    CommentOptions,
    ConntrackOptions,
    DnatOptions,
    InterfaceMatch,
    MarkOptions,
    MarkTargetOptions,
    MasqueradeOptions,
    Match,
    NatRange,
    PortMatch,
    PortOptions,
    PortRange,
    ProtocolMatch,
    RecentOptions,
    RejectOptions,
    Rule,
    Ruleset,
    StatisticOptions,
    Table,
    Target,
)

__all__ = ["CHAIN_PREFIXES", "KubeProxySettings", "chain_name", "kube_proxy_ruleset", "service_port_name"]

#: The per-Service chain kinds and their prefixes (proxier.go ``servicePort*ChainNamePrefix``).
CHAIN_PREFIXES = {"SVC": "KUBE-SVC-", "SVL": "KUBE-SVL-", "EXT": "KUBE-EXT-", "FW": "KUBE-FW-", "SEP": "KUBE-SEP-"}
#: ``--detect-local-mode`` values modelled (``cmd/kube-proxy/app/server_linux.go`` ``getLocalDetector``).
DETECT_LOCAL_MODES = ("ClusterCIDR", "InterfaceNamePrefix")
_PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
_LOOPBACK = IPv4Network("127.0.0.0/8")
_NODEPORTS_COMMENT = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
#: RFC 4648 base32 (Go's ``base32.StdEncoding``), two characters (10 bits) at a time.
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS = [a + b for a in _B32 for b in _B32]


def service_port_name(service: Service | str, port: ServicePort | str) -> str:
    """kube-proxy's ``ServicePortName.String()`` (pkg/proxy/types.go): ``namespace/name:port``, or
    ``namespace/name`` for a port without a name.

    >>> service_port_name("default/kubernetes", "https"), service_port_name("default/web", "")
    ('default/kubernetes:https', 'default/web')
    """
    key = service if isinstance(service, str) else service.key
    name = port if isinstance(port, str) else port.name
    return f"{key}:{name}" if name else key


def chain_name(kind: str, service_port_name: str, protocol: str, endpoint: str | None = None) -> str:
    """The name kube-proxy gives a per-Service chain: the kind's prefix and the first 16 characters of
    base32(sha256(servicePortName + protocol [+ endpoint])) (proxier.go ``portProtoHash``,
    ``servicePortEndpointChainName``); ``protocol`` in lower case, ``endpoint`` the ``ip:port`` of a ``SEP``.

    >>> chain_name("SVC", "ns1/svc1:p80", "TCP"), chain_name("SEP", "ns1/svc1:p80", "tcp", "10.180.0.1:80")
    ('KUBE-SVC-XPGD46QRK7WJZT7O', 'KUBE-SEP-SXIVWICOYRO3J4NJ')
    """
    if kind not in CHAIN_PREFIXES:
        raise EkslibError(f"chain kind {kind!r} is not one of {', '.join(CHAIN_PREFIXES)}")
    if (kind == "SEP") != (endpoint is not None):
        raise EkslibError("a SEP chain name needs the endpoint (ip:port); the other kinds take none")
    text = service_port_name + protocol.lower() + (endpoint or "")
    # 16 base32 characters are the first 80 bits of the digest: 8 pairs of characters, 10 bits each
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:10], "big")
    p = _B32_PAIRS
    return (CHAIN_PREFIXES[kind] + p[n >> 70] + p[n >> 60 & 1023] + p[n >> 50 & 1023] + p[n >> 40 & 1023]
            + p[n >> 30 & 1023] + p[n >> 20 & 1023] + p[n >> 10 & 1023] + p[n & 1023])


@dataclass(frozen=True)
class KubeProxySettings:
    """kube-proxy's configuration (KubeProxyConfiguration, its flags), as EKS's ``kube-proxy-config`` sets it, and
    the Service fields the cluster model does not carry.

    * ``masquerade_bit``: ``iptables.masqueradeBit`` (14: mark 0x4000); ``masquerade_all``: SNAT all ClusterIP
      traffic;
    * ``cluster_cidr``/``detect_local_mode``/``interface_name_prefix``: the local-traffic detector. EKS sets no
      cluster CIDR, so with the default mode ``ClusterCIDR`` there is none (see the module docstring);
      ``InterfaceNamePrefix`` with ``"eni"`` would match the VPC CNI's veths (``-i eni+``);
    * ``nodeport_addresses``: CIDRs NodePorts answer on (empty: every local address, ``-m addrtype --dst-type
      LOCAL``); ``localhost_nodeports``: NodePorts on 127.0.0.1 too (``route_localnet=1``, and the KUBE-FIREWALL
      DROP that guards it); ``conntrack_tcp_be_liberal``: the node's ``nf_conntrack_tcp_be_liberal`` is set, so no
      INVALID DROP; ``random_fully``: iptables knows ``--random-fully`` (1.6.2 and later);
    * ``large_cluster_threshold``: endpoints above which comments go (1000);
    * ``kubelet_chains``: the chains kubelet made before kube-proxy started (KUBE-FIREWALL and its jumps, mangle
      ``KUBE-IPTABLES-HINT``, ``KUBE-KUBELET-CANARY``), as on every node;
    * ``session_affinity``: ``namespace/name`` -> ``sessionAffinityConfig.clientIP.timeoutSeconds`` for Services
      with ``sessionAffinity: ClientIP``; ``internal_traffic_local``: Services with ``internalTrafficPolicy:
      Local``; ``external_ips``: ``spec.externalIPs``; ``load_balancer_source_ranges``:
      ``spec.loadBalancerSourceRanges`` (the model's ``Service`` has none of these fields).

    >>> s = KubeProxySettings(session_affinity={"default/web": None})
    >>> s.mark, s.session_affinity["default/web"], s.detects_local
    (16384, 10800, False)
    """

    masquerade_bit: int = KUBE_PROXY_MASQUERADE_BIT
    masquerade_all: bool = False
    cluster_cidr: IPv4Network | None = None
    detect_local_mode: str = "ClusterCIDR"
    interface_name_prefix: str = ""
    nodeport_addresses: tuple[IPv4Network, ...] = ()
    localhost_nodeports: bool = True
    conntrack_tcp_be_liberal: bool = False
    random_fully: bool = True
    large_cluster_threshold: int = KUBE_PROXY_LARGE_CLUSTER_ENDPOINTS
    kubelet_chains: bool = True
    session_affinity: Mapping[str, int] = field(default_factory=dict, hash=False)
    internal_traffic_local: frozenset[str] = frozenset()
    external_ips: Mapping[str, tuple[IPv4Address, ...]] = field(default_factory=dict, hash=False)
    load_balancer_source_ranges: Mapping[str, tuple[IPv4Network, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # frozen: normalise once
        if not isinstance(self.masquerade_bit, int) or not 0 <= self.masquerade_bit <= 31:
            raise EkslibError(f"masquerade_bit {self.masquerade_bit!r} must be 0..31 (kube-proxy's validation)")
        if self.cluster_cidr is not None:
            put("cluster_cidr", parse_ipv4_network(self.cluster_cidr, "kube-proxy clusterCIDR"))
        if self.detect_local_mode not in DETECT_LOCAL_MODES:
            raise EkslibError(f"detect_local_mode {self.detect_local_mode!r} is not one of "
                              f"{', '.join(DETECT_LOCAL_MODES)}")
        if self.detect_local_mode == "InterfaceNamePrefix" and not self.interface_name_prefix:
            raise EkslibError("detect_local_mode InterfaceNamePrefix needs interface_name_prefix (kube-proxy refuses "
                              "to start without it); the VPC CNI's veths start with 'eni'")
        addresses = (self.nodeport_addresses,) if isinstance(self.nodeport_addresses, str) else self.nodeport_addresses
        put("nodeport_addresses", tuple(parse_ipv4_network(c, "nodePortAddresses entry") for c in addresses))
        if not isinstance(self.large_cluster_threshold, int) or self.large_cluster_threshold < 0:
            raise EkslibError(f"large_cluster_threshold {self.large_cluster_threshold!r} must be a whole number")
        affinity = {}
        for key, seconds in dict(self.session_affinity).items():
            seconds = SESSION_AFFINITY_TIMEOUT_S if seconds is None else seconds
            if not isinstance(seconds, int) or not 0 < seconds <= 86400:
                raise EkslibError(f"session affinity timeout of {key}: {seconds!r} is not 1..86400 seconds "
                                  "(the API's limit)")
            affinity[key] = seconds
        put("session_affinity", affinity)
        local = (self.internal_traffic_local,) if isinstance(self.internal_traffic_local, str) else \
            self.internal_traffic_local
        put("internal_traffic_local", frozenset(local))
        put("external_ips", {k: tuple(parse_ipv4(a, f"spec.externalIPs of {k}") for a in v)
                             for k, v in dict(self.external_ips).items()})
        put("load_balancer_source_ranges", {
            k: tuple(IPv4Network(str(c).strip(), strict=False) for c in v)
            for k, v in dict(self.load_balancer_source_ranges).items()})

    @property
    def mark(self) -> int:
        """The masquerade mark, ``1 << masquerade_bit``."""
        return 1 << self.masquerade_bit

    @property
    def detects_local(self) -> bool:
        """Whether kube-proxy has a local-traffic detector (``LocalTrafficDetector.IsImplemented()``)."""
        return self.detect_local_mode == "InterfaceNamePrefix" or self.cluster_cidr is not None

    def _if_local(self, negated: bool) -> dict[str, Any]:
        """``IfLocal()`` / ``IfNotLocal()`` as Rule fields (localdetector.go)."""
        if self.detect_local_mode == "InterfaceNamePrefix":
            return {"in_iface": InterfaceMatch(self.interface_name_prefix + "+", negated)}
        return {"source": AddressMatch(self.cluster_cidr, negated)}


# ----------------------------------------------------------------------------------------- fast construction

#: Build the high-volume objects (rules, comments, addresses, jumps, chains, tables) without re-running their
#: constructors' checks: every field handed to :func:`_make` is already in the form the constructor would store
#: (the tests build samples and a large node with this off and compare). The checks cost up to ~20 us an object
#: and a 1,000-Service node has ~20,000 objects; the table checks (see :func:`_table`) another ~55 ms.
_TRUSTED = True
_TEMPLATES: dict[type, dict[str, Any] | None] = {}
_UNKNOWN: Any = object()
_new = object.__new__


def _template(cls: type) -> dict[str, Any] | None:
    """A dataclass's field defaults (required fields absent), or None if its instances cannot be built field by
    field (slots, default factories)."""
    if cls not in _TEMPLATES:
        fields = dataclasses.fields(cls)
        simple = not hasattr(cls, "__slots__") and all(f.default_factory is dataclasses.MISSING for f in fields)
        _TEMPLATES[cls] = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING} if simple \
            else None
    return _TEMPLATES[cls]


def _make(cls: type, **values: Any) -> Any:
    """``cls(**values)``, without ``__post_init__`` when ``_TRUSTED`` (see above); every required field must be
    given."""
    template = _TEMPLATES.get(cls, _UNKNOWN)
    if template is _UNKNOWN:
        template = _template(cls)
    if template is None or not _TRUSTED:
        return cls(**values)
    obj = _new(cls)
    obj.__dict__.update(template, **values)
    return obj


class _Parts:
    """Shared, cached pieces of rules (the objects are immutable, so one comment or jump serves many rules)."""

    def __init__(self, settings: KubeProxySettings):
        self.trusted = _TRUSTED
        self._comments: dict[str, Match] = {}
        self._targets: dict[str, Target] = {}
        self._hosts: dict[IPv4Address, AddressMatch] = {}
        self._ports: dict[tuple[str, int], Match] = {}
        self._protocols = {name: ProtocolMatch(number) for name, number in _PROTOCOLS.items()}
        self._empty_ports = {name: Match(name, PortOptions()) for name in _PROTOCOLS}
        self._statistic: dict[int, Match] = {}
        self._port_ranges: dict[int, PortRange] = {}
        mark = settings.mark
        self.mark_masq = Target("KUBE-MARK-MASQ")
        self.addrtype_src_local = Match("addrtype", AddrtypeOptions(src_type=("LOCAL",)))
        self.addrtype_dst_local = Match("addrtype", AddrtypeOptions(dst_type=("LOCAL",)))
        self.drop, self.accept, self.reject = Target("DROP"), Target("ACCEPT"), Target("REJECT", RejectOptions())
        self.mark_match = Match("mark", MarkOptions(mark, mark))

    def comment(self, text: str) -> Match:
        found = self._comments.get(text)
        if found is None:
            if self.trusted and text.isprintable() and len(text.encode()) <= 255:  # CommentOptions' checks
                found = _make(Match, module="comment", options=_make(CommentOptions, text=text))
            else:
                found = Match("comment", CommentOptions(text))
            self._comments[text] = found
        return found

    def target(self, chain: str) -> Target:
        found = self._targets.get(chain)
        if found is None:
            found = self._targets[chain] = _make(Target, name=chain)
        return found

    def host(self, address: IPv4Address) -> AddressMatch:
        found = self._hosts.get(address)
        if found is None:
            found = self._hosts[address] = _make(AddressMatch, network=IPv4Network((int(address), 32)))
        return found

    def protocol(self, protocol: str) -> ProtocolMatch:
        return self._protocols[protocol]

    def dport(self, protocol: str, port: int) -> Match:
        found = self._ports.get((protocol, port))
        if found is None:
            found = self._ports[protocol, port] = Match(protocol, PortOptions(dport=PortMatch(PortRange(port))))
        return found

    def no_ports(self, protocol: str) -> Match:
        return self._empty_ports[protocol]

    def statistic(self, n: int) -> Match:
        """``-m statistic --mode random --probability 1/n`` as kube-proxy writes it (``computeProbability``:
        ``%0.10f``; iptables then keeps the nearest 2**-31 step)."""
        found = self._statistic.get(n)
        if found is None:
            found = self._statistic[n] = Match("statistic", StatisticOptions("random", float(f"{1.0 / n:0.10f}")))
        return found

    def dnat(self, endpoint: ServiceEndpoint) -> Target:
        """``-j DNAT --to-destination ip:port``."""
        ports = self._port_ranges.get(endpoint.port)
        if ports is None:
            ports = self._port_ranges[endpoint.port] = PortRange(endpoint.port)
        to = _make(NatRange, min_ip=endpoint.address, max_ip=endpoint.address, ports=ports)
        return _make(Target, name="DNAT", options=DnatOptions(to))


def _rule(chain: str, target: Target | None, *matches: Match, **fields: Any) -> Rule:
    """``Rule(chain, matches=matches, target=target, **fields)`` (trusted: see :func:`_make`)."""
    if _RULE_TEMPLATE is None or not _TRUSTED:
        return Rule(chain, matches=matches, target=target, **fields)
    rule = _new(Rule)
    state = rule.__dict__
    state.update(_RULE_TEMPLATE)
    state["chain"], state["matches"], state["target"] = chain, matches, target
    if fields:
        state.update(fields)
    return rule


_RULE_TEMPLATE = _template(Rule)


# ------------------------------------------------------------------------------------------- Service ports


@dataclass
class _PortInfo:
    """One entry of kube-proxy's ``svcPortMap`` with what ``CategorizeEndpoints`` makes of its endpoints."""

    service: Service
    port: ServicePort
    name: str  # the ServicePortName string
    protocol: str  # lower case
    endpoints: tuple[ServiceEndpoint, ...]
    external_ips: tuple[IPv4Address, ...] = ()
    lb_vips: tuple[IPv4Address, ...] = ()
    source_ranges: tuple[IPv4Network, ...] = ()
    internal_local: bool = False
    external_local: bool = False
    health_check_node_port: int | None = None
    affinity: int | None = None

    @property
    def node_port(self) -> int | None:
        return self.port.node_port

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port) or bool(self.lb_vips) or bool(self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        return not self.internal_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_local or (self.external_local and self.externally_accessible)

    def chain(self, kind: str, endpoint: ServiceEndpoint | None = None) -> str:
        return chain_name(kind, self.name, self.protocol, None if endpoint is None else endpoint.endpoint)


def _lb_vips(service: Service) -> tuple[IPv4Address, ...]:
    """``status.loadBalancer.ingress[].ip`` (the model keeps the first ingress, IP or hostname): a hostname, as
    AWS's load balancers publish, gives none (serviceport.go ``newBaseServiceInfo``)."""
    if service.type != "LoadBalancer" or not service.load_balancer:
        return ()
    try:
        return (IPv4Address(service.load_balancer),)
    except ValueError:
        return ()


def _service_ports(cluster: Cluster, settings: KubeProxySettings) -> list[_PortInfo]:
    """kube-proxy's ``svcPortMap``: every port of every Service with a ClusterIP (headless and ExternalName
    Services are skipped: ``ShouldSkipService``), sorted by name."""
    out: list[_PortInfo] = []
    for service in cluster.services:
        if service.cluster_ip is None or service.type == "ExternalName":
            continue
        accessible = service.type in ("NodePort", "LoadBalancer") or bool(settings.external_ips.get(service.key))
        external_local = accessible and service.external_traffic_policy == "Local"
        health = service.health_check_node_port if service.type == "LoadBalancer" and external_local else None
        for port in service.ports:
            name = service_port_name(service, port)
            protocol = port.protocol.lower()
            if protocol not in _PROTOCOLS:
                raise EkslibError(f"service {service.key}: protocol {port.protocol!r} is not TCP, UDP or SCTP")
            out.append(_PortInfo(
                service, port, name, protocol, cluster.service_endpoints(service.key, port.name),
                settings.external_ips.get(service.key, ()), _lb_vips(service),
                settings.load_balancer_source_ranges.get(service.key, ()),
                service.key in settings.internal_traffic_local, external_local, health,
                settings.session_affinity.get(service.key)))
    out.sort(key=lambda p: (p.service.key, p.port.name, p.protocol))  # sortIPTablesRules: "ns/name", then ports
    return out


def _categorize(info: _PortInfo, node: str) -> tuple[list, list, list, bool]:
    """``CategorizeEndpoints`` (pkg/proxy/topology.go), without topology hints: (cluster endpoints, local
    endpoints, all endpoints reachable from this node, whether the port has usable endpoints anywhere)."""
    endpoints = info.endpoints
    cluster: list[ServiceEndpoint] = []
    local: list[ServiceEndpoint] = []
    has_any = False
    if info.uses_cluster_endpoints:
        cluster = [e for e in endpoints if e.ready]
        if not cluster:
            cluster = [e for e in endpoints if e.serving and e.terminating]
        has_any = bool(cluster)
    if not info.uses_local_endpoints:
        return cluster, local, cluster, has_any
    local_ready = local_serving = False
    for e in endpoints:
        if e.ready:
            has_any = True
            local_ready = local_ready or e.node_name == node
        elif e.serving and e.terminating:
            has_any = True
            local_serving = local_serving or e.node_name == node
    terminating = False
    if local_ready:
        local = [e for e in endpoints if e.node_name == node and e.ready]
    elif local_serving:
        terminating = True
        local = [e for e in endpoints if e.node_name == node and e.serving and e.terminating]
    if not info.uses_cluster_endpoints:
        return cluster, local, local, has_any
    if not terminating:
        return cluster, local, cluster, has_any  # every ready local endpoint is among the cluster ones
    merged = {e.endpoint: e for e in cluster} | {e.endpoint: e for e in local}
    return cluster, local, sorted(merged.values(), key=lambda e: e.endpoint), has_any


def _node_ips(cluster: Cluster, node: str) -> list[IPv4Address]:
    """The node's own IPv4 addresses: 127.0.0.1 on lo, then each ENI's primary address (the VPC CNI puts it on
    ``ethN``)."""
    return [IPv4Address("127.0.0.1"), *(e.primary_ip for e in cluster.node(node).enis)]


# ------------------------------------------------------------------------------------------------- building


class _Chains:
    """A working copy of a ruleset's tables: chains by name, rule lists that grow in place."""

    def __init__(self, ruleset: Ruleset | None):
        self.tables: dict[str, dict[str, list]] = {}
        for table in (ruleset.tables if ruleset is not None else ()):
            self.tables[table.name] = {c.name: [c.policy, c.counters, list(c.rules)] for c in table.chains}

    def _table(self, table: str) -> dict[str, list]:
        chains = self.tables.get(table)
        if chains is None:
            chains = self.tables[table] = {name: ["ACCEPT", (0, 0), []] for name in BUILTIN_CHAINS[table]}
        return chains

    def ensure_chain(self, table: str, name: str) -> list[Rule]:
        """``iptables -N`` if missing (``EnsureChain``): existing rules stay."""
        chains = self._table(table)
        if name not in chains:
            chains[name] = [None, (0, 0), []]
        return chains[name][2]

    def declare(self, table: str, name: str, rules: list[Rule]) -> None:
        """``:NAME - [0:0]`` in an ``iptables-restore --noflush``: the chain is flushed and gets ``rules``."""
        chains = self._table(table)
        policy, counters, _ = chains.get(name, [None, (0, 0), None])
        chains[name] = [policy, counters, rules]

    def ensure_rule(self, table: str, rule: Rule, prepend: bool) -> None:
        """``EnsureRule``: ``iptables -C``, then ``-I CHAIN`` (prepend) or ``-A CHAIN`` if it is not there."""
        rules = self.ensure_chain(table, rule.chain)
        if rule not in rules:
            rules.insert(0, rule) if prepend else rules.append(rule)

    def ruleset(self) -> Ruleset:
        return Ruleset(tuple(
            _table(name, [_make(Chain, name=chain, policy=policy, counters=counters, rules=tuple(rules))
                          for chain, (policy, counters, rules) in chains.items()])
            for name, chains in self.tables.items()))


def _table(name: str, chains: list[Chain]) -> Table:
    """``Table(name, chains)``. Trusted, only its cheapest check is made -- every jump goes to a chain of the table
    -- and the chains are put in its order (built-in chains in hook order, then user chains by name): its checks of
    loops and NAT hooks walk the whole graph of chains, ~55 ms for a 1,000-Service node, and hold here by
    construction (kube-proxy's chains jump only to its own, DNAT only below KUBE-SERVICES, MASQUERADE only in
    KUBE-POSTROUTING). The tests build every sample both ways and compare."""
    if not _TRUSTED or _template(Table) is None:
        return Table(name, tuple(chains))
    by_name = {c.name: c for c in chains}
    for chain in chains:
        for rule in chain.rules:
            target = rule.target
            if target is not None and target.name not in by_name and target.is_jump:
                raise EkslibError(f"table {name}: rule {rule.text!r} jumps to a chain that is not in the table")
    builtins = BUILTIN_CHAINS[name]
    ordered = [by_name.get(b) or Chain(b, "ACCEPT") for b in builtins]
    ordered += sorted((c for c in chains if c.name not in builtins), key=lambda c: c.name.encode())
    return _make(Table, name=name, chains=tuple(ordered))


def _jump(p: _Parts, chain: str, target: str, comment: str, new_only: bool) -> Rule:
    matches = (Match("conntrack", ConntrackOptions(("NEW",))),) if new_only else ()
    if comment:
        matches += (p.comment(comment),)
    return _rule(chain, p.target(target), *matches)


def _kubelet(work: _Chains, p: _Parts) -> None:
    """What kubelet writes (kubelet_network_linux.go ``syncIPTablesRules``, ``initNetworkUtil``): mangle
    ``KUBE-IPTABLES-HINT``, filter ``KUBE-FIREWALL`` jumped to from OUTPUT then INPUT (prepended) with the
    localnet DROP, and its ``Monitor`` canary ``KUBE-KUBELET-CANARY`` in mangle, nat and filter."""
    work.ensure_chain("mangle", "KUBE-IPTABLES-HINT")
    work.ensure_chain("filter", "KUBE-FIREWALL")
    work.ensure_rule("filter", _jump(p, "OUTPUT", "KUBE-FIREWALL", "", False), prepend=True)
    work.ensure_rule("filter", _jump(p, "INPUT", "KUBE-FIREWALL", "", False), prepend=True)
    work.ensure_rule("filter", _localnet_drop(p), prepend=False)
    for table in ("mangle", "nat", "filter"):
        work.ensure_chain(table, "KUBE-KUBELET-CANARY")


def _localnet_drop(p: _Parts) -> Rule:
    """``-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s
    127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`` (kube-proxy and kubelet alike)."""
    return Rule("KUBE-FIREWALL", source=AddressMatch(_LOOPBACK, negated=True), destination=AddressMatch(_LOOPBACK),
                matches=(Match("comment", CommentOptions("block incoming localnet connections")),
                         Match("conntrack", ConntrackOptions(("RELATED", "ESTABLISHED", "DNAT"), negated=True))),
                target=Target("DROP"))


#: ``iptablesJumpChains`` then ``iptablesKubeletJumpChains``, in proxier.go's order: (table, jump to, from chain,
#: comment, ``-m conntrack --ctstate NEW``).
JUMP_CHAINS = (
    ("filter", "KUBE-EXTERNAL-SERVICES", "INPUT", "kubernetes externally-visible service portals", True),
    ("filter", "KUBE-EXTERNAL-SERVICES", "FORWARD", "kubernetes externally-visible service portals", True),
    ("filter", "KUBE-NODEPORTS", "INPUT", "kubernetes health check service ports", False),
    ("filter", "KUBE-SERVICES", "FORWARD", "kubernetes service portals", True),
    ("filter", "KUBE-SERVICES", "OUTPUT", "kubernetes service portals", True),
    ("filter", "KUBE-FORWARD", "FORWARD", "kubernetes forwarding rules", False),
    ("filter", "KUBE-PROXY-FIREWALL", "INPUT", "kubernetes load balancer firewall", True),
    ("filter", "KUBE-PROXY-FIREWALL", "OUTPUT", "kubernetes load balancer firewall", True),
    ("filter", "KUBE-PROXY-FIREWALL", "FORWARD", "kubernetes load balancer firewall", True),
    ("nat", "KUBE-SERVICES", "OUTPUT", "kubernetes service portals", False),
    ("nat", "KUBE-SERVICES", "PREROUTING", "kubernetes service portals", False),
    ("nat", "KUBE-POSTROUTING", "POSTROUTING", "kubernetes postrouting rules", False),
    ("filter", "KUBE-FIREWALL", "INPUT", "", False),
    ("filter", "KUBE-FIREWALL", "OUTPUT", "", False),
)


def kube_proxy_ruleset(cluster: Cluster, node: str, settings: KubeProxySettings | None = None,
                       ruleset: Ruleset | None = None) -> Ruleset:
    """``ruleset`` (default: empty) with what kube-proxy (iptables mode) writes on ``node`` for the cluster's
    Services -- and, with ``settings.kubelet_chains``, what kubelet wrote before it -- in the order they write it:
    kube-proxy's jumps go first in the built-in chains, before the rules already there.

    >>> from ekslib.cluster import load_sample
    >>> c = load_sample("two-node")
    >>> [r.text for r in kube_proxy_ruleset(c, c.nodes[0].name).rules("nat", "POSTROUTING")]
    ['-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']
    """
    with paused_gc():
        return _kube_proxy_ruleset(cluster, node, settings or KubeProxySettings(), ruleset)


def _kube_proxy_ruleset(cluster: Cluster, node: str, s: KubeProxySettings, ruleset: Ruleset | None) -> Ruleset:
    cluster.node(node)  # an unknown node raises, with suggestions
    p = _Parts(s)
    work = _Chains(ruleset)
    if s.kubelet_chains:
        _kubelet(work, p)
    for table, target, chain, comment, new_only in JUMP_CHAINS:
        work.ensure_chain(table, target)
        work.ensure_rule(table, _jump(p, chain, target, comment, new_only), prepend=True)
    for table in ("mangle", "nat", "filter"):
        work.ensure_chain(table, "KUBE-PROXY-CANARY")
    filter_chains, nat_chains = _sync_proxy_rules(cluster, node, s, p)
    for name, rules in filter_chains.items():
        work.declare("filter", name, rules)
    for name, rules in nat_chains.items():
        work.declare("nat", name, rules)
    return work.ruleset()


def _sync_proxy_rules(cluster: Cluster, node: str, s: KubeProxySettings, p: _Parts
                      ) -> tuple[dict[str, list[Rule]], dict[str, list[Rule]]]:
    """The filter and nat chains of ``syncProxyRules``' iptables-restore input, each with its rules in order."""
    mark = s.mark
    filt: dict[str, list[Rule]] = {n: [] for n in ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD",
                                                   "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL")}
    nat: dict[str, list[Rule]] = {n: [] for n in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING",
                                                  "KUBE-MARK-MASQ")}
    nat["KUBE-POSTROUTING"] += [
        Rule("KUBE-POSTROUTING", matches=(Match("mark", MarkOptions(mark, mark, negated=True)),),
             target=Target("RETURN")),
        Rule("KUBE-POSTROUTING", target=Target("MARK", MarkTargetOptions(mark, 0))),  # --xor-mark
        Rule("KUBE-POSTROUTING", matches=(p.comment("kubernetes service traffic requiring SNAT"),),
             target=Target("MASQUERADE", MasqueradeOptions(random_fully=s.random_fully))),
    ]
    nat["KUBE-MARK-MASQ"].append(Rule("KUBE-MARK-MASQ", target=Target("MARK", MarkTargetOptions(mark, mark))))
    # NewProxier: localhost NodePorts only if nodePortAddresses can hold a loopback address (ContainsIPv4Loopback)
    localhost_nodeports = s.localhost_nodeports and (not s.nodeport_addresses or any(
        c.network_address.is_loopback or IPv4Address("127.0.0.0") in c for c in s.nodeport_addresses))
    if localhost_nodeports:
        filt["KUBE-FIREWALL"] = [_localnet_drop(p)]

    ports = _service_ports(cluster, s)
    large = sum(len(info.endpoints) for info in ports) > s.large_cluster_threshold
    node_ip = cluster.node(node).address
    for info in ports:
        _service_port_rules(info, node, node_ip, s, p, large, filt, nat)

    if not s.nodeport_addresses or any(c.prefixlen == 0 for c in s.nodeport_addresses):
        rule = _rule("KUBE-SERVICES", p.target("KUBE-NODEPORTS"), p.comment(_NODEPORTS_COMMENT), p.addrtype_dst_local)
        if not localhost_nodeports:
            rule = dataclasses.replace(rule, destination=AddressMatch(_LOOPBACK, negated=True))
        nat["KUBE-SERVICES"].append(rule)
    else:
        for ip in sorted({ip for ip in _node_ips(cluster, node) for c in s.nodeport_addresses if ip in c}):
            if ip.is_loopback and not localhost_nodeports:
                continue
            nat["KUBE-SERVICES"].append(_rule("KUBE-SERVICES", p.target("KUBE-NODEPORTS"),
                                              p.comment(_NODEPORTS_COMMENT), destination=p.host(ip)))

    if not s.conntrack_tcp_be_liberal:
        filt["KUBE-FORWARD"].append(Rule("KUBE-FORWARD", matches=(Match("conntrack", ConntrackOptions(("INVALID",))),),
                                         target=p.drop))
    filt["KUBE-FORWARD"] += [
        Rule("KUBE-FORWARD", matches=(p.comment("kubernetes forwarding rules"), p.mark_match), target=p.accept),
        Rule("KUBE-FORWARD", matches=(p.comment("kubernetes forwarding conntrack rule"),
                                      Match("conntrack", ConntrackOptions(("RELATED", "ESTABLISHED")))),
             target=p.accept),
    ]
    return filt, nat


def _service_port_rules(info: _PortInfo, node: str, node_ip: IPv4Address, s: KubeProxySettings, p: _Parts,
                        large: bool, filt: dict[str, list[Rule]], nat: dict[str, list[Rule]]) -> None:
    """One pass of ``syncProxyRules``' loop over ``svcPortMap``."""
    spn, protocol = info.name, info.protocol
    cluster_eps, local_eps, reachable, has_endpoints = _categorize(info, node)
    # the names cost a SHA-256 each: only those of chains the port can use
    svc_chain = info.chain("SVC")
    svl_chain = info.chain("SVL") if info.uses_local_endpoints else ""
    ext_chain = info.chain("EXT") if info.externally_accessible else ""
    fw_chain = info.chain("FW") if info.lb_vips and info.source_ranges else ""
    uses_cluster_chain = bool(cluster_eps) and info.uses_cluster_endpoints
    uses_local_chain = bool(local_eps) and info.uses_local_endpoints
    internal_chain, has_internal = svc_chain, has_endpoints
    if info.internal_local:
        internal_chain, has_internal = svl_chain, has_endpoints and bool(local_eps)
    external_policy_chain, has_external = svc_chain, has_endpoints
    if info.external_local:
        external_policy_chain, has_external = svl_chain, has_endpoints and bool(local_eps)
    uses_ext_chain = has_endpoints and info.externally_accessible
    uses_fw_chain = has_endpoints and bool(info.lb_vips) and bool(info.source_ranges)
    lb_chain = fw_chain if uses_fw_chain else ext_chain

    if not has_endpoints:
        internal_target = external_target = p.reject
        internal_comment = external_comment = f"{spn} has no endpoints"
    else:
        internal_target = external_target = p.drop
        internal_comment = external_comment = f"{spn} has no local endpoints"

    proto = p.protocol(protocol)
    dport = p.dport(protocol, info.port.port)
    cluster_ip = p.host(info.service.cluster_ip)
    cluster_ip_comment = p.comment(f"{spn} cluster IP")
    if has_internal:
        nat["KUBE-SERVICES"].append(_rule("KUBE-SERVICES", p.target(internal_chain), cluster_ip_comment, dport,
                                          destination=cluster_ip, protocol=proto))
    else:
        filt["KUBE-SERVICES"].append(_rule("KUBE-SERVICES", internal_target, p.comment(internal_comment), dport,
                                           destination=cluster_ip, protocol=proto))
    for ip in info.external_ips:
        if has_endpoints:
            nat["KUBE-SERVICES"].append(_rule("KUBE-SERVICES", p.target(ext_chain), p.comment(f"{spn} external IP"),
                                              dport, destination=p.host(ip), protocol=proto))
        if not has_external:
            filt["KUBE-EXTERNAL-SERVICES"].append(_rule("KUBE-EXTERNAL-SERVICES", external_target,
                                                        p.comment(external_comment), dport, destination=p.host(ip),
                                                        protocol=proto))
    for ip in info.lb_vips:
        if has_endpoints:
            nat["KUBE-SERVICES"].append(_rule("KUBE-SERVICES", p.target(lb_chain), p.comment(f"{spn} loadbalancer IP"),
                                              dport, destination=p.host(ip), protocol=proto))
        if uses_fw_chain:
            filt["KUBE-PROXY-FIREWALL"].append(_rule(
                "KUBE-PROXY-FIREWALL", p.drop, p.comment(f"{spn} traffic not accepted by {fw_chain}"), dport,
                destination=p.host(ip), protocol=proto))
    if not has_external:
        for ip in info.lb_vips:
            filt["KUBE-EXTERNAL-SERVICES"].append(_rule("KUBE-EXTERNAL-SERVICES", external_target,
                                                        p.comment(external_comment), dport, destination=p.host(ip),
                                                        protocol=proto))
    if info.node_port:
        node_port = p.dport(protocol, info.node_port)
        if has_endpoints:
            nat["KUBE-NODEPORTS"].append(_rule("KUBE-NODEPORTS", p.target(ext_chain), p.comment(spn), node_port,
                                               protocol=proto))
        if not has_external:
            filt["KUBE-EXTERNAL-SERVICES"].append(_rule("KUBE-EXTERNAL-SERVICES", external_target,
                                                        p.comment(external_comment), p.addrtype_dst_local, node_port,
                                                        protocol=proto))
    if info.health_check_node_port:
        filt["KUBE-NODEPORTS"].append(_rule("KUBE-NODEPORTS", p.accept, p.comment(f"{spn} health check node port"),
                                            p.dport("tcp", info.health_check_node_port), protocol=p.protocol("tcp")))

    chains: dict[str, list[Rule]] = {}
    if has_internal and (s.masquerade_all or s.detects_local):
        extra = {} if s.masquerade_all else s._if_local(negated=True)
        chains.setdefault(internal_chain, []).append(_rule(internal_chain, p.mark_masq, cluster_ip_comment, dport,
                                                           destination=cluster_ip, protocol=proto, **extra))
    if uses_ext_chain:
        ext = chains.setdefault(ext_chain, [])
        if not info.external_local:
            ext.append(_rule(ext_chain, p.mark_masq, p.comment(f"masquerade traffic for {spn} external destinations")))
        else:
            if s.detects_local:
                ext.append(_rule(ext_chain, p.target(svc_chain),
                                 p.comment(f"pod traffic for {spn} external destinations"), **s._if_local(False)))
            ext.append(_rule(ext_chain, p.mark_masq,
                             p.comment(f"masquerade LOCAL traffic for {spn} external destinations"),
                             p.addrtype_src_local))
            ext.append(_rule(ext_chain, p.target(svc_chain),
                             p.comment(f"route LOCAL traffic for {spn} external destinations"), p.addrtype_src_local))
        if has_external:
            ext.append(_rule(ext_chain, p.target(external_policy_chain)))
    if uses_fw_chain:
        fw = chains.setdefault(fw_chain, [])
        lb_comment = p.comment(f"{spn} loadbalancer IP")
        for cidr in info.source_ranges:
            fw.append(_rule(fw_chain, p.target(ext_chain), lb_comment, source=_make(AddressMatch, network=cidr)))
        if any(node_ip in cidr for cidr in info.source_ranges):
            for ip in info.lb_vips:
                fw.append(_rule(fw_chain, p.target(ext_chain), lb_comment, source=p.host(ip)))
        fw.append(_rule(fw_chain, None, p.comment(f"other traffic to {spn} will be dropped by KUBE-PROXY-FIREWALL")))
    texts: dict[int, str] = {}  # ip:port (the SEP chain's hash input, and comment) of each endpoint, by id
    sep_names: dict[int, str] = {}
    for e in reachable:
        texts[id(e)] = text = e.endpoint
        sep_names[id(e)] = chain_name("SEP", spn, protocol, text)
    if uses_cluster_chain:
        _endpoint_rules(chains.setdefault(svc_chain, []), svc_chain, info, cluster_eps, texts, sep_names, p, large)
    if uses_local_chain:
        _endpoint_rules(chains.setdefault(svl_chain, []), svl_chain, info, local_eps, texts, sep_names, p, large)
    comment = () if large else (p.comment(spn),)
    mark_masq, no_ports, host, dnat = p.mark_masq, p.no_ports(protocol), p.host, p.dnat
    for e in reachable:
        sep = sep_names[id(e)]
        if info.affinity is None:
            dnat_matches = (*comment, no_ports)
        else:
            dnat_matches = (*comment, Match("recent", RecentOptions("set", name=sep)), no_ports)
        chains[sep] = [_rule(sep, mark_masq, *comment, source=host(e.address)),
                       _rule(sep, dnat(e), *dnat_matches, protocol=proto)]
    for chain, rules in chains.items():
        if chain in nat:
            raise EkslibError(f"two Service ports map to chain {chain} ({spn}): a hash collision")
        nat[chain] = rules


def _endpoint_rules(rules: list[Rule], chain: str, info: _PortInfo, endpoints: Iterable[ServiceEndpoint],
                    texts: dict[int, str], sep_names: dict[int, str], p: _Parts, large: bool) -> None:
    """``writeServiceToEndpointRules``: affinity checks first, then endpoint i of n with probability 1/(n-i)."""
    endpoints = list(endpoints)
    spn = info.name
    if info.affinity is not None:
        for e in endpoints:
            sep = sep_names[id(e)]
            comment = () if large else (p.comment(f"{spn} -> {texts[id(e)]}"),)
            rules.append(_rule(chain, p.target(sep), *comment,
                               Match("recent", RecentOptions("rcheck", name=sep, seconds=info.affinity, reap=True))))
    n = len(endpoints)
    target, statistic = p.target, p.statistic
    for i, e in enumerate(endpoints):
        matches = () if large else (p.comment(f"{spn} -> {texts[id(e)]}"),)
        if i < n - 1:
            matches += (statistic(n - i),)
        rules.append(_rule(chain, target(sep_names[id(e)]), *matches))
