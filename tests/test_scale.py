"""kube-proxy's modes at scale (ekslib.flows.scale) and their figure (ekslib.figures.services): the iptables counts
are traced through the generated rules, grow by one rule per Service port before the target, stay flat for the
first Service; the order is the generated KUBE-SERVICES order; modelled rows say so; everything is deterministic."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ekslib.cluster.invariants import problems
from ekslib.dataplane.iptables import iptables_save, node_ruleset
from ekslib.dataplane.kube_proxy import service_port_name
from ekslib.errors import EkslibError
from ekslib.figures.services import rules_traversed_figure
from ekslib.figures.theme import TEMPLATE
from ekslib.flows import scale, trace
from ekslib.flows.scale import (
    KERNEL_CONNECT_US,
    SERVICE_COUNTS,
    TABLE_COLUMNS,
    node_iptables_size,
    rules_traversed,
    scale_cluster,
    service_rules,
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rules_traversed()  # the default counts, up to 10,000 Services: about a second


def iptables(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["mode"] == "iptables"].set_index("services")


def test_one_row_per_count_and_mode(table):
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(table["services"].unique()) == list(SERVICE_COUNTS)
    assert list(table["mode"]) == ["iptables", "ipvs", "nftables"] * len(SERVICE_COUNTS)


def test_the_last_service_costs_one_more_rule_per_service_port_before_it(table):
    rows = iptables(table)
    # exactly linear: the last Service port is tried after every other one in KUBE-SERVICES
    assert all(rows["last"] - rows["first"] == rows["service_ports"] - 1)
    assert list(rows["service_ports"]) == [n + 2 for n in SERVICE_COUNTS]  # kube-dns has 3 ports
    slopes = {(b - a) / (n2 - n1) for (n1, a), (n2, b) in zip(rows["last"].items(), list(rows["last"].items())[1:])}
    assert slopes == {1.0}
    assert rows.loc[10_000, "last"] > 10_000


def test_the_first_service_stays_small_and_flat(table):
    rows = iptables(table)
    assert rows["first"].nunique() == 1
    assert rows["first"].iloc[0] < 40
    assert rows.loc[10, "last"] < 2 * rows.loc[10, "first"]


def test_the_counts_are_the_engines(table):
    # not a formula: the same number as tracing the connection here, through the same generated rules
    cluster = scale_cluster(100)
    client = next(p.key for p in cluster.pods if p.name.startswith("client-"))
    first, last = service_rules(cluster)[0], service_rules(cluster)[-1]
    rows = iptables(table)
    for rule, column in ((first, "first"), (last, "last")):
        address, port = rule.destination.network.network_address, rule.matches[-1].options.dport.ports.first
        flow = trace(cluster, client, f"{address}:{port}")
        assert flow.delivered and flow.reply.delivered
        assert flow.rules_evaluated == rows.loc[100, column]
        # the endpoints are on the client's node: one node's rules are counted
        assert {h.where.namespace for h in flow.all_hops() if h.kind == "netfilter"} == {
            f"node {cluster.nodes[0].name}"}


def test_the_order_is_kube_proxys_kube_services_order(table):
    cluster = scale_cluster(100)
    node = cluster.nodes[0].name
    # kube-proxy's svcPortMap as ekslib writes it: Service ports sorted by namespace/name, then port
    ports = sorted((s.key, p.name, p.protocol.lower()) for s in cluster.services for p in s.ports)
    names = [service_port_name(key, port) for key, port, _ in ports]
    rows = iptables(table)
    assert (rows.loc[100, "first_service"], rows.loc[100, "last_service"]) == (names[0], names[-1])
    # ... which is the order of the node's generated nat KUBE-SERVICES, printed as iptables-save prints it
    chain = node_ruleset(cluster, node).rules("nat", "KUBE-SERVICES")
    assert [r.text for r in chain[:-1]] == [r.text for r in service_rules(cluster)]
    assert chain[-1].target.name == "KUBE-NODEPORTS"  # "this must be the last rule in this chain"
    lines = [line for line in iptables_save(cluster, node).splitlines() if line.startswith("-A KUBE-SERVICES")]
    assert f'"{names[0]} cluster IP"' in lines[0] and f'"{names[-1]} cluster IP"' in lines[-2]


def test_modelled_rows_are_labelled_and_flat(table):
    modelled = table[table["mode"] != "iptables"]
    assert set(modelled["mode"]) == {"ipvs", "nftables"}
    assert set(modelled["how"]) == {"modelled"}
    assert all("modelled" in text for text in modelled["counted"])
    assert set(modelled["first"]) == set(modelled["last"]) == {1}
    assert set(table[table["mode"] == "iptables"]["how"]) == {"traced"}
    assert all("traced" in text and "request + reply" in text for text in iptables(table)["counted"])


def test_real_kernel_times_only_where_measured(table):
    us = ["legacy_first_us", "legacy_last_us", "nft_first_us", "nft_last_us"]
    measured = table[(table["mode"] == "iptables") & (table["services"] == 10_000)]
    assert measured[us].values.tolist() == [[54.0, 104.0, 35.0, 244.0]]
    assert list(KERNEL_CONNECT_US) == ["legacy", "nft"]
    others = table.drop(measured.index)
    assert others[us].isna().all().all()


def test_deterministic(table):
    again = rules_traversed((10, 100))
    pd.testing.assert_frame_equal(again, table[table["services"].isin([10, 100])].reset_index(drop=True))
    scale_cluster.cache_clear()  # the clusters built again: the same clusters, the same counts
    pd.testing.assert_frame_equal(rules_traversed((10, 100)), again)


def test_scale_cluster_is_a_valid_cluster_of_n_clusterip_services():
    cluster = scale_cluster(50)
    assert len(cluster.services) == 50 and {s.type for s in cluster.services} == {"ClusterIP"}
    ips = [s.cluster_ip for s in cluster.services]
    assert len(set(ips)) == 50 and all(ip in cluster.service_cidr for ip in ips)
    assert problems(cluster) == []
    backend = cluster.service_endpoints("apps/backend", "http")
    assert cluster.service_endpoints("apps/svc-00047", "http") == backend and len(backend) == 2
    assert len(cluster.nodes) == 1


def test_bad_counts_are_refused():
    with pytest.raises(EkslibError, match="services"):
        scale_cluster(2)
    with pytest.raises(EkslibError, match="sequence"):
        rules_traversed(10)
    with pytest.raises(EkslibError, match="services"):
        rules_traversed((10, "many"))


def test_node_iptables_size():
    cluster = scale_cluster(10)
    node = cluster.nodes[0].name
    size = node_iptables_size(cluster, node)
    assert size["nat"]["KUBE-SERVICES"] == 12 + 1
    assert size["nat"]["KUBE-SVC-* chains"] == 12 and size["nat"]["KUBE-SEP-* chains"] == 24
    full = node_iptables_size(cluster, node, group=False)
    total = sum(len(c.rules) for t in node_ruleset(cluster, node).tables for c in t.chains)
    assert sum(sum(chains.values()) for chains in full.values()) == total
    assert sum(v for chains in size.values() for k, v in chains.items() if not k.endswith(" chains")) == total


def test_rules_traversed_figure(table):
    fig = rules_traversed_figure(table)
    assert type(fig) is go.Figure and fig.layout.template == pio.templates[TEMPLATE]
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"
    names = [t.name for t in fig.data]
    assert names == ["iptables, last Service (traced)", "iptables, first Service (traced)",
                     "IPVS (modelled, not traced)", "nftables (modelled, not traced)"]
    assert list(fig.data[0].y) == list(iptables(table)["last"]) and list(fig.data[2].y) == [1] * 4
    notes = " ".join(a.text for a in fig.layout.annotations)
    assert "104 us (iptables-legacy), 244 us (iptables-nft)" in notes and "54 us" in notes and "35 us" in notes
    assert all(math.isclose(a.x, 4.0) for a in fig.layout.annotations)  # at 10,000 Services (log axis)
    assert "dataplane.md section 1" in fig.layout.title.subtitle.text
    with pytest.raises(EkslibError, match="columns"):
        rules_traversed_figure(table.drop(columns=["how"]))
    with pytest.raises(EkslibError, match="DataFrame"):
        rules_traversed_figure([1, 2])


def test_the_kernel_count_is_a_module_constant(monkeypatch):
    # where the kernel times go follows KERNEL_SERVICES (the figure annotates whatever rows carry them)
    monkeypatch.setattr(scale, "KERNEL_SERVICES", 10)
    t = rules_traversed((10,))
    assert t.loc[0, "legacy_last_us"] == 104.0
    assert len(rules_traversed_figure(t).layout.annotations) == 2
