"""The cluster figures: each object drawn where the model puts it, with the model's addresses in its hover."""

from __future__ import annotations

import re
from collections import Counter

import plotly.graph_objects as go
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ekslib.cluster.build import build_cluster
from ekslib.cluster.graph import pods_per_eni
from ekslib.cluster.kubectl import load_sample
from ekslib.cluster.spec import NodeGroup
from ekslib.dataplane.bridge import bridge_dataplane
from ekslib.dataplane.vpc_cni import node_dataplane
from ekslib.errors import EkslibError
from ekslib.facts import POD_GATEWAY
from ekslib.figures import cluster as figures
from ekslib.figures.cluster import DETAIL_LIMIT, cluster_figure, selection_table
from ekslib.figures.dataplane import bridge_vs_routed_figure, node_figure
from ekslib.linux.iproute import ip_rule_text

#: The issue's budget for the 200-node figure: len(fig.to_json()) under 4 MB.
JSON_BUDGET = 4_000_000
BOLD = re.compile(r"^<b>([^<]+)</b>")


@pytest.fixture(scope="module")
def two():
    return load_sample("two-node")


@pytest.fixture(scope="module")
def big():
    """More than DETAIL_LIMIT pods: drawn one marker per ENI."""
    return build_cluster([("m5.large", 24)], workloads=[("web", 500)], seed=2)


def markers(fig: go.Figure) -> dict[str, tuple[str, float, float, str]]:
    """Every marker with a bold name in its hover: name -> (trace name, x, y, hover)."""
    out = {}
    for trace in fig.data:
        if trace.mode is None or "markers" not in trace.mode or trace.hovertext is None:
            continue
        for x, y, hover in zip(trace.x, trace.y, trace.hovertext, strict=True):
            found = BOLD.match(hover)
            if found:
                assert found.group(1) not in out, f"{found.group(1)} drawn twice"
                out[found.group(1)] = (trace.name, x, y, hover)
    return out


def eni_marker(drawn: dict, eni) -> tuple[str, float, float, str]:
    return drawn[f"{eni.interface} {eni.id}"]


# ----------------------------------------------------------------------------------------------- the layered picture


def test_returns_a_plain_deterministic_figure(two):
    fig = cluster_figure(two)
    assert isinstance(fig, go.Figure)
    assert fig.to_json() == cluster_figure(load_sample("two-node")).to_json()
    a = build_cluster([("t3.medium", 2)], seed=5)
    b = build_cluster([("t3.medium", 2)], seed=5)
    assert (
        cluster_figure(a, highlight=a.nodes[1].name).to_json() == cluster_figure(b, highlight=b.nodes[1].name).to_json()
    )
    assert {type(t).__name__ for t in fig.data} == {"Scatter"}  # small: SVG, with labels


def test_every_pod_hover_has_its_address_eni_and_veth(two):
    drawn = markers(cluster_figure(two))
    for pod in two.pods:
        _, _, _, hover = drawn[pod.key]
        assert f"address {pod.address}" in hover
        if pod.host_network:
            assert "the node's own address" in hover and "no veth" in hover
        else:
            eni = two.eni(pod.eni_id)
            assert f"host veth <b>{pod.host_veth}</b>" in hover
            assert f"of {eni.id} ({eni.interface}" in hover
    coredns = drawn["kube-system/coredns-bmd9kxlllg-66xdv"][3]
    assert "enid22c1ffcf65" in coredns and "endpoint of kube-system/kube-dns" in coredns


def test_layers_pods_under_their_eni_and_host_network_pods_under_their_node(two):
    drawn = markers(cluster_figure(two))
    for node in two.nodes:
        _, nx_, ny, hover = drawn[node.name]
        assert f"address {node.address}" in hover
        for eni in node.enis:
            _, ex, ey, eh = eni_marker(drawn, eni)
            assert ey == ny - 1 and ex > nx_ and f"primary {eni.primary_ip}" in eh
        for pod in two.pods_on_node(node.name):
            name, px, py, _ = drawn[pod.key]
            assert py < ny
            if pod.host_network:  # column 0, under the node: on the node's own address
                assert pod.address == node.address and px == nx_ and name.startswith("host-network pods")
            else:  # stacked under the ENI holding its address
                _, ex, ey, _ = eni_marker(drawn, two.eni(pod.eni_id))
                assert px == ex and py < ey
    # the layers: VPC above subnets above nodes
    vpc_y = drawn[two.vpc.id][2]
    subnet_ys = {v[2] for k, v in drawn.items() if k.startswith("private-")}
    assert len(subnet_ys) == 1 and vpc_y > subnet_ys.pop() > max(drawn[n.name][2] for n in two.nodes)


def test_no_two_markers_share_a_place(two):
    drawn = markers(cluster_figure(load_sample("three-node"), empty_subnets=True))
    places = Counter((x, y) for _, x, y, _ in drawn.values())
    assert max(places.values()) == 1


