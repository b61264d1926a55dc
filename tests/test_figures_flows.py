"""The packet-flow figures: a light, deterministic animation whose frames follow the Flow's hops, with each
rewritten field in red at the frame where it was rewritten; the hop and conntrack tables."""

from __future__ import annotations

import html
from ipaddress import IPv4Address

import plotly.graph_objects as go
import pytest

from ekslib.errors import EkslibError
from ekslib.figures import flows as figures
from ekslib.figures.theme import TEMPLATE
from ekslib.flows import Address, Flow, Hop, Where, scenario

#: The issue's budget for the animation: len(fig.to_json()) of a cross-node flow with its reply, pod-to-internet.
ANIMATION_BUDGET = 150_000
TABLE_BUDGET = 150_000
RED = figures.COLOURS["rewrite"]

CASES = {
    "cross-node": ("pod-to-pod-cross-node", {}),
    "cross-node, secondary ENI": ("pod-to-pod-cross-node", {"secondary_eni": True}),
    "same node": ("pod-to-pod-same-node", {}),
    "internet, private": ("pod-to-internet", {}),
    "internet, public, secondary ENI": ("pod-to-internet", {"subnet": "public", "secondary_eni": True}),
    "no connmark (dropped)": ("pod-to-internet", {"secondary_eni": True, "connmark": False}),
    "host network": ("host-network-egress", {}),
    "peered VPC, excluded": ("pod-to-internet", {"destination": "peered-vpc", "exclude_snat_cidrs": ["10.20.0.0/16"]}),
    "ClusterIP": ("pod-to-service", {}),
    "ClusterIP hairpin": ("pod-to-service", {"hairpin": True}),
    "NodePort, Local, no local endpoint (dropped)": ("nodeport", {"external_traffic_policy": "Local",
                                                                  "local_endpoint": False}),
    "NodePort, secondary ENI, no connmark (reply dropped)": ("nodeport", {"secondary_eni": True, "connmark": False}),
    "NLB instance targets, Local": ("loadbalancer", {}),
    "NLB instance targets, Cluster": ("loadbalancer", {"external_traffic_policy": "Cluster"}),
    "NLB IP targets": ("loadbalancer", {"target_type": "ip"}),
    "CLB": ("loadbalancer", {"kind": "clb"}),
    "NLB hairpin (times out)": ("loadbalancer", {"hairpin": True}),
}


def _flow(case: str) -> Flow:
    name, options = CASES[case]
    return scenario(name, **options)


def _text(frame) -> str:
    return frame.data[3].text[0]


def _header(frame) -> str:
    """The line of the frame's text with the packet's src, dst and mark."""
    return _text(frame).split("<br>")[1]


@pytest.mark.parametrize("case", CASES)
def test_animation_is_plain_deterministic_light_and_in_tens_of_frames(case):
    flow = _flow(case)
    fig, again = figures.flow_animation(flow), figures.flow_animation(_flow(case))
    assert type(fig) is go.Figure and fig.layout.template.layout.font.size == 12
    text = fig.to_json()
    assert text == again.to_json()
    assert len(text) < ANIMATION_BUDGET
    groups = figures.frame_groups(flow)
    assert len(fig.frames) == len(groups) <= figures.MAX_FRAMES
    assert [h for g in groups for h in g] == list(flow.all_hops())  # every hop, in order, once
    assert all(len({h.direction for h in g}) == 1 and len({h.where.namespace for h in g}) == 1 for g in groups)
    assert all(frame.traces == (1, 2, 3, 4, 5) for frame in fig.frames)
    assert len(fig.data) == 6
    assert all(not frame.layout.to_plotly_json() for frame in fig.frames)  # frames move traces only
    assert fig.layout.xaxis.autorange is False and fig.layout.yaxis.autorange is False
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ play", "❚❚ pause"]


def test_uses_the_collection_template():
    import plotly.io as pio

    fig = figures.flow_animation(_flow("same node"))
    assert fig.layout.template == pio.templates[TEMPLATE]
    assert figures.hops_figure(_flow("same node")).layout.template == pio.templates[TEMPLATE]


