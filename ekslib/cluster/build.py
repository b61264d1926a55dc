"""Synthetic clusters: node groups, a VPC layout and workloads in, a validated :class:`~ekslib.cluster.Cluster` out.

:func:`build_cluster` does what EKS, the scheduler and the VPC CNI would do, deterministically for a seed:

1. the VPC and its subnets (default: eksctl's layout, ``192.168.0.0/16`` cut into eight /19s -- 3 public,
   3 private, 2 spare; 2 public and 2 private in us-east-1 -- eksctl User Guide "VPC Configuration",
   :func:`default_subnets`); nodes go to the private subnets (``private_networking=True``, as eksctl's
   ``privateNetworking: true`` and EKS's best practice), or to the public ones with
   ``private_networking=False``, which is what eksctl does by default ("The initial nodegroup is created in
   public subnets"); either way spread over the Availability Zones like a node group's Auto Scaling group;
2. every node's primary address (its ``InternalIP``) from its subnet;
3. pods: DaemonSets one per node (``aws-node`` and ``kube-proxy`` on the host network, as on every EKS node),
   ``coredns`` with 2 replicas (the EKS add-on's default), then the workloads; replicas are spread over
   zones and nodes, least loaded first, ties broken by the seed (a simplified kube-scheduler: its default
   topology spread and least-allocated scoring), never above the node's max pods
   (:func:`ekslib.capacity.max_pods`; in prefix mode with the 110/250 ceiling, as the max-pods calculator
   prints it and :func:`ekslib.ipam.node_limits` assumes);
4. each node's ENIs and the addresses on them as ipamd's warm pool leaves them for that many pods
   (:func:`ekslib.ipam.steady_state`, which follows ipamd's code);
5. pod addresses: the primary ENI's first, then the next ENI's (prefix mode: the first free address of the
   first prefix with room); host-network pods use the node's address;
6. services: ``default/kubernetes`` (``.1``), ``kube-system/kube-dns`` (``.10`` of the service CIDR:
   10.100.0.0/16, or 172.20.0.0/16 for a VPC in 10.0.0.0/8, the rule of AL2's ``bootstrap.sh``;
   :func:`ekslib.cluster.model.default_service_cidr`) and one per workload that asks for it, with endpoints by
   label selector;
7. EKS's control plane: 2 network interfaces (EKS makes 2 to 4, described ``Amazon EKS <cluster>``, in the
   subnets given to the cluster: Amazon EKS User Guide, "View Amazon EKS networking requirements for VPC and
   subnets") in the first two subnets of different zones among the node subnets, then the others; their
   addresses come from the same subnet space, after everything else, so nothing collides;
8. EndpointSlices, as kube-proxy reads them: ``default/kubernetes`` (name ``kubernetes``, port ``https``
   443/TCP, the control-plane ENIs' addresses, no node, written by the API server's endpoint reconciler without
   a managed-by label: kubernetes ``pkg/controlplane/reconcilers/endpointsadapter.go``), and for every Service
   with a selector what the EndpointSlice controller writes (``staging/src/k8s.io/endpointslice``): slices
   named ``<service>-`` + 5 random characters (``generateName``), at most 100 endpoints each, one endpoint per
   selected pod with its address, ``nodeName``, zone, ``targetRef`` and ready/serving true, terminating false,
   and the Service's ports with their target ports (a Service without matching pods gets one empty slice, the
   controller's placeholder). A named ``targetPort`` is refused: the model's pods declare no container ports, so
   the controller's ``FindPort`` could not resolve it.

Subnet addresses are handed out as :class:`ekslib.ipam.SubnetSpace` does (next-fit, skipping AWS's 5
reserved ones; prefixes are wholly free aligned /28s). Whatever does not fit -- more pods than max pods
allow, more pods than a node's ENIs can address, a subnet out of addresses -- raises
:class:`~ekslib.errors.EkslibError` with the numbers.

>>> c = build_cluster([("t3.medium", 2)], seed=7)
>>> [len(n.enis) for n in c.nodes], len(c.pods)
([2, 2], 11)
>>> sorted({p.name.rsplit("-", 1)[0] for p in c.host_network_pods()})
['aws-node', 'kube-proxy']
"""

from __future__ import annotations

