"""The flow explorer, driven by setting widget values and clicking as a learner would (no browser needed)."""

from __future__ import annotations

import json

from ekslib.cluster.kubectl import load_sample
from ekslib.flows import SCENARIOS, scenario
from ekslib.widgets.flows import CHOICE, FlowExplorer


def _figure(output) -> dict:
    return output.outputs[0]["data"]["application/vnd.plotly.v1+json"]


def test_starts_with_a_cross_node_flow_its_animation_and_tables():
    explorer = FlowExplorer()
    flow = explorer.flow
    assert explorer.scenario.value == "pod-to-pod-cross-node" and explorer.message.value == ""
    assert flow.delivered and flow.hop_table().equals(scenario("pod-to-pod-cross-node").hop_table())
    animation = _figure(explorer.animation)
    assert len(animation["frames"]) >= 20 and animation["layout"]["sliders"]
    assert explorer.hops.outputs == () and explorer.conntrack.outputs == ()  # drawn when their tab is in view
    explorer.views.selected_index = 1
    assert len(_figure(explorer.hops)["data"][0]["cells"]["values"][0]) == len(flow.all_hops())
    explorer.views.selected_index = 2
    assert len(_figure(explorer.conntrack)["data"][0]["cells"]["values"][0]) == len(flow.conntrack)
    explorer.views.selected_index = 0
    assert "delivered to pod" in explorer.summary.value
    json.dumps(animation)  # a renderable plotly bundle
    assert SCENARIOS["pod-to-pod-cross-node"][2][:20] in explorer.about.value


def test_options_a_scenario_does_not_take_are_disabled():
    explorer = FlowExplorer()
    for name, (_, allowed, _) in SCENARIOS.items():
        explorer.scenario.value = name
        for option, control in explorer.options.items():
            assert control.disabled == (option not in allowed), (name, option)
        assert explorer.flow is not None and explorer.message.value == ""
    explorer.scenario.value = "pod-to-pod-same-node"
    explorer.subnet.value = "public"  # disabled: not passed, the scenario runs in the private subnets
    assert explorer.flow.hop_table().equals(scenario("pod-to-pod-same-node").hop_table())


def test_the_controls_pass_their_values_to_the_scenario():
    explorer = FlowExplorer("pod-to-internet")
    explorer.subnet.value = "public"
    explorer.secondary_eni.value = True
    explorer.seed.value = 3
    expected = scenario("pod-to-internet", subnet="public", secondary_eni=True, seed=3)
    assert explorer.flow.hop_table().equals(expected.hop_table())
    explorer.connmark.value = False  # the source/destination check drops it
    assert not explorer.flow.delivered and "source/destination check" in explorer.summary.value
    assert _figure(explorer.animation)["frames"][-1]["data"][2]["marker"]["symbol"] == "x"
    explorer.connmark.value = True
    explorer.external_snat.value = True  # a public subnet cannot take a pod address out
    assert not explorer.flow.delivered and "internet gateway" in explorer.flow.drop_reason
    explorer.subnet.value = "private"  # the NAT gateway can
    assert explorer.flow.delivered and str(explorer.flow.seen_source.ip) == "198.51.100.20"
    explorer.chains.value = "legacy"
    explorer.protocol.value = "udp"
    assert explorer.flow.protocol == "udp"
    assert any("AWS-SNAT-CHAIN" in h.where.chain for h in explorer.flow.hops) or explorer.external_snat.value


def test_exclusions_source_and_destination():
    explorer = FlowExplorer("pod-to-internet")
    explorer.destination.value = "peered-vpc"
    node_snat = explorer.flow.seen_source.ip
    explorer.exclude_snat_cidrs.value = "10.20.0.0/16"
    pod = explorer.flow.hops[0].src.ip
    assert explorer.flow.seen_source.ip == pod != node_snat
    keys = [v for _, v in explorer.source.options]
    assert keys[0] == CHOICE and "kube-system/coredns-bmd9kxlllg-66xdv" in keys
    explorer.source.value = "default/web-tmqm49tph7-czv9v"
    assert explorer.flow.source == "pod default/web-tmqm49tph7-czv9v" and explorer.secondary_eni.disabled
    explorer.source.value = CHOICE
    assert not explorer.secondary_eni.disabled
    explorer.scenario.value = "pod-to-pod-same-node"
    explorer.destination.value = ""
    assert explorer.flow.destination.startswith("pod ")


def test_bad_input_shows_a_message_not_a_traceback():
    explorer = FlowExplorer("pod-to-internet")
    explorer.exclude_snat_cidrs.value = "10.20.0.0/33"
    assert "10.20.0.0/33" in explorer.message.value and "Traceback" not in explorer.message.value
    assert explorer.flow is None and explorer.animation.outputs == () and explorer.summary.value == ""
    explorer.exclude_snat_cidrs.value = ""
    assert explorer.message.value == "" and explorer.flow.delivered
    explorer.destination.value = "internt"
    assert "did you mean" in explorer.message.value or "not a pod" in explorer.message.value
    explorer.destination.value = "internet"
    assert explorer.message.value == ""


def test_replay_draws_the_animation_again():
    explorer = FlowExplorer("pod-to-pod-same-node")
    first = _figure(explorer.animation)
    explorer.animation.outputs = ()
    explorer.replay.click()
    assert _figure(explorer.animation) == first and explorer.message.value == ""


def test_a_cluster_of_your_own():
    cluster = load_sample("two-node")
    explorer = FlowExplorer("pod-to-internet", cluster=cluster)
    assert explorer.subnet.disabled and explorer.flow.delivered
    pods = {p.key for p in cluster.pods}
    assert {v for _, v in explorer.source.options} - {CHOICE} == pods
    assert explorer.flow.source.removeprefix("pod ") in pods