def test_cross_node_with_reply_groups_about_sixty_hops_into_some_thirty_frames():
    flow = _flow("cross-node")
    fig = figures.flow_animation(flow)
    assert len(flow.all_hops()) > 45 and 20 <= len(fig.frames) <= 40
    directions = [_text(f).split("</b>")[0].removeprefix("<b>") for f in fig.frames]
    cut = directions.index("reply")
    assert set(directions[:cut]) == {"request"} and set(directions[cut:]) == {"reply"}
    # the request trail is complete while the reply moves
    assert len(fig.frames[-1].data[0].x) == len(fig.frames[cut - 1].data[0].x)
    # nothing is rewritten between two pods: no red anywhere in the headers
    assert not any(RED in _header(f) for f in fig.frames)


def test_snat_and_the_internet_gateway_are_red_at_their_frames_only():
    flow = _flow("internet, public, secondary ENI")
    fig = figures.flow_animation(flow)
    groups = figures.frame_groups(flow)
    for frame, group in zip(fig.frames, groups, strict=True):
        rewrites = [h for h in group if h.rewrite]
        changed = {c for h in group for c in h.changed}
        header = _header(frame)
        for name in ("src", "dst"):
            value = str(getattr(group[-1], name))
            assert (f"{name} <span style=\"color:{RED}\"><b>{value}" in header) == (name in changed), header
        for hop in rewrites:
            assert html.escape(hop.rewrite, quote=False) in _text(frame)
    snat = next(i for i, g in enumerate(groups) if any(h.rewrite.startswith("src") and h.where.hook == "POSTROUTING"
                                                      for h in g))
    node_ip = str(groups[snat][-1].src)
    assert f"was {groups[snat][0].src}" in _header(fig.frames[snat]) and node_ip.startswith("192.168.")
    assert fig.frames[snat].data[2].y[0] == 0.0  # the packet sits on the POSTROUTING row
    assert "-j SNAT --to-source" in _text(fig.frames[snat])
    gateway = next(i for i, g in enumerate(groups) if g[-1].kind == "internet-gateway" and g[-1].rewrite)
    assert "198.51.100.100" in _header(fig.frames[gateway]) and gateway > snat
    # the connmark's mark: the frame of PREROUTING shows it red
    marked = next(i for i, g in enumerate(groups) if "mark" in {c for h in g for c in h.changed})
    assert f"mark <span style=\"color:{RED}\"><b>0x80" in _header(fig.frames[marked])
    # de-SNAT on the way back: the reply's destination turns red again
    assert any("de-SNAT" in _text(f) and f"dst <span style=\"color:{RED}\">" in _header(f) for f in fig.frames)


def test_a_drop_ends_with_a_red_cross_and_the_reason():
    flow = _flow("no connmark (dropped)")
    fig = figures.flow_animation(flow)
    last = fig.frames[-1]
    assert not flow.delivered and flow.reply is None
    assert last.data[2].marker.symbol == "x" and "DROPPED" in _text(last)
    assert "source/destination check" in _text(last) and "does not hold" in _text(last)
    assert "dropped" in fig.layout.title.text
    assert all(len(f.data[1].x) == 1 and f.data[1].x[0] is None for f in fig.frames)  # no reply trail


def test_the_scene_draws_each_place_once_from_the_hops():
    flow = _flow("internet, private")
    fig = figures.flow_animation(flow)
    notes = " ".join(a.text for a in fig.layout.annotations)
    for label in ("PREROUTING", "routing decision", "FORWARD", "POSTROUTING", "VPC", "NAT gateway",
                  "internet gateway", "internet", "eth0"):
        assert label in notes
    node = flow.hops[5].where.namespace
    assert notes.count(f"<b>{figures.place_label(node)}</b>") == 1
    hover = " ".join(fig.data[0].hovertext)
    assert "AWS-SNAT-CHAIN-0" in hover and "route table of subnet-" in hover
    # the node sits left of the VPC, its eth0 on the VPC's side; the veth on the pod's side
    veth = next(h.where.device for h in flow.hops if h.kind == "conntrack")
    devices = {a.text: a.x for a in fig.layout.annotations if a.text in (veth, "eth0") and a.font.size == 9}
    assert devices[veth] < devices["eth0"]


