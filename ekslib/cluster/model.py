"""The cluster model: one set of plain dataclasses for a VPC, its subnets, nodes, ENIs, pods and services.

Every later piece (the graphs, the packet flows, the real-kernel lab) reads this one model, built either
synthetically (:func:`ekslib.cluster.build_cluster`) or from a real cluster
(:func:`ekslib.cluster.from_kubectl`). Addresses are :mod:`ipaddress` objects; names follow the Kubernetes
API (``namespace/name``) and the EC2 API (``subnet-...``, ``eni-...``). :func:`validate` checks the
invariants in one place and names the object and field of every problem.

Facts behind the model, with their public sources:

* AWS reserves 5 addresses of every subnet: the network address, ``.1`` (the VPC router), ``.2`` (the DNS
  resolver), ``.3`` (reserved for future use) and the last (broadcast) -- Amazon VPC User Guide, "Subnet
  CIDR blocks".
* an ENI's primary address is the ENI's own, never a pod's; the primary ENI's (device 0) primary address is
  the node's ``InternalIP``, which host-network pods (``aws-node``, ``kube-proxy``) share
  (github.com/aws/amazon-vpc-cni-k8s ``misc/eni-max-pods.txt`` header).
* the host side of a pod's veth is ``<prefix>`` + the first 11 hex characters of SHA-1 of
  ``"<namespace>.<pod>"``, prefix ``AWS_VPC_K8S_CNI_VETHPREFIX`` (default ``eni``, at most 4 characters;
  ``eth``, ``vlan`` and ``lo`` are reserved): amazon-vpc-cni-k8s ``pkg/networkutils/names.go``
  (``GeneratePodHostVethName``), ``cmd/routed-eni-cni-plugin/cni.go`` and the project README.
* a secondary ENI (device N > 0) has its own route table N + 1 holding ``<subnet .1> dev ethN scope link``
  and ``default via <subnet .1> dev ethN``; the primary ENI uses the main table
  (amazon-vpc-cni-k8s ``pkg/networkutils/network.go``, ``setupENINetwork``).
* a cluster created without ``serviceIpv4Cidr`` gets 10.100.0.0/16 or 172.20.0.0/16 (Amazon EKS User Guide);
  which one follows the rule AL2's ``bootstrap.sh`` applies to the DNS address: 172.20.0.0/16 when a VPC
  CIDR is in 10.0.0.0/8, else 10.100.0.0/16 (:func:`default_service_cidr`); kube-dns is the service CIDR's
  ``.10``.
* kube-proxy builds its rules from EndpointSlices (discovery.k8s.io/v1), not from pods: a Service's slices carry
  the label ``kubernetes.io/service-name``; kube-proxy merges them, keys each endpoint by ``ip:port`` and sorts
  by that text (kubernetes ``pkg/proxy/endpointslicecache.go``), see :meth:`Cluster.service_endpoints`.
* ``default/kubernetes`` has no selector: the API server's endpoint reconciler writes its slice, listing the API
  servers' addresses (kubernetes ``pkg/controlplane/reconcilers/endpointsadapter.go``); on EKS those are the
  2 to 4 network interfaces EKS creates in the cluster's subnets, described ``Amazon EKS <cluster-name>``
  (Amazon EKS User Guide, "View Amazon EKS networking requirements for VPC and subnets"): no pods, on no node.

>>> from ekslib.cluster.model import veth_name
>>> veth_name("kube-system", "coredns-57ff979f67-qqbdh")   # the VPC CNI's own unit-test value
'enib5faff8a083'
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from ekslib._checks import parse_ipv4, parse_ipv4_network
from ekslib.errors import EkslibError, suggest
from ekslib.facts import (
    DEFAULT_VETH_PREFIX,
    EKS_SERVICE_CIDR,
    EKS_SERVICE_CIDR_IN_10_VPC,
    IPS_PER_PREFIX,
    MAX_VETH_PREFIX,
    RESERVED_AT_END,
    RESERVED_AT_START,
    RESERVED_PER_SUBNET,
    RESERVED_VETH_PREFIXES,
    VETH_HASH_CHARS,
)


def check_veth_prefix(prefix: str) -> str:
    """``prefix`` if it is a valid ``AWS_VPC_K8S_CNI_VETHPREFIX``, else raise naming the rule.

    >>> check_veth_prefix("cali")
    'cali'
    >>> check_veth_prefix("vlan")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: veth prefix 'vlan' is reserved by the VPC CNI (eth, vlan, lo); ...
    """
    if not isinstance(prefix, str) or not prefix or len(prefix) > MAX_VETH_PREFIX:
        raise EkslibError(f"veth prefix {prefix!r} is not valid: 1 to {MAX_VETH_PREFIX} characters "
                          f"(the VPC CNI's limit, so that prefix + {VETH_HASH_CHARS} hex characters fit Linux's "
                          f"15-character interface names); the default is {DEFAULT_VETH_PREFIX!r}")
    if prefix in RESERVED_VETH_PREFIXES:
        raise EkslibError(f"veth prefix {prefix!r} is reserved by the VPC CNI ({', '.join(RESERVED_VETH_PREFIXES)}); "
                          f"choose another, e.g. {DEFAULT_VETH_PREFIX!r}")
    return prefix


def veth_name(namespace: str, name: str, prefix: str = DEFAULT_VETH_PREFIX) -> str:
    """The host-side veth name the VPC CNI gives pod ``namespace/name``.

    ``prefix`` + the first 11 hex characters of SHA-1 of ``"<namespace>.<name>"``
    (amazon-vpc-cni-k8s ``pkg/networkutils/names.go``, ``GeneratePodHostVethName``). Calico names its
    veths the same way with prefix ``cali``, which is why the two agree for NetworkPolicy.

    >>> veth_name("default", "sample-pod")
    'enicc21c2d7785'
    >>> veth_name("default", "sample-pod", prefix="cali")
    'calicc21c2d7785'
    """
    digest = hashlib.sha1(f"{namespace}.{name}".encode()).hexdigest()
    return (prefix if prefix == DEFAULT_VETH_PREFIX else check_veth_prefix(prefix)) + digest[:VETH_HASH_CHARS]


def default_service_cidr(vpc_cidrs: Any) -> IPv4Network:
    """The service CIDR of a cluster created without one: 172.20.0.0/16 if a VPC CIDR is in 10.0.0.0/8, else
    10.100.0.0/16.

    Where the rule is written down: AL2's ``bootstrap.sh`` (github.com/awslabs/amazon-eks-ami, the AL2 node
    bootstrap) picks the cluster DNS address the same way, 172.20.0.10 when one of the VPC's IPv4 CIDR blocks
    (instance metadata ``vpc-ipv4-cidr-blocks``) starts with ``10.``, else 10.100.0.10, the ``.10`` of the
    service CIDR. The Amazon EKS User Guide says only that without ``serviceIpv4Cidr`` Kubernetes assigns
    addresses "from either the 10.100.0.0/16 or 172.20.0.0/16 CIDR blocks". A real cluster's CIDR is in
    ``aws eks describe-cluster`` (``kubernetesNetworkConfig.serviceIpv4Cidr``); pass it when you know it.

    >>> str(default_service_cidr(["192.168.0.0/16"])), str(default_service_cidr(["10.0.0.0/16"]))
    ('10.100.0.0/16', '172.20.0.0/16')
    """
    ten = IPv4Network("10.0.0.0/8")
    if any(parse_ipv4_network(c, "VPC CIDR").overlaps(ten) for c in vpc_cidrs):
        return EKS_SERVICE_CIDR_IN_10_VPC
    return EKS_SERVICE_CIDR


# ----------------------------------------------------------------------------------------------- routes


# ----------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Vpc:
    """The VPC: its id and IPv4 CIDR blocks (``inferred`` when guessed from the addresses seen)."""

    id: str
    cidrs: tuple[IPv4Network, ...]
    inferred: bool = False

    def contains(self, address: IPv4Address | IPv4Network) -> bool:
        """True when ``address`` (or a whole network) lies in one of the VPC's CIDRs."""
        if isinstance(address, IPv4Network):
            return any(address.subnet_of(c) for c in self.cidrs)
        return any(address in c for c in self.cidrs)


