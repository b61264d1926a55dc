"""The capacity engine against the published facts: the VPC CNI's eni-max-pods.txt and limits table, the former
max-pods-calculator.sh."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekslib import capacity
from ekslib.capacity import (
    MODES,
    capacity_table,
    ec2_snapshot_differences,
    explain_max_pods,
    kube_reserved_memory_mib,
    max_pods,
    prefix_delegation_supported,
    published_differences,
)
from ekslib.errors import EkslibError, UnknownInstanceTypeError
from ekslib.sources import instance_types as data
from ekslib.sources.published import load_published_max_pods

PUBLISHED = {"t3.nano": 4, "t3.small": 11, "t3.medium": 17, "t3.large": 35, "m5.large": 29, "m5.4xlarge": 234,
             "m5.24xlarge": 737, "p4d.24xlarge": 737, "p5.48xlarge": 100, "trn1.32xlarge": 247,
             "i7ie.48xlarge": 737, "i8ge.48xlarge": 1178}

#: The types on which moto's copy of EC2 says 2 network cards (8 / 12 ENIs on card 0) where the VPC CNI's
#: newer table, and so eni-max-pods.txt, says 1 card (15 / 24 ENIs).
MOTO_CARDS_DIFFER = {"i7ie.48xlarge", "i7ie.metal-48xl", "i8ge.48xlarge", "i8ge.metal-48xl"}


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_standard_mode_equals_published_value(name, expected):
    assert max_pods(name) == expected


def test_formula_reproduces_every_published_value():
    """Every one of the 1,391 lines of eni-max-pods.txt, no exceptions."""
    published = load_published_max_pods()["max_pods"]
    assert len(published) == 1391
    table = capacity_table()
    assert set(published.index) <= set(table.index)
    formula = table.loc[published.index, "max_pods"]
    assert (formula == published).all(), formula[formula != published]
    assert published_differences().empty


@pytest.mark.parametrize("name, expected", [("m5.large", 20), ("t3.medium", 12), ("m5.24xlarge", 688),
                                            ("p5.48xlarge", 51), ("t3.nano", 3)])
def test_custom_networking_is_one_eni_fewer(name, expected):
    """(ENIs - 1) x (IPv4 per ENI - 1) + 2 (vpc-cni.md section 2: m5.large 20)."""
    t = data.instance_type_info(name)
    assert max_pods(name, custom_networking=True) == (t.enis - 1) * (t.ipv4_per_eni - 1) + 2 == expected


def test_custom_networking_table_is_the_formula_for_every_type():
    types = data.load_instance_types()
    custom = capacity_table(custom_networking=True)["max_pods"]
    assert (custom == (types["enis"] - 1).clip(lower=0) * (types["ipv4_per_eni"] - 1) + 2).all()


def test_moto_copy_of_ec2_differs_on_four_types_and_the_cni_table_says_one_card():
    diff = ec2_snapshot_differences()
    assert set(diff.index) == MOTO_CARDS_DIFFER
    assert diff.loc["i7ie.48xlarge"].tolist() == [737, 8 * 49 + 2, 2, 8, 1, 15]
    assert diff.loc["i8ge.48xlarge"].tolist() == [1178, 12 * 49 + 2, 2, 12, 1, 24]
    assert (diff["VPC CNI cards"] == 1).all() and (diff["EC2 cards"] == 2).all()


@pytest.mark.parametrize("name, flags, expected", [
    ("m5.large", {"custom_networking": True}, 20),
    ("m5.large", {"prefix_delegation": True}, 434),
    ("m5.large", {"prefix_delegation": True, "ceiling": True}, 110),
    ("m5.large", {"ceiling": True}, 29),
    ("m5.4xlarge", {"ceiling": True}, 110),
    ("m5.24xlarge", {"ceiling": True}, 250),
    ("m5.8xlarge", {"cni_version": "1.11.2"}, 234),
    ("c6in.32xlarge", {}, 394),
    ("p4d.24xlarge", {}, 15 * 49 + 2),
    ("trn1.32xlarge", {}, 5 * 49 + 2),
    ("t3.medium", {"max_eni": 2}, 12),
    ("t3.medium", {"max_eni": 99}, 17),
    ("t3.medium", {"max_eni": 1, "custom_networking": True}, 2),
])
def test_calculator_examples(name, flags, expected):
    assert max_pods(name, **flags) == expected


def test_prefix_delegation_needs_cni_1_9_and_nitro():
    assert max_pods("m5.large", prefix_delegation=True, cni_version="1.8.0") == 29
    assert max_pods("m5.large", prefix_delegation=True, cni_version="v1.9.0-eksbuild.1") == 434
    assert data.instance_type_info("t2.large").hypervisor == "xen"
    assert max_pods("t2.large", prefix_delegation=True) == max_pods("t2.large")
    assert "not Nitro" in str(explain_max_pods("t2.large", prefix_delegation=True))
    assert "older than 1.9.0" in str(explain_max_pods("m5.large", prefix_delegation=True, cni_version="1.7.5"))


def test_max_pods_follows_the_calculator_on_bare_metal_and_ipamd_does_not():
    """The calculator checked Hypervisor == "nitro" only; ipamd delegates on Nitro or bare metal since 1.11."""
    assert max_pods("m5.metal", prefix_delegation=True) == max_pods("m5.metal") == 737
    text = str(explain_max_pods("m5.metal", prefix_delegation=True))
    assert "bare metal" in text and "max-pods-calculator.sh" in text and "ipamd itself delegates" in text
    assert "from CNI 1.11" in str(explain_max_pods("m5.metal", prefix_delegation=True, cni_version="1.10.0"))
    assert prefix_delegation_supported("m5.metal") and prefix_delegation_supported("m5.metal", "1.11.0")
    assert not prefix_delegation_supported("m5.metal", "1.10.9")


@pytest.mark.parametrize("name, version, expected", [
    ("m5.large", "1.23.1", True), ("m5.large", "1.9.0", True), ("m5.large", "1.8.0", False),
    ("t2.large", "1.23.1", False), ("p3.2xlarge", "1.23.1", False), ("m5.metal", "1.23.1", True),
    ("m5.metal", "v1.10.0-eksbuild.1", False), ("u-6tb1.metal", "1.23.1", True), ("r9g.large", "1.23.1", True),
])
def test_prefix_delegation_supported_follows_ipamd(name, version, expected):
    assert prefix_delegation_supported(name, version) is expected
    assert prefix_delegation_supported(data.instance_type_info(name), version) is expected


def test_prefix_delegation_supported_rejects_bad_input():
    with pytest.raises(UnknownInstanceTypeError):
        prefix_delegation_supported("m5.lage")
    with pytest.raises(EkslibError, match="malformed CNI version"):
        prefix_delegation_supported("m5.large", "1")


def test_ipv6_is_limited_by_kubelet_not_addresses():
    assert max_pods("m5.large", ipv6=True, prefix_delegation=True) == 110
    assert max_pods("m5.24xlarge", ipv6=True, prefix_delegation=True) == 250
    assert max_pods("m5.metal", ipv6=True, prefix_delegation=True) == 250  # ipamd delegates on bare metal


@pytest.mark.parametrize("name, flags, fragment", [
    ("t2.large", {}, "t2.large is not Nitro (hypervisor xen)"),
    ("p3.2xlarge", {}, "p3.2xlarge is not Nitro"),
    ("m5.metal", {"cni_version": "1.10.0"}, "only from 1.11"),
    ("m5.large", {"cni_version": "1.8.0"}, "older than 1.9.0"),
])
def test_ipv6_where_ipamd_cannot_delegate_prefixes_is_refused(name, flags, fragment):
    with pytest.raises(EkslibError, match="ipamd refuses to start") as info:
        max_pods(name, ipv6=True, prefix_delegation=True, **flags)
    assert fragment in str(info.value)
    with pytest.raises(EkslibError, match="ipamd refuses to start"):
        explain_max_pods(name, ipv6=True, prefix_delegation=True, **flags)
    table = capacity_table(ipv6=True, prefix_delegation=True, **flags)
    assert table.loc[name, "max_pods"] is pd.NA


def test_security_groups_for_pods_take_a_trunk_slot_on_trunk_capable_types():
    explanation = explain_max_pods("m5.large", security_groups_for_pods=True)
    assert explanation.max_pods == 20 and explanation.branch_enis == 9
    text = str(explanation)
    assert "counts against kubelet's maxPods" in text and "WARM targets do not apply" in text
    assert max_pods("t3.medium", security_groups_for_pods=True) == 17
    assert "not trunk-capable" in str(explain_max_pods("t3.medium", security_groups_for_pods=True))
    assert explain_max_pods("p5.48xlarge").branch_enis == 120


def test_types_missing_from_the_resource_controller_table_are_not_trunk_capable():
    limits = capacity.branch_eni_limits()
    assert "r9g.large" not in limits and limits["m5.large"] == 9
    explanation = explain_max_pods("r9g.large", security_groups_for_pods=True)
    assert explanation.branch_enis == 0 and explanation.enis_for_pods == explanation.enis
    assert "not in the VPC resource controller's limits table" in str(explanation)
    assert "not trunk-capable" in str(explanation)
    assert capacity_table(security_groups_for_pods=True).loc["r9g.large", "branch_enis"] == 0
    limits["m5.large"] = 0  # a copy: the cache is untouched
    assert capacity.branch_eni_limits()["m5.large"] == 9


# --- types only one source knows ------------------------------------------------------------------------


def test_a_type_only_the_cni_table_knows_has_max_pods_and_says_where_from():
    assert max_pods("p3.2xlarge") == 4 * 14 + 2 == 58
    assert max_pods("p3.2xlarge", ceiling=True) == 58  # under 110: the ceiling does not matter
    explanation = explain_max_pods("p3.2xlarge", ceiling=True)
    assert explanation.source == "vpc-cni only" and explanation.vcpus is None
    assert explanation.ceiling_value is None and not explanation.ceiling_applied
    assert "known only to the VPC CNI's limits table" in str(explanation)
    assert "refresh-data --live" in str(explanation)


def test_a_type_only_ec2_knows_says_so():
    explanation = explain_max_pods("r9g.large")
    assert explanation.source == "ec2 only" and explanation.vcpus == 2
    assert "not in the VPC CNI's limits table" in str(explanation)


@pytest.mark.parametrize("flags", [{"ceiling": True}, {"prefix_delegation": True, "ceiling": True},
                                   {"ipv6": True, "prefix_delegation": True}])
def test_ceiling_with_unknown_vcpus_raises_and_the_table_says_na(flags):
    with pytest.raises(EkslibError) as info:
        max_pods("g4ad.16xlarge", **flags)
    message = str(info.value)
    assert "g4ad.16xlarge" in message and "python -m ekslib refresh-data --live" in message
    assert "vCPU" in message and "\n" not in message
    with pytest.raises(EkslibError, match="refresh-data --live"):
        explain_max_pods("g4ad.16xlarge", **flags)
    assert capacity_table(**flags).loc["g4ad.16xlarge", "max_pods"] is pd.NA


def test_ceiling_error_names_the_raw_value():
    with pytest.raises(EkslibError, match=r"raw value 234 is above 110.*--show-max-allowed"):
        max_pods("p3.16xlarge", ceiling=True)
    assert max_pods("p3.16xlarge") == 234


def test_table_gives_na_only_where_the_answer_needs_unknown_vcpus():
    table = capacity_table(ceiling=True)
    missing = table[table["max_pods"].isna()]
    assert (missing["source"] == "vpc-cni only").all() and (missing["raw_max_pods"] > 110).all()
    assert missing["vcpus"].isna().all() and missing["ceiling_value"].isna().all()
    assert "p3.16xlarge" in missing.index and "p3.2xlarge" not in missing.index
    assert table["max_pods"].dtype == "Int64" and table["ceiling_value"].dtype == "Int64"
    assert not capacity_table()["max_pods"].isna().any()


def test_explanation_shows_the_derivation():
    e = explain_max_pods("t3.medium")
    assert e.formula == "3 x (6 - 1) + 2 = 17"
    assert (e.enis, e.enis_for_pods, e.slots_per_eni, e.host_network_pods, e.max_pods) == (3, 3, 5, 2, 17)
    text = str(e)
    assert text.startswith("t3.medium: max pods = 17") and "aws-node" in text
    pd_ = explain_max_pods("m5.large", prefix_delegation=True, ceiling=True)
    assert pd_.formula == "3 x (10 - 1) x 16 + 2 = 434 -> min(434, 110) = 110"
    assert pd_.ceiling_applied and pd_.as_dict()["prefix_delegation"] is True
    multi = str(explain_max_pods("p5.48xlarge"))
    assert "of 64 across 32 cards" in multi


@pytest.mark.parametrize("mode", [*MODES, "ipv6"])
def test_table_and_scalar_agree_for_every_type(mode):
    flags = MODES.get(mode, {"ipv6": True, "prefix_delegation": True})
    table = capacity_table(**flags)
    assert len(table) == len(data.load_instance_types())
    for name, value in table["max_pods"].items():
        if value is pd.NA:
            with pytest.raises(EkslibError):
                max_pods(name, **flags)
        else:
            assert max_pods(name, **flags) == value, name


def test_capacity_table_on_the_ec2_snapshot_alone():
    """capacity_table takes any frame with the snapshot's columns, e.g. the EC2 snapshot without the merge."""
    ec2 = data.load_ec2_snapshot()
    table = capacity_table(ec2)
    assert len(table) == len(ec2) and "source" not in table
    assert table.loc["i7ie.48xlarge", "max_pods"] == 8 * 49 + 2