def test_colour_by_eni_or_namespace(two):
    by_eni = {t.name for t in cluster_figure(two).data}
    assert {"pods on eth0", "pods on eth1", "host-network pods (node's own address)"} <= by_eni
    by_ns = cluster_figure(two, color_by="namespace")
    assert {"namespace default", "namespace kube-system"} <= {t.name for t in by_ns.data}
    default = next(t for t in by_ns.data if t.name == "namespace default")
    assert all(h.startswith("<b>default/") for h in default.hovertext) and len(set(default.marker.color)) == 1
    with pytest.raises(EkslibError, match="color_by 'az' is not one of eni, namespace"):
        cluster_figure(two, color_by="az")


def test_empty_subnets_are_listed_or_drawn(two):
    fig = cluster_figure(two)
    vpc = markers(fig)[two.vpc.id][3]
    assert "public-us-west-2a 192.168.0.0/19" in vpc and "private-us-west-2c" in vpc
    drawn = markers(cluster_figure(two, empty_subnets=True))
    assert {s.name for s in two.subnets} <= set(drawn)


# ----------------------------------------------------------------------------------------------- highlight


def rings(fig: go.Figure) -> set[tuple[float, float]]:
    trace = next(t for t in fig.data if (t.name or "").startswith("highlight:"))
    return set(zip(trace.x, trace.y, strict=True))


def test_highlight_a_pod_rings_its_eni_node_and_names_its_addresses(two):
    pod = next(p for p in two.pods if not p.host_network and two.eni(p.eni_id).device_number == 1)
    eni, node = two.eni(pod.eni_id), two.node(pod.node)
    fig = cluster_figure(two, highlight=pod.key)
    drawn = markers(fig)
    expected = {drawn[pod.key][1:3], eni_marker(drawn, eni)[1:3], drawn[node.name][1:3]}
    assert expected <= rings(fig)
    subtitle = fig.layout.title.subtitle.text
    assert str(pod.address) in subtitle and pod.host_veth in subtitle and "eth1, secondary ENI" in subtitle
    # by address, the same
    assert rings(cluster_figure(two, highlight=str(pod.address))) == rings(fig)


def test_highlight_a_host_network_pod_or_a_node(two):
    proxy = next(p for p in two.host_network_pods() if p.name.startswith("kube-proxy"))
    fig = cluster_figure(two, highlight=proxy.key)
    assert "own address" in fig.layout.title.subtitle.text and str(proxy.address) in fig.layout.title.subtitle.text
    node = two.node(proxy.node)
    fig = cluster_figure(two, highlight=node.name)
    drawn = markers(fig)
    assert {eni_marker(drawn, e)[1:3] for e in node.enis} <= rings(fig)
    assert all(str(e.primary_ip) in fig.layout.title.subtitle.text for e in node.enis)
    assert rings(cluster_figure(two, highlight=str(node.address))) == rings(fig)  # the node's address: the node


def test_bad_highlight_names_what_is_valid(two):
    with pytest.raises(EkslibError, match=r"not a node, pod \(namespace/name\), ENI id or address.*Did you mean"):
        cluster_figure(two, highlight="kube-system/coredns-bmd9kxlllg-66xd")
    with pytest.raises(EkslibError, match="192.168.96.200: no node, pod or ENI .*free in subnet"):
        cluster_figure(two, highlight="192.168.96.200")


def test_selection_table_lists_the_highlight(two):
    node = two.nodes[0]
    table = selection_table(two, node.name)
    assert list(table["what"]) == ["node"] + ["ENI"] * len(node.enis) + ["pod"] * len(two.pods_on_node(node.name)) + [
        "subnet"
    ]
    pods = table[table["what"] == "pod"].set_index("name")
    for pod in two.pods_on_node(node.name):
        assert pods.loc[pod.key, "address"] == str(pod.address) and pods.loc[pod.key, "host veth"] == (
            pod.host_veth or ""
        )
    eni = node.enis[1]
    one = selection_table(two, eni.id)
    assert one.iloc[0]["name"] == eni.id and "route table 2" in one.iloc[0]["note"]
    assert set(one[one["what"] == "pod"]["name"]) == {p.key for p in two.pods_on_eni(eni.id)}


# ----------------------------------------------------------------------------------------------- big clusters


def test_big_clusters_aggregate_per_eni_with_webgl(big):
    assert len(big.pods) > DETAIL_LIMIT
    fig = cluster_figure(big)
    agg = next(t for t in fig.data if t.name == "ENIs, area = pods on it")
    per_eni = pods_per_eni(big).set_index("eni")["pods"]
    sizes = {BOLD.match(h).group(1).split()[1]: s for h, s in zip(agg.hovertext, agg.marker.size, strict=True)}
    assert sizes == {eni: max(int(n), 1) for eni, n in per_eni.items()}
    assert not any((t.name or "").startswith("pods on") for t in fig.data)  # no pod drawn one by one
    hover = agg.hovertext[0]
    assert hover.count("<br>") <= 6 + figures.HOVER_PODS_PER_ENI and "more pods" in hover
    # highlighting a node draws that node's pods, and only its
    node = big.nodes[7]
    drawn = markers(cluster_figure(big, highlight=node.name))
    pods = {k for k, v in drawn.items() if "/" in k}
    assert pods == {p.key for p in big.pods_on_node(node.name)}
    # no limit: every pod
    assert len({k for k in markers(cluster_figure(big, detail_limit=None)) if "/" in k}) == len(big.pods)