@dataclass(frozen=True, slots=True)
class Subnet:
    """A subnet: id, Availability Zone, CIDR; ``public`` subnets hold load balancers, not nodes here.

    >>> s = Subnet("subnet-1", "us-west-2a", IPv4Network("192.168.96.0/19"))
    >>> str(s.router), s.usable, s.is_reserved(IPv4Address("192.168.96.3"))
    ('192.168.96.1', 8187, True)
    """

    id: str
    az: str
    cidr: IPv4Network
    public: bool = False
    name: str = ""
    inferred: bool = False

    @property
    def router(self) -> IPv4Address:
        """The VPC router's address in this subnet (``.1``): the gateway of every ENI in it."""
        return self.cidr.network_address + 1

    @property
    def dns(self) -> IPv4Address:
        """The subnet's view of the Amazon-provided DNS resolver (``.2`` of the subnet, reserved)."""
        return self.cidr.network_address + 2

    @property
    def size(self) -> int:
        """All addresses of the CIDR."""
        return self.cidr.num_addresses

    @property
    def usable(self) -> int:
        """Addresses left for ENIs once AWS's 5 reserved ones are taken."""
        return max(self.cidr.num_addresses - RESERVED_PER_SUBNET, 0)

    def is_reserved(self, address: IPv4Address) -> bool:
        """True for the 5 addresses AWS keeps (network, .1, .2, .3, broadcast)."""
        offset = int(address) - int(self.cidr.network_address)
        return 0 <= offset < RESERVED_AT_START or self.cidr.num_addresses - RESERVED_AT_END <= offset