@pytest.mark.parametrize("flags, message", [
    ({"cni_version": "one.two"}, "malformed CNI version 'one.two'"),
    ({"cni_version": "1"}, "MAJOR.MINOR"),
    ({"max_eni": -1}, "max_eni=-1"),
    ({"max_eni": 0}, "at least 1"),
    ({"max_eni": 2.5}, "max_eni must be a whole number or None, not 2.5"),
    ({"max_eni": True}, "whole number"),
    ({"ipv6": True, "prefix_delegation": True, "custom_networking": True}, "custom_networking"),
    ({"ipv6": True}, "prefix_delegation=True"),
])
def test_bad_settings_name_the_value(flags, message):
    with pytest.raises(EkslibError, match=message.replace(".", r"\.").replace("(", r"\(")):
        max_pods("m5.large", **flags)
    with pytest.raises(EkslibError):
        capacity_table(**flags)


def test_kube_reserved_memory():
    assert kube_reserved_memory_mib(17) == 442 and kube_reserved_memory_mib(0) == 255
    for bad in (-1, 2.5, "110", True):
        with pytest.raises(EkslibError, match="pods must be a whole number >= 0"):
            kube_reserved_memory_mib(bad)


def test_unknown_type_suggests():
    with pytest.raises(UnknownInstanceTypeError, match="m5.large"):
        max_pods("m5.lage")
    with pytest.raises(EkslibError, match="not 42"):
        max_pods(42)


NAMES = data.instance_type_names()


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), max_eni=st.one_of(st.none(), st.integers(1, 20)),
       version=st.sampled_from(["1.7.5", "1.9.0", "1.23.1"]))
def test_properties(name, max_eni, version):
    standard = max_pods(name, max_eni=max_eni, cni_version=version)
    assert standard >= capacity.HOST_NETWORK_PODS
    assert max_pods(name, max_eni=max_eni, cni_version=version, custom_networking=True) <= standard
    assert max_pods(name, max_eni=max_eni, cni_version=version, prefix_delegation=True) >= standard
    t = data.instance_type_info(name)
    if t.vcpus is None and standard > 110:
        with pytest.raises(EkslibError, match="refresh-data --live"):
            max_pods(name, max_eni=max_eni, cni_version=version, ceiling=True)
    else:
        ceiling = max_pods(name, max_eni=max_eni, cni_version=version, ceiling=True)
        assert ceiling <= standard and ceiling <= 250
    if max_eni is not None:
        assert standard <= max_pods(name, max_eni=max_eni + 1, cni_version=version)
    assert (standard - 2) % (t.ipv4_per_eni - 1) == 0 if t.ipv4_per_eni > 1 else standard == 2
