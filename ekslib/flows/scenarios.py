"""The course's packet flows, by name: each picks a source and a destination in a small cluster and calls
:func:`ekslib.flows.trace`; what happens is up to the rules (no scenario knows a chain or a rule).

The default cluster is the study notes' picture (and the ``two-node`` sample): two t3.medium workers built by
:func:`ekslib.cluster.build_cluster`, one running enough pods that some take addresses of its second ENI, with
eksctl's subnets (its public ones when ``subnet="public"``) and a NAT gateway in a public subnet.

>>> flow = scenario("pod-to-pod-cross-node")
>>> flow.delivered, flow.seen_source.ip == flow.reply.seen_destination.ip
(True, True)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pandas as pd

from ekslib.cluster.build import build_cluster
from ekslib.cluster.model import Cluster, Pod
from ekslib.cluster.spec import NodeGroup, ServiceSpec, Workload
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.errors import EkslibError, suggest
from ekslib.flows.engine import trace
from ekslib.flows.flow import Flow

#: The workloads of the scenario cluster (the samples' own): a LoadBalancer with externalTrafficPolicy Local, a
#: NodePort and a ClusterIP service; 11 pods on two t3.medium nodes put some on a second ENI.
STUDY_WORKLOADS = (
    Workload("web", 3, service=ServiceSpec("LoadBalancer", 80, 8080, external_traffic_policy="Local")),
    Workload("api", 2, service=ServiceSpec("NodePort", 8080, 8080, node_port=30080)),
    Workload("backend", 4, service=ServiceSpec("ClusterIP", 80, 8080)),
)


@functools.lru_cache(maxsize=8)
def scenario_cluster(subnet: str = "private") -> Cluster:
    """The scenarios' cluster: nodes in eksctl's private subnets (default) or its public ones."""
    if subnet not in ("private", "public"):
        raise EkslibError(f"subnet={subnet!r}: the nodes sit in 'private' or 'public' subnets")
    return build_cluster([NodeGroup("t3.medium", 2, name="workers")], workloads=STUDY_WORKLOADS, seed=4,
                         name=f"study-{subnet}", private_networking=subnet == "private")


#: The Services scenarios' cluster: two t3.medium and a t3.small, so that the NodePort service ``default/api`` has
#: one pod on a primary ENI, one on the t3.small's secondary ENI, and a node without any (as has ``default/web``).
SERVICE_NODE_GROUPS = (NodeGroup("t3.medium", 2, name="workers"), NodeGroup("t3.small", 1, name="small"))


@functools.lru_cache(maxsize=32)
def service_cluster(subnet: str = "public", *, external_traffic_policy: str = "Cluster",
                    lb_traffic_policy: str = "Local", kind: str = "nlb", target_type: str = "instance",
                    preserve_client_ip: bool | None = None, scheme: str = "internet-facing",
                    protocol: str = "TCP") -> Cluster:
    """The Services scenarios' cluster: ``default/web`` behind a load balancer (``kind`` "nlb" made by the AWS
    Load Balancer Controller, or "clb" by the in-tree provider; the annotations say which, as they do on EKS),
    ``default/api`` a NodePort (30080), ``default/backend`` a ClusterIP."""
    from dataclasses import replace

    for name, value, valid in (("subnet", subnet, ("private", "public")),
                               ("external_traffic_policy", external_traffic_policy, ("Cluster", "Local")),
                               ("lb_traffic_policy", lb_traffic_policy, ("Cluster", "Local")),
                               ("kind", kind, ("nlb", "clb")), ("target_type", target_type, ("instance", "ip")),
                               ("scheme", scheme, ("internet-facing", "internal")),
                               ("protocol", protocol.upper(), ("TCP", "UDP"))):
        if value not in valid:
            raise EkslibError(f"{name}={value!r}: one of {', '.join(valid)}")
    workloads = (
        Workload("web", 2, service=ServiceSpec("LoadBalancer", 80, 8080, protocol.upper(),
                                               external_traffic_policy=lb_traffic_policy)),
        Workload("backend", 6, service=ServiceSpec("ClusterIP", 80, 8080)),
        Workload("api", 2, service=ServiceSpec("NodePort", 8080, 8080, node_port=30080,
                                               external_traffic_policy=external_traffic_policy)),
    )
    cluster = build_cluster(SERVICE_NODE_GROUPS, workloads=workloads, seed=1, name=f"services-{subnet}",
                            private_networking=subnet == "private")
    if kind == "clb":
        notes = {}
    else:
        notes = {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
                 "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": target_type,
                 "service.beta.kubernetes.io/aws-load-balancer-scheme": scheme}
        if preserve_client_ip is not None:
            notes["service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"] = (
                f"preserve_client_ip.enabled={str(preserve_client_ip).lower()}")
    services = tuple(replace(s, annotations=notes) if s.key == "default/web" else s for s in cluster.services)
    return replace(cluster, services=services)


def _vpc_pods(cluster: Cluster) -> list[Pod]:
    return [p for p in cluster.pods if not p.host_network]


def pick_pod(cluster: Cluster, *, node: str | None = None, secondary_eni: bool = False,
             other_than: Pod | None = None, other_node: str | None = None) -> Pod:
    """A pod with a VPC address: on ``node`` (or not on ``other_node``), on the node's primary ENI or on a
    secondary one, other than ``other_than``; the first such pod in the cluster's order."""
    for pod in _vpc_pods(cluster):
        eni = cluster.eni(pod.eni_id)
        if node is not None and pod.node != node:
            continue
        if other_node is not None and pod.node == other_node:
            continue
        if other_than is not None and pod.key == other_than.key:
            continue
        if eni.is_primary == secondary_eni:
            continue
        return pod
    where = f" on node {node}" if node else ""
    raise EkslibError(f"no pod on a {'secondary' if secondary_eni else 'primary'} ENI{where} in cluster "
                      f"{cluster.name!r}: pass source= explicitly")