@dataclass(frozen=True, slots=True)
class Eni:
    """An elastic network interface attached to a node.

    ``secondary_ips`` (secondary-IP mode) or ``prefixes`` (/28 each, prefix delegation) are the addresses
    ipamd holds for pods, assigned or warm. ``interface`` is the Linux name the VPC CNI's docs use
    (``ethN``; newer AMIs may name it ``ens5`` and so on). ``inferred`` marks the stand-in ENI that
    :func:`ekslib.cluster.from_kubectl` makes when it has no EC2 detail.
    """

    id: str
    node: str
    device_number: int
    subnet_id: str
    primary_ip: IPv4Address
    secondary_ips: tuple[IPv4Address, ...] = ()
    prefixes: tuple[IPv4Network, ...] = ()
    mac: str = ""
    inferred: bool = False

    @property
    def is_primary(self) -> bool:
        """True for device 0, the ENI the instance was launched with (its primary IP is the node's)."""
        return self.device_number == 0

    @property
    def interface(self) -> str:
        """``eth<device number>``."""
        return f"eth{self.device_number}"

    @property
    def route_table_number(self) -> int | None:
        """The ENI's own route table, device number + 1; None for the primary ENI (it uses ``main``)."""
        return None if self.is_primary else self.device_number + 1

    @property
    def capacity(self) -> int:
        """Addresses this ENI holds for pods: its secondary IPs plus 16 per prefix."""
        return len(self.secondary_ips) + IPS_PER_PREFIX * len(self.prefixes)

    def pod_addresses(self) -> Iterator[IPv4Address]:
        """Every address this ENI can give a pod, in ipamd's order: secondary IPs, then each prefix."""
        yield from self.secondary_ips
        for prefix in self.prefixes:
            yield from prefix

    def holds(self, address: IPv4Address) -> bool:
        """True when ``address`` is one of this ENI's pod addresses (not its primary address)."""
        return address in self.secondary_ips or any(address in p for p in self.prefixes)


@dataclass(frozen=True, slots=True)
class Node:
    """A worker node: an EC2 instance of ``instance_type`` in ``az``; ``address`` is its ``InternalIP``.

    ``max_pods`` is kubelet's limit (``status.capacity.pods``); ``enis`` are sorted by device number.
    """

    name: str
    instance_type: str
    az: str
    address: IPv4Address
    subnet_id: str
    enis: tuple[Eni, ...]
    max_pods: int | None = None
    instance_id: str = ""
    nodegroup: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def primary_eni(self) -> Eni:
        """The ENI with device number 0."""
        for eni in self.enis:
            if eni.device_number == 0:
                return eni
        raise EkslibError(f"node {self.name}: enis has no primary ENI (device number 0)")


