"""kube-proxy's modes at scale: how many netfilter rules a new connection to a Service meets as Services grow.

In iptables mode kube-proxy writes one rule per Service port into nat ``KUBE-SERVICES`` (``-d <clusterIP> -p tcp
--dport <port> -j KUBE-SVC-<h>``), and the kernel tries them in order for the first packet of every connection:
the cost of reaching a Service grows with its place in the chain (dataplane.md section 1: "iptables rules are
evaluated linearly"). IPVS mode finds the Service in a hash table, nftables mode in a verdict map, so their cost
does not grow with the number of Services.

* :func:`scale_cluster`: a cluster with N ClusterIP Services -- a one-node cluster built by
  :func:`ekslib.cluster.build_cluster` (``default/kubernetes``, ``kube-system/kube-dns``, a workload
  ``apps/backend`` with 2 pods and its Service, a client pod), and N - 3 more Services in ``apps`` written as the
  API server and the EndpointSlice controller would: a copy of ``apps/backend``'s spec (port 80 ``http`` to
  8080, the same 2 pods: several Services may select the same pods) with its own random ClusterIP (the upper band
  of the service CIDR, as dynamic ClusterIPs are allocated, KEP-3070) and its own EndpointSlice. Every node's
  rules are what :func:`ekslib.dataplane.node_ruleset` generates for that cluster: 7 rules per Service
  (``KUBE-SERVICES``, 2 in ``KUBE-SVC``, 2 in each of 2 ``KUBE-SEP``), as in the real-kernel measurement below.
  Cached per (N, seed), so the engine's world (each node's generated ruleset, cached per cluster object) is built
  once per N.
* :func:`rules_traversed`: for each N, the engine's count of rules evaluated (:attr:`Flow.rules_evaluated`: the
  request **and** its reply, every netfilter rule of every hook the two packets cross; the reply, which skips the
  nat table, adds the same 8 rules whatever N) for a new TCP connection
  from the client pod to the **first** and to the **last** Service port of nat ``KUBE-SERVICES`` as generated
  (kube-proxy's order as ekslib models it: Service ports sorted by ``namespace/name:port``, the order kube-proxy's
  own tests compare in; kube-proxy itself walks a Go map, so on a node the order changes from sync to sync).
  Traced, not computed: the engine walks the generated rules rule by rule. The endpoints are on the client's node,
  so one node's rules are counted. IPVS and nftables rows are *modelled* (ekslib generates no rules for them):
  one lookup per connection to find the Service -- IPVS's hash table, nftables mode's verdict map
  (``ip daddr . meta l4proto . th dport vmap @service-ips``) -- the same for the first and the last Service.
* :func:`node_iptables_size`: rules per table and chain on a node (kube-proxy's per-Service chains grouped).

The real kernel (dataplane.md section 1, measured on Debian 12 with synthetic kube-proxy rules, 7 per Service): at
10,000 Services a TCP connect to the last Service took ~104 us against ~54 us for the first with iptables-legacy,
~244 us against ~35 us with iptables-nft (both are kube-proxy's iptables mode; the nft backend compiles the same
linear rules to nf_tables bytecode). That kernel had no IPVS, and nftables mode was not measured. Upstream, IPVS
mode is deprecated in Kubernetes 1.35 and nftables mode is GA since 1.33; on EKS nftables mode needs 1.33+, kernel
>= 5.13 and VPC CNI >= 1.23.0, which moves its 0x80 connmark into an nft table of its own (dataplane.md section 5).

>>> table = rules_traversed((10, 100))
>>> table[table["how"] == "traced"][["services", "first", "last"]].values.tolist()
[[10, 27, 38], [100, 27, 128]]
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from ekslib._checks import whole
from ekslib._perf import paused_gc
from ekslib.cluster.build import build_cluster
from ekslib.cluster.model import Cluster, EndpointSlice, Service
from ekslib.cluster.spec import _NAME_ALPHABET, NodeGroup, ServiceSpec, Workload
from ekslib.dataplane.kube_proxy import CHAIN_PREFIXES
from ekslib.errors import EkslibError
from ekslib.facts import GENERATED_NAME_RANDOM
from ekslib.flows.engine import trace
from ekslib.flows.world import world_of
from ekslib.linux.netfilter import CommentOptions, PortOptions, Rule

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KERNEL_CONNECT_US", "KERNEL_SERVICES", "MODELLED", "SERVICE_COUNTS", "TABLE_COLUMNS",
           "node_iptables_size", "rules_traversed", "scale_cluster", "service_rules"]

#: The default numbers of Services.
SERVICE_COUNTS = (10, 100, 1000, 10000)
#: The real kernel's TCP connect time, first and last Service, in microseconds, per iptables backend, at
#: :data:`KERNEL_SERVICES` Services (dataplane.md section 1: Debian 12, synthetic kube-proxy rules, 7 per Service).
KERNEL_CONNECT_US: dict[str, tuple[float, float]] = {"legacy": (54.0, 104.0), "nft": (35.0, 244.0)}
KERNEL_SERVICES = 10_000
#: kube-proxy's other modes, modelled: (lookups per new connection to find the Service, what is counted, notes).
MODELLED: dict[str, tuple[int, str, str]] = {
    "ipvs": (1, "hash-table lookups to find the Service (modelled)",
             "IPVS keeps Services in a hash table: the lookup does not grow with the Services; deprecated upstream "
             "in Kubernetes 1.35"),
    "nftables": (1, "verdict-map lookups to find the Service (modelled)",
                 "one verdict map keyed by address, protocol and port; GA in Kubernetes 1.33, on EKS with 1.33+, "
                 "kernel >= 5.13 and VPC CNI >= 1.23.0"),
}
TRACED_COUNT = "netfilter rules evaluated, request + reply (traced)"
#: The columns of :func:`rules_traversed`.
TABLE_COLUMNS = ("services", "mode", "first", "last", "how", "counted", "service_ports", "first_service",
                 "last_service", "legacy_first_us", "legacy_last_us", "nft_first_us", "nft_last_us")
#: The synthetic Services' namespace, and the client's.
NAMESPACE = "apps"
_OWN_SERVICES = 3  # default/kubernetes, kube-system/kube-dns, apps/backend
_SERVICE_PREFIXES = tuple(v for k, v in CHAIN_PREFIXES.items() if k != "SEP")


@functools.lru_cache(maxsize=4)
def _base_cluster(seed: int) -> Cluster:
    """One t3.medium node: the system pods, ``apps/backend`` (2 pods, a ClusterIP Service) and ``apps/client``."""
    return build_cluster([NodeGroup("t3.medium", 1, name="scale")], seed=seed, name="scale",
                         workloads=[Workload("backend", 2, namespace=NAMESPACE, service=ServiceSpec("ClusterIP")),
                                    Workload("client", 1, namespace=NAMESPACE)])


@functools.lru_cache(maxsize=8)
def scale_cluster(services: int, *, seed: int = 0) -> Cluster:
    """A one-node cluster with ``services`` ClusterIP Services (at least 3: the cluster's own two and
    ``apps/backend``); the others are ``apps/svc-00001``... like ``apps/backend`` (see the module docstring).
    Deterministic for ``seed``; cached.

    >>> c = scale_cluster(10)
    >>> len(c.services), c.services[-1].key, len(c.endpoint_slices)
    (10, 'apps/svc-00007', 10)
    """
    n = whole("services", services, minimum=_OWN_SERVICES)
    base = _base_cluster(seed)
    template = base.service(f"{NAMESPACE}/backend")
    slice_ = next(s for s in base.endpoint_slices if s.service == template.key)
    cidr = base.service_cidr
    start, size = int(cidr.network_address), cidr.num_addresses
    low = max(16, size // 16)  # the upper band, as build_cluster and the API server allocate dynamic ClusterIPs
    taken = {int(s.cluster_ip) for s in base.services if s.cluster_ip is not None} | {start + size - 1}
    extra = n - _OWN_SERVICES
    if extra > size - 1 - low - len(taken):
        raise EkslibError(f"services={n:,}: the service CIDR {cidr} has room for about {size - 1 - low:,} dynamic "
                          "ClusterIPs")
    rng = random.Random(seed)
    width = max(5, len(str(extra)))
    new_services: list[Service] = []
    new_slices: list[EndpointSlice] = []
    t = template
    with paused_gc():
        for i in range(1, extra + 1):
            while (value := start + rng.randrange(low, size - 1)) in taken:
                pass
            taken.add(value)
            name = f"svc-{i:0{width}d}"
            new_services.append(Service(t.namespace, name, t.type, IPv4Address(value), t.ports, t.selector,
                                        t.external_traffic_policy, t.endpoints, t.health_check_node_port,
                                        t.load_balancer, t.annotations))
            suffix = "".join(rng.choice(_NAME_ALPHABET) for _ in range(GENERATED_NAME_RANDOM))
            new_slices.append(EndpointSlice(t.namespace, f"{name}-{suffix}", f"{t.namespace}/{name}",
                                            slice_.address_type, slice_.endpoints, slice_.ports, slice_.managed_by))
    return dataclasses.replace(base, name=f"scale-{n}", services=base.services + tuple(new_services),
                               endpoint_slices=base.endpoint_slices + tuple(new_slices))


def service_rules(cluster: Cluster, node: str | None = None) -> list[Rule]:
    """The rules of nat ``KUBE-SERVICES`` that send a Service port's traffic to its chain (``KUBE-SVC-``,
    ``KUBE-SVL-``, ``KUBE-EXT-``, ``KUBE-FW-``), in the order the node has them: the rules the engine traces
    through (the node's generated ruleset, from the engine's world). ``node``: default the first.

    >>> [_comment(r).removesuffix(" cluster IP") for r in service_rules(scale_cluster(4))]
    ['apps/backend:http', 'apps/svc-00001:http', 'default/kubernetes:https', 'kube-system/kube-dns:dns',
     'kube-system/kube-dns:dns-tcp', 'kube-system/kube-dns:metrics']
    """
    name = node if node is not None else cluster.nodes[0].name
    ruleset = world_of(cluster).node(name).ruleset
    return [r for r in ruleset.rules("nat", "KUBE-SERVICES")
            if r.destination is not None and r.target is not None and r.target.name.startswith(_SERVICE_PREFIXES)]


def _comment(rule: Rule) -> str:
    return next((m.options.text for m in rule.matches if isinstance(m.options, CommentOptions)), "")


def _destination(rule: Rule) -> str:
    """``address:port`` a KUBE-SERVICES rule matches."""
    port = next(m.options.dport for m in rule.matches if isinstance(m.options, PortOptions) and m.options.dport)
    return f"{rule.destination.network.network_address}:{port.ports.first}"


def _protocol(rule: Rule) -> str:
    return {6: "tcp", 17: "udp"}.get(rule.protocol.number if rule.protocol is not None else 6, "tcp")


def _traced(cluster: Cluster, client: str, rule: Rule, seed: int) -> int:
    flow = trace(cluster, client, _destination(rule), protocol=_protocol(rule), seed=seed)
    if not flow.delivered or flow.reply is None or not flow.reply.delivered:
        why = flow.drop_reason or (flow.reply.drop_reason if flow.reply is not None else "no reply")
        raise EkslibError(f"cluster {cluster.name}: the connection to {_comment(rule)} was not answered: {why}")
    return flow.rules_evaluated


def rules_traversed(services: Sequence[int] = SERVICE_COUNTS, *, seed: int = 0) -> pd.DataFrame:
    """For each number of Services N: what a new connection to the first and to the last Service port of
    ``KUBE-SERVICES`` costs, per kube-proxy mode (see the module docstring). One row per (N, mode):

    * ``first``, ``last``: for ``iptables``, :attr:`Flow.rules_evaluated` of a traced TCP connection (request and
      reply) from the client pod of :func:`scale_cluster` to that Service port (``how`` = ``traced``); for
      ``ipvs`` and ``nftables``, the lookups that find the Service (``how`` = ``modelled``, not traced);
    * ``counted``: what ``first`` and ``last`` count; ``service_ports``: rules in ``KUBE-SERVICES`` that lead to a
      Service; ``first_service``, ``last_service``: their ``namespace/name:port``;
    * ``legacy_first_us`` ... ``nft_last_us``: the real kernel's connect times (dataplane.md section 1), on the
      iptables row at 10,000 Services only (the one count measured), NaN elsewhere.

    >>> t = rules_traversed((10,))
    >>> t[["mode", "first", "last", "how"]].values.tolist()
    [['iptables', 27, 38, 'traced'], ['ipvs', 1, 1, 'modelled'], ['nftables', 1, 1, 'modelled']]
    """
    import pandas as pd

    if isinstance(services, int) or not len(services):
        raise EkslibError(f"services={services!r}: give a sequence of Service counts, e.g. {SERVICE_COUNTS}")
    counts = [whole("services", n, minimum=_OWN_SERVICES) for n in services]
    nan = math.nan
    rows = []
    with paused_gc():
        for n in counts:
            cluster = scale_cluster(n, seed=seed)
            client = next(p.key for p in cluster.pods if p.namespace == NAMESPACE and p.name.startswith("client-"))
            rules = service_rules(cluster)
            first_rule, last_rule = rules[0], rules[-1]
            names = (_comment(first_rule).removesuffix(" cluster IP"), _comment(last_rule).removesuffix(" cluster IP"))
            kernel = n == KERNEL_SERVICES
            rows.append({"services": n, "mode": "iptables", "first": _traced(cluster, client, first_rule, seed),
                         "last": _traced(cluster, client, last_rule, seed), "how": "traced", "counted": TRACED_COUNT,
                         "service_ports": len(rules), "first_service": names[0], "last_service": names[1],
                         "legacy_first_us": KERNEL_CONNECT_US["legacy"][0] if kernel else nan,
                         "legacy_last_us": KERNEL_CONNECT_US["legacy"][1] if kernel else nan,
                         "nft_first_us": KERNEL_CONNECT_US["nft"][0] if kernel else nan,
                         "nft_last_us": KERNEL_CONNECT_US["nft"][1] if kernel else nan})
            for mode, (lookups, counted, _) in MODELLED.items():
                rows.append({"services": n, "mode": mode, "first": lookups, "last": lookups, "how": "modelled",
                             "counted": counted, "service_ports": len(rules), "first_service": names[0],
                             "last_service": names[1], "legacy_first_us": nan, "legacy_last_us": nan,
                             "nft_first_us": nan, "nft_last_us": nan})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def node_iptables_size(cluster: Cluster, node: str, *, group: bool = True) -> dict[str, dict[str, int]]:
    """Rules per chain, per table, on ``node``: the generated ruleset the engine traces (the VPC CNI's,
    kube-proxy's and kubelet's), tables and chains in ``iptables-save`` order. ``group``: kube-proxy's
    per-Service chains are summed under ``KUBE-SVC-*``, ``KUBE-SEP-*``, ... (10,000 Services make 30,000 chains),
    with the number of chains under ``KUBE-SVC-* chains`` etc.

    >>> c = scale_cluster(10)
    >>> size = node_iptables_size(c, c.nodes[0].name)
    >>> size["nat"]["KUBE-SERVICES"], size["nat"]["KUBE-SVC-*"], size["nat"]["KUBE-SEP-* chains"]
    (13, 24, 24)
    >>> sum(v for chains in size.values() for k, v in chains.items() if not k.endswith(" chains"))
    117
    """
    ruleset = world_of(cluster).node(cluster.node(node).name).ruleset
    out: dict[str, dict[str, int]] = {}
    for table in ruleset.tables:
        counts = out[table.name] = {}
        for chain in table.chains:
            prefix = next((p for p in CHAIN_PREFIXES.values() if chain.name.startswith(p)), None) if group else None
            if prefix is None:
                counts[chain.name] = len(chain.rules)
                continue
            counts[prefix + "*"] = counts.get(prefix + "*", 0) + len(chain.rules)
            counts[prefix + "* chains"] = counts.get(prefix + "* chains", 0) + 1
    return out