def _pod_to_pod_same_node(cluster: Cluster, secondary_eni: bool = False, **kw: Any) -> tuple[str, str]:
    src = pick_pod(cluster, secondary_eni=secondary_eni)
    dst = pick_pod(cluster, node=src.node, other_than=src)
    return src.key, dst.key


def _pod_to_pod_cross_node(cluster: Cluster, secondary_eni: bool = False, **kw: Any) -> tuple[str, str]:
    src = pick_pod(cluster, secondary_eni=secondary_eni)
    dst = pick_pod(cluster, other_node=src.node)
    return src.key, dst.key


def _pod_to_internet(cluster: Cluster, secondary_eni: bool = False, destination: str = "internet",
                     **kw: Any) -> tuple[str, str]:
    return pick_pod(cluster, secondary_eni=secondary_eni).key, destination


def _host_network_egress(cluster: Cluster, destination: str = "internet", **kw: Any) -> tuple[str, str]:
    host = next(p for p in cluster.pods if p.host_network)
    return host.key, destination


def _pod_to_service(cluster: Cluster, hairpin: bool = False, host_network: bool = False,
                    destination: str | None = None, **kw: Any) -> tuple[str, str]:
    svc = cluster.service("default", "backend")
    target = destination or f"{svc.cluster_ip}:{svc.ports[0].port}"
    if host_network:
        return next(p for p in cluster.pods if p.host_network).key, target
    if hairpin:
        return next(p for p in _vpc_pods(cluster) if p.name.startswith("backend-")).key, target
    return next(p for p in _vpc_pods(cluster) if not p.name.startswith("backend-")).key, target


def _api_pods(cluster: Cluster) -> list[Pod]:
    return [p for p in _vpc_pods(cluster) if p.name.startswith("api-")]


def _nodeport(cluster: Cluster, local_endpoint: bool = True, secondary_eni: bool = False,
              subnet: str = "public", **kw: Any) -> tuple[str, str]:
    from ekslib.flows.vpc import VpcFabric

    pods = [p for p in _api_pods(cluster) if cluster.eni(p.eni_id).is_primary != secondary_eni]
    if not pods:
        raise EkslibError("no api pod on a " + ("secondary" if secondary_eni else "primary") + " ENI")
    with_api = {p.node for p in _api_pods(cluster)}
    node = pods[0].node if local_endpoint else next(n.name for n in cluster.nodes if n.name not in with_api)
    address = cluster.node(node).address
    public = VpcFabric.of(cluster).public_ips.get(address)
    client = "client" if public is not None else "peered-vpc"
    return client, f"{public or address}:30080"


def _loadbalancer(cluster: Cluster, hairpin: bool = False, **kw: Any) -> tuple[str, str]:
    from ekslib.flows.vpc import VpcFabric

    lb = VpcFabric.of(cluster).load_balancer("default/web")
    if hairpin:
        pod = next(p for p in _vpc_pods(cluster) if p.name.startswith("web-"))
        return pod.key, f"{lb.private_ips[0]}:{lb.port}"
    return "client", f"{lb.public_ip or lb.private_ips[0]}:{lb.port}"


