"""The cluster explorer, driven by setting widget values as a learner would (no browser needed)."""

from __future__ import annotations

import json
from dataclasses import replace

from ekslib.cluster.build import build_cluster
from ekslib.cluster.kubectl import load_sample
from ekslib.cluster.spec import DEFAULT_WORKLOADS, NodeGroup, Workload
from ekslib.widgets.cluster import BUILD, GIVEN, ClusterExplorer


def _figure(explorer: ClusterExplorer) -> dict:
    return explorer.chart.outputs[0]["data"]["application/vnd.plotly.v1+json"]


def test_starts_with_two_t3_mediums_and_a_figure():
    explorer = ClusterExplorer()
    c = explorer.cluster
    assert [n.instance_type for n in c.nodes] == ["t3.medium", "t3.medium"] and explorer.message.value == ""
    assert len(c.host_network_pods()) == 4 and "2 nodes" in explorer.summary.value
    assert _figure(explorer)["layout"]["title"]["text"].startswith("Cluster explorer: 2 nodes")
    json.dumps(_figure(explorer))  # a renderable plotly bundle
    values = [v for _, v in explorer.select.options]
    assert values[0] == "" and {n.name for n in c.nodes} | {p.key for p in c.pods} == set(values[1:])


def test_node_groups_and_workloads_change_the_cluster():
    explorer = ClusterExplorer()
    pods = len(explorer.cluster.pods)
    explorer.web.value += 2
    assert len(explorer.cluster.pods) == pods + 2
    explorer.app.value = 3
    assert sum(p.name.startswith("app-") for p in explorer.cluster.pods) == 3
    explorer.count_b.value = 1
    assert [n.instance_type for n in explorer.cluster.nodes].count("m5.large") == 1
    explorer.prefix_delegation.value = True
    assert all(e.prefixes for n in explorer.cluster.nodes for e in n.enis)
    web, api = DEFAULT_WORKLOADS  # the widget only passes its values to the model
    assert explorer.cluster == build_cluster(
        [NodeGroup("t3.medium", 2, name="group-1"), NodeGroup("m5.large", 1, name="group-2")], name="explorer",
        workloads=[replace(web, replicas=5), replace(api, replicas=2), Workload("app", 3)], prefix_delegation=True)


def test_selecting_a_pod_highlights_it_and_lists_its_addresses():
    explorer = ClusterExplorer(load_sample("two-node"))
    assert explorer.source.value == GIVEN and all(c.disabled for c in explorer.build_controls)
    pod = next(p for p in explorer.cluster.pods if p.name.startswith("backend") and p.address.packed[-1] == 11)
    explorer.select.value = pod.key
    subtitle = _figure(explorer)["layout"]["title"]["subtitle"]["text"]
    assert str(pod.address) in subtitle and pod.host_veth in subtitle
    assert str(pod.address) in explorer.listing.value and pod.host_veth in explorer.listing.value
    assert "eth1" in explorer.listing.value and pod.eni_id in explorer.listing.value
    explorer.color_by.value = "namespace"
    names = {t.get("name") for t in _figure(explorer)["data"]}
    assert "namespace default" in names and str(pod.address) in explorer.listing.value  # highlight kept
    explorer.select.value = ""
    assert explorer.listing.value == "" and "subtitle" in _figure(explorer)["layout"]["title"]


def test_samples_and_building_switch_the_controls():
    explorer = ClusterExplorer()
    explorer.source.value = "three-node"
    assert explorer.cluster.name == "three-node" and explorer.type_a.disabled
    explorer.source.value = BUILD
    assert explorer.cluster.name == "explorer" and not explorer.type_a.disabled


def test_a_selection_survives_a_rebuild_only_while_it_exists():
    explorer = ClusterExplorer()
    node = explorer.cluster.nodes[0].name
    explorer.select.value = node
    explorer.web.value += 1
    assert explorer.select.value == node and node in explorer.listing.value
    explorer.seed.value = 7  # other pod names, same node names (the addresses do not depend on the seed)
    assert explorer.select.value == node
    explorer.select.value = explorer.cluster.pods[-1].key
    explorer.seed.value = 8
    assert explorer.select.value == "" and explorer.listing.value == ""


def test_bad_input_shows_a_message_not_a_traceback():
    explorer = ClusterExplorer()
    explorer.type_a.value = "m5.lage"
    assert "m5.large" in explorer.message.value and "Traceback" not in explorer.message.value
    assert explorer.cluster is None and explorer.chart.outputs == () and explorer.summary.value == ""
    explorer.type_a.value = "t3.medium"
    assert explorer.message.value == "" and len(explorer.cluster.nodes) == 2
    explorer.web.value = 200
    assert "does not fit" in explorer.message.value and explorer.cluster is None
    explorer.web.value = 3
    explorer.count_a.value = -1
    assert "count must be a whole number &gt;= 0, not -1" in explorer.message.value
    explorer.count_a.value = 2
    assert explorer.cluster is not None and explorer.message.value == ""
