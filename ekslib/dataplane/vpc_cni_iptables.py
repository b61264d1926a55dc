"""The VPC CNI's iptables rules on a node: SNAT for traffic leaving the VPC, and the 0x80 connection mark.

Read in github.com/aws/amazon-vpc-cni-k8s (v1.23.x, August 2026) ``pkg/networkutils/network.go``
(``SetupHostNetwork``, ``buildIptablesSNATRules``, ``updateIptablesRules``) and ``iptables_connmark.go``
(``buildRules``, ``applyRules``); the older layout in v1.16.0's ``network.go`` (``buildIptablesConnmarkRules``):

* nat ``POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0`` is *appended* (kube-proxy
  *inserts* its jumps at the top, so on a node KUBE-POSTROUTING runs first). In ``AWS-SNAT-CHAIN-0`` each VPC CIDR
  and each ``AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`` entry gets ``-d <CIDR> -m comment --comment "AWS SNAT CHAIN"
  -j RETURN`` (``... EXCLUSION`` for an excluded CIDR), each *inserted at position 1* (so the last CIDR comes
  first), then the appended ``! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT
  --to-source <primary IP of the primary ENI> --random-fully`` (``AWS_VPC_K8S_CNI_RANDOMIZESNAT``: ``prng``
  (default) ``--random-fully``, ``hashrandom`` ``--random``, ``none`` neither).
* nat ``PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0``, then
  ``-m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --mask 0x80``; ``AWS-CONNMARK-CHAIN-0`` RETURNs
  for the same CIDRs (``"AWS CONNMARK CHAIN"``, inserted at 1) and ends with ``-j CONNMARK --set-xmark 0x80/0x80``.
* mangle ``PREROUTING -i eth0 -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-mark 0x80/0x80``
  (NodePort traffic arriving on the primary ENI), ``-i eni+ -j CONNMARK --restore-mark --mask 0x80`` and the same
  for ``vlan+``, all with ``--comment "AWS, primary ENI"``.
* ``AWS_VPC_K8S_CNI_EXTERNALSNAT=true``: no SNAT rules (the chain is still created, empty) and no connmark chain;
  the mangle rules stay while ``AWS_VPC_CNI_NODE_PORT_SUPPORT`` is true (default).
* before v1.16.2 (PR #2697) a chain of chains: ``AWS-SNAT-CHAIN-i ! -d <CIDR i> -j AWS-SNAT-CHAIN-(i+1)``, the
  SNAT rule in the last one; ``AWS-CONNMARK-CHAIN-i`` likewise (comments ``"AWS CONNMARK CHAIN, VPC CIDR"`` /
  ``"..., EXCLUDED CIDR"``), all appended.

>>> from ekslib.cluster import load_sample
>>> c = load_sample("two-node")
>>> rs = vpc_cni_ruleset(c, c.nodes[0].name)
>>> rule = rs.rules("nat", "AWS-SNAT-CHAIN-0")[-1]
>>> rule.text.split(" -j ")[1] == f"SNAT --to-source {c.nodes[0].address} --random-fully"
True
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network

from ekslib.cluster.model import Cluster, Node
from ekslib.dataplane.settings import RANDOMIZE_SNAT, VpcCniSettings
from ekslib.linux.netfilter import Ruleset


def _snat_rule(chain: str, node: Node, settings: VpcCniSettings) -> str:
    flag = RANDOMIZE_SNAT[settings.randomize_snat]
    return (f'-A {chain} ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL '
            f"-j SNAT --to-source {node.address}" + (f" {flag}" if flag else ""))


def _cidrs(cluster: Cluster, settings: VpcCniSettings) -> list[tuple[IPv4Network, bool]]:
    return [(c, False) for c in cluster.vpc.cidrs] + [(c, True) for c in settings.exclude_snat_cidrs]


def _return_rule(chain: str, cidr: IPv4Network, comment: str) -> str:
    # the CNI writes no -d for 0.0.0.0/0 ("Kernel will strip -d, if dst is 0.0.0.0/0")
    where = "" if cidr.prefixlen == 0 else f"-d {cidr} "
    return f'-A {chain} {where}-m comment --comment "{comment}" -j RETURN'


def vpc_cni_ruleset(cluster: Cluster, node: str, settings: VpcCniSettings | None = None,
                    ruleset: Ruleset | None = None) -> Ruleset:
    """``ruleset`` (default: empty) with the rules aws-node writes on ``node``, in the order it writes them."""
    s = settings or VpcCniSettings()
    n = cluster.node(node)
    veths = f"{cluster.veth_prefix}+"
    rs = ruleset or Ruleset()
    cidrs = _cidrs(cluster, s)
    if s.layout == "current":
        rs = rs.add_chain("nat", "AWS-SNAT-CHAIN-0")
        if not s.external_snat:
            rs = rs.append("nat", '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0')
            for cidr, excluded in cidrs:
                comment = "AWS SNAT CHAIN" + (" EXCLUSION" if excluded else "")
                rs = rs.insert("nat", _return_rule("AWS-SNAT-CHAIN-0", cidr, comment), 1)
            rs = rs.append("nat", _snat_rule("AWS-SNAT-CHAIN-0", n, s))
    elif not s.external_snat:
        chains = [f"AWS-SNAT-CHAIN-{i}" for i in range(len(cidrs) + 1)]
        for chain in chains:
            rs = rs.add_chain("nat", chain)
        rs = rs.append("nat", '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0')
        for i, (cidr, excluded) in enumerate(cidrs):
            comment = "AWS SNAT CHAIN" + (" EXCLUSION" if excluded else "")
            rs = rs.append("nat", f'-A {chains[i]} ! -d {cidr} -m comment --comment "{comment}" -j {chains[i + 1]}')
        rs = rs.append("nat", _snat_rule(chains[-1], n, s))
    mark = f"{s.mark:#x}"
    if s.connmark and not s.external_snat:
        rs = _connmark_chains(rs, cidrs, veths, mark, s)
    if s.connmark and s.node_port_support:
        rs = rs.append("mangle", f'-A PREROUTING -i {n.primary_eni.interface} -m comment --comment "AWS, primary ENI" '
                                 f"-m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-mark {mark}/{mark}")
    if s.connmark and (s.node_port_support or not s.external_snat):
        rs = rs.append("mangle", f'-A PREROUTING -i {veths} -m comment --comment "AWS, primary ENI" '
                                 f"-j CONNMARK --restore-mark --mask {mark}")
    if s.connmark and s.node_port_support:
        rs = rs.append("mangle", '-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" '
                                 f"-j CONNMARK --restore-mark --mask {mark}")
    return rs


def _connmark_chains(rs: Ruleset, cidrs: Sequence[tuple[IPv4Network, bool]], veths: str, mark: str,
                     s: VpcCniSettings) -> Ruleset:
    jump = f'-A PREROUTING -i {veths} -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0'
    restore = f'-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --mask {mark}'
    if s.layout == "current":
        rs = rs.add_chain("nat", "AWS-CONNMARK-CHAIN-0").append("nat", jump)
        for cidr, _excluded in cidrs:
            rs = rs.insert("nat", _return_rule("AWS-CONNMARK-CHAIN-0", cidr, "AWS CONNMARK CHAIN"), 1)
        rs = rs.append("nat", restore)
        return rs.append("nat", '-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" '
                                f"-j CONNMARK --set-xmark {mark}/{mark}")
    chains = [f"AWS-CONNMARK-CHAIN-{i}" for i in range(len(cidrs) + 1)]
    for chain in chains:
        rs = rs.add_chain("nat", chain)
    rs = rs.append("nat", jump)
    for i, (cidr, excluded) in enumerate(cidrs):
        comment = "AWS CONNMARK CHAIN, " + ("EXCLUDED CIDR" if excluded else "VPC CIDR")
        rs = rs.append("nat", f'-A {chains[i]} ! -d {cidr} -m comment --comment "{comment}" -j {chains[i + 1]}')
    rs = rs.append("nat", f'-A {chains[-1]} -m comment --comment "AWS, CONNMARK" '
                          f"-j CONNMARK --set-xmark {mark}/{mark}")
    return rs.append("nat", restore)