#: name -> (picker of source and destination, options it takes, what it shows)
SCENARIOS: dict[str, tuple[Callable[..., tuple[str, str]], tuple[str, ...], str]] = {
    "pod-to-pod-same-node": (_pod_to_pod_same_node, ("secondary_eni",),
                             "two pods on one node: routed veths, rule 512, no bridge"),
    "pod-to-pod-cross-node": (_pod_to_pod_cross_node, ("secondary_eni",),
                              "pods on two nodes: out of the ENI that holds the pod's address, across the VPC "
                              "unchanged"),
    "pod-to-internet": (_pod_to_internet, ("subnet", "external_snat", "exclude_snat_cidrs", "destination",
                                           "secondary_eni", "connmark"),
                        "SNAT to the node's primary address, then the internet gateway or the NAT gateway"),
    "host-network-egress": (_host_network_egress, ("subnet", "destination", "external_snat"),
                            "a host-network pod (aws-node) already has the node's address"),
    "overlay-pod-to-pod": (_pod_to_pod_cross_node, (),
                           "for contrast, the same pods under flannel's VXLAN overlay: pod addresses from "
                           "10.244.0.0/16 inside UDP between node addresses, 50 bytes more, MTU 8951"),
    "pod-to-service": (_pod_to_service, ("hairpin", "host_network"),
                       "a pod to a ClusterIP: kube-proxy's DNAT in nat PREROUTING (OUTPUT from the host network), "
                       "one endpoint at random; to itself, the hairpin masquerade"),
    "nodeport": (_nodeport, ("subnet", "external_traffic_policy", "local_endpoint", "secondary_eni", "connmark"),
                 "an outside client to <node>:30080: Cluster masquerades the client to the node's address, Local "
                 "keeps it or drops; replies of a secondary-ENI pod need the 0x80 connmark"),
    "loadbalancer": (_loadbalancer, ("subnet", "kind", "target_type", "external_traffic_policy",
                                     "preserve_client_ip", "protocol", "hairpin"),
                     "a load balancer in front: NLB instance targets (two DNATs), IP targets, a CLB proxy, "
                     "health checks for Local, the hairpin"),
}
#: The options a scenario takes when they are not given (beyond each option's own default), and the scenarios that
#: run in the Services cluster (:func:`service_cluster`) rather than the study cluster.
SCENARIO_DEFAULTS: dict[str, dict[str, Any]] = {
    "nodeport": {"subnet": "public", "external_traffic_policy": "Cluster"},
    "loadbalancer": {"subnet": "public", "external_traffic_policy": "Local"},
}
SERVICE_SCENARIOS = ("nodeport", "loadbalancer")
#: What a scenario asks of the engine beyond its source and destination.
TRACE_OPTIONS: dict[str, dict[str, Any]] = {"overlay-pod-to-pod": {"overlay": True}}
#: Options every scenario takes.
COMMON_OPTIONS = ("cluster", "source", "destination", "protocol", "port", "seed", "rules", "endpoint", "target",
                  "layout")


def scenario(name: str, **options: Any) -> Flow:
    """The flow of scenario ``name`` (:data:`SCENARIOS`), with its options; ``cluster`` replaces the default,
    ``source``/``destination`` override what the scenario picks.

    VPC CNI options: ``external_snat`` (``AWS_VPC_K8S_CNI_EXTERNALSNAT``), ``exclude_snat_cidrs``
    (``AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS``), ``connmark=False`` (a node without the 0x80 connmark rules and rule
    1024), ``layout`` ("current" or "legacy" SNAT chains); ``subnet``: "private" (default) or "public" nodes.
    """
    if name not in SCENARIOS:
        hint = suggest(name, list(SCENARIOS), n=3)
        raise EkslibError(f"unknown scenario {name!r}" + (f"; did you mean {', '.join(hint)}?" if hint else "")
                          + f" (scenarios: {', '.join(SCENARIOS)})")
    picker, allowed, _ = SCENARIOS[name]
    unknown = set(options) - set(allowed) - set(COMMON_OPTIONS)
    if unknown:
        raise EkslibError(f"scenario {name!r} takes no option {', '.join(sorted(unknown))}; its options: "
                          f"{', '.join(allowed + COMMON_OPTIONS)}")
    cluster, cni = scenario_setup(name, **options)
    for key in ("cluster", "subnet", "external_snat", "exclude_snat_cidrs", "connmark", "layout",
                "external_traffic_policy", "kind", "target_type", "preserve_client_ip"):
        options.pop(key, None)
    trace_options = dict(TRACE_OPTIONS.get(name, {}))
    trace_options.update(_targets(name, cluster, options))
    source, destination = options.pop("source", None), options.pop("destination", None)
    picked_source, picked_destination = picker(cluster, **{k: v for k, v in options.items() if k in allowed},
                                               **({"destination": destination} if destination else {}))
    call = {k: v for k, v in options.items() if k in ("protocol", "port", "seed", "rules", "endpoint", "target")}
    call = {**trace_options, **call}
    return trace(cluster, source or picked_source, destination or picked_destination, cni=cni, scenario=name, **call)


