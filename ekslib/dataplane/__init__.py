"""What a CNI and kube-proxy build on a node, as :mod:`ekslib.linux` objects.

* :mod:`~ekslib.dataplane.vpc_cni`: the AWS VPC CNI's routed veths, 169.254.1.1, /32 routes, policy rules
  (:func:`node_dataplane`);
* :mod:`~ekslib.dataplane.settings`, :mod:`~ekslib.dataplane.vpc_cni_iptables`: its SNAT and connmark rules;
* :mod:`~ekslib.dataplane.kube_proxy`: kube-proxy's iptables mode for the cluster's Services (:func:`chain_name`);
* :mod:`~ekslib.dataplane.iptables`: the node's whole ruleset, :func:`iptables_save` as the node prints it;
* for contrast: kubenet's bridge (:mod:`~ekslib.dataplane.bridge`) and flannel's VXLAN overlay
  (:mod:`~ekslib.dataplane.overlay`).
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