class _Namespaced:
    """A namespaced Kubernetes object: ``key`` is ``namespace/name``."""

    __slots__ = ()

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Pod(_Namespaced):
    """A pod: ``address`` is its IP; a host-network pod shares the node's and has no veth.

    ``eni_id`` is the ENI holding the pod's address (for a host-network pod, the node's primary ENI);
    ``host_veth`` the host side of its veth pair as the VPC CNI names it (see :func:`veth_name`).
    ``owner_kind``/``owner_name`` are the controller (``ReplicaSet coredns-57ff979f67``, ``DaemonSet
    aws-node``) from ``metadata.ownerReferences``.
    """

    namespace: str
    name: str
    node: str
    address: IPv4Address
    host_network: bool = False
    eni_id: str = ""
    host_veth: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    owner_kind: str = ""
    owner_name: str = ""


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of a service (``spec.ports[i]``): ``target_port`` may be a number or a named port."""

    port: int
    target_port: int | str
    protocol: str = "TCP"
    name: str = ""
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class Service(_Namespaced):
    """A Kubernetes Service; ``endpoints`` are the keys (``namespace/name``) of the pods it selects.

    ``external_traffic_policy`` is ``Cluster`` or ``Local`` for NodePort and LoadBalancer services and ``""``
    for the others (the API server sets it only for those two types). ``cluster_ip`` is None for a
    headless service (``clusterIP: None``) and for ``ExternalName``.
    """

    namespace: str
    name: str
    type: str
    cluster_ip: IPv4Address | None
    ports: tuple[ServicePort, ...] = ()
    selector: Mapping[str, str] = field(default_factory=dict, hash=False)
    external_traffic_policy: str = ""
    endpoints: tuple[str, ...] = ()
    health_check_node_port: int | None = None
    load_balancer: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class EndpointPort:
    """One port of an EndpointSlice (``ports[i]``, discovery.k8s.io/v1): ``name`` is the Service port's name
    (``""`` when unnamed), ``port`` the number on the endpoints (the Service's ``targetPort``, resolved),
    ``protocol`` TCP, UDP or SCTP."""

    name: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True, slots=True)
class SliceEndpoint:
    """One endpoint of an EndpointSlice (``endpoints[i]``), with the API's field meanings (discovery.k8s.io/v1,
    kubernetes.io "EndpointSlices"):

    * ``address``: the first of ``addresses`` (the only one kube-proxy reads: ``pkg/proxy/endpointslicecache.go``);
    * ``ready``: ready for traffic; never true while terminating, unless the Service publishes not-ready
      addresses (a missing value reads as true);
    * ``serving``: the same, regardless of terminating (a missing value defers to ``ready``);
    * ``terminating``: the pod is being deleted (a missing value reads as false);
    * ``node_name``, ``zone``: where it runs (``""`` for an endpoint on no node, such as the EKS control plane's);
    * ``target_pod``: ``namespace/name`` of the pod in ``targetRef``, or ``""``.
    """

    address: IPv4Address
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str = ""
    zone: str = ""
    target_pod: str = ""


@dataclass(frozen=True, slots=True)
class EndpointSlice(_Namespaced):
    """An EndpointSlice (discovery.k8s.io/v1): part of the endpoints of ``service`` (``namespace/name``, from the
    label ``kubernetes.io/service-name``). kube-proxy builds its rules from these, not from pods.

    ``managed_by`` is the label ``endpointslice.kubernetes.io/managed-by``: ``endpointslice-controller.k8s.io``
    for the slices kube-controller-manager makes for a Service with a selector; ``""`` for ``default/kubernetes``,
    which the API server's endpoint reconciler writes without that label (kubernetes ``pkg/controlplane/
    reconcilers/endpointsadapter.go``: only ``kubernetes.io/service-name``, endpoints with ``ready: true``).
    """

    namespace: str
    name: str
    service: str
    address_type: str = "IPv4"
    endpoints: tuple[SliceEndpoint, ...] = ()
    ports: tuple[EndpointPort, ...] = ()
    managed_by: str = ""


@dataclass(frozen=True, slots=True)
class ControlPlaneEni:
    """A network interface EKS puts in the cluster's subnets for its control plane (2 to 4 of them, described
    ``Amazon EKS <cluster-name>``: Amazon EKS User Guide, "View Amazon EKS networking requirements for VPC and
    subnets"). Its address is an endpoint of ``default/kubernetes``; it is no pod and on no node (it is attached
    to an instance of an AWS-owned account). ``inferred`` marks one guessed from ``default/kubernetes``'s
    EndpointSlice without EC2's answer (its id is then made up)."""

    id: str
    subnet_id: str
    address: IPv4Address
    description: str = ""
    inferred: bool = False


