"""Subnet address space, aligned /28 prefixes and the cluster planner, checked by hand arithmetic."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekslib._checks import parse_subnet
from ekslib.errors import EkslibError, UnknownInstanceTypeError
from ekslib.ipam.planner import FleetGroup, blocks_and_loose, place_nodes, plan_subnets
from ekslib.ipam.subnet_space import SubnetSpace, fragmented_subnet, free_prefixes, usable_addresses

SMALL = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
LARGE = ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]


@pytest.mark.parametrize("cidr, message", [
    ("10.0.0.1/24", r"'10.0.0.1/24' is not a network: its host bits are set \(did you mean 10.0.0.0/24\?\)"),
    ("10.0.0.0/15", r"/15: a VPC subnet is /16 to /28"),
    ("10.0.0.0/29", r"/29: a VPC subnet is /16 to /28"),
    ("fd00::/64", "not an IPv4 subnet CIDR"),
    ("ten.zero", "not an IPv4 subnet CIDR"),
])
def test_bad_cidrs_are_named(cidr, message):
    with pytest.raises(EkslibError, match=message):
        parse_subnet(cidr)


def test_aws_reserves_five_addresses():
    assert usable_addresses("10.0.0.0/24") == 251 and usable_addresses("10.0.0.0/28") == 11
    assert usable_addresses("10.0.0.0/16") == 65531
    space = SubnetSpace("192.168.4.0/24")
    assert [str(a) for a in space.reserved] == ["192.168.4.0", "192.168.4.1", "192.168.4.2", "192.168.4.3",
                                                "192.168.4.255"]
    assert not space.is_free("192.168.4.255") and space.is_free("192.168.4.4")
    assert blocks_and_loose("10.0.0.0/24") == (14, 27) and 14 * 16 + 27 == 251


def test_free_prefixes_by_hand():
    empty = free_prefixes("10.0.0.0/24", [])
    assert len(empty) == 14                       # 16 blocks less the first (.0-.3 reserved) and last (.255)
    assert (str(empty[0]), str(empty[-1])) == ("10.0.0.16/28", "10.0.0.224/28")
    assert all(p.prefixlen == 28 and int(p.network_address) % 16 == 0 for p in empty)
    used = ["10.0.0.17", "10.0.0.100", "10.0.0.230"]
    left = {str(p) for p in free_prefixes("10.0.0.0/24", used)}
    assert {"10.0.0.16/28", "10.0.0.96/28", "10.0.0.224/28"}.isdisjoint(left) and len(left) == 11
    with pytest.raises(EkslibError, match="not in subnet 10.0.0.0/24"):
        free_prefixes("10.0.0.0/24", ["10.0.1.1"])
    with pytest.raises(EkslibError, match="not an IPv4 address"):
        free_prefixes("10.0.0.0/24", ["banana"])


def test_fragmentation_case_has_free_addresses_but_no_prefix():
    subnet, used = fragmented_subnet("10.2.0.0/24")
    space = SubnetSpace(subnet, used)
    assert len(used) == 16 and space.free_count == 251 - 16
    assert free_prefixes(subnet, used) == [] and space.allocate_prefix() is None
    assert space.allocate_address() is not None           # plain addresses are still there
    big, used_big = fragmented_subnet("10.4.0.0/20", offset=3)
    assert len(free_prefixes(big, used_big)) == 0 and SubnetSpace(big, used_big).free_count > 3800
    with pytest.raises(EkslibError, match="offset 16"):
        fragmented_subnet("10.0.0.0/24", offset=16)


def test_next_fit_does_not_hand_back_a_released_address_at_once():
    space = SubnetSpace("10.0.0.0/28")
    first = space.allocate_address()
    space.release(first)
    assert space.allocate_address() != first
    prefix = SubnetSpace("10.0.0.0/24").allocate_prefix()
    assert str(prefix) == "10.0.0.16/28"
    with pytest.raises(EkslibError, match="was not in use"):
        space.release("10.0.0.9")
    taken = [space.allocate_address() for _ in range(space.free_count)]
    assert None not in taken and space.allocate_address() is None


@settings(max_examples=80, deadline=None)
@given(length=st.integers(24, 27), used=st.sets(st.integers(0, 255), max_size=40),
       allocations=st.integers(0, 6))
def test_free_prefixes_match_brute_force(length, used, allocations):
    network = ipaddress.IPv4Network(f"10.9.0.0/{length}")
    addresses = [network.network_address + (u % network.num_addresses) for u in used]
    space = SubnetSpace(network, addresses)
    for _ in range(allocations):
        space.allocate_prefix() if allocations % 2 else space.allocate_address()
    taken = {a for a in network if not space.is_free(a)}
    reserved = set(space.reserved)
    expected = [p for p in network.subnets(new_prefix=28) if not set(p) & taken]
    assert space.free_prefixes() == expected
    assert reserved <= taken
    assert space.free_count == network.num_addresses - len(taken)


# ---------------------------------------------------------------------------------------------- planner

def test_three_24s_against_three_19s_by_hand():
    # m5.large at its max 27 pods: 3 ENIs x 9 addresses + 3 ENI primaries (one is the node's) = 30 each;
    # 24 nodes round-robin over 3 subnets = 8 per subnet = 240 addresses.
    small = plan_subnets(SMALL, [("m5.large", 24)])
    row = small.subnets.iloc[0]
    assert (row["nodes"], row["node_ips"], row["eni_ips"], row["pod_addresses"], row["held"]) == (8, 8, 16, 216, 240)
    assert (row["free"], row["more_nodes"], row["more_pods"]) == (251 - 240, 0, 0)
    assert small.totals["held"] == 720 and small.totals["usable"] == 753
    large = plan_subnets(LARGE, [("m5.large", 24)])
    row = large.subnets.iloc[0]
    assert (row["free"], row["more_nodes"]) == (8187 - 240, (8187 - 240) // 30)
    # at 10 pods a node already holds 3 ENIs (WARM_ENI_TARGET=1: 8 free < 9 at pod 10): 30 addresses, 17 warm
    ten = plan_subnets(SMALL, [("m5.large", 24, 10)])
    assert ten.node_groups.loc[0, ["enis", "pod_addresses", "warm", "held"]].tolist() == [3, 27, 17, 30]
    assert ten.subnets.loc[0, "more_pods"] == 8 * (27 - 10)
    assert ten.subnets.loc[0, "limit"] == "every node reaches its max pods"


def test_more_pods_stop_at_the_first_insufficient_free_addresses():
    # 9 m5.large per /24 at 0 pods hold 10 each (one ENI of 9 + its primary) = 90. Spread evenly, pod 1 on each
    # node attaches a second ENI (+10: 180), pods 2-9 need nothing, pod 10 a third ENI (+10): 7 nodes get one
    # (250 <= 251), the 8th would need 260: InsufficientFreeAddressesInSubnet after 9 x 9 + 7 = 88 more pods.
    plan = plan_subnets(SMALL, [("m5.large", 27, 0)])
    row = plan.subnets.iloc[0]
    assert (row["nodes"], row["held"], row["more_pods"], row["limit"]) == (9, 90, 88,
                                                                          "InsufficientFreeAddressesInSubnet")


def test_warm_ip_target_holds_fewer_addresses():
    plan = plan_subnets(SMALL, [("m5.large", 24, 10)], warm_ip_target=2, minimum_ip_target=10)
    # 12 addresses (10 + 2 warm): the primary ENI's 9 and 3 on a second ENI, + 2 ENI primaries = 14
    assert plan.node_groups.loc[0, ["enis", "pod_addresses", "warm", "held"]].tolist() == [2, 12, 2, 14]
    assert plan.subnets.loc[0, ["held", "free", "more_nodes"]].tolist() == [112, 139, 139 // 14]


def test_prefix_mode_runs_out_of_aligned_blocks_first():
    # prefix mode at 10 pods: 2 prefixes (10 used, 6 < 16 warm -> a second one) + the node's own address.
    # A /24 has 14 whole /28s: 8 nodes need 16 -> InsufficientCidrBlocks although 251 - 264... addresses.
    plan = plan_subnets(SMALL, [("m5.large", 24, 10)], prefix_delegation=True)
    assert plan.node_groups.loc[0, ["enis", "prefixes", "pod_addresses", "held"]].tolist() == [1, 2, 32, 33]
    row = plan.subnets.iloc[0]
    assert (row["fits"], row["limit"], row["more_nodes"]) == (False, "InsufficientCidrBlocks", 0)
    seven = plan_subnets(SMALL, [("m5.large", 21, 10)], prefix_delegation=True).subnets.iloc[0]
    assert (seven["fits"], seven["free_prefixes"], seven["more_nodes"]) == (True, 0, 0)
    roomy = plan_subnets(LARGE, [("m5.large", 24, 10)], prefix_delegation=True).subnets.iloc[0]
    # 510 whole blocks: 16 used; 8 node addresses + m more come from the 27 loose ones, then break blocks
    assert roomy["free_prefixes"] == 494 and roomy["more_nodes"] == 240


def test_minimum_ip_target_alone_caps_the_pods_per_node():
    # MINIMUM_IP_TARGET=6 without WARM_IP_TARGET: a t3.medium's pool stops at 6 addresses (VPC CNI README), so
    # 'max' means 6 pods, and a node never holds a warm address
    plan = plan_subnets(["10.0.0.0/24"], [("t3.medium", 3)], minimum_ip_target=6)
    assert plan.node_groups.loc[0, ["pods_per_node", "enis", "pod_addresses", "warm", "held"]].tolist() == [
        6, 2, 6, 0, 8]
    row = plan.subnets.iloc[0]
    assert row["more_pods"] == 0 and row["limit"].startswith("every node's pool stops at MINIMUM_IP_TARGET=6")
    with pytest.raises(EkslibError, match="pods_per_node=8 does not fit t3.medium: at most 6 pods with an address: "
                                          "MINIMUM_IP_TARGET=6 without WARM_IP_TARGET"):
        plan_subnets(["10.0.0.0/24"], [("t3.medium", 3, 8)], minimum_ip_target=6)
    both = plan_subnets(["10.0.0.0/24"], [("t3.medium", 3)], minimum_ip_target=6, warm_ip_target=1)
    assert both.node_groups.loc[0, "pods_per_node"] == 15


def test_named_subnets_groups_and_summary():
    plan = plan_subnets({"eu-west-1a": "10.0.0.0/24", "eu-west-1b": "10.0.1.0/24"},
                        [FleetGroup("t3.medium", 3), FleetGroup("m5.large", 2, subnets=(1,), pods_per_node=5)])
    assert plan.subnets["name"].tolist() == ["eu-west-1a", "eu-west-1b"]
    assert plan.subnets["nodes"].tolist() == [2, 3]
    assert place_nodes([FleetGroup("t3.medium", 3), FleetGroup("m5.large", 2, subnets=(1,))], 2) == [0, 1, 0, 1, 1]
    text = plan.summary()
    # t3.medium at its max 15 pods: 3 ENIs x 5 + 3 primaries = 18 each
    assert text.splitlines()[0].startswith("10.0.0.0/24: 2 nodes hold 36 of 251 addresses (30 for pods, 0 warm")
    assert "more t3.medium nodes" in text


@pytest.mark.parametrize("subnets, groups, flags, message", [
    (["10.0.0.1/24"], [("m5.large", 1)], {}, "'10.0.0.1/24' is not a network"),
    (["10.0.0.0/28"], [("m5.large", 1)], {}, r"10.0.0.0/28 \(11 usable addresses\) is too small for even one m5.large"),
    (["10.0.0.0/24"], [("m5.large", -2)], {}, "nodes must be a whole number >= 0, not -2"),
    (["10.0.0.0/24"], [("m5.large", 2, -1)], {}, "pods_per_node must be 'max' or a whole number >= 0, not -1"),
    (["10.0.0.0/24"], [("m5.large", 2, 28)], {}, "pods_per_node=28 does not fit m5.large: at most 27"),
    (["10.0.0.0/24"], [FleetGroup("m5.large", 2, subnets=(3,))], {}, r"must be indexes 0 to 0"),
    (["10.0.0.0/24"], ["m5.large"], {}, "is not a FleetGroup"),
    ([], [("m5.large", 1)], {}, "at least one subnet"),
    (["10.0.0.0/24"], [], {}, "at least one node group"),
    (["10.0.0.0/24"], [("m5.large", 1)], {"warm_ip": 1}, "unknown pool setting"),
])
def test_bad_layouts_are_named(subnets, groups, flags, message):
    with pytest.raises(EkslibError, match=message):
        plan_subnets(subnets, groups, **flags)


def test_unknown_type_in_a_group():
    with pytest.raises(UnknownInstanceTypeError, match="m5.larg"):
        plan_subnets(SMALL, [("m5.larg", 3)])
