"""The cluster model and build_cluster against the reference facts (the VPC CNI source and docs, EKS User Guide)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ekslib.capacity import max_pods
from ekslib.cluster.build import build_cluster, default_subnets
from ekslib.cluster.invariants import problems, validate
from ekslib.cluster.model import (
    Cluster,
    EndpointPort,
    Service,
    Subnet,
    check_veth_prefix,
    default_service_cidr,
    select_endpoints,
    veth_name,
)
from ekslib.cluster.spec import NodeGroup, ServiceSpec, Workload
from ekslib.errors import EkslibError, UnknownInstanceTypeError
from ekslib.ipam.steady import steady_state
from ekslib.sources.instance_types import instance_type_info


def _sha1_name(namespace: str, name: str, prefix: str = "eni") -> str:
    return prefix + hashlib.sha1(f"{namespace}.{name}".encode()).hexdigest()[:11]


# ----------------------------------------------------------------------------------------------- veth names


@pytest.mark.parametrize("namespace, name, expected", [
    # the VPC CNI's own unit tests: pkg/networkutils/names_test.go
    ("kube-system", "coredns-57ff979f67-qqbdh", "enib5faff8a083"),
    ("kube-system", "coredns-57ff979f67-8ns9b", "eni9571956a6cc"),
    ("default", "sample-pod", "enicc21c2d7785"),
])
def test_veth_name_matches_the_vpc_cni(namespace, name, expected):
    assert veth_name(namespace, name) == expected
    assert veth_name(namespace, name, "vlan"[:3] + "x") == "vlax" + expected[3:]


def test_veth_name_of_a_built_pod_computed_by_hand():
    cluster = build_cluster([("t3.medium", 2)], seed=3)
    coredns = next(p for p in cluster.pods if p.name.startswith("coredns-"))
    assert coredns.host_veth == "eni" + hashlib.sha1(f"kube-system.{coredns.name}".encode()).hexdigest()[:11]
    assert len(coredns.host_veth) == 14
    custom = build_cluster([("t3.medium", 1)], seed=3, veth_prefix="cali")
    assert all(p.host_veth.startswith("cali") and len(p.host_veth) == 15 for p in custom.pods if not p.host_network)


@pytest.mark.parametrize("prefix, message", [("", "1 to 4"), ("abcde", "1 to 4"), ("eth", "reserved"),
                                             ("vlan", "reserved"), ("lo", "reserved")])
def test_bad_veth_prefix(prefix, message):
    with pytest.raises(EkslibError, match=message):
        check_veth_prefix(prefix)


def test_service_cidr_follows_eks():
    assert default_service_cidr(["192.168.0.0/16"]) == IPv4Network("10.100.0.0/16")
    assert default_service_cidr(["10.0.0.0/16"]) == IPv4Network("172.20.0.0/16")
    ten = build_cluster([("t3.medium", 1)], vpc_cidr="10.0.0.0/16")
    assert ten.service("kube-system", "kube-dns").cluster_ip == IPv4Address("172.20.0.10")


# ----------------------------------------------------------------------------------------------- the seed picture


def test_the_seed_picture_two_t3_medium_nodes():
    cluster = build_cluster([("t3.medium", 2)], seed=7)
    assert [n.max_pods for n in cluster.nodes] == [17, 17]  # 3 x (6 - 1) + 2
    for node in cluster.nodes:
        # primary and secondary ENI, as the study notes draw (warm pool: WARM_ENI_TARGET=1 keeps a spare ENI)
        assert [e.device_number for e in node.enis] == [0, 1]
        assert node.enis[0].primary_ip == node.address
        assert all(len(e.secondary_ips) == 5 for e in node.enis)  # 6 IPv4 per ENI, 1 is the ENI's own
        host = cluster.host_network_pods(node.name)
        assert sorted(p.owner_name for p in host) == ["aws-node", "kube-proxy"]
        assert all(p.address == node.address and p.host_veth is None for p in host)
    coredns = [p for p in cluster.pods if p.owner_name.startswith("coredns-")]
    assert len(coredns) == 2 and len({p.node for p in coredns}) == 2  # spread over the two nodes
    assert all(not p.host_network and p.host_veth and p.address != cluster.node(p.node).address for p in coredns)
    dns = cluster.service("kube-system/kube-dns")
    assert dns.cluster_ip == IPv4Address("10.100.0.10") and dns.endpoints == tuple(sorted(p.key for p in coredns))
    assert cluster.service("default/kubernetes").cluster_ip == IPv4Address("10.100.0.1")


def test_default_layout_is_eksctls():
    subnets = default_subnets()
    assert [str(s.cidr) for s in subnets] == [f"192.168.{i * 32}.0/19" for i in range(6)]
    assert [s.public for s in subnets] == [True] * 3 + [False] * 3
    cluster = build_cluster([("t3.medium", 3)])
    assert {cluster.subnet(n.subnet_id).public for n in cluster.nodes} == {False}
    assert sorted(n.az for n in cluster.nodes) == ["us-west-2a", "us-west-2b", "us-west-2c"]
    # AWS reserves .0-.3: the first address handed out is .4
    assert {str(n.address).rsplit(".", 1)[1] for n in cluster.nodes} == {"4"}
    assert all(len(s.id) == len("subnet-") + 17 for s in cluster.subnets)


def test_eksctl_layout_in_us_east_1_and_public_nodes():
    # eksctl User Guide "VPC Configuration": "In us-east-1 eksctl only creates 2 public and 2 private subnets";
    # eksctl's SetSubnets: zone i gets block i (public) and block i + zones (private) of the VPC cut into 8
    east = default_subnets(region="us-east-1")
    assert [(s.az, str(s.cidr), s.public) for s in east] == [
        ("us-east-1a", "192.168.0.0/19", True), ("us-east-1b", "192.168.32.0/19", True),
        ("us-east-1a", "192.168.64.0/19", False), ("us-east-1b", "192.168.96.0/19", False)]
    assert len(default_subnets(region="eu-west-1")) == 6 and len(default_subnets(zones=4)) == 8
    cluster = build_cluster([("t3.medium", 3)], region="us-east-1")
    assert sorted({n.az for n in cluster.nodes}) == ["us-east-1a", "us-east-1b"]
    assert all(n.name.endswith(".ec2.internal") for n in cluster.nodes)
    # "The initial nodegroup is created in public subnets" unless privateNetworking: private_networking=False
    public = build_cluster([("t3.medium", 2)], private_networking=False)
    assert {public.subnet(n.subnet_id).public for n in public.nodes} == {True}
    assert sorted(str(n.address) for n in public.nodes) == ["192.168.0.4", "192.168.32.4"]
    with pytest.raises(EkslibError, match="no public subnet"):
        build_cluster([("t3.medium", 1)], subnets=[("us-west-2a", "10.0.0.0/24")], vpc_cidr="10.0.0.0/16",
                      private_networking=False)
    with pytest.raises(EkslibError, match="private_networking must be True or False"):
        build_cluster([("t3.medium", 1)], private_networking="no")
    with pytest.raises(EkslibError, match=r"vpc_cidr 10.0.0.0/25 is /25: eksctl cuts a VPC of /16 to /24"):
        default_subnets("10.0.0.0/25")
    with pytest.raises(EkslibError, match="zones=5"):
        default_subnets(zones=5)


def test_minimum_ip_target_alone_is_named_not_a_crash():
    # MINIMUM_IP_TARGET=3 without WARM_IP_TARGET: the pool stops at 3 addresses, the 7 pods do not all fit
    with pytest.raises(EkslibError, match=r"7 pods need VPC addresses but ipamd's pool stops at 3: "
                                          r"MINIMUM_IP_TARGET=3 without WARM_IP_TARGET"):
        build_cluster([("t3.medium", 1)], minimum_ip_target=3)
    ok = build_cluster([("t3.medium", 1)], minimum_ip_target=3, warm_ip_target=1)
    assert [len(e.secondary_ips) for e in ok.nodes[0].enis] == [5, 3]


def test_default_service_cidr_follows_al2_bootstrap():
    # AL2 bootstrap.sh: DNS 172.20.0.10 when a VPC CIDR block starts with "10.", else 10.100.0.10
    assert default_service_cidr(["192.168.0.0/16", "10.1.0.0/16"]) == IPv4Network("172.20.0.0/16")
    assert default_service_cidr(["172.31.0.0/16"]) == IPv4Network("10.100.0.0/16")
    assert build_cluster([("t3.medium", 1)], vpc_cidr="10.0.0.0/16").service("kube-system/kube-dns").cluster_ip == \
        IPv4Address("172.20.0.10")
    with pytest.raises(EkslibError, match="VPC CIDR '10.0.0.0/33' is not an IPv4 CIDR"):
        default_service_cidr(["10.0.0.0/33"])


def test_warm_pool_follows_the_published_tables():
    # t3.small, 3 usable IPs per ENI: 5 pods -> 3 ENIs of 3 (docs/eni-and-ip-target.md)
    cluster = build_cluster([("t3.small", 1)], workloads=[("app", 3)])  # + 2 coredns = 5 pods with addresses
    assert [len(e.secondary_ips) for e in cluster.nodes[0].enis] == [3, 3, 3]
    # prefix mode, t3.small, 58 pods -> 2 ENIs with 3 and 2 prefixes (docs/prefix-and-ip-target.md)
    cluster = build_cluster([("t3.small", 1)], prefix_delegation=True, workloads=[("app", 56)])
    assert [len(e.prefixes) for e in cluster.nodes[0].enis] == [3, 2]
    assert all(p.prefixlen == 28 and int(p.network_address) % 16 == 0 for e in cluster.nodes[0].enis
               for p in e.prefixes)
    assert cluster.nodes[0].max_pods == 110  # min(3 x 3 x 16 + 2, 110)
    # the same answer as the IPAM model for the node's pod count
    assert tuple(len(e.prefixes) for e in cluster.nodes[0].enis) == steady_state(
        "t3.small", 58, prefix_delegation=True, max_pods=110).per_eni


def test_ipamd_settings_pass_through():
    # WARM_IP_TARGET=2, MINIMUM_IP_TARGET=5, 5 pods -> 3,3,1 (docs/eni-and-ip-target.md)
    cluster = build_cluster([("t3.small", 1)], warm_ip_target=2, minimum_ip_target=5, workloads=[("app", 3)])
    assert [len(e.secondary_ips) for e in cluster.nodes[0].enis] == [3, 3, 1]
    with pytest.raises(EkslibError, match="node group ng-t3-small .*WARM_PREFIX_TARGET = 0"):
        build_cluster([("t3.small", 1)], prefix_delegation=True, warm_prefix_target=0)


def test_pods_fill_the_primary_eni_first():
    cluster = build_cluster([("t3.medium", 1)], workloads=[("web", 6)])  # 8 pods with addresses
    node = cluster.nodes[0]
    per_eni = [len(cluster.pods_on_eni(e.id)) for e in node.enis]
    assert per_eni == [5, 3, 0]
    first = cluster.pods_on_eni(node.enis[0].id)
    assert [p.address for p in first] == list(node.enis[0].secondary_ips)


def test_prefix_mode_fills_the_first_prefix_first():
    cluster = build_cluster([("m5.large", 1)], prefix_delegation=True, workloads=[("web", 18)])
    eni = cluster.nodes[0].enis[0]
    addresses = sorted((p.address for p in cluster.pods_on_eni(eni.id)), key=int)
    assert addresses == list(eni.prefixes[0]) + list(eni.prefixes[1])[:4]


def test_services_types_and_ports():
    cluster = build_cluster([("m5.large", 3)], seed=2)
    web, api = cluster.service("default/web"), cluster.service("default/api")
    assert web.type == "LoadBalancer" and web.external_traffic_policy == "Local"
    assert web.health_check_node_port is not None and 30000 <= web.health_check_node_port <= 32767
    assert 30000 <= web.ports[0].node_port <= 32767 and web.load_balancer.endswith(".elb.us-west-2.amazonaws.com")
    assert api.type == "NodePort" and api.ports[0].node_port == 30080 and api.external_traffic_policy == "Cluster"
    assert len(web.endpoints) == 3 and all(cluster.pod(k).labels["app"] == "web" for k in web.endpoints)
    ips = [s.cluster_ip for s in cluster.services]
    assert len(set(ips)) == len(ips) and all(ip in cluster.service_cidr for ip in ips)


def test_endpoints_only_in_the_services_namespace():
    cluster = build_cluster([("m5.large", 2)], workloads=[
        Workload("web", 2, service=ServiceSpec()), Workload("web", 2, namespace="staging", service=ServiceSpec())])
    assert all(k.startswith("staging/") for k in cluster.service("staging/web").endpoints)
    assert len(cluster.service("default/web").endpoints) == 2


def test_a_service_selects_only_pods_with_all_its_labels():
    """Two workloads share their first label: each Service still sends only to pods that carry all of its own."""
    cluster = build_cluster([("m5.large", 2)], workloads=[
        Workload("web", 2, labels={"tier": "front", "app": "web"}, service=ServiceSpec()),
        Workload("shop", 3, labels={"tier": "front", "app": "shop"}, service=ServiceSpec()),
        Workload("shop", 1, namespace="staging", labels={"tier": "front", "app": "shop"}, service=ServiceSpec())])
    for key, count in [("default/web", 2), ("default/shop", 3), ("staging/shop", 1)]:
        service = cluster.service(key)
        assert len(service.endpoints) == count
        assert service.endpoints == select_endpoints(cluster.pods, service.namespace, service.selector)


def test_daemonsets_run_on_every_node_and_replicas_spread():
    cluster = build_cluster([NodeGroup("m5.large", 6)], workloads=[
        Workload("agent", kind="DaemonSet"), Workload("web", 12)], seed=5)
    per_node = Counter(p.node for p in cluster.pods if p.owner_name == "agent")
    assert sorted(per_node.values()) == [1] * 6
    web = Counter(p.node for p in cluster.pods if p.labels.get("app") == "web")
    assert sorted(web.values()) == [2] * 6
    zones = Counter(cluster.node(p.node).az for p in cluster.pods if p.labels.get("app") == "web")
    assert sorted(zones.values()) == [4, 4, 4]


def test_same_seed_same_cluster_other_seed_other_names():
    groups = [("t3.medium", 2), ("m5.large", 1)]
    assert build_cluster(groups, seed=9) == build_cluster(groups, seed=9)
    a, b = build_cluster(groups, seed=9), build_cluster(groups, seed=10)
    assert [p.name for p in a.pods] != [p.name for p in b.pods]


def test_node_groups_and_workloads_accept_tuples_dicts_and_dataclasses():
    a = build_cluster([("t3.medium", 2, "us-west-2b")], workloads=[("web", 2)])
    b = build_cluster([{"instance_type": "t3.medium", "count": 2, "az": "us-west-2b"}],
                      workloads=[{"name": "web", "replicas": 2}])
    c = build_cluster([NodeGroup("t3.medium", 2, "us-west-2b")], workloads=[Workload("web", 2)])
    assert a == b == c and {n.az for n in a.nodes} == {"us-west-2b"}
    assert build_cluster("m5.large", workloads=[]).summary()["nodes"] == 1


def test_custom_subnets_and_max_pods_override():
    cluster = build_cluster([NodeGroup("m5.4xlarge", 1, max_pods=110)], vpc_cidr="10.0.0.0/16",
                            subnets=[("us-east-1a", "10.0.0.0/20"), ("us-east-1a", "10.0.16.0/24", True)],
                            workloads=[], region="us-east-1")
    node = cluster.nodes[0]
    assert node.max_pods == 110 and node.name.endswith(".ec2.internal")
    assert cluster.subnet(node.subnet_id).cidr == IPv4Network("10.0.0.0/20")


# ----------------------------------------------------------------------------------------------- what does not fit


def test_more_pods_than_max_pods_says_so():
    with pytest.raises(EkslibError) as info:
        build_cluster([("t3.medium", 1)], workloads=[("web", 20)])
    text = str(info.value)
    assert "workload default/web" in text and "replica 14 of 20" in text and "1 x t3.medium at 17" in text


def test_subnet_out_of_addresses_says_so():
    with pytest.raises(EkslibError) as info:
        build_cluster([("t3.medium", 1)], vpc_cidr="10.0.0.0/24", subnets=[("us-west-2a", "10.0.0.0/28")],
                      workloads=[])
    text = str(info.value)
    assert "10.0.0.0/28" in text and "out of addresses" in text and "11 usable" in text
    assert "InsufficientFreeAddressesInSubnet" in text


def test_fragmented_subnet_refuses_prefixes():
    with pytest.raises(EkslibError, match="InsufficientCidrBlocks"):
        build_cluster([("m5.large", 4)], prefix_delegation=True, vpc_cidr="10.0.0.0/24",
                      subnets=[("us-west-2a", "10.0.0.0/26")], workloads=[("web", 40)])


def test_max_pods_above_the_enis_capacity_says_containercreating():
    with pytest.raises(EkslibError, match="ContainerCreating") as info:
        build_cluster([NodeGroup("t3.medium", 1, max_pods=40)], workloads=[("web", 30)])
    assert "32 pods need VPC addresses" in str(info.value) and "at most 15" in str(info.value)


def test_daemonset_that_does_not_fit():
    with pytest.raises(EkslibError, match="DaemonSet pod does not fit"):
        build_cluster([NodeGroup("t3.medium", 1, max_pods=2)], workloads=[Workload("agent", kind="DaemonSet")])


@pytest.mark.parametrize("groups, kwargs, message", [
    ([("t3.mediun", 1)], {}, "t3.medium"),
    ([("t3.medium", -1)], {}, r"node group #1 \(t3.medium\): count must be a whole number >= 0, not -1"),
    ([("t3.medium", 0)], {}, "0 nodes"),
    ([], {}, "empty"),
    ([("t3.medium", 1, "eu-west-1a")], {}, "us-west-2a, us-west-2b, us-west-2c"),
    ([("t3.medium", 1)], {"workloads": [Workload("x", kind="StatefulSet")]}, "kind 'StatefulSet'"),
    ([("t3.medium", 1)], {"workloads": [("x", -2)]},
     "workload default/x: replicas must be a whole number >= 0, not -2"),
    ([("t3.medium", 1)], {"workloads": [("coredns", 1, "kube-system")]}, "defined twice"),
    ([("t3.medium", 1)], {"workloads": [Workload("x", service=ServiceSpec(node_port=80))]}, "NodePort range"),
    ([("t3.medium", 1)], {"vpc_cidr": "10.0.0.0/33"}, "not an IPv4 CIDR"),
    ([("t3.medium", 1)], {"subnets": [("us-west-2a", "10.0.0.0/24", True)], "vpc_cidr": "10.0.0.0/16"},
     "no private subnet"),
])
def test_bad_input_names_the_value(groups, kwargs, message):
    with pytest.raises(EkslibError, match=message):
        build_cluster(groups, **kwargs)


def test_unknown_instance_type_suggests():
    with pytest.raises(UnknownInstanceTypeError, match="m5.large"):
        build_cluster([("m5.lage", 1)])


# ----------------------------------------------------------------------------------------------- lookups


def test_lookups():
    cluster = build_cluster([("t3.medium", 2)], workloads=[("web", 10)], seed=1)
    pod = next(p for p in cluster.pods if not p.host_network and cluster.eni(p.eni_id).device_number == 1)
    assert cluster.pod(pod.key) is cluster.pod(pod.namespace, pod.name) is pod
    assert cluster.eni_of_address(pod.address).id == pod.eni_id
    assert cluster.node_of_address(pod.address).name == pod.node
    assert cluster.pods_at_address(pod.address) == (pod,)
    assert pod in cluster.pods_on_eni(pod.eni_id) and pod in cluster.pods_on_node(pod.node)
    assert pod.host_veth in cluster.host_veths(pod.eni_id)
    node = cluster.node(pod.node)
    assert len(cluster.pods_at_address(node.address)) == 2  # aws-node and kube-proxy share it
    assert cluster.eni_of_address("8.8.8.8") is None and cluster.node_of_address("8.8.8.8") is None
    with pytest.raises(EkslibError, match="Did you mean"):
        cluster.pod(pod.key[:-1])
    with pytest.raises(EkslibError, match="no node"):
        cluster.node("ip-1-2-3-4")


def test_address_info_roles():
    cluster = build_cluster([("t3.medium", 1)], workloads=[])
    node = cluster.nodes[0]
    subnet = cluster.subnet(node.subnet_id)
    eni0, eni1 = node.enis
    used = {p.address for p in cluster.pods}
    warm = next(a for a in eni0.secondary_ips if a not in used)
    roles = {
        node.address: "node address", eni1.primary_ip: "ENI primary address",
        cluster.pods_on_eni(eni0.id)[0].address: "pod address", warm: "warm (held by ipamd, unassigned)",
        subnet.cidr.network_address + 2: "reserved by AWS", subnet.cidr.broadcast_address - 1: "free in subnet",
        IPv4Address("10.100.0.10"): "service ClusterIP", IPv4Address("10.100.9.9"): "service CIDR (unallocated)",
        IPv4Address("192.168.250.1"): "in the VPC, outside every known subnet",
        IPv4Address("8.8.8.8"): "outside the VPC",
        cluster.control_plane_enis[0].address: "EKS control plane ENI",
    }
    for address, role in roles.items():
        assert cluster.address_info(address).role == role, address
    assert cluster.address_info(node.address).pods == tuple(p.key for p in cluster.host_network_pods())


# ----------------------------------------------------------------------------------------------- validate


def _broken(cluster: Cluster, **changes) -> list[str]:
    return problems(dataclasses.replace(cluster, **changes))


def test_validate_names_object_and_field():
    cluster = build_cluster([("t3.medium", 2)], seed=1)
    assert problems(cluster) == [] and validate(cluster) is cluster
    pods = list(cluster.pods)
    vpc_pods = [i for i, p in enumerate(pods) if not p.host_network]
    a, b = vpc_pods[0], vpc_pods[1]

    twice = pods.copy()
    twice[b] = dataclasses.replace(pods[b], address=pods[a].address)
    expected = f"pod {pods[b].key}: address {pods[a].address} is used twice"
    assert any(expected in m for m in _broken(cluster, pods=tuple(twice)))

    outside = pods.copy()
    outside[a] = dataclasses.replace(pods[a], address=IPv4Address("192.168.250.9"))
    found = _broken(cluster, pods=tuple(outside))
    assert any("outside its ENI's subnet" in m and pods[a].key in m for m in found)

    host = next(i for i, p in enumerate(pods) if p.host_network)
    moved = pods.copy()
    moved[host] = dataclasses.replace(pods[host], address=pods[a].address)
    assert any(
        f"pod {pods[host].key}: address" in m and "host-network" in m for m in _broken(cluster, pods=tuple(moved))
    )

    renamed = pods.copy()
    renamed[a] = dataclasses.replace(pods[a], host_veth="eth9")
    assert any("host_veth 'eth9'" in m for m in _broken(cluster, pods=tuple(renamed)))

    node = cluster.nodes[0]
    eni0 = node.enis[0]
    reserved_ip = cluster.subnet(eni0.subnet_id).cidr.network_address + 3
    bad_eni = dataclasses.replace(eni0, secondary_ips=(reserved_ip,) + eni0.secondary_ips[1:])
    bad_node = dataclasses.replace(node, enis=(bad_eni,) + node.enis[1:])
    found = _broken(cluster, nodes=(bad_node,) + cluster.nodes[1:])
    assert any(
        f"ENI {eni0.id}" in m and f"secondary_ips {reserved_ip} is one of the 5 addresses AWS reserves" in m
        for m in found
    )

    small = dataclasses.replace(node, max_pods=3)
    assert any("exceed max_pods 3" in m for m in _broken(cluster, nodes=(small,) + cluster.nodes[1:]))

    svc = Service("default", "odd", "ClusterIP", IPv4Address("10.200.0.1"), endpoints=("default/ghost",))
    found = _broken(cluster, services=cluster.services + (svc,))
    assert any("service default/odd: cluster_ip 10.200.0.1 is outside the service CIDR" in m for m in found)
    assert any("endpoints 'default/ghost'" in m for m in found)

    overlap = Subnet("subnet-x", "us-west-2a", IPv4Network("192.168.96.0/24"))
    assert any("overlaps" in m for m in _broken(cluster, subnets=cluster.subnets + (overlap,)))

    with pytest.raises(EkslibError, match="breaks 1 invariant"):
        validate(dataclasses.replace(cluster, pods=tuple(renamed)))


# ----------------------------------------------------------------------------------------------- properties

TYPES = ["t3.small", "t3.medium", "t3.large", "m5.large", "c5.xlarge", "m5.2xlarge", "t2.medium"]


@st.composite
def cluster_inputs(draw):
    groups = draw(st.lists(st.tuples(st.sampled_from(TYPES), st.integers(1, 4)), min_size=1, max_size=3))
    workloads = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["web", "api", "batch", "cache"]), st.one_of(st.integers(0, 60), st.integers(100, 400))
            ),
            max_size=3,
            unique_by=lambda w: w[0],
        )
    )
    return groups, workloads, draw(st.booleans()), draw(st.integers(0, 2**16))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_inputs())
def test_build_cluster_properties(inputs):
    groups, workloads, prefix, seed = inputs
    room = sum(count * (max_pods(t, prefix_delegation=prefix, ceiling=prefix) - 2) for t, count in groups) - 2
    wanted = sum(r for _, r in workloads)
    event("does not fit" if wanted > room else "fits")
    if wanted > room:
        with pytest.raises(EkslibError, match="does not fit"):
            build_cluster(groups, workloads=workloads, prefix_delegation=prefix, seed=seed)
        return
    cluster = build_cluster(groups, workloads=workloads, prefix_delegation=prefix, seed=seed)
    assert cluster == build_cluster(groups, workloads=workloads, prefix_delegation=prefix, seed=seed)
    enis = {e.id: e for n in cluster.nodes for e in n.enis}
    # no address used twice: ENI primaries, secondary IPs and every address of every prefix
    held = [int(e.primary_ip) for e in enis.values()]
    held += [int(a) for e in enis.values() for a in e.secondary_ips]
    held += [int(a) for e in enis.values() for p in e.prefixes for a in p]
    assert len(held) == len(set(held))
    vpc_pods = [p for p in cluster.pods if not p.host_network]
    assert len({p.address for p in vpc_pods}) == len(vpc_pods)
    for pod in vpc_pods:
        eni = enis[pod.eni_id]
        assert pod.address in cluster.subnet(eni.subnet_id).cidr  # inside its ENI's subnet
        assert pod.address in eni.secondary_ips or any(pod.address in p for p in eni.prefixes)
        assert eni.node == pod.node and pod.host_veth == _sha1_name(pod.namespace, pod.name)
    for pod in cluster.pods:
        if pod.host_network:
            assert pod.address == cluster.node(pod.node).address
    per_node = Counter(p.node for p in cluster.pods)
    for node in cluster.nodes:
        t = instance_type_info(node.instance_type)
        assert node.max_pods == max_pods(t.instance_type, prefix_delegation=prefix, ceiling=prefix)
        assert per_node[node.name] <= node.max_pods
        assert len(node.enis) <= t.enis
        assert all(not cluster.subnet(e.subnet_id).is_reserved(e.primary_ip) for e in node.enis)
        for eni in node.enis:
            if not eni.prefixes:  # secondary-IP mode (also prefix mode on non-Nitro t2)
                assert len(cluster.pods_on_eni(eni.id)) <= len(eni.secondary_ips) <= t.ipv4_per_eni - 1
            else:
                assert len(eni.prefixes) <= t.ipv4_per_eni - 1
    assert sum(r for _, r in workloads) + 2 == sum(1 for p in cluster.pods if p.owner_kind == "ReplicaSet")
    # kube-proxy's view agrees with the selector, and the control plane's two ENIs collide with nothing
    for svc in cluster.services:
        assert svc.endpoints == select_endpoints(cluster.pods, svc.namespace, svc.selector)
        if svc.selector:
            for port in svc.ports:
                seen = cluster.service_endpoints(svc.key, port.name)
                assert sorted(e.pod for e in seen) == sorted(svc.endpoints)
                assert all(e.port == port.target_port and e.ready for e in seen)
    assert [str(e.address) for e in cluster.service_endpoints("default/kubernetes")] == sorted(
        str(e.address) for e in cluster.control_plane_enis)
    control_plane = {int(e.address) for e in cluster.control_plane_enis}
    assert len(control_plane) == 2 and not control_plane & set(held)
    assert problems(cluster) == []


def test_address_lookups_name_a_bad_address():
    cluster = build_cluster([("t3.medium", 1)], workloads=[])
    with pytest.raises(EkslibError, match="address '10.0.0.x' is not an IPv4 address"):
        cluster.address_info("10.0.0.x")
    with pytest.raises(EkslibError, match="address None is not an IPv4 address"):
        cluster.eni_of_address(None)


# ----------------------------------------------------------------------------------------------- endpoints (kube-proxy)

_ALPHABET = set("bcdfghjklmnpqrstvwxz2456789")  # k8s.io/apimachinery util/rand, the generateName suffixes


def test_kube_dns_slice_has_its_three_ports_and_the_coredns_pods():
    cluster = build_cluster([("t3.medium", 2)], seed=7)
    (dns,) = cluster.service_slices("kube-system/kube-dns")
    # the EndpointSlice controller's: generateName "kube-dns-" + 5 random characters, its managed-by label
    assert dns.name.startswith("kube-dns-") and len(dns.name) == len("kube-dns-") + 5
    assert set(dns.name[len("kube-dns-"):]) <= _ALPHABET
    assert dns.managed_by == "endpointslice-controller.k8s.io" and dns.address_type == "IPv4"
    assert [(p.name, p.port, p.protocol) for p in dns.ports] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    coredns = sorted((p for p in cluster.pods if p.owner_name.startswith("coredns-")), key=lambda p: p.key)
    assert [e.target_pod for e in dns.endpoints] == [p.key for p in coredns]
    for endpoint, pod in zip(dns.endpoints, coredns):
        assert endpoint.address == pod.address and endpoint.node_name == pod.node
        assert endpoint.zone == cluster.node(pod.node).az
        assert (endpoint.ready, endpoint.serving, endpoint.terminating) == (True, True, False)
    # kube-proxy's view: one entry per address, sorted by "ip:port" text, for each of the three ports
    for name, port, protocol in (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")):
        seen = cluster.service_endpoints("kube-system/kube-dns", name)
        assert [e.endpoint for e in seen] == sorted(f"{p.address}:{port}" for p in coredns)
        assert {(e.port, e.protocol) for e in seen} == {(port, protocol)}
        assert {e.pod for e in seen} == {p.key for p in coredns}
    # the selector's answer is kept as it was
    assert cluster.service("kube-system/kube-dns").endpoints == tuple(p.key for p in coredns)


def test_default_kubernetes_points_at_the_control_plane_enis_not_at_pods():
    cluster = build_cluster([("t3.medium", 2)], seed=7)
    enis = cluster.control_plane_enis
    # EKS: 2 to 4 ENIs in the cluster's subnets, described "Amazon EKS <cluster>"; here 2, in two zones
    assert len(enis) == 2 and {e.description for e in enis} == {"Amazon EKS demo"}
    subnets = [cluster.subnet(e.subnet_id) for e in enis]
    assert len({s.az for s in subnets}) == 2 and all(not s.public for s in subnets)
    for eni, subnet in zip(enis, subnets):
        assert eni.address in subnet.cidr and cluster.vpc.contains(eni.address) and not subnet.is_reserved(eni.address)
        assert eni.id.startswith("eni-") and len(eni.id) == len("eni-") + 17 and not eni.inferred
        assert cluster.eni_of_address(eni.address) is None and cluster.pods_at_address(eni.address) == ()
        info = cluster.address_info(eni.address)
        assert (info.role, info.eni_id, info.subnet_id, info.node, info.pods) == (
            "EKS control plane ENI", eni.id, subnet.id, "", ())
        assert cluster.control_plane_eni(eni.id) is eni
    (slice_,) = cluster.service_slices("default/kubernetes")
    # written by the API server's endpoint reconciler: name "kubernetes", no managed-by label, port https 443
    assert slice_.name == "kubernetes" and slice_.managed_by == ""
    assert [(p.name, p.port, p.protocol) for p in slice_.ports] == [("https", 443, "TCP")]
    assert [str(e.address) for e in slice_.endpoints] == sorted(str(e.address) for e in enis)
    assert all(e.node_name == "" and e.target_pod == "" and e.zone == "" for e in slice_.endpoints)
    seen = cluster.service_endpoints("default/kubernetes")  # one port: no name needed
    assert [(e.endpoint, e.node_name, e.pod) for e in seen] == sorted((f"{e.address}:443", "", "") for e in enis)
    assert cluster.service("default/kubernetes").endpoints == ()  # no selector: no pod endpoints
    # EC2 counts them in AvailableIpAddressCount
    workers = build_cluster([("t3.medium", 2)], seed=7, check=False)
    assert sum(workers.addresses_taken(s.id) for s in workers.subnets) == sum(
        1 + len(e.secondary_ips) for e in workers.enis) + 2
    assert cluster.summary()["control-plane ENIs"] == 2 and cluster.summary()["endpoint slices"] == 4


def test_service_endpoints_are_sorted_as_text_deduplicated_and_flag_readiness():
    cluster = build_cluster([("m5.large", 1)], workloads=[Workload("web", 12, service=ServiceSpec())], seed=3)
    (web,) = cluster.service_slices("default/web")
    seen = cluster.service_endpoints("default/web", "http")
    texts = [e.endpoint for e in seen]
    # kube-proxy sorts by the "ip:port" string (endpointslicecache.go byEndpoint), not by number
    assert texts == sorted(texts) and texts != sorted(texts, key=lambda t: int(IPv4Address(t.split(":")[0])))
    assert all(e.port == 8080 and e.protocol == "TCP" for e in seen)

    # a second slice of the same service: a duplicate address, a terminating endpoint, a port of another protocol
    first, second = web.endpoints[0], web.endpoints[1]
    extra = dataclasses.replace(
        web, name="web-zzzzz",
        endpoints=(dataclasses.replace(first, ready=False), dataclasses.replace(second, ready=False)),
        ports=web.ports + (EndpointPort("udp-only", 53, "UDP"),))
    draining = dataclasses.replace(web, endpoints=(dataclasses.replace(first, ready=False, terminating=True),)
                                   + web.endpoints[1:])
    changed = dataclasses.replace(cluster, endpoint_slices=tuple(
        draining if s is web else s for s in cluster.endpoint_slices) + (extra,))
    assert problems(changed) == []
    merged = changed.service_endpoints("default/web", "http")
    assert len(merged) == len(seen)  # the duplicates of web-zzzzz are dropped: one entry per ip:port
    by_address = {e.address: e for e in merged}
    # slices are taken by name: the controller's slice (web-...) comes before web-zzzzz, so its copy is kept
    assert by_address[second.address].ready is True
    assert (by_address[first.address].ready, by_address[first.address].serving,
            by_address[first.address].terminating) == (False, True, True)
    with pytest.raises(EkslibError, match=r"service default/web: no port named 'https'; its ports: 'http'"):
        cluster.service_endpoints("default/web", "https")
    with pytest.raises(EkslibError, match=r"kube-system/kube-dns: has 3 ports; pass port_name, one of 'dns'"):
        cluster.service_endpoints("kube-system/kube-dns")
    with pytest.raises(EkslibError, match="no service 'default/wbe'"):
        cluster.service_endpoints("default/wbe", "http")


def test_the_controller_splits_at_100_endpoints_and_leaves_a_placeholder_for_none():
    cluster = build_cluster([("m5.large", 2)], prefix_delegation=True, seed=2,
                            workloads=[Workload("web", 150, service=ServiceSpec()),
                                       Workload("idle", 0, service=ServiceSpec(port=81))])
    web = cluster.service_slices("default/web")
    assert sorted(len(s.endpoints) for s in web) == [50, 100] and len({s.name for s in web}) == 2
    assert len(cluster.service_endpoints("default/web", "http")) == 150
    (idle,) = cluster.service_slices("default/idle")
    assert idle.endpoints == () and idle.ports == ()  # the placeholder the controller writes
    assert cluster.service_endpoints("default/idle", "http") == ()


def test_a_named_target_port_is_refused_with_the_reason():
    with pytest.raises(EkslibError, match=r"workload default/web: service target_port 'http' is a named port: "
                                          r"the model's pods declare no container ports"):
        build_cluster([("t3.medium", 1)], workloads=[Workload("web", 1, service=ServiceSpec(target_port="http"))])
    with pytest.raises(EkslibError, match="target_port 0 is not a port number 1-65535"):
        build_cluster([("t3.medium", 1)], workloads=[Workload("web", 1, service=ServiceSpec(target_port=0))])


def test_control_plane_enis_in_a_one_zone_layout_and_in_a_full_subnet():
    one_zone = build_cluster([NodeGroup("m5.4xlarge", 1, max_pods=110)], vpc_cidr="10.0.0.0/16",
                             subnets=[("us-east-1a", "10.0.0.0/20"), ("us-east-1a", "10.0.16.0/24", True)],
                             workloads=[], region="us-east-1")
    assert len(one_zone.control_plane_enis) == 2 and any("two Availability Zones" in n for n in one_zone.notes)
    # the node subnets come first; the other subnet of the zone takes the second ENI
    assert [one_zone.subnet(e.subnet_id).cidr for e in one_zone.control_plane_enis] == [
        IPv4Network("10.0.0.0/20"), IPv4Network("10.0.16.0/24")]
    # the node's ENIs fill its /28 (11 usable addresses): both control-plane ENIs go to the other zone's subnet
    tight = build_cluster([("t3.medium", 1)], vpc_cidr="10.0.0.0/16", workloads=[], system_pods=False,
                          minimum_ip_target=9, warm_ip_target=1,
                          subnets=[("us-west-2a", "10.0.0.0/28"), ("us-west-2b", "10.0.1.0/24")])
    assert sum(1 + len(e.secondary_ips) for e in tight.enis) == 11
    assert [str(e.address) for e in tight.control_plane_enis] == ["10.0.1.4", "10.0.1.5"]
    assert any("only us-west-2b has one with a free address" in n for n in tight.notes)


def test_validate_names_bad_slices_and_control_plane_enis():
    cluster = build_cluster([("t3.medium", 2)], seed=1)
    (dns,) = cluster.service_slices("kube-system/kube-dns")
    first = dns.endpoints[0]
    other_pod = next(p for p in cluster.pods if not p.host_network and p.key != first.target_pod)
    cases = [
        (dataclasses.replace(dns, service="kube-system/ghost"),
         f"EndpointSlice {dns.key}: service 'kube-system/ghost' (label kubernetes.io/service-name) is not a service"),
        (dataclasses.replace(dns, ports=(EndpointPort("dns", 0, "UDP"),)),
         f"EndpointSlice {dns.key}: ports[0].port 0 is not a port number 1-65535"),
        (dataclasses.replace(dns, ports=(EndpointPort("dns", 53, "HTTP"),)), "ports[0].protocol 'HTTP' is not one of"),
        (dataclasses.replace(dns, ports=dns.ports[:1] * 2), "ports name 'dns' appears 2 times"),
        (dataclasses.replace(dns, address_type="IPv6"), "address_type 'IPv6' is not 'IPv4'"),
        (dataclasses.replace(dns, endpoints=(dataclasses.replace(first, node_name="ip-9-9-9-9"),)),
         "endpoints[0].node_name 'ip-9-9-9-9' is not a node of this cluster"),
        (dataclasses.replace(dns, endpoints=(dataclasses.replace(first, target_pod="kube-system/gone"),)),
         "endpoints[0].target_pod 'kube-system/gone' is not a pod of this cluster"),
        (dataclasses.replace(dns, endpoints=(dataclasses.replace(first, address=other_pod.address),)),
         f"endpoints[0].address {other_pod.address} is not the address {first.address} of its pod"),
        (dataclasses.replace(dns, endpoints=(dataclasses.replace(first, address="10.0.0.1"),)),
         "endpoints[0].address '10.0.0.1' is not an IPv4 address"),
    ]
    for bad, message in cases:
        found = _broken(cluster, endpoint_slices=tuple(bad if s is dns else s for s in cluster.endpoint_slices))
        assert any(message in m for m in found), (message, found)
    twice = _broken(cluster, endpoint_slices=cluster.endpoint_slices + (dns,))
    assert any(f"EndpointSlice {dns.key}: appears 2 times" in m for m in twice)

    eni = cluster.control_plane_enis[0]
    subnet = cluster.subnet(eni.subnet_id)
    pod = next(p for p in cluster.pods if not p.host_network)
    node_eni = cluster.nodes[0].enis[1]
    for changed, message in [
        (dataclasses.replace(eni, address=subnet.cidr.network_address + 2), "is one of the 5 addresses AWS reserves"),
        (dataclasses.replace(eni, address=IPv4Address("192.168.250.9")), "is outside its subnet"),
        (dataclasses.replace(eni, subnet_id="subnet-nope"), "subnet_id 'subnet-nope' is not a subnet of this cluster"),
        (dataclasses.replace(eni, address=pod.address), f"is used twice (also ENI {pod.eni_id}"),
        (dataclasses.replace(eni, address=node_eni.primary_ip), f"is used twice (also ENI {node_eni.id}"),
        (dataclasses.replace(eni, address=cluster.control_plane_enis[1].address),
         f"is used twice (also control-plane ENI {eni.id})"),
        (dataclasses.replace(eni, id=node_eni.id), f"ENI {node_eni.id}: appears 2 times"),
    ]:
        found = _broken(cluster, control_plane_enis=(changed,) + cluster.control_plane_enis[1:])
        assert any(message in m for m in found), (message, found)
