"""One model of a node's Linux networking: interfaces, veth pairs, namespaces, routes, policy rules,
neighbours (and netfilter), with renderers that print what ``ip`` and ``iptables-save`` print.

* :mod:`~ekslib.linux.routes`, :mod:`~ekslib.linux.objects`: the objects;
* :mod:`~ekslib.linux.iproute`: ``ip rule`` / ``ip route`` / ``ip addr`` / ``ip neigh`` text.
"""

from __future__ import annotations

from ekslib.linux.iproute import (
    ip_addr_text,
    ip_neigh_text,
    ip_route_text,
    ip_rule_text,
    sorted_routes,
    sorted_rules,
    veth_table,
)
from ekslib.linux.objects import Interface, Neighbour, NetNamespace, NodeDataplane, Rule, VethPair
from ekslib.linux.routes import Route, RouteTable

__all__ = [
    "Route",
    "RouteTable",
    "Interface",
    "Neighbour",
    "NetNamespace",
    "NodeDataplane",
    "Rule",
    "VethPair",
    "ip_addr_text",
    "ip_neigh_text",
    "ip_route_text",
    "ip_rule_text",
    "sorted_routes",
    "sorted_rules",
    "veth_table",
]
