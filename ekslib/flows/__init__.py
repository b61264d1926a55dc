"""Packet flows: a packet-tracing engine that interprets a node's real rules (netfilter, policy routing, route
tables) hop by hop, the VPC around the nodes, and the scenarios of the course.

* :mod:`~ekslib.flows.flow`: what a trace returns (``Flow``, ``Hop``, ``ConntrackEntry``);
* :mod:`~ekslib.flows.engine`: ``trace()``; :mod:`~ekslib.flows.netfilter_walk`, :mod:`~ekslib.flows.conntrack`,
  :mod:`~ekslib.flows.vpc`, :mod:`~ekslib.flows.world`: the kernel's and the VPC's parts of it;
* :mod:`~ekslib.flows.scenarios`: ``scenario()`` and the course's named flows.

>>> str(scenario("pod-to-internet", subnet="public").seen_source.ip)  # the node's public address
'198.51.100.100'
"""

from __future__ import annotations

from ekslib.flows.engine import trace
from ekslib.flows.flow import Address, ConntrackEntry, Flow, Hop, Where
from ekslib.flows.scenarios import SCENARIOS, scenario, scenario_cluster, service_cluster
from ekslib.flows.vpc import OUTSIDE_HOSTS, VpcFabric

__all__ = ["Address", "ConntrackEntry", "Flow", "Hop", "OUTSIDE_HOSTS", "SCENARIOS", "VpcFabric", "Where",
           "scenario", "scenario_cluster", "service_cluster", "trace"]
