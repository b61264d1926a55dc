"""What a CNI builds on a node, as :mod:`ekslib.linux` objects: the AWS VPC CNI's routed veths
(:func:`node_dataplane`) and, for contrast, kubenet's bridge (:func:`bridge_dataplane`).
"""

from __future__ import annotations

from ekslib.dataplane.bridge import bridge_dataplane
from ekslib.dataplane.iptables import iptables_save, node_ruleset, parse_iptables_save
from ekslib.dataplane.kube_proxy import KubeProxySettings, chain_name, kube_proxy_ruleset
from ekslib.dataplane.vpc_cni import eni_interfaces, loopback, mac_address, netns_name, node_context, node_dataplane

__all__ = [
    "eni_interfaces",
    "loopback",
    "mac_address",
    "netns_name",
    "node_context",
    "node_dataplane",
    "bridge_dataplane",
    "KubeProxySettings",
    "chain_name",
    "kube_proxy_ruleset",
    "node_ruleset",
    "iptables_save",
    "parse_iptables_save",
]
