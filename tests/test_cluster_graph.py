"""to_networkx and its analyses against the cluster model they come from."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import pytest

from ekslib.cluster.build import build_cluster
from ekslib.cluster.graph import (
    EDGE_KINDS,
    NODE_KINDS,
    address_use_per_subnet,
    node_id,
    pods_per_eni,
    pods_sharing_node_address,
    to_networkx,
)
from ekslib.cluster.kubectl import load_sample
from ekslib.errors import EkslibError


@pytest.fixture(scope="module")
def cluster():
    return build_cluster([("t3.medium", 2), ("m5.large", 1)], workloads=[("web", 12), ("api", 4)], seed=3)


@pytest.fixture(scope="module")
def graph(cluster):
    return to_networkx(cluster)


def test_typed_nodes_and_edges(cluster, graph):
    kinds = Counter(d["kind"] for _, d in graph.nodes(data=True))
    enis = sum(len(n.enis) for n in cluster.nodes)
    control_plane = len(cluster.control_plane_enis)
    assert control_plane == 2
    assert kinds == {"vpc": 1, "subnet": len(cluster.subnets), "node": len(cluster.nodes), "eni": enis,
                     "pod": len(cluster.pods), "service": len(cluster.services), "control-plane-eni": control_plane}
    assert set(kinds) == set(NODE_KINDS)
    edges = Counter(d["kind"] for _, _, d in graph.edges(data=True))
    host = sum(p.host_network for p in cluster.pods)
    assert edges["holds-address"] == len(cluster.pods) - host and edges["host-network"] == host
    assert edges["attached"] == enis
    assert edges["contains"] == len(cluster.subnets) + len(cluster.nodes) + enis + control_plane
    # selector endpoints and the slices' pod endpoints are the same pairs; default/kubernetes adds its ENIs
    assert edges["selects"] == sum(len(s.endpoints) for s in cluster.services) + control_plane
    assert set(edges) == set(EDGE_KINDS)


def test_attributes_carry_addresses_veths_and_devices(cluster, graph):
    pod = next(p for p in cluster.pods if not p.host_network and cluster.eni(p.eni_id).device_number == 1)
    edge = graph.edges[node_id("eni", pod.eni_id), node_id("pod", pod.key)]
    assert edge == {"kind": "holds-address", "address": str(pod.address), "host_veth": pod.host_veth}
    eni = graph.nodes[node_id("eni", pod.eni_id)]
    assert eni["device_number"] == 1 and eni["interface"] == "eth1" and eni["route_table"] == 2
    assert str(pod.address) in eni["secondary_ips"]
    attached = graph.edges[node_id("node", pod.node), node_id("eni", pod.eni_id)]
    assert attached["kind"] == "attached" and attached["device_number"] == 1
    node = graph.nodes[node_id("node", pod.node)]
    assert node["address"] == str(cluster.node(pod.node).address) and node["instance_type"] in ("t3.medium", "m5.large")
    dns = graph.nodes[node_id("service", "kube-system/kube-dns")]
    assert dns["cluster_ip"] == "10.100.0.10" and "53/UDP->53" in dns["ports"]


def test_the_layered_tree_reaches_every_pod(cluster, graph):
    tree = nx.DiGraph([(u, v) for u, v, d in graph.edges(data=True)
                       if d["kind"] in ("attached", "holds-address", "host-network")
                       or (d["kind"] == "contains" and not v.startswith("eni:"))])
    root = node_id("vpc", cluster.vpc.id)
    reachable = nx.descendants(tree, root)
    assert all(node_id("pod", p.key) in reachable for p in cluster.pods)
    assert nx.is_arborescence(tree.subgraph([root, *reachable]))


def test_pods_per_eni(cluster, graph):
    table = pods_per_eni(graph)
    assert len(table) == sum(len(n.enis) for n in cluster.nodes)
    for row in table.itertuples():
        assert row.pods == len(cluster.pods_on_eni(row.eni))
        assert row.capacity == cluster.eni(row.eni).capacity and row.free == row.capacity - row.pods
    assert table["pods"].sum() == sum(not p.host_network for p in cluster.pods)
    assert table.equals(pods_per_eni(cluster))  # a cluster or its graph: the same table
    primary = table[table["device_number"] == 0]
    assert set(primary["route_table"]) == {"main"}


def test_address_use_per_subnet_matches_ec2s_count(cluster):
    table = address_use_per_subnet(cluster).set_index("subnet")
    for subnet in cluster.subnets:
        row = table.loc[subnet.id]
        assert row["size"] == subnet.cidr.num_addresses and row["reserved"] == 5
        assert row["used"] == cluster.addresses_taken(subnet.id)
        assert row["free"] == subnet.usable - row["used"]
    used = table[table["used"] > 0]
    assert (used["warm"] == used["secondary_ips"] - used["pod_addresses"]).all()
    assert table["pod_addresses"].sum() == sum(not p.host_network for p in cluster.pods)
    sample = load_sample("two-node")
    from ekslib.sources.kube import load_sample_json

    ec2 = {s["SubnetId"]: s["AvailableIpAddressCount"] for s in load_sample_json("two-node")["subnets"]["Subnets"]}
    assert address_use_per_subnet(sample).set_index("subnet")["free"].to_dict() == ec2


def test_prefix_mode_counts_whole_prefixes():
    cluster = build_cluster([("m5.large", 1)], prefix_delegation=True, workloads=[("web", 20)])
    row = address_use_per_subnet(cluster).query("used > 0").iloc[0]
    prefixes = sum(len(e.prefixes) for e in cluster.nodes[0].enis)
    assert row["prefix_addresses"] == 16 * prefixes and row["secondary_ips"] == 0
    assert row["used"] == len(cluster.nodes[0].enis) + 16 * prefixes + row["control_plane_enis"]
    assert pods_per_eni(cluster)["mode"].tolist() == ["prefixes"] * len(cluster.nodes[0].enis)


def test_control_plane_enis_sit_in_their_subnets_and_back_default_kubernetes(cluster, graph):
    kubernetes = node_id("service", "default/kubernetes")
    selected = {v for _, v, d in graph.out_edges(kubernetes, data=True) if d["kind"] == "selects"}
    assert selected == {node_id("control-plane-eni", e.id) for e in cluster.control_plane_enis}
    for eni in cluster.control_plane_enis:
        cid = node_id("control-plane-eni", eni.id)
        data = graph.nodes[cid]
        assert data["kind"] == "control-plane-eni" and data["address"] == str(eni.address)
        assert data["description"] == "Amazon EKS demo"
        assert list(graph.predecessors(cid)) == [node_id("subnet", eni.subnet_id), kubernetes]
        assert graph.edges[node_id("subnet", eni.subnet_id), cid] == {"kind": "contains"}
        assert graph.edges[kubernetes, cid] == {"kind": "selects", "slice": "kubernetes", "ready": True}
    # kube-dns selects its coredns pods through its EndpointSlice (the selector gives the same pairs)
    (dns_slice,) = cluster.service_slices("kube-system/kube-dns")
    dns = node_id("service", "kube-system/kube-dns")
    for key in cluster.service("kube-system/kube-dns").endpoints:
        assert graph.edges[dns, node_id("pod", key)] == {"kind": "selects", "slice": dns_slice.name, "ready": True}
    # EC2 counts the control-plane ENIs' addresses as taken, and so does the table
    table = address_use_per_subnet(graph).set_index("subnet")
    assert table["control_plane_enis"].sum() == 2
    for eni in cluster.control_plane_enis:
        assert table.loc[eni.subnet_id, "control_plane_enis"] >= 1


def test_pods_sharing_node_address(cluster):
    table = pods_sharing_node_address(cluster)
    assert sorted(table["pod"]) == sorted(p.key for p in cluster.pods if p.host_network)
    for row in table.itertuples():
        assert row.address == str(cluster.node(row.node).address)
    assert Counter(table["node"]) == {n.name: 2 for n in cluster.nodes}


def test_bad_source():
    with pytest.raises(EkslibError, match="expected a Cluster"):
        pods_per_eni("cluster")
    with pytest.raises(EkslibError, match="kind 'pods'"):
        node_id("pods", "x")
