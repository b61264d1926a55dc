"""The cluster simulation: address accounting, agreement with the one-node model, running out."""

from __future__ import annotations

import numpy as np
import pytest

from ekslib import facts
from ekslib.errors import EkslibError
from ekslib.ipam.fleet import Churn, simulate_cluster
from ekslib.ipam.planner import FleetGroup
from ekslib.ipam.steady import steady_state
from ekslib.ipam.subnet_space import usable_addresses

LARGE = ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
SMALL = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
STILL = dict(wave=0.0, lifetime_s=1e15)   # no churn: pods stay


def check_accounting(timeline):
    usable = timeline["subnet"].astype(str).map(usable_addresses)
    held = timeline["node_ips"] + timeline["eni_ips"] + timeline["pod_addresses"]
    assert (held + timeline["subnet_free"] == usable).all(), "every address is free or held by exactly one node"
    assert (timeline["warm"] == timeline["pod_addresses"] - timeline["assigned"]).all()
    assert (timeline["warm"] >= 0).all() and (timeline["cooldown"] <= timeline["warm"]).all()
    assert (timeline["assigned"] == timeline["pods_running"]).all()
    assert timeline["ec2_calls"].groupby(timeline["subnet"], observed=True).is_monotonic_increasing.all()


@pytest.mark.parametrize("flags", [{}, {"warm_ip_target": 2, "minimum_ip_target": 10}, {"prefix_delegation": True},
                                   {"warm_eni_target": 2}])
def test_addresses_are_accounted_for(flags):
    timeline = simulate_cluster(SMALL, [FleetGroup("m5.large", 12), FleetGroup("t3.medium", 6, subnets=(0,))],
                                duration_s=1800, workload=Churn(utilisation=0.8, lifetime_s=300, seed=5), **flags)
    check_accounting(timeline)
    capacity = timeline.attrs["capacity"]
    assert capacity == 12 * 27 + 6 * 15 if not flags.get("prefix_delegation") else 12 * 108 + 6 * 108
    assert timeline.groupby("time_s")["pods_running"].sum().max() <= capacity
    assert timeline["nodes"].groupby(timeline["subnet"], observed=True).first().tolist() == [10, 4, 4]


@pytest.mark.parametrize("instance_type, pods, flags", [
    ("t3.small", 5, {}), ("t3.small", 0, {"warm_ip_target": 2, "minimum_ip_target": 5}),
    ("t3.small", 5, {"warm_ip_target": 2, "minimum_ip_target": 5}), ("m5.large", 12, {}),
    ("m5.large", 20, {"prefix_delegation": True}), ("m5.large", 17, {"prefix_delegation": True, "warm_ip_target": 5}),
    ("t3.medium", 7, {"warm_eni_target": 2}),
])
def test_one_still_node_settles_where_steady_state_does(instance_type, pods, flags):
    state = steady_state(instance_type, pods, **flags)
    capacity = state.limits.max_pod_addresses
    timeline = simulate_cluster(["10.0.0.0/24"], [FleetGroup(instance_type, 1)], duration_s=600,
                                workload=Churn(utilisation=pods / capacity, **STILL), **flags)
    last = timeline.iloc[-1]
    assert last["pods_running"] == pods and last["pods_pending"] == 0
    assert (last["eni_ips"] + 1, last["pod_addresses"]) == (state.enis, state.ips)


def test_runs_are_seeded():
    def run(seed):
        return simulate_cluster(SMALL, [FleetGroup("t3.medium", 9)], duration_s=900,
                                workload=Churn(lifetime_s=200, seed=seed))
    assert run(1).equals(run(1))
    assert not run(1).equals(run(2))