import functools
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from ekslib._checks import is_whole, parse_ipv4_network, whole
from ekslib.capacity import max_pods as capacity_max_pods
from ekslib.cluster.invariants import validate
from ekslib.cluster.model import (
    Cluster,
    ControlPlaneEni,
    EndpointPort,
    EndpointSlice,
    Eni,
    Node,
    Pod,
    Service,
    ServicePort,
    SliceEndpoint,
    Subnet,
    Vpc,
    check_veth_prefix,
    default_service_cidr,
    select_endpoints,
    veth_name,
)
from ekslib.cluster.spec import (
    _NAME_ALPHABET,
    DEFAULT_REGION,
    DEFAULT_VPC_CIDR,
    DEFAULT_WORKLOADS,
    EKSCTL_VPC_PREFIXES,
    EKSCTL_ZONES,
    SYSTEM_WORKLOADS,
    NodeGroup,
    Workload,
)
from ekslib.errors import EkslibError
from ekslib.facts import (
    DEFAULT_VETH_PREFIX,
    EKS_CONTROL_PLANE_ENIS,
    EKS_ENI_DESCRIPTION_PREFIX,
    ENDPOINTSLICE_CONTROLLER,
    GENERATED_NAME_BASE_MAX,
    GENERATED_NAME_RANDOM,
    HOST_NETWORK_PODS,
    INSUFFICIENT_CIDR_BLOCKS,
    INSUFFICIENT_FREE_ADDRESSES,
    MAX_ENDPOINTS_PER_SLICE,
    NODE_PORT_RANGE,
    RESERVED_PER_SUBNET,
)
from ekslib.ipam.settings import PoolSettings, node_limits, pool_settings
from ekslib.ipam.steady import steady_state
from ekslib.ipam.subnet_space import SubnetSpace
from ekslib.sources.instance_types import instance_type_info

# ----------------------------------------------------------------------------------------------- inputs


def _coerce(item: Any, cls: type, what: str, fields_: Sequence[str]) -> Any:
    if isinstance(item, cls):
        return item
    if isinstance(item, Mapping):
        try:
            return cls(**item)
        except TypeError as exc:
            raise EkslibError(f"{what} {dict(item)!r}: {exc}; valid keys: {', '.join(fields_)}") from None
    if isinstance(item, str):
        return cls(item)
    if isinstance(item, Sequence):
        if not 1 <= len(item) <= len(fields_):
            raise EkslibError(f"{what} {tuple(item)!r}: expected ({', '.join(fields_)}) or a shorter prefix of it")
        return cls(*item)
    raise EkslibError(f"{what} {item!r} is not valid: give a {cls.__name__}, a dict or a tuple "
                      f"({', '.join(fields_)})")


def _node_groups(node_groups: Iterable[Any]) -> list[NodeGroup]:
    if isinstance(node_groups, (str, NodeGroup, Mapping)):
        node_groups = [node_groups]
    groups = [_coerce(g, NodeGroup, "node group", ("instance_type", "count", "az", "name", "max_pods"))
              for g in node_groups]
    if not groups:
        raise EkslibError("node_groups is empty: give at least one, e.g. [('t3.medium', 2)]")
    names: set[str] = set()
    for i, g in enumerate(groups):
        label = g.name or f"#{i + 1} ({g.instance_type})"
        info = instance_type_info(g.instance_type)
        count = whole(f"node group {label}: count", g.count, minimum=0)
        pods = whole(f"node group {label}: max_pods", g.max_pods, minimum=1, allow_none=True)
        name = g.name or f"ng-{info.instance_type.replace('.', '-')}"
        while name in names:
            name += "-b"
        names.add(name)
        groups[i] = NodeGroup(info.instance_type, count, g.az, name, pods)
    if sum(g.count for g in groups) == 0:
        raise EkslibError("node_groups have 0 nodes in all: a cluster needs at least one node")
    return groups


def _workloads(workloads: Iterable[Any] | None, system_pods: bool) -> list[Workload]:
    given = DEFAULT_WORKLOADS if workloads is None else workloads
    if isinstance(given, (str, Workload, Mapping)):
        given = [given]
    items = [
        _coerce(w, Workload, "workload", ("name", "replicas", "namespace", "kind", "host_network", "labels", "service"))
        for w in given
    ]
    result = (list(SYSTEM_WORKLOADS) if system_pods else []) + items
    seen: set[tuple[str, str]] = set()
    for w in result:
        where = f"workload {w.namespace}/{w.name}"
        if (w.namespace, w.name) in seen:
            raise EkslibError(f"{where}: defined twice (the system workloads are aws-node, kube-proxy, coredns)")
        seen.add((w.namespace, w.name))
        if w.kind not in ("Deployment", "DaemonSet"):
            raise EkslibError(f"{where}: kind {w.kind!r} is not 'Deployment' or 'DaemonSet'")
        whole(f"{where}: replicas", w.replicas, minimum=0)
        if w.service is not None:
            s = w.service
            if s.type not in ("ClusterIP", "NodePort", "LoadBalancer"):
                raise EkslibError(f"{where}: service type {s.type!r} is not ClusterIP, NodePort or LoadBalancer")
            if s.external_traffic_policy not in ("Cluster", "Local"):
                raise EkslibError(
                    f"{where}: external_traffic_policy {s.external_traffic_policy!r} is not 'Cluster' or 'Local'"
                )
            if not is_whole(s.target_port) or not 1 <= s.target_port <= 65535:
                named = isinstance(s.target_port, str)
                raise EkslibError(
                    f"{where}: service target_port {s.target_port!r} is "
                    + ("a named port: the model's pods declare no container ports, so the EndpointSlice "
                       "controller could not resolve it (its FindPort looks the name up in the pod's containers); "
                       "give the port number" if named else "not a port number 1-65535")
                )
            if s.node_port is not None and not NODE_PORT_RANGE[0] <= s.node_port <= NODE_PORT_RANGE[1]:
                raise EkslibError(
                    f"{where}: node_port {s.node_port} is outside the NodePort range "
                    f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}"
                )
    return result


