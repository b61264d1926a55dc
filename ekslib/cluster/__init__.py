"""The cluster model: a VPC, its subnets, nodes, ENIs, pods and Services (with the EndpointSlices kube-proxy reads
and EKS's control-plane ENIs), built or read from a real cluster.

* :mod:`~ekslib.cluster.model`: the dataclasses and their lookups (``Cluster``);
* :mod:`~ekslib.cluster.invariants`: ``problems()`` and ``validate()``;
* :mod:`~ekslib.cluster.spec`, :mod:`~ekslib.cluster.build`: ``build_cluster()`` from node groups and workloads;
* :mod:`~ekslib.cluster.kubectl`: ``from_kubectl()``, ``to_kubectl()``, ``load_sample()``;
* :mod:`~ekslib.cluster.graph`: ``to_networkx()`` and tables over the graph.

>>> build_cluster([("t3.medium", 2)], seed=7).summary()["nodes"]
2
"""

from __future__ import annotations

from ekslib.cluster.build import build_cluster, default_subnets
from ekslib.cluster.graph import (
    EDGE_KINDS,
    NODE_KINDS,
    address_use_per_subnet,
    node_id,
    pods_per_eni,
    pods_sharing_node_address,
    to_networkx,
)
from ekslib.cluster.invariants import problems, validate
from ekslib.cluster.kubectl import from_dump, from_kubectl, load_sample, to_kubectl
from ekslib.cluster.model import (
    AddressInfo,
    Cluster,
    ControlPlaneEni,
    EndpointPort,
    EndpointSlice,
    Eni,
    Node,
    Pod,
    Service,
    ServiceEndpoint,
    ServicePort,
    SliceEndpoint,
    Subnet,
    Vpc,
    check_veth_prefix,
    default_service_cidr,
    matches,
    select_endpoints,
    veth_name,
)
from ekslib.cluster.spec import (
    DEFAULT_REGION,
    DEFAULT_VPC_CIDR,
    DEFAULT_WORKLOADS,
    SYSTEM_WORKLOADS,
    NodeGroup,
    ServiceSpec,
    Workload,
)

__all__ = [
    "AddressInfo",
    "Cluster",
    "ControlPlaneEni",
    "EndpointPort",
    "EndpointSlice",
    "Eni",
    "Node",
    "Pod",
    "Service",
    "ServiceEndpoint",
    "ServicePort",
    "SliceEndpoint",
    "Subnet",
    "Vpc",
    "check_veth_prefix",
    "default_service_cidr",
    "matches",
    "select_endpoints",
    "veth_name",
    "problems",
    "validate",
    "DEFAULT_REGION",
    "DEFAULT_VPC_CIDR",
    "DEFAULT_WORKLOADS",
    "NodeGroup",
    "SYSTEM_WORKLOADS",
    "ServiceSpec",
    "Workload",
    "build_cluster",
    "default_subnets",
    "from_dump",
    "from_kubectl",
    "load_sample",
    "to_kubectl",
    "EDGE_KINDS",
    "NODE_KINDS",
    "address_use_per_subnet",
    "node_id",
    "pods_per_eni",
    "pods_sharing_node_address",
    "to_networkx",
]
