"""Every figure ekslib draws is valid plotly, checked once here.

The figure functions build their figures from plain dicts without plotly.py's property-by-property validation
(:func:`ekslib.figures.theme.figure`: validation is most of what building a figure costs). Here each one is
rebuilt with validation on, which raises on any property plotly does not know or any value it refuses, and must
give the same figure.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable

import plotly.graph_objects as go
import pytest

from ekslib.figures.theme import FONT, TEMPLATE, figure

MODULES = ("capacity", "cluster", "dataplane", "flows", "ipam", "services")


def _capacity() -> dict[str, Callable[[], go.Figure]]:
    from ekslib.capacity import explain_max_pods
    from ekslib.figures import capacity as f

    return {
        "max_pods_by_family_figure": lambda: f.max_pods_by_family_figure(categories=["m", "c", "r", "t"]),
        "enis_vs_ips_figure": f.enis_vs_ips_figure,
        "modes_figure": lambda: f.modes_figure("m5"),
        "multi_card_figure": f.multi_card_figure,
        "explanation_figure": lambda: f.explanation_figure(
            explain_max_pods("m5.large", prefix_delegation=True, ceiling=True)),
        "explanation_figure (no prefix delegation)": lambda: f.explanation_figure(explain_max_pods("t3.medium")),
    }


def _cluster() -> dict[str, Callable[[], go.Figure]]:
    from ekslib.cluster import build_cluster, load_sample
    from ekslib.dataplane import node_dataplane
    from ekslib.figures import cluster as f
    from ekslib.figures import dataplane as d

    sample = load_sample("two-node")
    return {
        "cluster_figure": lambda: f.cluster_figure(build_cluster([("m5.large", 3)], workloads=[("web", 40)])),
        "cluster_figure (by namespace, a node highlighted, empty subnets)": lambda: f.cluster_figure(
            sample, color_by="namespace", highlight=sample.nodes[0].name, empty_subnets=True),
        "cluster_figure (one marker per ENI)": lambda: f.cluster_figure(
            build_cluster([("m5.large", 40)], workloads=[("web", 900)])),
        "node_figure": lambda: d.node_figure(node_dataplane(sample, sample.nodes[0].name)),
        "bridge_vs_routed_figure": lambda: d.bridge_vs_routed_figure(sample, sample.nodes[0].name),
    }


def _flows() -> dict[str, Callable[[], go.Figure]]:
    from ekslib.figures import flows as f
    from ekslib.figures import services as s
    from ekslib.flows import scenario
    from ekslib.flows.scale import rules_traversed

    return {
        "flow_animation": lambda: f.flow_animation(scenario("pod-to-internet", subnet="public")),
        "flow_animation (load balancer, hairpin: reply not accepted)": lambda: f.flow_animation(
            scenario("loadbalancer", hairpin=True)),
        "flow_animation (NodePort reply dropped)": lambda: f.flow_animation(
            scenario("nodeport", secondary_eni=True, connmark=False)),
        "hops_figure": lambda: f.hops_figure(scenario("pod-to-service")),
        "conntrack_figure": lambda: f.conntrack_figure(scenario("pod-to-internet")),
        "rules_traversed_figure": lambda: s.rules_traversed_figure(rules_traversed((10, 100))),
    }


def _ipam() -> dict[str, Callable[[], go.Figure]]:
    from ekslib.figures import ipam as f
    from ekslib.ipam import FleetGroup, fragmented_subnet, plan_subnets, ramp, simulate, simulate_cluster, steady_state

    def fleet():
        return simulate_cluster(["10.0.0.0/24"], [FleetGroup("t3.medium", 3)], duration_s=300)

    return {
        "timeline_figure": lambda: f.timeline_figure(simulate("t3.medium", ramp(3), duration_s=60)),
        "pool_animation_figure": lambda: f.pool_animation_figure("t3.medium", 6),
        "pool_animation_figure (prefix delegation)": lambda: f.pool_animation_figure(
            "m5.large", 20, prefix_delegation=True),
        "pool_figure": lambda: f.pool_figure(steady_state("t3.small", 58, prefix_delegation=True)),
        "pool_figure (secondary addresses)": lambda: f.pool_figure(steady_state("t3.medium", 10)),
        "settings_figure": lambda: f.settings_figure("t3.medium", {"default": {}, "warm 2": {"warm_ip_target": 2}},
                                                     pods=3),
        "subnet_plan_figure": lambda: f.subnet_plan_figure(
            {"one /24": plan_subnets(["10.0.0.0/24"], [("m5.large", 4)]),
             "two /25s": plan_subnets(["10.0.0.0/25", "10.0.0.128/25"], [("m5.large", 4)])}),
        "fragmentation_figure": lambda: f.fragmentation_figure(*fragmented_subnet("10.0.0.0/24")),
        "fleet_figure": lambda: f.fleet_figure(fleet()),
        "fleet_waste_figure": lambda: f.fleet_waste_figure({"default": fleet()}),
    }


CASES: dict[str, Callable[[], go.Figure]] = {**_capacity(), **_cluster(), **_flows(), **_ipam()}


def _json(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


@pytest.mark.parametrize("case", CASES)
def test_the_figure_is_what_plotly_validating_every_property_makes_of_it(case):
    fig = CASES[case]()
    again = go.Figure(fig.to_dict())  # raises on a property plotly does not know, or a value it refuses
    assert _json(again) == _json(fig)
    assert fig.layout.template.layout.font.family == FONT["family"]  # the collection's template, resolved


def test_every_figure_function_is_checked():
    functions = {f"{name}" for m in MODULES for name, fn in vars(importlib.import_module(f"ekslib.figures.{m}")).items()
                 if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__.endswith(m)
                 and fn.__annotations__.get("return") == "go.Figure"}
    checked = {case.split(" (")[0] for case in CASES}
    assert functions == checked


def test_a_wrong_property_is_caught_here():
    fig = figure([{"type": "scatter", "x": [1], "colour": "red"}], {"template": TEMPLATE})  # built without a check
    with pytest.raises(ValueError, match="colour"):
        go.Figure(fig.to_dict())