def test_positions_come_from_the_public_fields_of_any_flow():
    """A Flow written by hand (no engine, unknown places) still animates: one frame per stage."""
    a, b = Address.parse("10.0.0.5:4000"), Address.parse("203.0.113.9:443")
    snat = Address.parse("10.0.0.1:5000")
    hops = (
        Hop(1, Where("pod demo/app", "eth0"), "send", a, b, action="send"),
        Hop(2, Where("pod demo/app", "eth0"), "veth", a, b, action="eth0 -> veth1"),
        Hop(3, Where("node n1", "veth1", "PREROUTING", "nat", "PREROUTING"), "netfilter", a, b, rule="-A X"),
        Hop(4, Where("node n1", "veth1", "routing"), "route", a, b, rule="default via 10.0.0.254 dev eth0"),
        Hop(5, Where("node n1", "veth1", "POSTROUTING", "nat", "POSTROUTING"), "netfilter", snat, b,
            rule="-A POSTROUTING -j MASQUERADE", action="MASQUERADE", rewrite=f"src {a} -> {snat}", changed=("src",)),
        Hop(6, Where("node n1", "eth0"), "eni", snat, b, action="out of eth0"),
        Hop(7, Where("somewhere far"), "deliver", snat, b, action="delivered"),
    )
    flow = Flow("pod demo/app", "somewhere far", "tcp", hops, True, seen_source=snat, seen_destination=b)
    fig = figures.flow_animation(flow)
    assert len(fig.frames) == 7 and [len(g) for g in figures.frame_groups(flow)] == [1, 1, 1, 1, 1, 1, 1]
    assert RED in _header(fig.frames[4]) and RED not in _header(fig.frames[3])
    assert fig.frames[4].data[2].y[0] == 0.0 and fig.frames[2].data[2].y[0] == 3.0
    assert "somewhere far" in " ".join(a.text for a in fig.layout.annotations)


def test_frame_groups_fall_back_to_one_frame_per_place():
    flow = _flow("cross-node")
    coarse = figures.frame_groups(flow, max_frames=12)
    assert [g[0].where.namespace.split(" ")[0] for g in coarse] == ["pod", "node", "vpc", "node", "pod"] * 2
    assert len(figures.flow_animation(flow, max_frames=12).frames) == 10


def test_hop_table_marks_each_rewrite():
    flow = _flow("internet, private")
    fig = figures.hops_figure(flow)
    table = fig.data[0]
    hops = flow.all_hops()
    columns = [v.removeprefix("<b>").removesuffix("</b>") for v in table.header.values]
    assert columns[:6] == ["step", "direction", "where", "kind", "src", "dst"]
    assert len(table.cells.values[0]) == len(hops)
    fills = dict(zip(columns, table.cells.fill.color, strict=True))
    changed = figures.COLOURS["changed"]
    for i, hop in enumerate(hops):
        assert (fills["src"][i] == changed) == ("src" in hop.changed)
        assert (fills["dst"][i] == changed) == ("dst" in hop.changed)
        assert (fills["rewrite"][i] == changed) == bool(hop.rewrite)
    # node SNAT, NAT gateway and both undone; the 0x80 connmark and mark
    assert sum(bool(h.rewrite) and not set(h.changed) <= {"mark", "ctmark"} for h in hops) == 4
    assert sum(h.changed == ("ctmark",) for h in hops) == 1  # AWS-CONNMARK-CHAIN-0 marks the connection
    assert sum(h.changed == ("mark",) for h in hops) == 1  # the restore copies it to the packet
    assert "node ip-192-168-96-4 " in table.cells.values[2][5]  # node names shortened
    assert len(fig.to_json()) < TABLE_BUDGET and fig.to_json() == figures.hops_figure(flow).to_json()


def test_conntrack_table_lists_each_entry_as_conntrack_prints_it():
    flow = _flow("internet, private")
    fig = figures.conntrack_figure(flow)
    cells = fig.data[0].cells.values
    assert len(cells[0]) == len(flow.conntrack) == 2
    assert list(cells[-1]) == [e.text() for e in flow.conntrack]
    assert cells[0][1].startswith("NAT gateway") and list(cells[5]) == ["snat", "snat"]
    same = figures.conntrack_figure(_flow("same node"))
    assert list(same.data[0].cells.values[5]) == ["-"]


def test_bad_input_is_named():
    with pytest.raises(EkslibError, match="expected a Flow"):
        figures.flow_animation("pod-to-internet")
    with pytest.raises(EkslibError, match="max_frames"):
        figures.frame_groups(_flow("same node"), max_frames=0)
    with pytest.raises(EkslibError, match="expected a Flow"):
        figures.hops_figure(None)


def test_addresses_stay_addresses():
    flow = _flow("same node")
    assert all(isinstance(h.src.ip, IPv4Address) for h in flow.all_hops())
    assert figures.place_label("node ip-10-0-0-1.ec2.internal") == "node ip-10-0-0-1"