@dataclass(frozen=True, slots=True)
class ServiceEndpoint:
    """One endpoint of one Service port as kube-proxy sees it (see :meth:`Cluster.service_endpoints`):
    ``endpoint`` is its ``ip:port`` text, kube-proxy's key and sort order."""

    address: IPv4Address
    port: int
    protocol: str
    node_name: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    pod: str = ""
    zone: str = ""

    @property
    def endpoint(self) -> str:
        """``ip:port`` (kube-proxy's ``Endpoint.String()``: ``net.JoinHostPort``)."""
        return f"{self.address}:{self.port}"


@dataclass(frozen=True, slots=True)
class AddressInfo:
    """What one address is in a cluster: see :meth:`Cluster.address_info`."""

    address: IPv4Address
    role: str
    subnet_id: str = ""
    node: str = ""
    eni_id: str = ""
    pods: tuple[str, ...] = ()
    service: str = ""


class _Index:
    """Lookup tables of one cluster, built once on first use."""

    def __init__(self, cluster: Cluster) -> None:
        self.nodes = {n.name: n for n in cluster.nodes}
        self.subnets = {s.id: s for s in cluster.subnets}
        self.enis = {e.id: e for n in cluster.nodes for e in n.enis}
        self.pods = {p.key: p for p in cluster.pods}
        self.services = {s.key: s for s in cluster.services}
        self.pods_by_node: dict[str, list[Pod]] = defaultdict(list)
        self.pods_by_eni: dict[str, list[Pod]] = defaultdict(list)
        self.pods_by_address: dict[IPv4Address, list[Pod]] = defaultdict(list)
        for pod in cluster.pods:
            self.pods_by_node[pod.node].append(pod)
            if not pod.host_network:
                self.pods_by_eni[pod.eni_id].append(pod)
            self.pods_by_address[pod.address].append(pod)
        self.eni_of_ip: dict[int, Eni] = {}
        self.eni_of_prefix: dict[int, Eni] = {}
        for eni in self.enis.values():
            self.eni_of_ip[int(eni.primary_ip)] = eni
            for ip in eni.secondary_ips:
                self.eni_of_ip[int(ip)] = eni
            for prefix in eni.prefixes:
                self.eni_of_prefix[int(prefix.network_address)] = eni
        self.services_by_ip = {s.cluster_ip: s for s in cluster.services if s.cluster_ip is not None}
        self.control_plane_enis = {e.id: e for e in cluster.control_plane_enis}
        self.control_plane_by_address = {e.address: e for e in cluster.control_plane_enis}
        self.slices_by_service: dict[str, list[EndpointSlice]] = defaultdict(list)
        for slice_ in sorted(cluster.endpoint_slices, key=lambda s: s.name):
            self.slices_by_service[slice_.service].append(slice_)


