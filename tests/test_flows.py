"""The packet-tracing engine against the facts of dataplane.md and vpc-cni.md: what each receiver sees, where each
translation happens, and that replies undo every translation."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekslib.errors import EkslibError
from ekslib.flows.engine import trace
from ekslib.flows.scenarios import SCENARIOS, pick_pod, scenario, scenario_cluster
from ekslib.flows.vpc import NAT_GATEWAY_EIP, PEERED_HOST

PRIVATE = scenario_cluster("private")
PUBLIC = scenario_cluster("public")


def _node_address(cluster, pod_key):
    return cluster.node(cluster.pod(pod_key).node).address


def _actions(flow, kind):
    return [h for h in flow.all_hops() if h.kind == kind]


def test_same_node_is_routed_by_rule_512_without_a_bridge_or_translation():
    flow = scenario("pod-to-pod-same-node")
    src, dst = PRIVATE.pod(flow.source.removeprefix("pod ")), PRIVATE.pod(flow.destination.removeprefix("pod "))
    assert flow.delivered and src.node == dst.node
    assert flow.seen_source.ip == src.address and flow.translations == ()
    rules = [h.rule for h in flow.hops if h.kind == "policy-rule"]
    assert rules == [f"512:\tfrom all to {dst.address} lookup main"]
    assert not _actions(flow, "eni"), "a same-node flow never leaves by an ENI"
    neighbours = [h.rule for h in flow.hops if h.kind == "neighbour"]
    assert neighbours and neighbours[0].startswith("169.254.1.1 dev eth0 lladdr") and "PERMANENT" in neighbours[0]


@pytest.mark.parametrize("secondary", [False, True])
def test_cross_node_keeps_the_pod_address_and_leaves_by_the_eni_that_holds_it(secondary):
    flow = scenario("pod-to-pod-cross-node", secondary_eni=secondary)
    src = PRIVATE.pod(flow.source.removeprefix("pod "))
    eni = PRIVATE.eni(src.eni_id)
    assert flow.delivered and flow.seen_source.ip == src.address and flow.translations == ()
    out = [h for h in flow.hops if h.kind == "eni"][0]
    assert out.where.device == eni.interface
    first_rule = [h.rule for h in flow.hops if h.kind == "policy-rule"][0]
    if secondary:
        assert not eni.is_primary and first_rule == f"1536:\tfrom {src.address} lookup {eni.device_number + 1}"
    else:
        assert eni.is_primary and first_rule.startswith("32766:")
    assert flow.reply.delivered and flow.reply.seen_source.ip == PRIVATE.pod(flow.destination[4:]).address


def test_private_subnet_two_translations_node_snat_then_nat_gateway():
    flow = scenario("pod-to-internet")
    src_key = flow.source.removeprefix("pod ")
    node_ip = _node_address(PRIVATE, src_key)
    assert flow.delivered and flow.seen_source.ip == NAT_GATEWAY_EIP
    request = [t for t in flow.translations if not t.startswith("de-")]
    assert len(request) == 2 and request[0].startswith("SNAT at node") and f"-> {node_ip}:" in request[0]
    assert request[1].startswith("NAT gateway") and f"-> {NAT_GATEWAY_EIP}:" in request[1]
    zones = {e.zone for e in flow.conntrack}
    assert any(z.startswith("node") for z in zones) and any(z.startswith("NAT gateway") for z in zones)
    assert flow.reply.delivered and flow.reply.seen_destination.ip == PRIVATE.pod(src_key).address


def test_public_subnet_node_snat_then_internet_gateway_public_address():
    flow = scenario("pod-to-internet", subnet="public")
    assert flow.delivered and flow.seen_source.ip.is_global is False  # RFC 5737 documentation range
    assert str(flow.seen_source.ip).startswith("198.51.100.")
    assert any(h.kind == "internet-gateway" and h.rewrite for h in flow.hops)


def test_secondary_eni_pod_to_internet_needs_the_connmark_and_rule_1024():
    ok = scenario("pod-to-internet", subnet="public", secondary_eni=True)
    assert ok.delivered
    marked = [h for h in ok.hops if h.kind == "policy-rule"]
    assert marked[0].rule == "1024:\tfrom all fwmark 0x80/0x80 lookup main"
    assert [h for h in ok.hops if h.kind == "eni"][0].where.device == "eth0"
    broken = scenario("pod-to-internet", subnet="public", secondary_eni=True, connmark=False)
    assert not broken.delivered and "source/destination check" in broken.drop_reason
    assert [h for h in broken.hops if h.kind == "eni"][0].where.device != "eth0"


def test_external_snat_keeps_the_pod_address_only_a_nat_gateway_takes_it_out():
    private = scenario("pod-to-internet", external_snat=True)
    assert private.delivered and private.seen_source.ip == NAT_GATEWAY_EIP
    assert not any(t.startswith("SNAT at node") for t in private.translations)
    public = scenario("pod-to-internet", external_snat=True, subnet="public")
    assert not public.delivered and "internet gateway" in public.drop_reason


def test_excluded_cidr_keeps_the_pod_address_and_the_vpc_default_snats():
    excluded = scenario("pod-to-internet", destination="peered-vpc", exclude_snat_cidrs=["10.20.0.0/16"])
    src = PRIVATE.pod(excluded.source.removeprefix("pod "))
    assert excluded.delivered and excluded.seen_destination.ip == PEERED_HOST
    assert excluded.seen_source.ip == src.address
    default = scenario("pod-to-internet", destination="peered-vpc")
    assert default.seen_source.ip == PRIVATE.node(src.node).address


def test_host_network_egress_has_the_node_address_already():
    flow = scenario("host-network-egress", subnet="public")
    host_pod = next(p for p in PUBLIC.pods if p.host_network)
    assert flow.source == f"node {host_pod.node}" and flow.hops[0].src.ip == host_pod.address
    hooks = [h.where.hook for h in flow.hops]
    assert flow.delivered and "OUTPUT" in hooks and "FORWARD" not in hooks  # locally generated: OUTPUT, not FORWARD


def test_legacy_layout_gives_the_same_answers():
    for opts in ({}, {"subnet": "public", "secondary_eni": True}):
        new, old = scenario("pod-to-internet", **opts), scenario("pod-to-internet", layout="legacy", **opts)
        assert (new.delivered, new.seen_source) == (old.delivered, old.seen_source)
        assert any("AWS-SNAT-CHAIN-1" in h.where.chain for h in old.hops)


def test_conntrack_text_is_what_conntrack_l_prints():
    flow = scenario("pod-to-internet", subnet="public")
    line = flow.conntrack_text().splitlines()[0]
    assert line.startswith("tcp      6 431999 ESTABLISHED src=") and line.endswith("[ASSURED] mark=128 use=1")


def test_hop_table_lists_request_then_reply():
    table = scenario("pod-to-pod-cross-node").hop_table()
    assert list(table.columns[:6]) == ["step", "direction", "where", "kind", "src", "dst"]
    assert table["direction"].iloc[0] == "request" and table["direction"].iloc[-1] == "reply"
    assert table["step"].is_monotonic_increasing


def test_deterministic_for_a_seed():
    a, b = scenario("pod-to-internet", seed=3), scenario("pod-to-internet", seed=3)
    assert a.hop_table().equals(b.hop_table())
    assert scenario("pod-to-internet", seed=4).seen_source != a.seen_source  # another source port


def test_bad_input_is_named():
    with pytest.raises(EkslibError, match="did you mean"):
        trace(PRIVATE, "default/web-tmqm49tph7-xxxxx", "internet")
    with pytest.raises(EkslibError, match="out of range"):
        trace(PRIVATE, pick_pod(PRIVATE).key, "internet", port=70000)
    with pytest.raises(EkslibError, match="unknown scenario"):
        scenario("pod-to-pdo")
    with pytest.raises(EkslibError, match="takes no option"):
        scenario("pod-to-pod-same-node", subnet="public")
    with pytest.raises(EkslibError, match="protocol"):
        trace(PRIVATE, pick_pod(PRIVATE).key, "internet", protocol="sctp")


def test_an_address_nobody_holds_is_not_delivered_and_says_why():
    subnet = next(s for s in PRIVATE.subnets if not s.public)
    free = subnet.cidr.network_address + 4000
    flow = trace(PRIVATE, pick_pod(PRIVATE).key, str(free))
    assert not flow.delivered and "no ENI in the VPC holds" in flow.drop_reason


def test_pasted_rules_replace_the_generated_ones():
    from ekslib.dataplane.iptables import iptables_save

    src = pick_pod(PUBLIC)
    node = src.node
    text = "\n".join(line for line in iptables_save(PUBLIC, node).splitlines() if "-j SNAT" not in line)
    flow = trace(PUBLIC, src.key, "internet", rules={node: text})
    assert not flow.delivered and "public IPv4 address" in flow.drop_reason


def test_unsupported_pasted_rule_names_its_line():
    with pytest.raises(EkslibError, match="line 3"):
        trace(PRIVATE, pick_pod(PRIVATE).key, "internet",
              rules={PRIVATE.nodes[0].name: "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m frobnicate -j ACCEPT\n"
                                            "COMMIT\n"})


OPTIONS = st.fixed_dictionaries({}, optional={
    "subnet": st.sampled_from(["private", "public"]), "external_snat": st.booleans(),
    "exclude_snat_cidrs": st.sampled_from([[], ["10.20.0.0/16"]]), "secondary_eni": st.booleans(),
    "destination": st.sampled_from(["internet", "peered-vpc"]), "seed": st.integers(0, 50),
    "protocol": st.sampled_from(["tcp", "udp"]), "layout": st.sampled_from(["current", "legacy"])})


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(SCENARIOS)), options=OPTIONS)
def test_every_translation_is_undone_on_the_reply(name, options):
    allowed = SCENARIOS[name][1]
    options = {k: v for k, v in options.items() if k in allowed or k in ("seed", "protocol", "layout")}
    flow = scenario(name, **options)
    for hop in flow.all_hops():
        if hop.kind == "src-dst-check":
            assert "holds" in hop.action  # no delivered packet passed a check it should fail
    if flow.delivered and flow.reply is not None and flow.reply.delivered:
        first = flow.hops[0]
        assert flow.reply.seen_source == first.dst, "the client sees its own destination as the reply's source"
        assert flow.reply.seen_destination == first.src


def test_ipv4_addresses_in_hops_are_addresses():
    flow = scenario("pod-to-pod-same-node")
    assert all(isinstance(h.src.ip, IPv4Address) for h in flow.all_hops())


def test_overlay_for_contrast_wraps_pod_addresses_in_udp_between_nodes():
    from ekslib.dataplane.overlay import VXLAN_OVERHEAD, VXLAN_PORT

    flow = scenario("overlay-pod-to-pod")
    assert flow.delivered and str(flow.seen_source.ip).startswith("10.244.")  # not a VPC address
    tunnel = [h for h in flow.hops if h.kind == "encapsulate"][0]
    assert tunnel.dst.port == VXLAN_PORT and PRIVATE.vpc.contains(tunnel.src.ip) and VXLAN_OVERHEAD == 50
    assert "MTU is 8951" in tunnel.note and "eth0's 9001" in tunnel.note
    vpc_hops = [h for h in flow.hops if h.where.namespace == "vpc"]
    assert vpc_hops and all(PRIVATE.vpc.contains(h.src.ip) and PRIVATE.vpc.contains(h.dst.ip) for h in vpc_hops)
    assert [h.kind for h in flow.hops].count("decapsulate") == 1
    assert flow.reply.delivered and flow.reply.seen_source == flow.hops[0].dst