# ----------------------------------------------------------------------------------------------- Services


def _notes(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations)


def _badges(frame) -> list[str]:
    return [t for t in frame.data[4].text if t]


def test_the_load_balancer_is_a_place_of_its_own_with_its_health_checks():
    flow = _flow("NLB instance targets, Local")
    fig = figures.flow_animation(flow)
    lb_hop = next(h for h in flow.hops if h.kind == "load-balancer")
    assert lb_hop.where.namespace == "NLB of default/web (instance targets)"
    notes = _notes(fig)
    assert "<b>NLB</b> of default/web<br>(instance targets)<br><i>internet-facing</i>" in notes
    assert "listener TCP:80" in notes and "192.168.31.253:80" in notes
    # the packet sits at the load balancer in its frame, the frame says what the load balancer did
    groups = figures.frame_groups(flow)
    at = next(i for i, g in enumerate(groups) if g[-1].kind == "load-balancer")
    panel = next(a for a in fig.layout.annotations if a.text.startswith("<b>health checks</b>"))
    box = next(s for s in fig.layout.shapes if s.fillcolor == figures.COLOURS["lb"])
    assert box.x0 < fig.frames[at].data[2].x[0] < box.x1 and box.x0 < panel.x < box.x1
    assert "to target" in _text(fig.frames[at]) and "listener TCP:80; healthy:" in _text(fig.frames[at])
    # one entry per target, 200 in green, 503 in red, the chosen target marked
    checks = figures.health_checks(flow)
    assert len(checks) == 3 and [c.healthy for c in checks].count(False) == 1
    assert panel.text.count("HTTP :") == 1  # the same check for every node: said once
    for check in checks:
        assert check.target in panel.text
    assert panel.text.count(figures.COLOURS["unhealthy"] + '"><b>503</b>') == 1
    assert panel.text.count(figures.COLOURS["healthy"] + '"><b>200</b>') == 2
    assert f"▸ {lb_hop.dst}" in panel.text
    unhealthy = next(c for c in checks if not c.healthy)
    assert f"▸ {unhealthy.target}" not in panel.text  # the NLB never sends to a node that answers 503


def test_both_dnats_and_the_masquerade_are_marked_where_they_happen():
    flow = _flow("NLB instance targets, Cluster")
    fig = figures.flow_animation(flow)
    groups = figures.frame_groups(flow)
    assert _badges(fig.frames[-1]) == ["① DNAT", "② DNAT", "③ DNAT", "④ MASQUERADE"]
    places = [g[-1].where.namespace for g in groups if figures.translation_label(g) and g[0].direction == "request"]
    assert places[0] == "internet gateway" and places[1].startswith("NLB of") and places[2] == places[3]
    for i, group in enumerate(groups):  # each mark appears at its frame, and the field is red there
        label = figures.translation_label(group) if group[0].direction == "request" else ""
        if label:
            assert _badges(fig.frames[i])[-1].endswith(label) and len(_badges(fig.frames[i - 1])) < \
                len(_badges(fig.frames[i]))
            field = "dst" if "DNAT" in label else "src"
            assert f"{field} <span style=\"color:{RED}\">" in _header(fig.frames[i])
    # the node's DNAT is on PREROUTING's row, the masquerade on POSTROUTING's, both beside the hook's box
    frame = fig.frames[-1]
    assert list(frame.data[4].y[2:]) == [3.0, 0.0] and frame.data[4].x[2] > fig.frames[0].data[2].x[0]
    # Local keeps the client: no masquerade
    assert _badges(figures.flow_animation(_flow("NLB instance targets, Local")).frames[-1]) == \
        ["① DNAT", "② DNAT", "③ DNAT"]


@pytest.mark.parametrize("case, label", [("NLB IP targets", "DNAT + SNAT"), ("CLB", "proxy: a new connection")])
def test_what_the_load_balancer_does_to_the_source(case, label):
    flow = _flow(case)
    fig = figures.flow_animation(flow)
    assert _badges(fig.frames[-1])[1] == f"② {label}"
    at = next(i for i, g in enumerate(figures.frame_groups(flow)) if g[-1].kind == "load-balancer")
    header = _header(fig.frames[at])
    assert f"src <span style=\"color:{RED}\">" in header and f"dst <span style=\"color:{RED}\">" in header
    if case == "NLB IP targets":  # straight to the pod: no kube-proxy DNAT
        assert len(_badges(fig.frames[-1])) == 2