def scenario_setup(name: str, **options: Any) -> tuple[Cluster, VpcCniSettings]:
    """The cluster and the VPC CNI settings scenario ``name`` runs on with these options (what the real-kernel
    lab builds to play it).

    >>> cluster, cni = scenario_setup("nodeport", connmark=False)
    >>> cluster.name, cni.policy_rule_1024
    ('services-public', False)
    """
    options = dict(options)
    cluster = options.pop("cluster", None) or _default_cluster(name, options)
    cni = VpcCniSettings(external_snat=options.pop("external_snat", False),
                         exclude_snat_cidrs=tuple(options.pop("exclude_snat_cidrs", ())),
                         connmark=options.pop("connmark", True), layout=options.pop("layout", "current"))
    return cluster, cni


def _default_cluster(name: str, options: dict[str, Any]) -> Cluster:
    """The cluster a scenario runs on when none is given: the study cluster, or the Services one."""
    defaults = SCENARIO_DEFAULTS.get(name, {})
    if name == "nodeport":
        return service_cluster(options.get("subnet", defaults["subnet"]),
                               external_traffic_policy=options.pop("external_traffic_policy",
                                                                   defaults["external_traffic_policy"]))
    if name == "loadbalancer":
        hairpin = options.get("hairpin", False)
        return service_cluster(options.get("subnet", defaults["subnet"]),
                               lb_traffic_policy=options.pop("external_traffic_policy",
                                                             defaults["external_traffic_policy"]),
                               kind=options.pop("kind", "nlb"), target_type=options.pop("target_type", "instance"),
                               preserve_client_ip=options.pop("preserve_client_ip", None),
                               scheme="internal" if hairpin else "internet-facing",
                               protocol=options.get("protocol", "tcp").upper())
    return scenario_cluster(options.get("subnet", "private"))


def _targets(name: str, cluster: Cluster, options: dict[str, Any]) -> dict[str, Any]:
    """Where a scenario wants the random choices to land (kube-proxy's endpoint, the load balancer's target)."""
    if name == "pod-to-service" and options.get("hairpin"):
        pod = next(p for p in _vpc_pods(cluster) if p.name.startswith("backend-"))
        return {"endpoint": str(pod.address)}
    if name == "nodeport":
        pods = [p for p in _api_pods(cluster)
                if cluster.eni(p.eni_id).is_primary != options.get("secondary_eni", False)]
        return {"endpoint": str(pods[0].address)} if pods else {}
    if name == "loadbalancer" and options.get("hairpin"):
        pod = next(p for p in _vpc_pods(cluster) if p.name.startswith("web-"))
        return {"endpoint": str(pod.address), "target": pod.node if options.get("target_type", "instance")
                == "instance" else str(pod.address)}
    return {}


def who_sees(flows: dict[str, Flow], cluster: Cluster | None = None) -> pd.DataFrame:
    """One row per labelled flow: the source the receiver saw, whose address that is (an outside host, a load
    balancer, a node's ENI), how many address rewrites the request met, and whether the client accepted the reply.

    >>> table = who_sees({"NLB, Local": scenario("loadbalancer")})
    >>> table.loc[0, "whose address"]
    'client'
    """
    from ekslib.flows.vpc import VpcFabric

    fabric = VpcFabric.of(cluster or service_cluster())
    rows = []
    for label, flow in flows.items():
        seen = flow.seen_source
        whose = "" if seen is None else (fabric.host_name(seen.ip) or fabric.holder(seen.ip)[0] or "unknown")
        rows.append({"case": label, "the receiver sees": str(seen) if seen else "(dropped)", "whose address": whose,
                     "rewrites on the way in": sum(bool(h.rewrite and {"src", "dst"} & set(h.changed))
                                                   for h in flow.hops),
                     "reply accepted": flow.reply_accepted})
    return pd.DataFrame(rows, columns=["case", "the receiver sees", "whose address", "rewrites on the way in",
                                       "reply accepted"])
