"""Services and the two DNATs, against dataplane.md sections 1, 2 and 5: what the pod sees, where each DNAT and
SNAT happens, and which rule drops."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekslib.flows.scenarios import scenario, service_cluster
from ekslib.flows.vpc import OUTSIDE_HOSTS, VpcFabric

CLIENT = OUTSIDE_HOSTS["client"]


def _dnats(flow):
    return [t for t in flow.translations if t.startswith("DNAT") or ("NLB" in t and "reply" not in t)]


def test_pod_to_clusterip_dnats_in_prerouting_to_one_endpoint_uniformly():
    flow = scenario("pod-to-service")
    dnat = [h for h in flow.hops if h.action == "DNAT"]
    assert len(dnat) == 1 and dnat[0].where.hook == "PREROUTING" and dnat[0].where.chain.startswith("KUBE-SEP-")
    assert flow.delivered and flow.reply_accepted
    probabilities = list(flow.probabilities.values())
    assert len(probabilities) == 4 and all(p == pytest.approx(0.25, abs=1e-6) for p in probabilities)


def test_hairpin_to_its_own_service_is_masqueraded_to_the_node():
    flow = scenario("pod-to-service", hairpin=True)
    src_pod = flow.source.removeprefix("pod ")
    assert flow.receiver == flow.source  # the endpoint chosen is the sender itself
    assert any("KUBE-MARK-MASQ" in h.action for h in flow.hops)
    assert any(t.startswith("MASQUERADE") for t in flow.translations)
    cluster = service_cluster("public")  # not the cluster used: check against the scenario's own
    del cluster
    assert flow.seen_source.ip != flow.hops[0].src.ip and flow.reply_accepted, src_pod


def test_host_network_pod_to_clusterip_dnats_in_output():
    flow = scenario("pod-to-service", host_network=True)
    dnat = [h for h in flow.hops if h.action == "DNAT"]
    assert dnat and dnat[0].where.hook == "OUTPUT" and flow.reply_accepted


def test_nodeport_cluster_policy_masquerades_the_client_to_the_node():
    flow = scenario("nodeport")
    cluster = service_cluster("public")
    assert flow.delivered and flow.seen_source.ip in {n.address for n in cluster.nodes}
    assert any(t.startswith("MASQUERADE") for t in flow.translations) and flow.reply_accepted


def test_nodeport_local_keeps_the_client_address():
    flow = scenario("nodeport", external_traffic_policy="Local")
    assert flow.delivered and flow.seen_source.ip == CLIENT and flow.reply_accepted
    assert not any(t.startswith("MASQUERADE") for t in flow.translations)


def test_nodeport_local_without_a_local_endpoint_is_dropped_by_the_named_filter_rule():
    flow = scenario("nodeport", external_traffic_policy="Local", local_endpoint=False)
    assert not flow.delivered and "KUBE-EXTERNAL-SERVICES" in flow.drop_reason
    assert "has no local endpoints" in flow.drop_reason


def test_nodeport_cluster_without_a_local_endpoint_forwards_to_another_node():
    flow = scenario("nodeport", local_endpoint=False)
    nodes = {h.where.namespace for h in flow.hops if h.where.namespace.startswith("node ")}
    assert flow.delivered and len(nodes) == 2 and flow.reply_accepted


def test_nodeport_to_a_secondary_eni_pod_needs_the_connmark():
    ok = scenario("nodeport", secondary_eni=True)
    assert ok.delivered and ok.reply_accepted
    rule_1024 = [h for h in ok.reply.hops if h.kind == "policy-rule" and h.rule.startswith("1024:")]
    assert rule_1024, "the reply leaves by eth0 through rule 1024"
    broken = scenario("nodeport", secondary_eni=True, connmark=False)
    assert broken.delivered and not broken.reply.delivered
    assert "source/destination check" in broken.reply.drop_reason and not broken.reply_accepted


def test_nlb_instance_targets_two_dnats_and_the_client_address_with_local():
    flow = scenario("loadbalancer")
    assert flow.delivered and flow.seen_source.ip == CLIENT and flow.reply_accepted
    assert len(_dnats(flow)) == 2, flow.translations  # the NLB's, then kube-proxy's: "DNAT happens twice"
    assert any("503 (no local endpoint)" in n for n in flow.notes) and any("200" in n for n in flow.notes)
    lb = VpcFabric.of(service_cluster("public")).load_balancer("default/web")
    assert flow.reply.seen_source.ip == lb.public_ip


def test_nlb_health_check_skips_nodes_without_a_local_endpoint():
    cluster = service_cluster("public")
    lb = VpcFabric.of(cluster).load_balancer("default/web")
    web_nodes = {p.node for p in cluster.pods if p.name.startswith("web-")}
    assert {t.node for t in lb.targets if t.healthy} == web_nodes and len(lb.targets) == 3
    for seed in range(6):
        flow = scenario("loadbalancer", seed=seed)
        assert flow.receiver.startswith("pod default/web-")


def test_nlb_cluster_policy_masquerades_to_a_node():
    flow = scenario("loadbalancer", external_traffic_policy="Cluster")
    assert flow.delivered and flow.seen_source.ip in {n.address for n in service_cluster("public").nodes}


@pytest.mark.parametrize("options, sees_client", [({"target_type": "ip"}, False),
                                                   ({"target_type": "ip", "preserve_client_ip": True}, True),
                                                   ({"target_type": "ip", "protocol": "udp"}, True),
                                                   ({"kind": "clb"}, False)])
def test_ip_targets_and_the_classic_load_balancer(options, sees_client):
    flow = scenario("loadbalancer", **options)
    assert flow.delivered and flow.reply_accepted
    assert (flow.seen_source.ip == CLIENT) == sees_client
    if options.get("target_type") == "ip":
        assert not any(t.startswith("DNAT") for t in flow.translations)  # straight to the pod: no kube-proxy


def test_the_hairpin_times_out():
    flow = scenario("loadbalancer", hairpin=True)
    assert flow.delivered and flow.reply is not None and not flow.reply_accepted
    assert "times out" in flow.summary()


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(["nodeport", "loadbalancer", "pod-to-service"]), seed=st.integers(0, 20),
       options=st.fixed_dictionaries({}, optional={
           "external_traffic_policy": st.sampled_from(["Cluster", "Local"]), "local_endpoint": st.booleans(),
           "target_type": st.sampled_from(["instance", "ip"]), "kind": st.sampled_from(["nlb", "clb"]),
           "preserve_client_ip": st.booleans(), "protocol": st.sampled_from(["tcp", "udp"]),
           "secondary_eni": st.booleans()}))
def test_the_client_sees_what_it_connected_to_and_no_eni_sends_what_it_does_not_hold(name, seed, options):
    from ekslib.flows.scenarios import SCENARIOS

    allowed = SCENARIOS[name][1]
    flow = scenario(name, seed=seed, **{k: v for k, v in options.items() if k in allowed})
    for hop in flow.all_hops():
        if hop.kind == "src-dst-check":
            assert "holds" in hop.action
    if flow.delivered and flow.reply is not None and flow.reply.delivered:
        assert flow.reply_accepted, flow.summary()


def test_who_sees_names_the_owner_of_the_address_the_pod_saw():
    from ekslib.flows.scenarios import who_sees

    table = who_sees({"local": scenario("loadbalancer"), "clb": scenario("loadbalancer", kind="clb"),
                      "dropped": scenario("nodeport", external_traffic_policy="Local", local_endpoint=False)})
    assert table["whose address"].tolist() == ["client", "load-balancer", ""]
    assert table["the receiver sees"].iloc[2] == "(dropped)"
    assert table["rewrites on the way in"].iloc[0] >= 3  # the internet gateway, the NLB, kube-proxy