def default_subnets(
    vpc_cidr: str | IPv4Network = DEFAULT_VPC_CIDR, region: str = DEFAULT_REGION, zones: int | None = None
) -> list[Subnet]:
    """eksctl's layout: the VPC cut into 8 equal subnets, the first ``zones`` public, the next ``zones``
    private, the rest spare.

    ``zones`` defaults to eksctl's: 3, but 2 in us-east-1 ("In us-east-1 eksctl only creates 2 public and 2
    private subnets by default", eksctl User Guide "VPC Configuration"; eksctl's ``SetSubnets`` gives zone i
    the public block i and the private block i + zones of ``SplitInto8``, and accepts a VPC of /16 to /24).
    eksctl picks the zones itself; the letters a, b, c, d stand in for them. Ids are left empty
    (:func:`build_cluster` gives them seeded ids). Where the nodes go is :func:`build_cluster`'s
    ``private_networking`` (eksctl's default is the public subnets).

    >>> [(s.az, str(s.cidr), s.public) for s in default_subnets()][2:4]
    [('us-west-2c', '192.168.64.0/19', True), ('us-west-2a', '192.168.96.0/19', False)]
    >>> [(s.az, str(s.cidr), s.public) for s in default_subnets(region="us-east-1")]  # doctest: +NORMALIZE_WHITESPACE
    [('us-east-1a', '192.168.0.0/19', True), ('us-east-1b', '192.168.32.0/19', True),
     ('us-east-1a', '192.168.64.0/19', False), ('us-east-1b', '192.168.96.0/19', False)]
    """
    vpc = parse_ipv4_network(vpc_cidr, "vpc_cidr")
    if not EKSCTL_VPC_PREFIXES[0] <= vpc.prefixlen <= EKSCTL_VPC_PREFIXES[1]:
        raise EkslibError(
            f"vpc_cidr {vpc} is /{vpc.prefixlen}: eksctl cuts a VPC of /{EKSCTL_VPC_PREFIXES[0]} to "
            f"/{EKSCTL_VPC_PREFIXES[1]} into 8 subnets (or pass subnets=)"
        )
    if zones is None:
        zones = EKSCTL_ZONES.get(region, EKSCTL_ZONES[""])
    if not is_whole(zones) or not 1 <= zones <= 4:
        raise EkslibError(f"zones={zones!r}: the 8-way layout has room for 1 to 4 zones")
    blocks = list(vpc.subnets(prefixlen_diff=3))
    letters = "abcd"
    out = [
        Subnet("", f"{region}{letters[i]}", blocks[i], public=True, name=f"public-{region}{letters[i]}")
        for i in range(zones)
    ]
    out += [
        Subnet("", f"{region}{letters[i]}", blocks[zones + i], name=f"private-{region}{letters[i]}")
        for i in range(zones)
    ]
    return out


def _subnets(subnets: Iterable[Any] | None, vpc: IPv4Network, region: str, private_networking: bool) -> list[Subnet]:
    if subnets is None:
        return default_subnets(vpc, region)
    out = []
    for i, item in enumerate(subnets):
        if isinstance(item, Subnet):
            out.append(item)
            continue
        if isinstance(item, Mapping):
            data = dict(item)
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) in (2, 3):
            data = dict(zip(("az", "cidr", "public"), item))
        else:
            raise EkslibError(
                f"subnets[{i}] {item!r} is not valid: give a Subnet, a dict "
                f"{{'az': ..., 'cidr': ..., 'public': False}} or a tuple (az, cidr[, public])"
            )
        if "az" not in data or "cidr" not in data:
            raise EkslibError(f"subnets[{i}] {item!r}: needs 'az' and 'cidr'")
        out.append(
            Subnet(
                str(data.get("id", "")),
                str(data["az"]),
                parse_ipv4_network(data["cidr"], f"subnets[{i}] cidr"),
                bool(data.get("public", False)),
                str(data.get("name", "")),
            )
        )
    if private_networking and not any(not s.public for s in out):
        raise EkslibError("subnets has no private subnet: nodes go to subnets with public=False (or pass "
                          "private_networking=False to put them in the public ones)")
    if not private_networking and not any(s.public for s in out):
        raise EkslibError("subnets has no public subnet: with private_networking=False nodes go to subnets with "
                          "public=True")
    return out