# ----------------------------------------------------------------------------------------------- Services


def test_each_scenario_starts_from_its_own_defaults():
    """Choosing a scenario sets its controls as the scenario runs when given nothing: the same flow."""
    explorer = FlowExplorer()
    for name in SCENARIOS:
        explorer.scenario.value = name
        assert explorer.message.value == "", name
        assert explorer.flow.hop_table().equals(scenario(name).hop_table()), name
    explorer.scenario.value = "nodeport"
    assert (explorer.subnet.value, explorer.external_traffic_policy.value) == ("public", "Cluster")
    explorer.scenario.value = "loadbalancer"
    assert (explorer.subnet.value, explorer.external_traffic_policy.value) == ("public", "Local")
    explorer.scenario.value = "pod-to-internet"
    assert explorer.subnet.value == "private"


def test_nodeport_controls():
    explorer = FlowExplorer("nodeport")
    assert explorer.verdict.value.count("accepts the reply") == 1 and explorer.notes.value == ""
    sources = {v for _, v in explorer.source.options} - {CHOICE}
    assert any(s.startswith("default/api-") for s in sources)  # the Services cluster's pods
    explorer.external_traffic_policy.value = "Local"
    assert str(explorer.flow.seen_source.ip) == "203.0.113.77"  # Local keeps the client
    explorer.local_endpoint.value = False  # a node without an api pod: kube-proxy's filter rule drops
    expected = scenario("nodeport", external_traffic_policy="Local", local_endpoint=False)
    assert explorer.flow.hop_table().equals(expected.hop_table()) and not explorer.flow.delivered
    assert "has no local endpoints" in explorer.summary.value and "No reply" in explorer.verdict.value
    explorer.local_endpoint.value = True
    explorer.external_traffic_policy.value = "Cluster"
    explorer.secondary_eni.value = True
    explorer.connmark.value = False  # the reply leaves by eth1 and dies at the source/destination check
    assert explorer.flow.delivered and not explorer.flow.reply.delivered
    assert "reply is dropped" in explorer.verdict.value and "source/destination check" in explorer.verdict.value


def test_load_balancer_controls_health_checks_and_the_hairpin():
    explorer = FlowExplorer("loadbalancer")
    notes = explorer.notes.value
    assert notes.count("<tr>") == 4 and "healthz" in notes and ">503 (no local endpoint)<" in notes
    assert 'style="color:#d62728"><b>503' in notes and 'style="color:#2ca02c"><b>200' in notes
    assert explorer.flow.seen_source.ip == explorer.flow.hops[0].src.ip  # instance targets + Local: the client
    explorer.target_type.value = "ip"
    assert explorer.flow.hop_table().equals(scenario("loadbalancer", target_type="ip").hop_table())
    assert not any(t.startswith("DNAT") for t in explorer.flow.translations)  # straight to the pod
    explorer.preserve_client_ip.value = "on"
    assert str(explorer.flow.seen_source.ip) == "203.0.113.77"
    explorer.preserve_client_ip.value = "off"
    assert str(explorer.flow.seen_source.ip) != "203.0.113.77"
    explorer.kind.value = "clb"  # the CLB has no target types and no attribute: disabled, not passed
    assert explorer.target_type.disabled and explorer.preserve_client_ip.disabled
    assert explorer.flow.hop_table().equals(scenario("loadbalancer", kind="clb").hop_table())
    assert explorer.flow.source == "client" and "CLB of default/web" in explorer.notes.value
    explorer.kind.value = "nlb"
    explorer.target_type.value = "instance"
    explorer.preserve_client_ip.value = "default"
    explorer.external_traffic_policy.value = "Cluster"
    assert explorer.flow.hop_table().equals(
        scenario("loadbalancer", external_traffic_policy="Cluster").hop_table())
    assert "TCP :30512 -&gt; open" not in explorer.notes.value and ">open<" in explorer.notes.value
    explorer.external_traffic_policy.value = "Local"
    explorer.hairpin.value = True
    assert explorer.flow.delivered and not explorer.flow.reply_accepted
    assert "the client drops it: the connection times out" in explorer.verdict.value
    last = _figure(explorer.animation)["frames"][-1]["data"]
    assert last[2]["marker"]["symbol"] == "x" and "times out" in last[3]["text"][0]
    explorer.protocol.value = "udp"
    explorer.hairpin.value = False
    assert explorer.flow.hop_table().equals(scenario("loadbalancer", protocol="udp").hop_table())


def test_cluster_ip_controls():
    explorer = FlowExplorer("pod-to-service")
    assert explorer.hairpin.disabled is False and explorer.kind.disabled and explorer.external_traffic_policy.disabled
    explorer.hairpin.value = True  # a backend pod to its own Service: the hairpin masquerade
    assert explorer.flow.receiver == explorer.flow.source and any("MASQUERADE" in t for t in explorer.flow.translations)
    assert "accepts the reply" in explorer.verdict.value
    explorer.hairpin.value = False
    explorer.host_network.value = True  # from the node's own network namespace: nat OUTPUT
    assert explorer.flow.source.startswith("node ")
    assert any(h.where.hook == "OUTPUT" and h.rewrite for h in explorer.flow.hops)
    explorer.scenario.value = "pod-to-pod-same-node"  # takes neither: disabled, not passed
    assert explorer.host_network.disabled and explorer.flow.hop_table().equals(
        scenario("pod-to-pod-same-node").hop_table())