def test_small_subnets_run_out_and_back_off():
    # 30 m5.large in three /24s: 10 per subnet x 30 addresses at high load would need 300 > 251
    timeline = simulate_cluster(SMALL, [FleetGroup("m5.large", 30)], duration_s=1800,
                                workload=Churn(utilisation=0.95, wave=0.0, lifetime_s=600, seed=3))
    check_accounting(timeline)
    end = timeline[timeline["time_s"] == timeline["time_s"].max()]
    assert (end["failures"] > 0).all() and end["pods_pending"].sum() > 0
    assert end["subnet_free"].max() < 9             # less than one more IP for an ENI's worth
    # each node fails at most once per 125 s (120 s back-off at the 5 s loop)
    assert end["failures"].sum() <= 30 * (1800 // 125 + 1)
    roomy = simulate_cluster(LARGE, [FleetGroup("m5.large", 30)], duration_s=1800,
                             workload=Churn(utilisation=0.95, wave=0.0, lifetime_s=600, seed=3))
    assert roomy["failures"].max() == 0


def test_prefix_mode_runs_out_of_blocks_with_addresses_left():
    timeline = simulate_cluster(["10.0.0.0/24"], [FleetGroup("m5.large", 8)], duration_s=1200,
                                workload=Churn(utilisation=0.5, wave=0.0, lifetime_s=400, seed=4),
                                prefix_delegation=True)
    check_accounting(timeline)
    last = timeline.iloc[-1]
    assert last["failures"] > 0 and last["pods_pending"] > 0
    assert last["subnet_free"] >= 16                # free addresses, yet no whole /28 to give
    assert last["invalid_parameter_value"] == 0     # so EC2 says InsufficientCidrBlocks, and ipamd backs off


def test_invalid_parameter_value_is_retried_every_loop():
    # One m5.large in prefix mode in a /28: 10 addresses free after the node's own, fewer than the 16 of a /28,
    # so EC2 answers InvalidParameterValue (VPC CNI #3105) and ipamd, with no back-off for that code, asks again
    # at every 5 s loop: 13 refusals in the first minute, against one per 125 s with a back-off.
    timeline = simulate_cluster(["10.0.0.0/28"], [FleetGroup("m5.large", 1)], duration_s=60, prefix_delegation=True,
                                workload=Churn(utilisation=0.1, seed=2))
    check_accounting(timeline)
    last = timeline.iloc[-1]
    assert (last["failures"], last["invalid_parameter_value"], last["ec2_calls"]) == (13, 13, 13)
    assert last["pods_running"] == 0 and last["pods_pending"] > 0
    # the one-node model gives the same answers
    one = steady_state("m5.large", 1, subnet="10.0.0.0/28", prefix_delegation=True)
    assert facts.INVALID_PARAMETER_VALUE in one.notes[-1]


def test_minimum_ip_target_alone_caps_every_node():
    # MINIMUM_IP_TARGET=10 without WARM_IP_TARGET: each m5.large stops at 10 pod addresses (VPC CNI README)
    timeline = simulate_cluster(["10.0.0.0/24"], [FleetGroup("m5.large", 3)], duration_s=1800, minimum_ip_target=10,
                                workload=Churn(utilisation=0.8, seed=3))
    check_accounting(timeline)
    assert timeline["pod_addresses"].max() == 30 and timeline["failures"].max() == 0
    last = timeline.iloc[-1]
    assert last["pods_running"] <= 30 and last["pods_pending"] > 0


def test_warm_ip_target_trades_addresses_for_ec2_calls():
    workload = Churn(utilisation=0.6, lifetime_s=300, seed=8)
    default = simulate_cluster(LARGE, [FleetGroup("m5.large", 30)], duration_s=3600, workload=workload)
    tight = simulate_cluster(LARGE, [FleetGroup("m5.large", 30)], duration_s=3600, workload=workload,
                             warm_ip_target=2, minimum_ip_target=10)
    calls = [t.groupby("time_s")["ec2_calls"].sum().iloc[-1] for t in (default, tight)]
    warm = [t.groupby("time_s")["warm"].sum().mean() for t in (default, tight)]
    assert calls[1] > 5 * calls[0] and warm[1] < warm[0] / 2


def test_two_hundred_nodes_shape():
    timeline = simulate_cluster(LARGE, [FleetGroup("m5.large", 200)], duration_s=1800, record_every_s=60)
    assert len(timeline) == 31 * 3 and timeline["nodes"].groupby(timeline["subnet"], observed=True).first().sum() == 200
    check_accounting(timeline)
    running = timeline.groupby("time_s")["pods_running"].sum()
    assert running.loc[0.0] == 200 * 9                   # at first only the primary ENIs' 9 addresses
    wanted = timeline.attrs["workload"].target(600.0, 200 * 27)      # 0.7 x 5400 x (1 + 0.3 sin(2 pi 600 / 6 h))
    assert np.isclose(wanted, 3780 * (1 + 0.3 * np.sin(2 * np.pi / 36)))
    assert np.isclose(running.loc[600.0], wanted, rtol=0.03)


@pytest.mark.parametrize("kwargs, message", [
    ({"custom_networking": True}, "custom networking"),
    ({"duration_s": 0}, "duration_s must be > 0"),
    ({"record_every_s": 1}, "record_every_s"),
    ({"attach_delay_s": -1}, "attach_delay_s"),
    ({"warm_ip_target": "2"}, "warm_ip_target must be a whole number"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(EkslibError, match=message):
        simulate_cluster(SMALL, [FleetGroup("m5.large", 3)], **kwargs)


def test_bad_layouts():
    with pytest.raises(EkslibError, match="too small for the node groups"):
        simulate_cluster(["10.0.0.0/28"], [FleetGroup("t3.small", 12)], duration_s=60)
    with pytest.raises(EkslibError, match="at least one subnet"):
        simulate_cluster([], [FleetGroup("t3.small", 1)])
    with pytest.raises(EkslibError, match="no nodes"):
        simulate_cluster(SMALL, [FleetGroup("t3.small", 0)])
    with pytest.raises(EkslibError, match="utilisation must be 0 to 1"):
        Churn(utilisation=1.5)
    with pytest.raises(EkslibError, match="lifetime_s"):
        Churn(lifetime_s=0)
    assert facts.POOL_LOOP_S == 5


def test_a_long_simulation_reports_its_progress():
    heard = []
    simulate_cluster(["10.0.0.0/24"], [FleetGroup("t3.medium", 2)], duration_s=600,
                     progress=lambda *step: heard.append(step))
    assert len(heard) == 20 and heard[-1][:2] == (120, 120) and heard[-1][2] == "10 of 10 simulated minutes"
    assert [d for d, _, _ in heard] == sorted(d for d, _, _ in heard)
