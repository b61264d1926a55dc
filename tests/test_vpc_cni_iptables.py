"""The VPC CNI's iptables rules against the text its code writes (amazon-vpc-cni-k8s pkg/networkutils/network.go,
iptables_connmark.go; v1.16.0 for the older layout) and against the node's policy rules."""

from __future__ import annotations

import pytest

from ekslib.cluster import load_sample
from ekslib.dataplane import node_dataplane
from ekslib.dataplane.settings import VpcCniSettings
from ekslib.dataplane.vpc_cni_iptables import vpc_cni_ruleset
from ekslib.errors import EkslibError

CLUSTER = load_sample("two-node")
NODE = CLUSTER.nodes[0]
VPC = str(CLUSTER.vpc.cidrs[0])


def lines(settings=None, table="nat", chain=None):
    rs = vpc_cni_ruleset(CLUSTER, NODE.name, settings)
    chains = [chain] if chain else [c.name for c in rs.table(table).chains]
    return [r.text for c in chains for r in rs.rules(table, c)]


def test_current_layout_snat_chain_as_network_go_writes_it():
    # buildIptablesSNATRules: "-d <cidr> -m comment --comment "AWS SNAT CHAIN" -j RETURN", then the SNAT rule
    assert lines(chain="AWS-SNAT-CHAIN-0") == [
        f'-A AWS-SNAT-CHAIN-0 -d {VPC} -m comment --comment "AWS SNAT CHAIN" -j RETURN',
        '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL '
        f"-j SNAT --to-source {NODE.address} --random-fully",
    ]
    assert lines(chain="POSTROUTING") == ['-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0']


def test_cidr_rules_are_inserted_at_the_top_so_exclusions_come_first():
    # updateIptablesRules inserts rule.name == "AWS-SNAT-CHAIN-0" at position 1, one after the other
    got = lines(VpcCniSettings(exclude_snat_cidrs=("10.20.0.0/16", "172.31.0.0/16")), chain="AWS-SNAT-CHAIN-0")
    assert got[:3] == [
        '-A AWS-SNAT-CHAIN-0 -d 172.31.0.0/16 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
        '-A AWS-SNAT-CHAIN-0 -d 10.20.0.0/16 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
        f'-A AWS-SNAT-CHAIN-0 -d {VPC} -m comment --comment "AWS SNAT CHAIN" -j RETURN',
    ]


def test_connmark_chain_and_restore_as_iptables_connmark_go_writes_them():
    assert lines(chain="AWS-CONNMARK-CHAIN-0") == [
        f'-A AWS-CONNMARK-CHAIN-0 -d {VPC} -m comment --comment "AWS CONNMARK CHAIN" -j RETURN',
        '-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
    ]
    assert lines(chain="PREROUTING") == [
        '-A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0',
        '-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    ]
    assert lines(table="mangle", chain="PREROUTING") == [
        '-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL '
        "--limit-iface-in -j CONNMARK --set-xmark 0x80/0x80",
        '-A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 '
        "--ctmask 0x80",
        '-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 '
        "--ctmask 0x80",
    ]


def test_external_snat_leaves_an_empty_snat_chain_and_no_connmark_chain():
    rs = vpc_cni_ruleset(CLUSTER, NODE.name, VpcCniSettings(external_snat=True))
    assert rs.rules("nat", "AWS-SNAT-CHAIN-0") == () and rs.rules("nat", "POSTROUTING") == ()
    assert "AWS-CONNMARK-CHAIN-0" not in [c.name for c in rs.table("nat").chains]
    assert len(rs.rules("mangle", "PREROUTING")) == 3  # node-port support keeps the mangle rules
    assert VpcCniSettings(external_snat=True).policy_rule_1024
    assert not VpcCniSettings(external_snat=True, node_port_support=False).policy_rule_1024


def test_legacy_layout_is_a_chain_of_chains():
    # a 2023 EKS node: AWS-SNAT-CHAIN-0 ! -d 192.168.0.0/16 -j AWS-SNAT-CHAIN-1, the SNAT rule in the last chain
    assert lines(VpcCniSettings(layout="legacy"), chain="AWS-SNAT-CHAIN-0") == [
        f'-A AWS-SNAT-CHAIN-0 ! -d {VPC} -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-1']
    assert lines(VpcCniSettings(layout="legacy"), chain="AWS-SNAT-CHAIN-1")[0].endswith(
        f"-j SNAT --to-source {NODE.address} --random-fully")
    assert lines(VpcCniSettings(layout="legacy"), chain="AWS-CONNMARK-CHAIN-0") == [
        f'-A AWS-CONNMARK-CHAIN-0 ! -d {VPC} -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" '
        "-j AWS-CONNMARK-CHAIN-1"]


@pytest.mark.parametrize("mode, flag", [("prng", " --random-fully"), ("hashrandom", " --random"), ("none", "")])
def test_randomize_snat(mode, flag):
    last = lines(VpcCniSettings(randomize_snat=mode), chain="AWS-SNAT-CHAIN-0")[-1]
    assert last.endswith(f"--to-source {NODE.address}{flag}")


def test_connmark_false_models_a_node_without_the_mark_and_rule_1024():
    rs = vpc_cni_ruleset(CLUSTER, NODE.name, VpcCniSettings(connmark=False))
    assert "mangle" not in [t.name for t in rs.tables] and "CONNMARK" not in rs.text
    rules = [r.priority for r in node_dataplane(CLUSTER, NODE.name, settings=VpcCniSettings(connmark=False)).rules]
    assert 1024 not in rules and 1024 in [r.priority for r in node_dataplane(CLUSTER, NODE.name).rules]


@pytest.mark.parametrize("bad, message", [({"randomize_snat": "always"}, "RANDOMIZESNAT"),
                                          ({"layout": "new"}, "layout"),
                                          ({"exclude_snat_cidrs": ("10.0.0.1/8",)}, "EXCLUDE_SNAT_CIDRS")])
def test_bad_settings_are_named(bad, message):
    with pytest.raises(EkslibError, match=message):
        VpcCniSettings(**bad)