def test_the_issue_benchmark_cluster_fits_the_json_budget():
    subnets = [("us-west-2a", "10.0.0.0/18"), ("us-west-2b", "10.0.64.0/18"), ("us-west-2c", "10.0.128.0/18")]
    c = build_cluster(
        [NodeGroup("m5.4xlarge", 200, max_pods=110)],
        vpc_cidr="10.0.0.0/16",
        subnets=subnets,
        workloads=[("app", 200 * 108 - 2)],
    )
    assert len(c.pods) == 22_000
    fig = cluster_figure(c)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)  # over WEBGL_POINTS markers: WebGL
    assert len(fig.to_json()) < JSON_BUDGET
    assert len(cluster_figure(c, highlight=c.nodes[0].name).to_json()) < JSON_BUDGET


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.tuples(st.integers(1, 3), st.integers(0, 2)),
    replicas=st.integers(0, 25),
    prefix=st.booleans(),
    seed=st.integers(0, 50),
)
def test_property_every_pod_once_at_its_eni_or_node(counts, replicas, prefix, seed):
    try:
        c = build_cluster(
            [("t3.medium", counts[0]), ("m5.large", counts[1])],
            workloads=[("web", replicas)],
            prefix_delegation=prefix,
            seed=seed,
        )
    except EkslibError as exc:  # more replicas than one small node holds: the model says so
        assert "does not fit" in str(exc)
        assume(False)
    drawn = markers(cluster_figure(c, color_by="namespace" if seed % 2 else "eni"))
    assert {k for k in drawn if "/" in k} == {p.key for p in c.pods}
    assert max(Counter((x, y) for _, x, y, _ in drawn.values()).values()) == 1
    for pod in c.pods:
        _, px, _, hover = drawn[pod.key]
        column = drawn[pod.node][1] if pod.host_network else eni_marker(drawn, c.eni(pod.eni_id))[1]
        assert px == column and f"address {pod.address}" in hover
        if prefix and not pod.host_network:
            assert "/28 prefix" in hover


# ----------------------------------------------------------------------------------------------- a node's picture


def test_node_figure_draws_veths_and_lists_rules_and_tables(two):
    node = two.nodes[0]
    dp = node_dataplane(two, node.name)
    fig = node_figure(dp)
    text = " ".join(str(a.text) for a in fig.layout.annotations)
    for pair in dp.veths:  # 6 pods, all drawn (max_pods=8)
        assert pair.host_name in text and f"eth0 {pair.address}/32" in text
    secondary = next(p for p in dp.veths if p.table == 2)
    assert f"{secondary.host_name} · {secondary.address}/32 route, rule 512; 1536 → table 2" in text
    assert f"gateway {POD_GATEWAY}" in text and "host network namespace" in text
    cells = fig.data[-1].cells.values
    assert list(cells[1][: len(dp.rules)]) == [line.replace("\t", " ") for line in ip_rule_text(dp).splitlines()]
    assert "ip route table 2" in cells[0] and "ip route table 3" in cells[0]
    assert any("169.254.1.1 dev eth0 lladdr" in line for line in cells[1])


def test_node_figure_picks_pods_from_every_table_and_checks_input(two):
    dp = node_dataplane(two, two.nodes[0].name)
    fig = node_figure(dp, max_pods=2)
    text = " ".join(str(a.text) for a in fig.layout.annotations)
    assert "1536 → table 2" in text and "and 4 more pods" in text
    with pytest.raises(EkslibError, match="takes a NodeDataplane"):
        node_figure(two)
    with pytest.raises(EkslibError, match="max_pods must be a whole number >= 1, not 0"):
        node_figure(dp, max_pods=0)


def test_bridge_vs_routed_names_which_cni_does_which(two):
    node = two.nodes[0].name
    fig = bridge_vs_routed_figure(two, node)
    titles = [a.text for a in fig.layout.annotations[:2]]
    assert titles[0].startswith("<b>AWS VPC CNI</b>") and "no bridge" in titles[0]
    assert "kubenet" in titles[1] and "<b>not</b> the VPC CNI" in titles[1]
    text = " ".join(str(a.text) for a in fig.layout.annotations)
    bridged = bridge_dataplane(two, node)
    assert "<b>cbr0</b> bridge 10.244.0.1/24" in text
    shown = [p for p in bridged.veths if f"eth0 {p.address}/24" in text]
    assert len(shown) == 4 and all(f"{p.host_name} · port of cbr0" in text for p in shown)
    assert any(t.name == "cbr0" for t in fig.data)
    with pytest.raises(EkslibError, match="no node"):
        bridge_vs_routed_figure(two, "ip-10-0-0-1")
