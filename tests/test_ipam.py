"""ipamd's warm pool on one node against the published tables and ipamd's code (vpc-cni.md section 3)."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekslib import facts
from ekslib.errors import EkslibError, UnknownInstanceTypeError
from ekslib.ipam.decision import PoolCounts, deletable_enis, pool_decision
from ekslib.ipam.published import (
    PUBLISHED_PREFIX_ROWS,
    PUBLISHED_SECONDARY_IP_ROWS,
    compare_published,
    published_row_problems,
    published_table,
)
from ekslib.ipam.schedules import churn, ramp, scale
from ekslib.ipam.settings import PoolSettings, node_limits
from ekslib.ipam.simulation import NodeSimulation, simulate
from ekslib.ipam.steady import steady_state
from ekslib.ipam.subnet_space import SubnetSpace, fragmented_subnet
from ekslib.sources.instance_types import instance_type_info

# --------------------------------------------------------------------------------- the published tables

#: The one secondary-IP row whose per-ENI list differs from ipamd's code only in order: the doc lists "2,3";
#: ipamd tops up the primary ENI first (tryAssignIPs: min(3 free slots, short 5) = 3), then attaches a second
#: ENI with min(short 2, 3) = 2 (tryAllocateENI), so the code gives 3,2.
ORDER_ONLY_SECONDARY = {6}
#: Prefix rows that contradict themselves, with what ipamd's code gives instead (ENIs, prefixes, unused IPs,
#: prefixes per ENI), derived by hand from pkg/ipamd/ipamd.go.
PREFIX_CONTRADICTIONS = {
    # WARM_IP 7 / MIN_IP 20, 0 pods: short = max(7 - 0, 20 - 0) = 20 -> ceil(20/16) = 2 prefixes = 32 addresses.
    9: (1, 2, 32, (2,)),
    # p3dn.24xlarge has 49 prefix slots per ENI: 2, 7 and 4 prefixes all fit on the primary ENI.
    14: (1, 2, 29, (2,)),
    15: (1, 7, 17, (7,)),
    19: (1, 4, 19, (4,)),
}


def row_id(row):
    targets = (f"eni={row.warm_eni_target}" if not row.prefix_mode else f"prefix={row.warm_prefix_target}")
    return f"{row.instance_type}-{targets}-ip={row.warm_ip_target}-min={row.minimum_ip_target}-pods={row.pods}"


def test_the_reference_rows_are_all_published():
    """Every row of vpc-cni.md section 3 (the t3.small rows) is in the published data, unchanged."""
    reference_secondary = [(1, None, None, 0, 1, 3, 3, (3,)), (1, None, None, 5, 3, 9, 4, (3, 3, 3)),
                           (1, None, None, 9, 3, 9, 0, (3, 3, 3)), (None, 1, 1, 0, 1, 1, 1, (1,)),
                           (None, 1, 1, 5, 2, 6, 1, (3, 3)), (None, 1, 1, 9, 3, 9, 0, (3, 3, 3)),
                           (None, 2, 5, 0, 2, 5, 5, (2, 3)), (None, 2, 5, 5, 3, 7, 2, (3, 3, 1)),
                           (None, 2, 5, 9, 3, 9, 0, (3, 3, 3))]
    ours = [(r.warm_eni_target, r.warm_ip_target, r.minimum_ip_target, r.pods, r.enis, r.ips, r.unused_ips, r.per_eni)
            for r in PUBLISHED_SECONDARY_IP_ROWS if r.instance_type == "t3.small"]
    assert ours == reference_secondary
    reference_prefix = [(1, None, None, 0, 1, 1, (1,), 16), (1, None, None, 5, 1, 2, (2,), 27),
                        (1, None, None, 16, 1, 2, (2,), 16), (1, None, None, 17, 1, 3, (3,), 31),
                        (1, None, None, 58, 2, 5, (3, 2), 22), (None, 1, 1, 0, 1, 1, (1,), 16),
                        (None, 1, 1, 5, 1, 1, (1,), 11), (None, 1, 1, 17, 1, 2, (2,), 15),
                        (None, 1, 1, 58, 2, 4, (3, 1), 6)]
    ours = [(r.warm_prefix_target, r.warm_ip_target, r.minimum_ip_target, r.pods, r.enis, r.prefixes, r.per_eni,
             r.unused_ips) for r in PUBLISHED_PREFIX_ROWS if r.instance_type == "t3.small"][:9]
    assert ours == reference_prefix


@pytest.mark.parametrize("number, row", list(enumerate(PUBLISHED_SECONDARY_IP_ROWS)),
                         ids=[row_id(r) for r in PUBLISHED_SECONDARY_IP_ROWS])
def test_secondary_ip_row(number, row):
    state = steady_state(row.instance_type, row.pods, **row.settings())
    assert (state.enis, state.ips, state.unused) == (row.enis, row.ips, row.unused_ips)
    assert state.assigned == row.pods and state.prefixes == 0
    if number in ORDER_ONLY_SECONDARY:
        assert state.per_eni != row.per_eni and sorted(state.per_eni) == sorted(row.per_eni)
        assert state.per_eni == (3, 2)
    else:
        assert state.per_eni == row.per_eni
    assert published_row_problems(row) == []


@pytest.mark.parametrize("number, row", list(enumerate(PUBLISHED_PREFIX_ROWS)),
                         ids=[row_id(r) for r in PUBLISHED_PREFIX_ROWS])
def test_prefix_row(number, row):
    state = steady_state(row.instance_type, row.pods, **row.settings())
    assert state.limits.prefix_mode
    model = (state.enis, state.prefixes, state.unused, state.per_eni)
    if number in PREFIX_CONTRADICTIONS:
        assert model == PREFIX_CONTRADICTIONS[number]
        assert published_row_problems(row), "a row that differs from the code must contradict itself"
    else:
        assert model == (row.enis, row.prefixes, row.unused_ips, row.per_eni)
        assert state.pods_per_eni == row.pods_per_eni
        assert state.unused_prefixes == row.unused_prefixes
        if row.pods_per_prefix is not None:
            assert state.pods_per_prefix == row.pods_per_prefix
        assert published_row_problems(row) == []
    assert state.ips == state.prefixes * 16


def test_contradicting_prefix_rows_are_named():
    problems = published_row_problems(PUBLISHED_PREFIX_ROWS[9])
    assert "1 attached prefix, but the prefixes per ENI (2) add up to 2" in problems[0]
    assert "(0,0) lists 2 prefixes, not 1" in problems[1]
    p3dn = published_row_problems(PUBLISHED_PREFIX_ROWS[14])
    assert "ENI 2 is attached while ENI 1 holds 2 of its 49 prefixes" in p3dn[0]
    table = published_table("prefix")
    assert table.attrs["source"].endswith("'Examples'") and len(table) == 20
    assert (table["problems"] != "").sum() == 4
    compared = compare_published("prefix")
    assert compared["verdict"].value_counts().to_dict() == {"exact": 16, "differs": 4}
    assert set(compared.index[compared["verdict"] == "differs"]) == set(PREFIX_CONTRADICTIONS)
    assert compare_published("secondary").loc[6, "verdict"] == "other order"
    with pytest.raises(EkslibError, match="'both'"):
        published_table("both")


# ------------------------------------------------------------------------------------ settings and limits

def test_non_positive_means_unset_as_ipamd_reads_it():
    s = PoolSettings(warm_ip_target=0, minimum_ip_target=-2, max_eni=0, warm_eni_target=-1)
    assert (s.warm_ip_target, s.minimum_ip_target, s.max_eni, s.warm_eni_target) == (None, None, None, 1)
    assert s.mode == "warm ENI" and not s.ip_targets_set
    assert PoolSettings(warm_eni_target=0).warm_eni_target == 0          # getWarmENITarget keeps 0
    assert PoolSettings().warm_prefix_target == 1                         # the shipped manifest's value
    assert PoolSettings(warm_prefix_target=-4, warm_ip_target=3, prefix_delegation=True).warm_prefix_target == 0
    assert PoolSettings(minimum_ip_target=4).mode == "warm IP"
    assert PoolSettings(prefix_delegation=True).mode == "warm prefix"
    assert steady_state("t3.small", 5, warm_ip_target=-1) == steady_state("t3.small", 5)


def test_warm_eni_target_zero_grows_only_when_empty():
    assert steady_state("t3.small", 0, warm_eni_target=0).per_eni == (3,)
    assert steady_state("t3.small", 2, warm_eni_target=0).per_eni == (3,)
    cycling = steady_state("t3.small", 3, warm_eni_target=0)
    assert cycling.per_eni == (3, 3) and "does not settle at 3 pods" in cycling.notes[0]
    assert steady_state("t3.small", 4, warm_eni_target=0).notes == ()
    assert steady_state("t3.small", 3).per_eni == (3, 3) and steady_state("t3.small", 3).notes == ()
    assert steady_state("t3.small", 0, warm_eni_target=2).per_eni == (3, 3)


@pytest.mark.parametrize("flags, message", [
    ({"prefix_delegation": True, "warm_prefix_target": 0}, "WARM_PREFIX_TARGET = 0 is not supported"),
    ({"prefix_delegation": True, "warm_prefix_target": -1, "warm_ip_target": 0}, "refused by aws-node"),
    ({"warm_ip_target": 2.5}, "warm_ip_target must be a whole number"),
    ({"warm_eni_target": True}, "warm_eni_target must be a whole number"),
    ({"max_eni": "2"}, "max_eni must be a whole number"),
    ({"prefix_delegation": "yes"}, "prefix_delegation must be True or False"),
    ({"ip_cooldown_period": -5}, "ip_cooldown_period=-5"),
    ({"max_pods": 0}, "max_pods=0"),
    ({"warm_ip": 3}, "unknown pool setting 'warm_ip'"),
])
def test_bad_settings_name_the_value(flags, message):
    with pytest.raises(EkslibError, match=message.replace("(", r"\(")):
        steady_state("t3.small", 1, **flags)


def test_prefix_mode_is_allowed_with_an_ip_target_and_no_warm_prefix():
    state = steady_state("t3.small", 5, prefix_delegation=True, warm_prefix_target=0, minimum_ip_target=20)
    assert (state.prefixes, state.unused) == (2, 27)


def test_bad_pods_and_types():
    with pytest.raises(UnknownInstanceTypeError, match="t3.smal"):
        steady_state("t3.smal", 1)
    with pytest.raises(EkslibError, match="pods must be a whole number >= 0, not -1"):
        steady_state("t3.small", -1)
    with pytest.raises(EkslibError, match=r"pods=10 does not fit t3.small: at most 9 pods .*max pods 11"):
        steady_state("t3.small", 10)
    with pytest.raises(EkslibError, match="pods=7 does not fit"):
        steady_state("t3.small", 7, max_eni=2)
    with pytest.raises(EkslibError, match="no ENI for pod addresses"):
        steady_state("m5.large", 1, custom_networking=True, max_eni=1)


def test_limits_max_eni_custom_networking_and_fallbacks():
    s = steady_state("t3.small", 6, max_eni=2)
    assert s.per_eni == (3, 3) and s.limits.enis == 2
    assert steady_state("m5.large", 0, custom_networking=True).per_eni == (0, 9)
    custom = steady_state("m5.large", 5, custom_networking=True)     # 4 available < 9: a second pod ENI
    assert custom.per_eni == (0, 9, 9) and custom.pods_per_eni == (0, 5, 0) and custom.limits.max_pods == 20
    xen = steady_state("t2.large", 3, prefix_delegation=True)
    assert not xen.limits.prefix_mode and xen.per_eni == (11, 11)
    assert "neither Nitro nor bare metal" in xen.notes[0]
    assert node_limits("m5.large", PoolSettings(prefix_delegation=True)).max_pods == 110
    assert node_limits("m5.large", PoolSettings(prefix_delegation=True, max_pods=29)).max_pod_addresses == 27


def test_bare_metal_delegates_prefixes_as_ipamd_does():
    # ipamd's IsPrefixDelegationSupported (pkg/awsutils/awsutils.go): hypervisor nitro OR bare metal (CNI >= 1.11);
    # the instance data give bare metal no hypervisor, so the old Nitro-only check fell back to secondary IPs.
    assert instance_type_info("m5.metal").hypervisor == "" and instance_type_info("m5.metal").bare_metal
    limits = node_limits("m5.metal", PoolSettings(prefix_delegation=True))
    assert limits.prefix_mode and limits.unit == 16 and "bare metal" in limits.notes[0]
    metal = steady_state("m5.metal", 20, prefix_delegation=True)
    assert metal.per_eni == (3,) and metal.ips == 48          # 2 prefixes for 20 pods + WARM_PREFIX_TARGET=1
    assert steady_state("m5.metal", 20).per_eni == (49, 49)   # secondary-IP mode: a warm ENI of 49 on top
    # the calculator's max pods (Nitro only) is unchanged: 15 x 49 + 2 = 737, 250 with the ceiling
    assert limits.max_pods == 250
    assert not node_limits("t2.large", PoolSettings(prefix_delegation=True)).prefix_mode
    assert node_limits("m5.metal", PoolSettings()).prefix_mode is False


def test_minimum_ip_target_without_warm_ip_target_stops_the_pool():
    # VPC CNI README, MINIMUM_IP_TARGET note 2: WARM_IP_TARGET is taken as 0, so the pool stops at the minimum
    # and "This configuration will prevent future ENIs/IPs from being allocated"
    assert PoolSettings(minimum_ip_target=5).pool_ceiling == 5
    assert PoolSettings(minimum_ip_target=5, warm_ip_target=1).pool_ceiling is None
    assert PoolSettings().pool_ceiling is None
    s = steady_state("t3.small", 7, minimum_ip_target=5)
    assert (s.ips, s.per_eni, s.assigned, s.pending, s.unused) == (5, (3, 2), 5, 2, 0)
    assert "2 of 7 pods wait for an address: MINIMUM_IP_TARGET=5 without WARM_IP_TARGET" in s.notes[-1]
    assert s.as_dict()["pending"] == 2
    timeline = simulate("t3.small", ramp(7), minimum_ip_target=5, duration_s=600)
    end = timeline.iloc[-1]
    assert (end["pods_running"], end["pods_pending"], end["ips_attached"]) == (5, 2, 5)
    assert (timeline["ips_attached"] <= 5).all()
    with_warm = simulate("t3.small", ramp(7), minimum_ip_target=5, warm_ip_target=1, duration_s=600).iloc[-1]
    assert (with_warm["pods_running"], with_warm["pods_pending"]) == (7, 0)
    # prefix mode: the minimum rounds up to whole prefixes, 10 -> one /28
    p = steady_state("m5.large", 20, minimum_ip_target=10, prefix_delegation=True)
    assert (p.ips, p.assigned, p.pending) == (16, 16, 4)
    # below the minimum nothing changes: every pod runs
    assert steady_state("t3.small", 4, minimum_ip_target=5).pending == 0


def test_invalid_parameter_value_gets_no_back_off():
    # A /28 has 11 usable addresses; with the node's own 10 are free: fewer than a /28 prefix asks for, so EC2
    # answers InvalidParameterValue ("There aren't sufficient free Ipv4 addresses or prefixes", VPC CNI #3105),
    # which ipamd's containsInsufficientCIDRsOrSubnetIPs does not match: no 120 s back-off, a new try every loop.
    timeline = simulate("m5.large", ramp(3), subnet="10.0.0.0/28", prefix_delegation=True, duration_s=60)
    refused = events_at(timeline, facts.INVALID_PARAMETER_VALUE)
    assert refused == [5.0 * k for k in range(13)]
    assert "no back-off" in timeline["event"].iloc[-1]
    assert (timeline["failures"].iloc[-1], timeline["ec2_calls"].iloc[-1], timeline["pods_pending"].iloc[-1]) == (
        13, 13, 3)
    sim = NodeSimulation("m5.large", subnet="10.0.0.0/28", prefix_delegation=True)
    sim.add_pods(1)
    for _ in range(3):
        sim.step()
    assert sim.failure_codes == {facts.INVALID_PARAMETER_VALUE: 3}
    # a fragmented subnet with addresses to spare answers InsufficientCidrBlocks: back-off (test below), and
    # secondary-IP mode InsufficientFreeAddressesInSubnet; steady_state still ends when EC2 keeps refusing
    stuck = steady_state("m5.large", 3, subnet="10.0.0.0/28", prefix_delegation=True)
    assert (stuck.ips, stuck.pending) == (0, 3) and facts.INVALID_PARAMETER_VALUE in stuck.notes[-1]


def test_warm_eni_target_zero_cycles_an_eni_in_the_timeline():
    # ipamd's shouldRemoveExtraENIs: available (3) >= (0 + 1) x 3, so the idle ENI goes once 60 s old; the pool
    # is then empty, so it comes back: a new ENI every ~70 s and 5 EC2 calls each time, for 3 pods.
    timeline = simulate("t3.small", [(0, 3)], duration_s=600, warm_eni_target=0)
    attaches, frees = events_at(timeline, "attach eni-"), events_at(timeline, "free eni-")
    assert len(attaches) >= 7 and len(frees) >= 7
    assert all(f - a >= facts.MIN_ENI_AGE_S for a, f in zip(attaches, frees))
    assert (timeline["pods_running"].iloc[1:] == 3).all()


def test_kubelet_max_pods_stops_the_pool_growing():
    # prefix mode with the standard max-pods (11, as AL2023's nodeadm would set it): one prefix is >= 11 addresses
    state = steady_state("t3.small", 9, prefix_delegation=True, max_pods=11)
    assert (state.prefixes, state.unused) == (1, 7)


# ------------------------------------------------------------------------------------ the pure decision

def test_pool_decision_on_arrays_equals_each_node_alone():
    rng = np.random.default_rng(7)
    for flags in ({}, {"warm_ip_target": 3, "minimum_ip_target": 7}, {"prefix_delegation": True},
                  {"prefix_delegation": True, "warm_ip_target": 5}, {"warm_eni_target": 0}):
        s = PoolSettings(**flags)
        limits = node_limits("m5.large", s)
        n = 60
        total = rng.integers(0, 28, n) * limits.unit
        assigned = np.minimum(rng.integers(0, 30, n), total)
        counts = PoolCounts(total, assigned, rng.integers(0, 3, n), rng.integers(0, 4, n), rng.integers(1, 4, n),
                            rng.integers(0, 2, n))
        backoff, due = rng.random(n) < 0.2, rng.random(n) < 0.5
        together = pool_decision(counts, limits, s, backoff=backoff, decrease_due=due)
        for i in range(n):
            one = pool_decision(PoolCounts(*(np.asarray(v)[i] for v in (counts.total, counts.assigned,
                                                                            counts.free_prefixes, counts.room,
                                                                            counts.enis, counts.idle_enis))),
                                limits, s, backoff=backoff[i], decrease_due=due[i])
            for name in ("low", "high", "want", "assign", "attach", "release", "check_free_eni"):
                assert getattr(one, name) == getattr(together, name)[i], (flags, i, name)


def test_deletable_enis_follows_get_deletable_eni():
    s = PoolSettings(warm_ip_target=3, minimum_ip_target=6)
    limits = node_limits("t3.small", s)
    units, free = [3, 3, 3], [0, 0, 0]
    ok = deletable_enis(units, [3, 0, 0], free, [0, 0, 0], [True, True, True], [True, False, False], limits, s)
    assert ok.tolist() == [False, True, True]        # either idle ENI: the other two keep 3 warm, 6 in all
    ok = deletable_enis(units, [3, 1, 0], free, [0, 0, 0], [True, True, True], [True, False, False], limits, s)
    assert ok.tolist() == [False, False, False]       # without ENI 3 only 2 warm addresses are left (< 3)
    strict = PoolSettings(warm_ip_target=4)
    ok = deletable_enis(units, [3, 0, 0], free, [0, 0, 0], [True, True, True], [True, False, False], limits, strict)
    assert ok.tolist() == [False, False, False]       # the others would keep 3 warm < 4
    young = deletable_enis(units, [0, 0, 0], free, [0, 0, 0], [True, True, False], [True, False, False], limits, s)
    cooling = deletable_enis(units, [0, 0, 0], free, [0, 0, 1], [True, True, True], [True, False, False], limits, s)
    assert not young[2] and not cooling[2]


# ------------------------------------------------------------------------------------------------ timing

def events_at(timeline, text):
    return timeline.loc[timeline["event"].str.contains(text, regex=False), "time_s"].tolist()


def test_an_eni_is_not_freed_before_60_s():
    timeline = simulate("t3.medium", scale([(0, 6), (20, 0)]), duration_s=200)
    assert events_at(timeline, "attach eni-1") == [5.0] and events_at(timeline, "attach eni-2") == [15.0]
    # empty from t=20, out of cooldown from t=55, but freed only once 60 s old: eni-1 at 65, eni-2 at 75
    assert events_at(timeline, "free eni-1") == [65.0]
    assert events_at(timeline, "free eni-2") == [75.0]
    assert timeline.iloc[-1][["enis", "ips_attached", "ec2_calls"]].tolist() == [1, 5, 1 + 3 + 3 + 2 + 2]


def test_a_freed_address_is_not_reused_for_30_s():
    sim = NodeSimulation("t3.small")
    sim.add_pods(9)
    while sim.now < 100:
        sim.step()
    assert len(sim.pod_addresses()) == 9
    newest = max(sim.pod_addresses())
    freed = sim.pod_addresses()[newest]
    sim.remove_pods(1)
    sim.add_pods(1)
    seen = {}
    for _ in range(10):
        sim.tick()
        seen[sim.now] = (len(sim.pending_pods()), sim.row()["cooldown"])
        sim.now += 5
    assert seen[100.0] == (1, 1) and seen[130.0] == (1, 1)       # still cooling at exactly 30 s
    assert seen[135.0] == (0, 0)
    assert sim.pod_addresses()[max(sim.pod_addresses())] == freed


def test_shrinking_happens_at_most_every_30_s():
    schedule = ramp(20, every_s=5) + [(200 + 10 * i, -1) for i in range(20)]
    timeline = simulate("m5.large", schedule, duration_s=700, warm_ip_target=2)
    releases = events_at(timeline, "UnassignPrivateIpAddresses")
    assert len(releases) >= 4
    assert min(np.diff(releases)) > facts.DECREASE_INTERVAL_S
    final = timeline.iloc[-1]
    assert final["pods_running"] == 0 and final["ips_attached"] == 2 and final["enis"] == 1


@pytest.mark.parametrize("delay", [10, 20])
def test_pending_pods_get_addresses_after_the_attach_delay(delay):
    timeline = simulate("t3.small", [(0, 4)], duration_s=60, attach_delay_s=delay).set_index("time_s")
    assert timeline.loc[0, "pods_running"] == 3 and timeline.loc[0, "pods_pending"] == 1
    assert events_at(timeline.reset_index(), "attach eni-1") == [5.0]
    assert (timeline.loc[5:5 + delay - 5, "pods_pending"] == 1).all()
    assert timeline.loc[5 + delay, "pods_pending"] == 0 and timeline.loc[5 + delay, "pods_running"] == 4


def test_warm_ip_target_makes_more_ec2_calls_than_warm_eni():
    events = churn(20, 3600, lifetime_s=120, seed=3)
    default = simulate("m5.large", events, duration_s=3600)
    tight = simulate("m5.large", events, duration_s=3600, warm_ip_target=2, minimum_ip_target=10)
    assert tight["ec2_calls"].iloc[-1] > 5 * default["ec2_calls"].iloc[-1]
    assert tight["available"].mean() < default["available"].mean()


# ------------------------------------------------------------------------------------- running out

def test_an_exhausted_subnet_leaves_pods_pending_and_backs_off():
    # /28: 11 usable; node IP 1 + primary ENI 5 = 6; a new ENI needs 1 + 5 = 6 > 5 left
    timeline = simulate("t3.medium", [(0, 8)], duration_s=400, subnet="10.0.0.0/28")
    failures = events_at(timeline, "InsufficientFreeAddressesInSubnet")
    assert failures[:3] == [5.0, 130.0, 255.0]              # every 125 s: 120 s back-off at the 5 s loop
    final = timeline.iloc[-1]
    assert (final["pods_running"], final["pods_pending"], final["enis"], final["subnet_free"]) == (5, 3, 1, 5)


def test_a_fragmented_subnet_refuses_prefixes():
    subnet, used = fragmented_subnet("10.1.0.0/24")
    timeline = simulate("m5.large", [(0, 3)], duration_s=150, subnet=subnet, used_addresses=used,
                        prefix_delegation=True)
    assert events_at(timeline, "InsufficientCidrBlocks") == [0.0, 125.0]
    final = timeline.iloc[-1]
    assert final["pods_pending"] == 3 and final["prefixes"] == 0 and final["subnet_free"] > 200


def test_schedules():
    assert ramp(2, every_s=5, start_s=10) == [(10.0, 1), (15.0, 1)]
    assert scale([(60, 3), (0, 1)]) == [(0.0, 1), (60.0, 2)]
    a, b = churn(5, 900, seed=4), churn(5, 900, seed=4)
    assert a == b and a != churn(5, 900, seed=5)
    assert all(t1 <= t2 for (t1, _), (t2, _) in zip(a, a[1:]))
    for bad, message in [([(0, 1.5)], "whole number"), ([(-5, 1)], "time_s"), ([(0,)], "pair"),
                         ([(float("nan"), 1)], "time_s")]:
        with pytest.raises(EkslibError, match=message):
            simulate("t3.small", bad)
    with pytest.raises(EkslibError, match="every_s"):
        ramp(3, every_s=0)
    with pytest.raises(EkslibError, match="duration_s"):
        simulate("t3.small", [(0, 1)], duration_s=-1)
    with pytest.raises(EkslibError, match="host bits"):
        simulate("t3.small", [(0, 1)], subnet="10.0.0.1/24")
    with pytest.raises(EkslibError, match="custom_networking=True"):
        simulate("t3.small", [(0, 1)], pod_subnet="100.64.0.0/24")


def test_timeline_columns_and_custom_networking_subnets():
    timeline = simulate("m5.large", ramp(3), custom_networking=True, pod_subnet="100.64.0.0/24", duration_s=60)
    for column in ("time_s", "pods_running", "pods_pending", "enis", "ips_attached", "prefixes", "assigned",
                   "available", "cooldown", "ec2_calls", "failures", "subnet_free", "event"):
        assert column in timeline
    assert timeline.attrs["limits"].custom_networking
    sim = NodeSimulation("m5.large", custom_networking=True, pod_subnet="100.64.0.0/24")
    sim.add_pods(3)
    for _ in range(5):
        sim.step()
    table = sim.eni_table()
    assert table.loc[0, "subnet"] == "10.0.0.0/19" and table.loc[0, "slots"] == []
    assert table.loc[1, "subnet"] == "100.64.0.0/24"
    assert all(a in ipaddress.ip_network("100.64.0.0/24") for a in sim.pod_addresses().values())


# ------------------------------------------------------------------------------------------- properties

SETTINGS = [{}, {"warm_eni_target": 0}, {"warm_eni_target": 2}, {"warm_ip_target": 1, "minimum_ip_target": 1},
            {"warm_ip_target": 2, "minimum_ip_target": 5}, {"warm_ip_target": 3}, {"max_eni": 2},
            {"prefix_delegation": True}, {"prefix_delegation": True, "warm_ip_target": 4, "minimum_ip_target": 20},
            {"custom_networking": True}, {"ip_cooldown_period": 0}]


@settings(max_examples=15, deadline=None)
@given(instance_type=st.sampled_from(["t3.small", "t3.medium", "m5.large", "t2.large"]),
       flags=st.sampled_from(SETTINGS), subnet=st.sampled_from(["10.0.0.0/19", "10.0.0.0/26"]),
       events=st.lists(st.tuples(st.integers(0, 120), st.integers(-6, 9)), max_size=25))
def test_pool_invariants(instance_type, flags, subnet, events):
    sim = NodeSimulation(instance_type, subnet=subnet, **flags)
    limits, unit = sim.limits, sim.limits.unit
    by_tick: dict[int, list[int]] = {}
    for tick, delta in events:
        by_tick.setdefault(tick, []).append(delta)
    released: dict[ipaddress.IPv4Address, float] = {}
    before = {}
    for tick in range(0, 160):
        sim.now = tick * 5.0
        for delta in by_tick.get(tick, []):
            sim.remove_pods(-delta) if delta < 0 else sim.add_pods(delta)
        sim.tick()
        now_pods = sim.pod_addresses()
        table = sim.eni_table()
        attached = set()
        for _, eni in table.iterrows():
            assert len(eni["slots"]) <= limits.slots_per_eni
            attached.add(eni["primary_ip"])
            for slot in eni["slots"]:
                members = list(slot) if unit > 1 else [slot]
                assert not attached.intersection(members)
                attached.update(members)
                assert not sim.pod_subnet.is_free(members[0])
        assert len(table) <= limits.enis
        # an address is never given to two pods, and only addresses attached to the node are given
        assert len(set(now_pods.values())) == len(now_pods)
        assert set(now_pods.values()) <= attached - set(table["primary_ip"])
        # a pod runs only with an address: running = pods with an address, pending pods have none
        row = sim.row()
        assert row["pods_running"] == len(now_pods) == row["assigned"]
        assert not set(sim.pending_pods()) & set(now_pods)
        assert row["pods_running"] <= limits.max_pod_addresses
        # a released address goes to no other pod within the cooldown
        for pod, address in before.items():
            if pod not in now_pods:
                released[address] = sim.now
        for pod, address in now_pods.items():
            if pod not in before and address in released:
                assert sim.now - released[address] > sim.settings.ip_cooldown_period
        released = {a: t for a, t in released.items() if a in attached}
        before = now_pods


def test_input_checks_name_the_value_and_what_is_valid():
    with pytest.raises(EkslibError, match="offset must be a whole number >= 0, not 'a'"):
        fragmented_subnet("10.0.0.0/24", "a")
    with pytest.raises(EkslibError, match=r"subnet 10.0.0.0/24: address '10.0.0.x' is not an IPv4 address"):
        SubnetSpace("10.0.0.0/24", used=["10.0.0.x"])
    with pytest.raises(EkslibError, match="ip_cooldown_period must be a whole number, not 1.5"):
        PoolSettings(ip_cooldown_period=1.5)
    with pytest.raises(EkslibError, match=r"schedule event \(0, True\): delta_pods must be a whole number"):
        simulate("t3.small", [(0, True)])


def test_ipam_uses_the_shared_checks():
    # whole numbers and ceiling division come from ekslib._checks, not from local copies
    import importlib
    import inspect
    for name in ("decision", "fleet", "planner", "published", "schedules", "settings", "simulation", "steady",
                 "subnet_space"):
        source = inspect.getsource(importlib.import_module(f"ekslib.ipam.{name}"))
        assert "def _whole" not in source and "def _ceil_div" not in source and "-(-" not in source, name