def test_the_hairpin_ends_with_the_client_dropping_the_reply():
    flow = _flow("NLB hairpin (times out)")
    fig = figures.flow_animation(flow)
    assert flow.reply.delivered and not flow.reply_accepted
    last = fig.frames[-1]
    assert last.data[2].marker.symbol == "x" and last.data[2].marker.color == figures.COLOURS["drop"]
    assert "the client drops it: the connection times out" in _text(last) and "NOT ACCEPTED" in _text(last)
    assert str(flow.hops[0].dst) in _text(last) and str(flow.reply.seen_source) in _text(last)
    assert "reply not accepted: the connection times out" in fig.layout.title.text
    assert all("times out" not in _text(f) for f in fig.frames[:-1])
    # the reply never goes back through the NLB: its trail stays out of the load balancer's box
    box = next(s for s in fig.layout.shapes if s.fillcolor == figures.COLOURS["lb"])
    assert all(x is None or x < box.x0 for x in last.data[1].x)
    # an accepted reply ends as before
    fine = figures.flow_animation(_flow("NLB instance targets, Local"))
    assert fine.frames[-1].data[2].marker.symbol == "circle" and "times out" not in _text(fine.frames[-1])


def test_a_filter_drop_and_a_dropped_reply_at_a_nodeport():
    dropped = figures.flow_animation(_flow("NodePort, Local, no local endpoint (dropped)"))
    assert dropped.frames[-1].data[2].marker.symbol == "x" and "has no local endpoints" in _text(dropped.frames[-1])
    reply = figures.flow_animation(_flow("NodePort, secondary ENI, no connmark (reply dropped)"))
    assert "reply dropped" in reply.layout.title.text and "source/destination check" in _text(reply.frames[-1])
    assert "times out" not in _text(reply.frames[-1])


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][0] in ("nodeport", "loadbalancer", "pod-to-service")])
def test_services_animations_keep_the_budget(case):
    text = figures.flow_animation(_flow(case)).to_json()
    assert len(text) < ANIMATION_BUDGET


def test_health_checks_come_from_the_flows_notes_only():
    a, b = Address.parse("10.0.0.5:4000"), Address.parse("10.0.0.9:80")
    hops = (Hop(1, Where("pod demo/app", "eth0"), "send", a, b, action="send"),
            Hop(2, Where("LB of demo/svc"), "load-balancer", a, Address.parse("10.0.1.1:31000"),
                rule="listener TCP:80", action="to target 10.0.1.1:31000", rewrite="dst 10.0.0.9:80 -> 10.0.1.1:31000",
                changed=("dst",)),
            Hop(3, Where("somewhere"), "deliver", a, Address.parse("10.0.1.1:31000"), action="delivered"))
    notes = ("LB of demo/svc health check of 10.0.1.1:31000: HTTP :32000/healthz -> 200 (ok)",
             "LB of demo/svc health check of 10.0.1.2:31000: HTTP :32000/healthz -> 503 (no local endpoint)",
             "LB of other/svc health check of 10.0.2.1:8080: TCP on the traffic port",
             "a note that is not a health check")
    flow = Flow("pod demo/app", "LB of demo/svc", "tcp", hops, True, notes=notes)
    checks = figures.health_checks(flow)
    assert [(c.load_balancer, c.healthy) for c in checks] == [("LB of demo/svc", True), ("LB of demo/svc", False),
                                                               ("LB of other/svc", None)]
    assert checks[2].check == "TCP on the traffic port" and checks[2].answer == ""
    fig = figures.flow_animation(flow)
    panels = [a for a in fig.layout.annotations if a.text.startswith("<b>health checks</b>")]
    assert len(panels) == 2  # one in the load balancer's place, one for the load balancer the packet never met
    assert "▸ 10.0.1.1:31000" in panels[0].text and panels[1].xref == "paper" and "10.0.2.1:8080" in panels[1].text
    assert "<b>LB</b> of demo/svc" in _notes(fig) and _badges(fig.frames[1]) == ["① DNAT"]
    assert not figures.health_checks(_flow("same node"))
    assert not any(a.text.startswith("<b>health checks</b>") for a in
                   figures.flow_animation(_flow("same node")).layout.annotations)