# ----------------------------------------------------------------------------------------------- addresses


def _exhausted(subnet: Subnet, space: SubnetSpace, prefix: bool) -> EkslibError:
    """The error for a subnet that cannot give the next address (or aligned /28 prefix)."""
    need, code, advice = (
        (
            "1 more wholly free, aligned /28 prefix",
            INSUFFICIENT_CIDR_BLOCKS,
            "Prefix mode needs whole free /28 blocks: use larger or more subnets (or a subnet CIDR reservation "
            "for prefixes), or fewer nodes or pods",
        )
        if prefix
        else (
            "1 more address",
            INSUFFICIENT_FREE_ADDRESSES,
            "Use larger or more subnets, or fewer nodes, pods or warm addresses (the default WARM_ENI_TARGET=1 "
            "holds a whole spare ENI per node)",
        )
    )
    taken = subnet.usable - space.free_count
    return EkslibError(
        f"subnet {subnet.id} ({subnet.cidr}, {subnet.az}) is out of addresses (EC2: {code}): {need} "
        f"is needed but {taken} of its {subnet.usable} usable addresses ({subnet.size} - "
        f"{RESERVED_PER_SUBNET} reserved by AWS) are taken. {advice}"
    )


@functools.lru_cache(maxsize=1024)
def _steady_per_eni(instance_type: str, vpc_pods: int, settings: PoolSettings) -> tuple[int, ...]:
    """Slots per ENI (addresses, or prefixes in prefix mode) once ipamd's pool settles for ``vpc_pods`` pods:
    :func:`ekslib.ipam.steady_state`, cached (nodes of one type and pod count share it)."""
    return steady_state(instance_type, vpc_pods, settings=settings).per_eni


# ----------------------------------------------------------------------------------------------- placement


@dataclass
class _NodePlan:
    name: str
    group: NodeGroup
    az: str
    subnet: Subnet
    address: IPv4Address
    instance_id: str
    max_pods: int
    pods: list[tuple[Workload, str, dict[str, str]]] = field(default_factory=list)


def _place_replicas(workload: Workload, plans: list[_NodePlan], rng: random.Random) -> list[tuple[_NodePlan, int]]:
    """A (node, slot) for each replica: spread over zones, then over nodes, least loaded first, ties by the seed.

    Each chosen node gets a placeholder entry in its ``pods`` at the returned slot, for the caller to name.
    """
    chosen: list[tuple[_NodePlan, int]] = []
    per_node: Counter[str] = Counter()
    per_zone: Counter[str] = Counter()
    while len(chosen) < workload.replicas:
        order = list(range(len(plans)))
        rng.shuffle(order)
        rank = {plans[i].name: r for r, i in enumerate(order)}
        by_zone: dict[str, list[_NodePlan]] = defaultdict(list)
        for plan in plans:
            if len(plan.pods) < plan.max_pods:
                by_zone[plan.az].append(plan)
        if not by_zone:
            total = sum(p.max_pods for p in plans)
            raise EkslibError(
                f"workload {workload.namespace}/{workload.name}: replica {len(chosen) + 1} of {workload.replicas} "
                f"does not fit: every node is at its max pods ({_max_pods_text(plans)}: {total} pods in all, "
                f"all placed). Add nodes, choose a larger instance type, or enable prefix delegation"
            )
        for zone_nodes in by_zone.values():
            zone_nodes.sort(key=lambda p: (per_node[p.name], len(p.pods), rank[p.name]))
        zones = sorted(by_zone, key=lambda z: (per_zone[z], z))
        progressed = False
        for depth in range(max(len(v) for v in by_zone.values())):
            for zone in zones:
                if len(chosen) == workload.replicas:
                    return chosen
                if depth < len(by_zone[zone]):
                    plan = by_zone[zone][depth]
                    if len(plan.pods) < plan.max_pods:
                        chosen.append((plan, len(plan.pods)))
                        plan.pods.append((workload, "", {}))  # placeholder, named by the caller
                        per_node[plan.name] += 1
                        per_zone[zone] += 1
                        progressed = True
        if not progressed:  # pragma: no cover - by_zone only holds nodes with room
            break
    return chosen


