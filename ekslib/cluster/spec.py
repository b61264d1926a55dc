"""What a synthetic cluster is made of: node groups, workloads (Deployments, DaemonSets) and their Services.

The system workloads are what every EKS cluster runs: ``aws-node`` and ``kube-proxy`` DaemonSets on the host
network and ``coredns`` with 2 replicas (Amazon EKS add-ons' defaults).

>>> Workload("web", 3).selector
{'app': 'web'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: eksctl's default VPC CIDR (eksctl User Guide, "VPC Configuration").
DEFAULT_VPC_CIDR = "192.168.0.0/16"
#: The zones eksctl gives a new VPC, per region ("" for any other): 3 public + 3 private subnets, but only 2 + 2
#: in us-east-1 (eksctl User Guide, "VPC Configuration"); and the VPC sizes eksctl cuts into 8 (its
#: ``SetSubnets``: "VPC CIDR prefix must be between /16 and /24").
EKSCTL_ZONES = {"": 3, "us-east-1": 2}
EKSCTL_VPC_PREFIXES = (16, 24)
DEFAULT_REGION = "us-west-2"
#: Characters Kubernetes uses in generated names (k8s.io/apimachinery ``util/rand``: no vowels, no 0/1/3).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class NodeGroup:
    """``count`` nodes of ``instance_type``; ``az`` pins them to one zone, else they spread over all.

    ``max_pods`` overrides kubelet's max pods (default: :func:`ekslib.capacity.max_pods`).
    """

    instance_type: str
    count: int = 1
    az: str | None = None
    name: str = ""
    max_pods: int | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """The Service a workload asks for: type, port, target port, and for NodePort/LoadBalancer the policy."""

    type: str = "ClusterIP"
    port: int = 80
    target_port: int | str = 8080
    protocol: str = "TCP"
    node_port: int | None = None
    external_traffic_policy: str = "Cluster"
    port_name: str = "http"


@dataclass(frozen=True)
class Workload:
    """A Deployment (``replicas`` pods) or a DaemonSet (one pod per node), optionally with a Service.

    Pods carry ``labels`` (default ``{"app": name}``); the Service selects them by those labels.
    """

    name: str
    replicas: int = 1
    namespace: str = "default"
    kind: str = "Deployment"
    host_network: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    service: ServiceSpec | None = None

    @property
    def selector(self) -> dict[str, str]:
        """The labels the workload's pods carry and its Service selects."""
        return dict(self.labels) or {"app": self.name}


#: What every EKS cluster runs: the VPC CNI (aws-node) and kube-proxy DaemonSets on the host network, and the
#: coredns Deployment with 2 replicas (Amazon EKS add-ons' defaults).
SYSTEM_WORKLOADS: tuple[Workload, ...] = (
    Workload("aws-node", namespace="kube-system", kind="DaemonSet", host_network=True, labels={"k8s-app": "aws-node"}),
    Workload("kube-proxy", namespace="kube-system", kind="DaemonSet", host_network=True,
             labels={"k8s-app": "kube-proxy"}),
    Workload("coredns", 2, namespace="kube-system", labels={"k8s-app": "kube-dns"}),
)
#: The example applications used when ``workloads`` is not given: a LoadBalancer with
#: ``externalTrafficPolicy: Local`` (the study notes' case) and a NodePort.
DEFAULT_WORKLOADS: tuple[Workload, ...] = (
    Workload("web", 3, service=ServiceSpec("LoadBalancer", 80, 8080, external_traffic_policy="Local")),
    Workload("api", 2, service=ServiceSpec("NodePort", 8080, 8080, node_port=30080)),
)


