"""The IPAM figures: each returns a plain go.Figure whose data carry the model's numbers, light and deterministic."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from ekslib.errors import EkslibError, UnknownInstanceTypeError
from ekslib.figures import ipam as figures
from ekslib.ipam.fleet import Churn, simulate_cluster
from ekslib.ipam.planner import FleetGroup, plan_subnets
from ekslib.ipam.published import PUBLISHED_PREFIX_ROWS
from ekslib.ipam.schedules import churn, ramp
from ekslib.ipam.simulation import simulate
from ekslib.ipam.steady import steady_state, steady_states
from ekslib.ipam.subnet_space import fragmented_subnet, usable_addresses

#: len(fig.to_json()) budgets, in bytes: a still figure, and an animation.
JSON_BUDGET = 300_000
ANIMATION_BUDGET = 1_000_000
SMALL = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
LARGE = ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
#: 24 m5.large nodes at 10 pods: WARM_ENI_TARGET=1 keeps 3 ENIs x 9 = 27 addresses on each, 17 of them warm.
LIGHT_CLUSTER = [("m5.large", 24, 10)]


@pytest.fixture(scope="module")
def short_run():
    return simulate_cluster(SMALL, [FleetGroup("m5.large", 30)], duration_s=1800, record_every_s=60,
                            workload=Churn(utilisation=0.8, seed=1))


BUILDERS = {
    "timeline": lambda: figures.timeline_figure(simulate("t3.medium", ramp(15, every_s=20, hold_s=120))),
    "animation": lambda: figures.pool_animation_figure("t3.medium"),
    "pool": lambda: figures.pool_figure(steady_state("t3.small", 58, prefix_delegation=True)),
    "settings": lambda: figures.settings_figure("m5.large", pods=27),
    "plan": lambda: figures.subnet_plan_figure({"/24s": plan_subnets(SMALL, LIGHT_CLUSTER),
                                                "/19s": plan_subnets(LARGE, LIGHT_CLUSTER)}),
    "fragmentation": lambda: figures.fragmentation_figure(*fragmented_subnet("10.0.0.0/24")),
    "cluster": lambda: figures.fleet_figure(simulate_cluster(SMALL, [FleetGroup("t3.medium", 6)], duration_s=900)),
    "waste": lambda: figures.fleet_waste_figure(
        {"default": simulate_cluster(SMALL, [FleetGroup("t3.medium", 6)], duration_s=900)}),
}


def _trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


@pytest.mark.parametrize("name", BUILDERS)
def test_figures_are_plain_deterministic_and_light(name):
    first, second = BUILDERS[name](), BUILDERS[name]()
    assert type(first) is go.Figure
    text = first.to_json()
    assert text == second.to_json()
    assert len(text) < (ANIMATION_BUDGET if name == "animation" else JSON_BUDGET)
    assert first.layout.title.text


# ------------------------------------------------------------------------------------------- timeline


def test_timeline_carries_the_simulation_numbers():
    timeline = simulate("t3.medium", ramp(1), duration_s=60)
    fig = figures.timeline_figure(timeline)
    assert list(_trace(fig, "attached").y) == timeline["ips_attached"].tolist()
    assert list(_trace(fig, "ENIs").y) == timeline["enis"].tolist()
    assert list(_trace(fig, "EC2 calls").y) == timeline["ec2_calls"].tolist()
    # one pod on a fresh t3.medium: the primary ENI's 5 addresses, then a second ENI with 5 more
    assert _trace(fig, "attached").y[-1] == 10 and _trace(fig, "available (warm)").y[-1] == 9
    assert "attach eni-1 with 5 IPs" in " ".join(_trace(fig, "pods running").customdata)
    assert "WARM_ENI_TARGET=1" in fig.layout.title.text


def test_timeline_time_units_and_bad_input():
    timeline = simulate("t3.medium", ramp(2), duration_s=1800)
    assert figures.timeline_figure(timeline).data[0].x[-1] == 30  # > 20 minutes: minutes
    assert figures.timeline_figure(timeline, unit="s").data[0].x[-1] == 1800
    assert figures.timeline_figure(timeline, unit="h").data[0].x[-1] == 0.5
    with pytest.raises(EkslibError, match="'days'"):
        figures.timeline_figure(timeline, unit="days")
    with pytest.raises(EkslibError, match=r"lacks the columns \['ec2_calls'\]"):
        figures.timeline_figure(timeline.drop(columns="ec2_calls"))


def test_timeline_shows_failures_only_when_there_are_some():
    subnet, used = fragmented_subnet("10.0.0.0/24")
    failing = simulate("m5.large", ramp(3), subnet=subnet, used_addresses=used, prefix_delegation=True,
                       duration_s=60)
    names = [t.name for t in figures.timeline_figure(failing).data]
    assert "failed allocations" in names
    assert "failed allocations" not in [t.name for t in BUILDERS["timeline"]().data]
    assert _trace(figures.timeline_figure(failing), "pods pending").y[-1] == 3


# ------------------------------------------------------------------------------------------ the grid


def _kinds(traces) -> dict[str, int]:
    """Points per kind in the moving traces of a grid (an empty kind holds one None point)."""
    return {t.name: sum(x is not None for x in t.x) for t in traces if t.mode != "text"}


def test_animation_fills_a_t3_medium_as_the_model_says():
    fig = figures.pool_animation_figure("t3.medium")  # 15 pods, one every 10 s
    assert 2 <= len(fig.frames) <= 40
    moving = tuple(range(1, len(fig.data)))
    assert all(frame.traces == moving for frame in fig.frames)
    assert all(not frame.layout.to_plotly_json() for frame in fig.frames)  # frames move traces only
    assert len(fig.data[0].x) == 3 * 6  # the static scene: 3 ENIs x (primary + 5 slots)
    first, last = _kinds(fig.frames[0].data), _kinds(fig.frames[-1].data)
    assert first == {"ENI primary address (no pod)": 1, "attached, no pod (warm)": 5, "assigned to a pod": 0,
                     "on an ENI still attaching": 0}
    final = steady_state("t3.medium", 15)
    assert last["assigned to a pod"] == final.assigned == 15 and last["attached, no pod (warm)"] == final.unused
    assert last["ENI primary address (no pod)"] == final.enis == 3
    assert any(_kinds(f.data)["on an ENI still attaching"] == 5 for f in fig.frames)  # the ~10 s attach delay
    assert "15 pods running" in fig.frames[-1].data[-1].text[0]
    # the base figure shows the first frame, so a still export is a true picture
    assert _kinds(fig.data[1:]) == first


def test_animation_has_fixed_ranges_controls_and_a_frame_budget():
    fig = figures.pool_animation_figure("m5.24xlarge", 300, every_s=2, max_frames=12)
    assert len(fig.frames) == 12
    assert fig.layout.xaxis.autorange is False and fig.layout.yaxis.autorange is False
    assert tuple(fig.layout.yaxis.range) == (15 - 0.4, -1.6)
    slider = fig.layout.sliders[0]
    assert [s.args[0][0] for s in slider.steps] == [f.name for f in fig.frames]
    assert [b.method for b in fig.layout.updatemenus[0].buttons] == ["animate", "animate"]
    assert "300 pods running" in fig.frames[-1].data[-1].text[0]  # the last state is always kept
    assert len(fig.to_json()) < ANIMATION_BUDGET


def test_animation_in_prefix_mode_labels_pods_per_prefix():
    fig = figures.pool_animation_figure("t3.small", 20, prefix_delegation=True)
    pods = _trace(go.Figure(fig.frames[-1].data), "prefix with pods (number: pods)")
    assert sorted(int(t) for t in pods.text) == [4, 16]


@pytest.mark.parametrize("kwargs, error", [
    ({"pods": -1}, "pods must be a whole number >= 0"),
    ({"max_frames": 1}, "max_frames must be a whole number >= 2"),
    ({"every_s": 0}, "every_s must be > 0"),
    ({"warm_ip": 1}, "unknown pool setting 'warm_ip'"),
])
def test_animation_bad_input(kwargs, error):
    with pytest.raises(EkslibError, match=error):
        figures.pool_animation_figure("t3.medium", **kwargs)


def test_animation_unknown_type_suggests():
    with pytest.raises(UnknownInstanceTypeError, match="t3.medium"):
        figures.pool_animation_figure("t3.meduim")


def test_pool_figure_draws_a_published_prefix_row():
    row = PUBLISHED_PREFIX_ROWS[4]  # t3.small, WARM_PREFIX_TARGET=1, 58 pods: 2 ENIs, prefixes 3,2, 22 unused
    state = steady_state(row.instance_type, row.pods, **row.settings())
    fig = figures.pool_figure(state)
    pods = _trace(fig, "prefix with pods (number: pods)")
    assert sorted(int(t) for t in pods.text) == sorted(p for p in row.pods_per_prefix if p)
    assert _kinds(fig.data[1:])["attached, no pod (warm)"] == row.unused_prefixes == 1
    assert f"{row.unused_ips} unused" in fig.layout.title.text and "2 ENIs" in fig.layout.title.text
    assert "1 empty of 5 prefixes" in fig.data[-1].text[0]
    with pytest.raises(EkslibError, match="PoolState"):
        figures.pool_figure(row)


def test_pool_figure_says_when_prefix_mode_falls_back():
    fig = figures.pool_figure(steady_state("t2.large", 5, prefix_delegation=True))
    assert "t2.large is neither Nitro nor bare metal (hypervisor xen): ipamd falls back to secondary-IP mode" in \
        fig.layout.title.subtitle.text
    assert "assigned to a pod" in [t.name for t in fig.data]  # drawn as addresses, not prefixes


# ------------------------------------------------------------------------------------------- settings


def test_pool_figure_shows_pods_waiting_at_the_minimum_and_bare_metal_prefixes():
    fig = figures.pool_figure(steady_state("t3.small", 7, minimum_ip_target=5))
    assert fig.layout.title.text == ("t3.small with 7 pods (2 waiting for an address): 2 ENIs, 5 pod addresses "
                                     "attached, 0 unused")
    assert "MINIMUM_IP_TARGET=5 without WARM_IP_TARGET" in fig.layout.title.subtitle.text
    metal = figures.pool_figure(steady_state("m5.metal", 20, prefix_delegation=True))
    assert "3 prefixes = 48 pod addresses" in metal.layout.title.text
    assert "m5.metal is bare metal: ipamd delegates prefixes here" in metal.layout.title.subtitle.text


def test_settings_figure_shows_the_trade_off():
    fig = figures.settings_figure("m5.large", pods=27)
    unused = {t.name: list(t.y) for t in fig.data if t.yaxis == "y"}
    calls = {t.name: list(t.y) for t in fig.data if t.yaxis == "y2"}
    assert list(unused) == list(figures.DEFAULT_COMPARISON)
    default, tight = "WARM_ENI_TARGET=1 (default)", "WARM_IP_TARGET=1"
    assert unused[default] == steady_states("m5.large", 27)["unused"].tolist()
    assert unused[tight] == [1] * 27 + [0]  # one spare address, until the node is full (27 pod addresses)
    assert sum(unused[tight]) < sum(unused[default]) and calls[tight][-1] > 3 * calls[default][-1]


def test_settings_figure_refuses_what_ipamd_refuses():
    with pytest.raises(EkslibError, match="not supported"):
        figures.settings_figure("m5.large", {"no warm prefix": {"prefix_delegation": True, "warm_prefix_target": 0}})
    with pytest.raises(EkslibError, match="at least one"):
        figures.settings_figure("m5.large", {})


# ---------------------------------------------------------------------------------------- subnet plans


def test_subnet_plan_bars_add_up_to_each_subnet():
    small = plan_subnets(SMALL, LIGHT_CLUSTER)
    fig = figures.subnet_plan_figure({"/24s": small})
    parts = ["node primary addresses", "other ENIs' primary addresses", "assigned to pods", "warm (attached, unused)",
             "free in the subnet"]
    bars = [_trace(fig, name) for name in parts]
    for i in range(3):
        assert sum(bar.x[i] for bar in bars) == usable_addresses("10.0.0.0/24") == 251
    assert _trace(fig, "warm (attached, unused)").x == (136, 136, 136)  # 8 nodes x 17 warm addresses
    notes = [a.text for a in fig.layout.annotations]
    assert sum("11 free: room for 0 more nodes" in n for n in notes) == 3


def test_subnet_plan_says_when_a_layout_does_not_fit():
    fig = figures.subnet_plan_figure({"prefix": plan_subnets(SMALL, LIGHT_CLUSTER, prefix_delegation=True)})
    assert any("does not fit: short of 13 addresses (InsufficientCidrBlocks)" in a.text
               for a in fig.layout.annotations)
    with pytest.raises(EkslibError, match="not what plan_subnets returns"):
        figures.subnet_plan_figure({"x": "10.0.0.0/24"})


# -------------------------------------------------------------------------------------- fragmentation


def _cells(fig: go.Figure) -> dict[int, int]:
    flat = [code for row in fig.data[0].z for code in row]
    return {code: flat.count(code) for code in range(4)}


def test_fragmented_subnet_has_free_addresses_but_no_free_prefix():
    fig = figures.fragmentation_figure(*fragmented_subnet("10.0.0.0/24"))
    assert _cells(fig) == {0: 0, 1: 235, 2: 16, 3: 5}
    assert "InsufficientCidrBlocks" in fig.layout.title.text


def test_clean_subnet_has_fourteen_free_prefixes():
    fig = figures.fragmentation_figure("10.0.0.0/24", ["10.0.0.200"])
    # the first and last /28 hold AWS's reserved addresses; one used address spoils one more /28
    assert _cells(fig) == {0: 13 * 16, 1: 27 + 15, 2: 1, 3: 5}
    assert "13 free aligned /28s" in fig.layout.title.text
    with pytest.raises(EkslibError, match="128 /28 blocks"):
        figures.fragmentation_figure("10.0.0.0/21")
    with pytest.raises(EkslibError, match="not a network"):
        figures.fragmentation_figure("10.0.0.1/24")


# -------------------------------------------------------------------------------------------- clusters


def test_cluster_figure_follows_each_subnet(short_run):
    fig = figures.fleet_figure(short_run)
    for subnet in SMALL:
        part = short_run[short_run["subnet"] == subnet].sort_values("time_s")
        assert list(_trace(fig, f"free: {subnet}").y) == part["subnet_free"].tolist()
    pending = short_run.groupby("time_s")["pods_pending"].sum()
    assert list(_trace(fig, "pods pending").y) == pending.tolist()
    assert pending.iloc[-1] > 0  # 30 m5.large nodes do not fit three /24s
    assert fig.data[0].x[-1] == 30  # minutes


def test_cluster_waste_figure_compares_runs(short_run):
    other = simulate_cluster(SMALL, [FleetGroup("m5.large", 30)], duration_s=1800, record_every_s=60,
                             workload=Churn(utilisation=0.8, seed=1), warm_ip_target=1)
    fig = figures.fleet_waste_figure({"default": short_run, "WARM_IP_TARGET=1": other})
    warm = _trace(fig, "warm addresses, on average")
    calls = _trace(fig, "EC2 API calls per hour")
    assert warm.y == ("WARM_IP_TARGET=1", "default")  # the first run is drawn on top
    whole = short_run.groupby("time_s")[["warm", "ec2_calls"]].sum()
    assert warm.x[1] == pytest.approx(whole["warm"].mean(), abs=0.05)
    assert calls.x[1] == pytest.approx((whole["ec2_calls"].iloc[-1] - whole["ec2_calls"].iloc[0]) * 2, abs=0.05)
    assert warm.x[0] < warm.x[1] and calls.x[0] > calls.x[1]
    with pytest.raises(EkslibError, match="lacks the columns"):
        figures.fleet_waste_figure({"x": short_run.drop(columns="warm")})


def test_settings_label_names_the_aws_node_variables():
    assert figures.settings_label(warm_eni_target=0) == "WARM_ENI_TARGET=0"
    assert figures.settings_label(prefix_delegation=True, warm_ip_target=5) == "prefix mode, WARM_IP_TARGET=5"
    assert figures.settings_label(warm_ip_target=-1) == "WARM_ENI_TARGET=1"  # non-positive means unset


def test_timeline_of_churn_counts_calls():
    timeline = simulate("m5.large", churn(20, 1800, lifetime_s=300, seed=1), duration_s=1800, warm_ip_target=1)
    fig = figures.timeline_figure(timeline)
    assert _trace(fig, "EC2 calls").y[-1] == int(timeline["ec2_calls"].iloc[-1]) > 50
