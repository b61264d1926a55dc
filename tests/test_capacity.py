"""The capacity engine against the published facts (shared/reference/vpc-cni.md section 2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ekslib import capacity
from ekslib.capacity import MODES, capacity_table, explain_max_pods, max_pods
from ekslib.errors import EkslibError, UnknownInstanceTypeError
from ekslib.sources import instance_types as data

PUBLISHED = {"t3.nano": 4, "t3.small": 11, "t3.medium": 17, "t3.large": 35, "m5.large": 29, "m5.4xlarge": 234,
             "m5.24xlarge": 737, "p4d.24xlarge": 737, "p5.48xlarge": 100, "trn1.32xlarge": 247}

#: Types whose EC2 record changed after eni-max-pods.txt was generated: EC2 now reports two network cards with
#: 8 ENIs on card 0, so the card-0 rule gives 8 x 49 + 2 = 394, where the file still says 15 x 49 + 2 = 737.
CATALOGUE_CHANGED_SINCE_PUBLISHED = {"i7ie.48xlarge", "i7ie.metal-48xl"}


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_standard_mode_equals_published_value(name, expected):
    assert max_pods(name) == expected


def test_formula_reproduces_every_published_value():
    published = data.load_published_max_pods()
    table = capacity_table()
    custom = capacity_table(custom_networking=True)
    shared = published.index.intersection(table.index)
    assert len(shared) > 700
    differs = set(shared[table.loc[shared, "max_pods"] != published.loc[shared, "max_pods"]])
    assert differs == CATALOGUE_CHANGED_SINCE_PUBLISHED
    differs_custom = set(shared[custom.loc[shared, "max_pods"] != published.loc[shared, "max_pods_custom_networking"]])
    assert differs_custom == CATALOGUE_CHANGED_SINCE_PUBLISHED


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
    assert max_pods("m5.metal", prefix_delegation=True) == max_pods("m5.metal") == 737
    assert "not Nitro" in str(explain_max_pods("t2.large", prefix_delegation=True))
    assert "older than 1.9.0" in str(explain_max_pods("m5.large", prefix_delegation=True, cni_version="1.7.5"))


def test_ipv6_is_limited_by_kubelet_not_addresses():
    assert max_pods("m5.large", ipv6=True, prefix_delegation=True) == 110
    assert max_pods("m5.24xlarge", ipv6=True, prefix_delegation=True) == 250


def test_security_groups_for_pods_take_a_trunk_slot_on_trunk_capable_types():
    explanation = explain_max_pods("m5.large", security_groups_for_pods=True)
    assert explanation.max_pods == 20 and explanation.branch_enis == 9
    assert max_pods("t3.medium", security_groups_for_pods=True) == 17
    assert "not trunk-capable" in str(explain_max_pods("t3.medium", security_groups_for_pods=True))
    assert explain_max_pods("p5.48xlarge").branch_enis == 120


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


@pytest.mark.parametrize("mode", MODES)
def test_table_and_scalar_agree_for_every_type(mode):
    table = capacity_table(**MODES[mode])
    assert len(table) == len(data.load_instance_types())
    for name, value in table["max_pods"].items():
        assert max_pods(name, **MODES[mode]) == value, name


@pytest.mark.parametrize("flags, message", [
    ({"cni_version": "one.two"}, "malformed CNI version 'one.two'"),
    ({"cni_version": "1"}, "MAJOR.MINOR"),
    ({"max_eni": -1}, "max_eni=-1"),
    ({"max_eni": 0}, "at least 1"),
    ({"max_eni": 2.5}, "whole number"),
    ({"max_eni": True}, "whole number"),
    ({"ipv6": True, "prefix_delegation": True, "custom_networking": True}, "custom_networking"),
    ({"ipv6": True}, "prefix_delegation=True"),
])
def test_bad_settings_name_the_value(flags, message):
    with pytest.raises(EkslibError, match=message.replace(".", r"\.").replace("(", r"\(")):
        max_pods("m5.large", **flags)
    with pytest.raises(EkslibError):
        capacity_table(**flags)


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
    ceiling = max_pods(name, max_eni=max_eni, cni_version=version, ceiling=True)
    assert ceiling <= standard and ceiling <= 250
    if max_eni is not None:
        assert standard <= max_pods(name, max_eni=max_eni + 1, cni_version=version)
    t = data.instance_type_info(name)
    assert (standard - 2) % (t.ipv4_per_eni - 1) == 0 if t.ipv4_per_eni > 1 else standard == 2