def _max_pods_text(plans: list[_NodePlan]) -> str:
    counts = Counter((p.group.instance_type, p.max_pods) for p in plans)
    return ", ".join(f"{n} x {t} at {m}" for (t, m), n in sorted(counts.items()))


def _random_name(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_NAME_ALPHABET, k=length))


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _mac(rng: random.Random) -> str:
    return "02:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(5))


def _node_name(address: IPv4Address, region: str) -> str:
    """EKS's node name for an address: ``ip-192-168-101-23.us-west-2.compute.internal``
    (``ec2.internal`` in us-east-1)."""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{str(address).replace('.', '-')}.{domain}"


# ----------------------------------------------------------------------------------------------- build


def build_cluster(
    node_groups: Iterable[Any],
    *,
    vpc_cidr: str | IPv4Network = DEFAULT_VPC_CIDR,
    subnets: Iterable[Any] | None = None,
    workloads: Iterable[Any] | None = None,
    seed: int = 0,
    prefix_delegation: bool = False,
    system_pods: bool = True,
    name: str = "demo",
    region: str = DEFAULT_REGION,
    service_cidr: str | IPv4Network | None = None,
    veth_prefix: str = DEFAULT_VETH_PREFIX,
    warm_eni_target: int | None = None,
    warm_prefix_target: int | None = None,
    warm_ip_target: int | None = None,
    minimum_ip_target: int | None = None,
    max_eni: int | None = None,
    private_networking: bool = True,
    check: bool = True,
) -> Cluster:
    """A synthetic EKS cluster, deterministic for ``seed`` (see the module docstring for each step).

    ``node_groups``: :class:`NodeGroup` items, ``(instance_type, count[, az])`` tuples or dicts.
    ``subnets``: :class:`~ekslib.cluster.Subnet` items, ``(az, cidr[, public])`` tuples or dicts (default:
    :func:`default_subnets` of ``vpc_cidr``). ``workloads``: :class:`Workload` items, ``(name, replicas)``
    tuples or dicts (default :data:`DEFAULT_WORKLOADS`; ``[]`` for none); ``system_pods`` adds
    :data:`SYSTEM_WORKLOADS`. ``warm_eni_target``, ``warm_prefix_target``, ``warm_ip_target``,
    ``minimum_ip_target`` and ``max_eni`` are ipamd's settings (None: its default), as
    :class:`ekslib.ipam.PoolSettings` reads them. ``private_networking``: nodes in the private subnets (True,
    eksctl's ``privateNetworking: true``) or in the public ones (False, eksctl's default for its initial node
    group).

    >>> c = build_cluster([("m5.large", 3)], prefix_delegation=True, workloads=[("web", 20)])
    >>> c.nodes[0].max_pods, len(c.nodes[0].enis), all(len(e.prefixes) > 0 for e in c.nodes[0].enis)
    (110, 1, True)
    """
    if not isinstance(private_networking, bool):
        raise EkslibError(f"private_networking must be True or False, not {private_networking!r}")
    rng = random.Random(seed)
    groups = _node_groups(node_groups)
    wanted = _workloads(workloads, system_pods)
    veth_prefix = check_veth_prefix(veth_prefix)
    vpc_net = parse_ipv4_network(vpc_cidr, "vpc_cidr")
    layout = _subnets(subnets, vpc_net, region, private_networking)
    ipam_settings = {
        k: v
        for k, v in (
            ("warm_eni_target", warm_eni_target),
            ("warm_prefix_target", warm_prefix_target),
            ("warm_ip_target", warm_ip_target),
            ("minimum_ip_target", minimum_ip_target),
            ("max_eni", max_eni),
        )
        if v is not None
    }

    vpc = Vpc(f"vpc-{_hex(rng, 17)}", (vpc_net,))
    subnet_list = [s if s.id else Subnet(f"subnet-{_hex(rng, 17)}", s.az, s.cidr, s.public, s.name) for s in layout]
    kind = "private" if private_networking else "public"
    node_subnets = [s for s in subnet_list if s.public != private_networking]
    zones = sorted({s.az for s in node_subnets})
    spaces = {s.id: SubnetSpace(s.cidr) for s in subnet_list}
    svc_cidr = parse_ipv4_network(service_cidr, "service_cidr") if service_cidr else default_service_cidr([vpc_net])

    # 1-2. nodes and their primary addresses (instance launch)
    plans: list[_NodePlan] = []
    for group in groups:
        if group.az is not None and group.az not in zones:
            raise EkslibError(
                f"node group {group.name}: az {group.az!r} has no {kind} subnet; zones with one: {', '.join(zones)}"
            )
        group_zones = [group.az] if group.az else zones
        limit = group.max_pods or capacity_max_pods(
            group.instance_type, prefix_delegation=prefix_delegation, ceiling=prefix_delegation
        )
        for i in range(group.count):
            az = group_zones[i % len(group_zones)]
            in_zone = [s for s in node_subnets if s.az == az]
            subnet = in_zone[(i // len(group_zones)) % len(in_zone)]
            address = spaces[subnet.id].allocate_address()
            if address is None:
                raise _exhausted(subnet, spaces[subnet.id], False)
            plans.append(
                _NodePlan(_node_name(address, region), group, az, subnet, address, f"i-{_hex(rng, 17)}", limit)
            )

    # 3. pods on nodes: DaemonSets first (they run everywhere), then Deployments
    names_taken: dict[str, set[str]] = {}

    def unique_name(namespace: str, stem: str) -> str:  # a random suffix, drawn again on a clash
        while (name_ := f"{stem}-{_random_name(rng, 5)}") in names_taken.get(namespace, ()):
            pass
        names_taken.setdefault(namespace, set()).add(name_)
        return name_

    for workload in [w for w in wanted if w.kind == "DaemonSet"]:
        for plan in plans:
            if len(plan.pods) >= plan.max_pods:
                raise EkslibError(
                    f"workload {workload.namespace}/{workload.name}: the DaemonSet pod does not fit on "
                    f"node {plan.name}: max pods {plan.max_pods} ({plan.group.instance_type}) is "
                    f"already taken by other DaemonSets"
                )
            labels = {**workload.selector, "controller-revision-hash": _random_name(rng, 10)}
            plan.pods.append((workload, unique_name(workload.namespace, workload.name), labels))
    for workload in [w for w in wanted if w.kind == "Deployment"]:
        template_hash = _random_name(rng, 10)
        for plan, index in _place_replicas(workload, plans, rng):
            plan.pods[index] = (
                workload,
                unique_name(workload.namespace, f"{workload.name}-{template_hash}"),
                {**workload.selector, "pod-template-hash": template_hash},
            )

    # 4-5. ENIs, warm pool and pod addresses
    nodes: list[Node] = []
    pods: list[Pod] = []
    for plan in plans:
        info = instance_type_info(plan.group.instance_type)
        vpc_pods = [entry for entry in plan.pods if not entry[0].host_network]
        try:
            settings = pool_settings(prefix_delegation=prefix_delegation, max_pods=plan.max_pods, **ipam_settings)
            limits = node_limits(info.instance_type, settings)
        except EkslibError as exc:
            raise EkslibError(f"node group {plan.group.name} ({info.instance_type}): {exc}") from None
        capacity = min(limits.pod_enis * limits.slots_per_eni * limits.unit, plan.max_pods - HOST_NETWORK_PODS)
        if len(vpc_pods) > capacity:
            raise EkslibError(
                f"node {plan.name} ({info.instance_type}, node group {plan.group.name}): {len(vpc_pods)} pods need "
                f"VPC addresses but ipamd gives at most {capacity} ({limits.pod_enis} ENIs x "
                f"{limits.slots_per_eni} slots{' x 16' if limits.prefix_mode else ''}, and max pods "
                f"{plan.max_pods} less {HOST_NETWORK_PODS} host-network pods). On a real node the extra pods stay in "
                f"ContainerCreating with 'failed to assign an IP address'"
            )
        per_eni = _steady_per_eni(info.instance_type, len(vpc_pods), settings)
        if sum(per_eni) * limits.unit < len(vpc_pods):
            raise EkslibError(
                f"node {plan.name} ({info.instance_type}, node group {plan.group.name}): {len(vpc_pods)} pods need "
                f"VPC addresses but ipamd's pool stops at {sum(per_eni) * limits.unit}: MINIMUM_IP_TARGET="
                f"{settings.minimum_ip_target} without WARM_IP_TARGET (VPC CNI README: it 'will prevent future "
                f"ENIs/IPs from being allocated'). On a real node the other pods stay in ContainerCreating; set "
                f"warm_ip_target as well"
            )
        space = spaces[plan.subnet.id]

        def take(prefix: bool, subnet: Subnet = plan.subnet, space: SubnetSpace = space) -> Any:
            value = space.allocate_prefix() if prefix else space.allocate_address()
            if value is None:
                raise _exhausted(subnet, space, prefix)
            return value

        enis: list[Eni] = []
        for device, slots in enumerate(per_eni):
            primary = plan.address if device == 0 else take(False)
            held = {"prefixes" if limits.prefix_mode else "secondary_ips":
                    tuple(take(limits.prefix_mode) for _ in range(slots))}
            eni = Eni(f"eni-{_hex(rng, 17)}", plan.name, device, plan.subnet.id, primary, **held, mac=_mac(rng))
            enis.append(eni)
        free = ((eni, address) for eni in enis for address in eni.pod_addresses())
        for workload, pod_name, labels in plan.pods:
            owner_kind = "DaemonSet" if workload.kind == "DaemonSet" else "ReplicaSet"
            owner_name = workload.name if workload.kind == "DaemonSet" else pod_name.rsplit("-", 1)[0]
            if workload.host_network:
                pods.append(
                    Pod(
                        workload.namespace,
                        pod_name,
                        plan.name,
                        plan.address,
                        True,
                        enis[0].id,
                        None,
                        labels,
                        owner_kind,
                        owner_name,
                    )
                )
            else:
                eni, address = next(free)
                pods.append(
                    Pod(
                        workload.namespace,
                        pod_name,
                        plan.name,
                        address,
                        False,
                        eni.id,
                        veth_name(workload.namespace, pod_name, veth_prefix),
                        labels,
                        owner_kind,
                        owner_name,
                    )
                )
        labels = {
            "kubernetes.io/hostname": plan.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": info.instance_type,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": plan.az,
            "eks.amazonaws.com/nodegroup": plan.group.name,
            "eks.amazonaws.com/capacityType": "ON_DEMAND",
        }
        nodes.append(
            Node(
                plan.name,
                info.instance_type,
                plan.az,
                plan.address,
                plan.subnet.id,
                tuple(enis),
                plan.max_pods,
                plan.instance_id,
                plan.group.name,
                labels,
            )
        )

    # 6. services
    services = _services(wanted, pods, svc_cidr, region, rng)
    # 7-8. the control plane's ENIs, then the EndpointSlices kube-proxy reads
    notes: list[str] = []
    control_plane = _control_plane_enis(node_subnets + [s for s in subnet_list if s not in node_subnets], spaces,
                                        name, rng, notes)
    zones_of = {plan.name: plan.az for plan in plans}
    slices = _endpoint_slices(services, {p.key: p for p in pods}, zones_of, control_plane, rng)
    cluster = Cluster(
        name,
        vpc,
        tuple(subnet_list),
        tuple(nodes),
        tuple(pods),
        tuple(services),
        svc_cidr,
        prefix_delegation,
        veth_prefix,
        tuple(notes),
        tuple(slices),
        tuple(control_plane),
    )
    return validate(cluster) if check else cluster


def _control_plane_enis(candidates: list[Subnet], spaces: dict[str, SubnetSpace], cluster_name: str,
                        rng: random.Random, notes: list[str]) -> list[ControlPlaneEni]:
    """EKS's control-plane ENIs: 2 (its minimum), in the first two subnets of different zones with room."""
    with_room = [s for s in candidates if spaces[s.id].free_count > 0]
    if not with_room:
        raise _exhausted(candidates[0], spaces[candidates[0].id], False)
    first = with_room[0]
    second = next((s for s in with_room if s.az != first.az), None)
    chosen = [first, second] if second is not None else [first, next((s for s in with_room[1:]), first)]
    if second is None:
        notes.append(f"EKS needs subnets in two Availability Zones (Amazon EKS User Guide); only {first.az} has one "
                     f"with a free address here, so both control-plane ENIs are in it")
    enis = []
    for subnet in chosen[:EKS_CONTROL_PLANE_ENIS[0]]:
        address = spaces[subnet.id].allocate_address()
        if address is None:
            raise _exhausted(subnet, spaces[subnet.id], False)
        enis.append(ControlPlaneEni(f"eni-{_hex(rng, 17)}", subnet.id, address,
                                    f"{EKS_ENI_DESCRIPTION_PREFIX}{cluster_name}"))
    return enis


def _endpoint_slices(services: list[Service], pods: dict[str, Pod], zones_of: dict[str, str],
                     control_plane: list[ControlPlaneEni], rng: random.Random) -> list[EndpointSlice]:
    """``default/kubernetes``'s slice (the API server's) and the EndpointSlice controller's for every Service
    with a selector (see the module docstring, step 8)."""
    names_taken: set[tuple[str, str]] = set()
    out: list[EndpointSlice] = []
    for svc in services:
        ports = tuple(EndpointPort(p.name, int(p.target_port), p.protocol) for p in svc.ports)
        if svc.key == "default/kubernetes":
            addresses = sorted((e.address for e in control_plane), key=str)  # the reconciler sorts the IP texts
            out.append(EndpointSlice("default", "kubernetes", svc.key, "IPv4",
                                     tuple(SliceEndpoint(a) for a in addresses), ports))
            names_taken.add(("default", "kubernetes"))
            continue
        if not svc.selector:
            continue
        endpoints = [SliceEndpoint(pods[k].address, True, True, False, pods[k].node, zones_of[pods[k].node], k)
                     for k in svc.endpoints]
        chunks = [endpoints[i:i + MAX_ENDPOINTS_PER_SLICE] for i in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE)]
        for chunk in chunks or [[]]:  # no pods: the controller's placeholder slice, without ports
            base = f"{svc.name}-"[:GENERATED_NAME_BASE_MAX]
            while (slice_name := base + _random_name(rng, GENERATED_NAME_RANDOM)) and (
                    (svc.namespace, slice_name) in names_taken):
                pass
            names_taken.add((svc.namespace, slice_name))
            out.append(EndpointSlice(svc.namespace, slice_name, svc.key, "IPv4", tuple(chunk),
                                     ports if chunk else (), ENDPOINTSLICE_CONTROLLER))
    return out


def _services(
    wanted: list[Workload], pods: list[Pod], cidr: IPv4Network, region: str, rng: random.Random
) -> list[Service]:
    """``default/kubernetes``, ``kube-system/kube-dns`` (if coredns runs) and each workload's Service."""
    labelled: defaultdict[tuple[str, str, str], list[Pod]] = defaultdict(list)  # (namespace, key, value) -> pods
    for pod in pods:
        for key, value in pod.labels.items():
            labelled[pod.namespace, key, value].append(pod)

    def endpoints(namespace: str, selector: Mapping[str, str]) -> tuple[str, ...]:
        """select_endpoints over the pods that carry the selector's first label: a Service's pods carry them all
        (a scan of every pod per Service took most of the build of 400 Services behind 1,200 pods)."""
        first = next(iter(selector.items()), None)
        return select_endpoints(labelled[namespace, *first] if first else [], namespace, selector)

    base = int(cidr.network_address)
    taken = {base, base + 1, base + 10, int(cidr.broadcast_address)}
    ports_taken = {w.service.node_port for w in wanted if w.service and w.service.node_port}

    def cluster_ip() -> IPv4Address:
        while True:  # random in the upper band, as the API server allocates dynamic ClusterIPs (KEP-3070)
            value = base + rng.randrange(max(16, cidr.num_addresses // 16), cidr.num_addresses - 1)
            if value not in taken:
                taken.add(value)
                return IPv4Address(value)

    def node_port() -> int:
        while True:
            port = rng.randint(*NODE_PORT_RANGE)
            if port not in ports_taken:
                ports_taken.add(port)
                return port

    services = [
        Service("default", "kubernetes", "ClusterIP", IPv4Address(base + 1), (ServicePort(443, 443, "TCP", "https"),))
    ]
    if any(w.name == "coredns" and w.namespace == "kube-system" for w in wanted):
        selector = {"k8s-app": "kube-dns"}
        services.append(
            Service(
                "kube-system",
                "kube-dns",
                "ClusterIP",
                IPv4Address(base + 10),
                (
                    ServicePort(53, 53, "UDP", "dns"),
                    ServicePort(53, 53, "TCP", "dns-tcp"),
                    ServicePort(9153, 9153, "TCP", "metrics"),
                ),
                selector,
                endpoints=endpoints("kube-system", selector),
            )
        )
    for w in wanted:
        spec = w.service
        if spec is None:
            continue
        external = spec.type in ("NodePort", "LoadBalancer")
        port = ServicePort(
            spec.port,
            spec.target_port,
            spec.protocol,
            spec.port_name,
            (spec.node_port or node_port()) if external else None,
        )
        local_lb = spec.type == "LoadBalancer" and spec.external_traffic_policy == "Local"
        annotations: dict[str, str] = {}
        hostname = ""
        if spec.type == "LoadBalancer":  # the AWS Load Balancer Controller's NLB with instance targets
            annotations = {
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            }
            hostname = f"k8s-{w.namespace[:8]}-{w.name[:9]}-{_hex(rng, 10)}.elb.{region}.amazonaws.com"
        services.append(
            Service(
                w.namespace,
                w.name,
                spec.type,
                cluster_ip(),
                (port,),
                w.selector,
                spec.external_traffic_policy if external else "",
                endpoints(w.namespace, w.selector),
                node_port() if local_lb else None,
                hostname,
                annotations,
            )
        )
    return services
