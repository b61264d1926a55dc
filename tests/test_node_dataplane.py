"""A node's own data plane: the VPC CNI's routed veths (vpc-cni.md section 4) beside kubenet's bridge."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Network

import pytest

from ekslib.cluster.build import build_cluster
from ekslib.cluster.kubectl import load_sample
from ekslib.dataplane.bridge import bridge_dataplane
from ekslib.dataplane.vpc_cni import eni_route_table, node_dataplane
from ekslib.errors import EkslibError
from ekslib.facts import POD_GATEWAY
from ekslib.linux.iproute import ip_addr_text, ip_neigh_text, ip_route_text, ip_rule_text, veth_table
from ekslib.linux.objects import Rule


@pytest.fixture(scope="module")
def cluster():
    # one t3.medium with 8 pods that need addresses: 5 on eth0, 3 on eth1, and a warm eth2
    return build_cluster([("t3.medium", 1)], workloads=[("web", 6)], seed=2)


@pytest.fixture(scope="module")
def dp(cluster):
    return node_dataplane(cluster, cluster.nodes[0].name)


def test_namespaces_and_veth_pairs(cluster, dp):
    node = cluster.nodes[0]
    vpc_pods = [p for p in cluster.pods_on_node(node.name) if not p.host_network]
    assert dp.cni == "aws-vpc-cni" and len(dp.pods) == len(vpc_pods) == 8
    assert sorted(dp.host_network_pods) == sorted(p.key for p in cluster.host_network_pods(node.name))
    assert dp.namespace("kube-system/" + cluster.host_network_pods(node.name)[0].name) is dp.host
    for pod in vpc_pods:
        pair = dp.veth(pod.key)
        assert pair.host_name == "eni" + hashlib.sha1(f"{pod.namespace}.{pod.name}".encode()).hexdigest()[:11]
        assert pair.pod_name == "eth0" and pair.address == pod.address and pair.prefixlen == 32
        ns = dp.namespace(pod.key)
        assert ns.name.startswith("cni-")
        eth0 = next(i for i in ns.interfaces if i.name == "eth0")
        assert eth0.addresses == (f"{pod.address}/32",) and eth0.mtu == 9001
        host_end = next(i for i in dp.host.interfaces if i.name == pair.host_name)
        assert eth0.peer_index == host_end.index and host_end.peer_index == eth0.index  # eniX@if3 <-> eth0@ifN
    assert not any(i.kind == "bridge" for i in dp.host.interfaces)


def test_pod_routes_and_static_arp(dp):
    pair = dp.veths[0]
    assert ip_route_text(dp, pod=pair.pod).splitlines() == ["default via 169.254.1.1 dev eth0",
                                                             "169.254.1.1 dev eth0 scope link"]
    assert ip_neigh_text(dp, pod=pair.pod) == f"169.254.1.1 dev eth0 lladdr {pair.host_mac} PERMANENT"
    assert all(n.address == POD_GATEWAY for ns in dp.pods for n in ns.neighbours)


def test_host_routes_are_32s_to_veths(cluster, dp):
    node = cluster.nodes[0]
    subnet = cluster.subnet(node.subnet_id)
    lines = ip_route_text(dp).splitlines()
    assert lines[0] == f"default via {subnet.router} dev eth0"
    assert f"{subnet.cidr} dev eth0 proto kernel scope link src {node.address}" in lines
    for pair in dp.veths:
        assert f"{pair.address} dev {pair.host_name} scope link" in lines
    assert len(lines) == 2 + len(dp.veths)  # secondary ENIs add no subnet route to main


def test_policy_rules(cluster, dp):
    node = cluster.nodes[0]
    rules = {(r.priority, str(r.src or r.dst or "")): r for r in dp.rules}
    on_secondary = [p for p in cluster.pods_on_node(node.name)
                    if not p.host_network and cluster.eni(p.eni_id).device_number > 0]
    assert len(on_secondary) == 3
    assert [r for r in dp.rules if r.priority == 512] and all(
        (512, f"{p.address}/32") in rules for p in cluster.pods_on_node(node.name) if not p.host_network)
    assert sorted(str(r.src.network_address) for r in dp.rules if r.priority == 1536) == sorted(
        str(p.address) for p in on_secondary)
    for pod in on_secondary:
        assert rules[(1536, f"{pod.address}/32")].table == cluster.eni(pod.eni_id).device_number + 1
    assert [r.text() for r in dp.rules if r.priority == 1024] == ["1024:\tfrom all fwmark 0x80/0x80 lookup main"]
    assert {(r.src.network_address, r.table) for r in dp.rules if r.priority == 32765} == {
        (e.primary_ip, e.device_number + 1) for e in node.enis if e.device_number > 0}
    text = ip_rule_text(dp).splitlines()
    assert text[0] == "0:\tfrom all lookup local" and text[-2:] == ["32766:\tfrom all lookup main",
                                                                    "32767:\tfrom all lookup default"]
    priorities = [int(line.split(":")[0]) for line in text]
    assert priorities == sorted(priorities)


def test_eni_tables(cluster, dp):
    node = cluster.nodes[0]
    router = cluster.subnet(node.subnet_id).router
    assert sorted(dp.tables) == [2, 3]
    assert ip_route_text(dp, 2) == f"default via {router} dev eth1\n{router} dev eth1 scope link"
    with pytest.raises(EkslibError, match="no route table 7; tables: main, 2, 3"):
        ip_route_text(dp, 7)


def test_ip_addr_text(cluster, dp):
    node = cluster.nodes[0]
    host = ip_addr_text(dp)
    assert f"inet {node.address}/19 scope global eth0" in host
    assert f"inet {node.enis[1].primary_ip}/19 scope global eth1" in host  # the ENI's primary, not its secondaries
    assert all(str(a) not in host for a in node.enis[0].secondary_ips)
    pair = dp.veths[0]
    assert f"{pair.host_name}@if3:" in host
    assert f"inet {pair.address}/32 scope global eth0" in ip_addr_text(dp, pod=pair.pod)


def test_sample_node_lists_veths(dp):
    table = veth_table(dp)
    assert len(table) == len(dp.veths) and set(table["route table"]) == {"main", 2}
    sample = load_sample("two-node")
    first = node_dataplane(sample, sample.nodes[0])
    assert "1536:" in ip_rule_text(first)


def test_bridge_design_for_comparison(cluster):
    b = bridge_dataplane(cluster, cluster.nodes[0].name)
    assert b.cni == "kubenet" and b.pod_cidr == IPv4Network("10.244.0.0/24")
    bridge = next(i for i in b.host.interfaces if i.kind == "bridge")
    assert bridge.name == "cbr0" and bridge.addresses == ("10.244.0.1/24",)
    assert [i.name for i in b.host.interfaces if i.kind == "eni"] == ["eth0"]
    assert all(i.master == "cbr0" for i in b.host.interfaces if i.kind == "veth")
    assert [p.address for p in b.veths] == [IPv4Address("10.244.0.2") + i for i in range(len(b.veths))]
    assert all(p.host_name.startswith("veth") for p in b.veths)
    pod = b.veths[0].pod
    assert ip_route_text(b, pod=pod).splitlines() == ["default via 10.244.0.1 dev eth0",
                                                      "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2"]
    assert ip_neigh_text(b, pod=pod) == ""  # ARP across the bridge, no static entry
    assert ip_rule_text(b).splitlines() == ["0:\tfrom all lookup local", "32766:\tfrom all lookup main",
                                            "32767:\tfrom all lookup default"]
    assert "10.244.0.0/24 dev cbr0 proto kernel scope link src 10.244.0.1" in ip_route_text(b)
    second = bridge_dataplane(build_cluster([("t3.medium", 3)]), build_cluster([("t3.medium", 3)]).nodes[2].name)
    assert second.pod_cidr == IPv4Network("10.244.2.0/24")


def test_rule_text_format():
    assert Rule(1536, 2, src=IPv4Network("192.168.96.11/32")).text() == "1536:\tfrom 192.168.96.11 lookup 2"
    assert Rule(512, "main", dst=IPv4Network("10.0.0.0/16")).text() == "512:\tfrom all to 10.0.0.0/16 lookup main"


def test_errors_name_the_pod(dp):
    with pytest.raises(EkslibError, match="no network namespace"):
        dp.namespace("default/ghost")
    with pytest.raises(EkslibError, match="has no veth"):
        dp.veth(dp.host_network_pods[0])


def test_eni_route_table_is_device_plus_one():
    cluster = build_cluster([("t3.medium", 1)], workloads=[("web", 6)])
    node = cluster.nodes[0]
    assert eni_route_table(cluster, node.enis[0].id) is None
    table = eni_route_table(cluster, node.enis[2].id)
    router = cluster.subnet(node.subnet_id).router
    assert table.number == 3 and str(router).endswith(".1")
    assert table.text().splitlines() == [f"default via {router} dev eth2", f"{router} dev eth2 scope link"]