def _lookup(table: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return table[key]
    except (KeyError, TypeError):
        close = suggest(str(key), list(table), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise EkslibError(f"no {what} {key!r} in this cluster.{hint} ({len(table)} {what}s known)") from None


@dataclass(frozen=True)
class Cluster:
    """A whole cluster: VPC, subnets, nodes (with their ENIs), pods and services, plus lookups.

    ``prefix_delegation`` and ``veth_prefix`` are the VPC CNI settings the cluster was built or read with;
    ``notes`` say what a loader had to infer or leave out. ``endpoint_slices`` are what kube-proxy reads
    (:meth:`service_endpoints`); ``control_plane_enis`` are EKS's network interfaces for the API server, the
    endpoints of ``default/kubernetes``.

    >>> from ekslib.cluster import build_cluster
    >>> c = build_cluster([("t3.medium", 2)], seed=1)
    >>> c.pod("kube-system", c.pods_on_node(c.nodes[0].name)[0].name).node == c.nodes[0].name
    True
    """

    name: str
    vpc: Vpc
    subnets: tuple[Subnet, ...]
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    services: tuple[Service, ...] = ()
    service_cidr: IPv4Network = EKS_SERVICE_CIDR
    prefix_delegation: bool = False
    veth_prefix: str = DEFAULT_VETH_PREFIX
    notes: tuple[str, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    control_plane_enis: tuple[ControlPlaneEni, ...] = ()

    @functools.cached_property
    def _ix(self) -> _Index:
        return _Index(self)

    # -- lookups by name (raise with suggestions when absent)
    def node(self, name: str) -> Node:
        """The node called ``name``."""
        return _lookup(self._ix.nodes, name, "node")

    def subnet(self, subnet_id: str) -> Subnet:
        """The subnet with id ``subnet_id``."""
        return _lookup(self._ix.subnets, subnet_id, "subnet")

    def eni(self, eni_id: str) -> Eni:
        """The ENI with id ``eni_id``."""
        return _lookup(self._ix.enis, eni_id, "ENI")

    def pod(self, namespace_or_key: str, name: str | None = None) -> Pod:
        """A pod by ``("namespace", "name")`` or by ``"namespace/name"``."""
        key = namespace_or_key if name is None else f"{namespace_or_key}/{name}"
        return _lookup(self._ix.pods, key, "pod")

    def service(self, namespace_or_key: str, name: str | None = None) -> Service:
        """A service by ``("namespace", "name")`` or by ``"namespace/name"``."""
        key = namespace_or_key if name is None else f"{namespace_or_key}/{name}"
        return _lookup(self._ix.services, key, "service")

    @property
    def enis(self) -> tuple[Eni, ...]:
        """Every ENI of every node, node by node."""
        return tuple(self._ix.enis.values())

    def find(self, name: str) -> Node | Pod | Eni | None:
        """The node, pod (``namespace/name``) or ENI called ``name``, or None when there is none.

        >>> from ekslib.cluster.build import build_cluster
        >>> c = build_cluster([("t3.medium", 1)])
        >>> type(c.find(c.nodes[0].name)).__name__, c.find("nothing") is None
        ('Node', True)
        """
        ix = self._ix
        return ix.nodes.get(name) or ix.pods.get(name) or ix.enis.get(name)

    # -- relations
    def pods_on_node(self, node: str) -> tuple[Pod, ...]:
        """The pods scheduled on ``node`` (host-network ones included), in the cluster's order."""
        self.node(node)
        return tuple(self._ix.pods_by_node.get(node, ()))

    def pods_on_eni(self, eni_id: str) -> tuple[Pod, ...]:
        """The pods whose address this ENI holds (host-network pods excluded: they use the node's address)."""
        self.eni(eni_id)
        return tuple(self._ix.pods_by_eni.get(eni_id, ()))

    def host_network_pods(self, node: str | None = None) -> tuple[Pod, ...]:
        """Pods on their node's own address (all nodes, or one)."""
        pods = self.pods if node is None else self.pods_on_node(node)
        return tuple(p for p in pods if p.host_network)

    def host_veths(self, eni_id: str) -> tuple[str, ...]:
        """Host-side veth names of the pods whose address ``eni_id`` holds."""
        return tuple(p.host_veth for p in self.pods_on_eni(eni_id) if p.host_veth)

    def endpoints(self, service: str) -> tuple[Pod, ...]:
        """The pods behind service ``namespace/name``."""
        return tuple(self.pod(key) for key in self.service(service).endpoints)

    def control_plane_eni(self, eni_id: str) -> ControlPlaneEni:
        """The EKS control-plane ENI with id ``eni_id``."""
        return _lookup(self._ix.control_plane_enis, eni_id, "control-plane ENI")

    def service_slices(self, service: str) -> tuple[EndpointSlice, ...]:
        """The EndpointSlices of service ``namespace/name`` (label ``kubernetes.io/service-name``), by name."""
        return tuple(self._ix.slices_by_service.get(self.service(service).key, ()))

    def service_endpoints(self, service: str, port_name: str | None = None) -> tuple[ServiceEndpoint, ...]:
        """kube-proxy's endpoints for one port of ``service`` (``namespace/name``), from its EndpointSlices.

        ``port_name`` is the Service port's name (may be left out when the Service has one port). As kube-proxy
        does (kubernetes ``pkg/proxy/endpointslicecache.go``, ``endpointInfoByServicePort`` and ``addEndpoints``):
        the slices of the Service are merged; a slice port counts when its name and protocol are the Service
        port's; each endpoint is keyed by ``ip:port`` (its first address), a duplicate key is dropped (kube-proxy
        keeps the first it meets, iterating slices in Go's map order, and prefers the copy on its own node; here
        slices are taken by name), and the list is sorted by that ``ip:port`` **text** (``byEndpoint``:
        ``e[i].String() < e[j].String()``), so ``10.0.0.10:80`` comes before ``10.0.0.9:80``.

        Not-ready endpoints stay in the list, flagged: kube-proxy's rules (``pkg/proxy/topology.go``
        ``CategorizeEndpoints``, read by ``pkg/proxy/iptables/proxier.go``) use the ready ones; only when there
        are none does it fall back to those both serving and terminating -- for Cluster policy over the whole
        list, for Local policy over the node's own.

        >>> from ekslib.cluster import build_cluster
        >>> c = build_cluster([("t3.medium", 2)], seed=1)
        >>> [(e.port, e.protocol, e.ready) for e in c.service_endpoints("kube-system/kube-dns", "dns")]
        [(53, 'UDP', True), (53, 'UDP', True)]
        """
        svc = self.service(service)
        names = [p.name for p in svc.ports]
        if port_name is None:
            if len(svc.ports) != 1:
                raise EkslibError(f"service {svc.key}: has {len(svc.ports)} ports; pass port_name, one of "
                                  f"{', '.join(repr(n) for n in names) or 'none'}")
            port = svc.ports[0]
        else:
            port = next((p for p in svc.ports if p.name == port_name), None)
            if port is None:
                raise EkslibError(f"service {svc.key}: no port named {port_name!r}; its ports: "
                                  f"{', '.join(repr(n) for n in names) or 'none'}")
        found: dict[str, ServiceEndpoint] = {}
        for slice_ in self._ix.slices_by_service.get(svc.key, ()):
            if slice_.address_type != "IPv4":
                continue
            for slice_port in slice_.ports:
                if slice_port.name != port.name or slice_port.protocol != port.protocol:
                    continue
                for e in slice_.endpoints:
                    item = ServiceEndpoint(e.address, slice_port.port, slice_port.protocol, e.node_name, e.ready,
                                           e.serving, e.terminating, e.target_pod, e.zone)
                    found.setdefault(item.endpoint, item)
        return tuple(found[key] for key in sorted(found))

    def subnet_of_eni(self, eni_id: str) -> Subnet:
        """The subnet an ENI's addresses come from."""
        return self.subnet(self.eni(eni_id).subnet_id)

    # -- lookups by address (None when nothing in the cluster has it)
    def eni_of_address(self, address: Any) -> Eni | None:
        """The ENI whose primary, secondary or prefix address ``address`` is, or None."""
        value = int(parse_ipv4(address, "address"))
        return self._ix.eni_of_ip.get(value) or self._ix.eni_of_prefix.get(value & ~(IPS_PER_PREFIX - 1))

    def node_of_address(self, address: Any) -> Node | None:
        """The node one of whose ENIs holds ``address``, or None."""
        eni = self.eni_of_address(address)
        return None if eni is None else self._ix.nodes.get(eni.node)

    def pods_at_address(self, address: Any) -> tuple[Pod, ...]:
        """Pods using ``address`` (several only for a node address shared by host-network pods)."""
        return tuple(self._ix.pods_by_address.get(parse_ipv4(address, "address"), ()))

    def subnet_of_address(self, address: Any) -> Subnet | None:
        """The subnet whose CIDR contains ``address``, or None."""
        address = parse_ipv4(address, "address")
        return next((s for s in self.subnets if address in s.cidr), None)

    def address_info(self, address: Any) -> AddressInfo:
        """What ``address`` is: a node address, an ENI's primary, a pod's, warm in ipamd's pool, a ClusterIP...

        >>> from ekslib.cluster import build_cluster
        >>> c = build_cluster([("t3.medium", 1)])
        >>> c.address_info(c.nodes[0].address).role
        'node address'
        >>> c.address_info("10.100.0.10").service
        'kube-system/kube-dns'
        >>> info = c.address_info(c.control_plane_enis[0].address)
        >>> info.role, info.service
        ('EKS control plane ENI', 'default/kubernetes')
        """
        address = parse_ipv4(address, "address")
        service = self._ix.services_by_ip.get(address)
        if service is not None:
            return AddressInfo(address, "service ClusterIP", service=service.key)
        subnet = self.subnet_of_address(address)
        subnet_id = subnet.id if subnet else ""
        eni = self.eni_of_address(address)
        pods = tuple(p.key for p in self.pods_at_address(address))
        if eni is not None:
            if eni.primary_ip == address:
                role = "node address" if eni.is_primary else "ENI primary address"
            else:
                role = "pod address" if pods else "warm (held by ipamd, unassigned)"
            return AddressInfo(address, role, subnet_id, eni.node, eni.id, pods)
        control_plane = self._ix.control_plane_by_address.get(address)
        if control_plane is not None:
            behind = next((k for k, slices in self._ix.slices_by_service.items()
                           if any(e.address == address for sl in slices for e in sl.endpoints)), "")
            return AddressInfo(address, "EKS control plane ENI", control_plane.subnet_id, eni_id=control_plane.id,
                               service=behind)
        if subnet is not None:
            role = "reserved by AWS" if subnet.is_reserved(address) else "free in subnet"
            return AddressInfo(address, role, subnet_id)
        if address in self.service_cidr:
            return AddressInfo(address, "service CIDR (unallocated)")
        if self.vpc.contains(address):
            return AddressInfo(address, "in the VPC, outside every known subnet")
        return AddressInfo(address, "outside the VPC")

    def addresses_taken(self, subnet_id: str) -> int:
        """Subnet addresses the cluster's ENIs hold: primaries, secondaries and 16 per /28 prefix, and the
        addresses of EKS's control-plane ENIs in the subnet (EC2 counts them too).

        >>> from ekslib.cluster import build_cluster
        >>> c = build_cluster([("t3.medium", 1)], workloads=[])
        >>> c.addresses_taken(c.nodes[0].subnet_id)   # 2 ENIs x (1 primary + 5 secondary) + 1 control-plane ENI
        13
        """
        self.subnet(subnet_id)
        return sum(1 + len(e.secondary_ips) + IPS_PER_PREFIX * len(e.prefixes)
                   for e in self._ix.enis.values() if e.subnet_id == subnet_id) + sum(
            1 for e in self.control_plane_enis if e.subnet_id == subnet_id)

    def summary(self) -> dict[str, int]:
        """Counts: nodes, ENIs (of the nodes), pods, host-network pods, services, EndpointSlices, control-plane ENIs.

        >>> from ekslib.cluster import build_cluster
        >>> build_cluster([("t3.medium", 2)]).summary()["nodes"]
        2
        """
        return {
            "subnets": len(self.subnets), "nodes": len(self.nodes), "enis": len(self._ix.enis),
            "pods": len(self.pods), "host-network pods": sum(p.host_network for p in self.pods),
            "services": len(self.services), "endpoint slices": len(self.endpoint_slices),
            "control-plane ENIs": len(self.control_plane_enis),
        }


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """True when ``labels`` has every key/value of a (non-empty) equality ``selector``.

    >>> matches({"app": "web"}, {"app": "web", "pod-template-hash": "x"}), matches({}, {"app": "web"})
    (True, False)
    """
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def select_endpoints(pods: Iterator[Pod] | tuple[Pod, ...] | list[Pod], namespace: str,
                     selector: Mapping[str, str]) -> tuple[str, ...]:
    """Keys of the pods a Service in ``namespace`` with ``selector`` sends to, sorted (a Service selects
    only pods of its own namespace; one without a selector has no pod endpoints, like ``default/kubernetes``)."""
    return tuple(sorted(p.key for p in pods if p.namespace == namespace and matches(selector, p.labels)))


