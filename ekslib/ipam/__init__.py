"""ipamd's warm pool on one node: the decision it takes every 5 s, a step-by-step simulator, and steady states.

* :mod:`~ekslib.ipam.settings`: ``PoolSettings`` as aws-node reads them; a node's limits;
* :mod:`~ekslib.ipam.decision`: the decision every 5 s, shared by both simulators;
* :mod:`~ekslib.ipam.simulation`, :mod:`~ekslib.ipam.steady`, :mod:`~ekslib.ipam.schedules`: one node over time;
* :mod:`~ekslib.ipam.published`: AWS's published examples and how the model compares;
* :mod:`~ekslib.ipam.subnet_space`, :mod:`~ekslib.ipam.planner`: subnet addresses, /28 prefixes, the planner;
* :mod:`~ekslib.ipam.fleet`: many nodes sharing subnets (``simulate_cluster``).

>>> steady_state("t3.small", 5).per_eni
(3, 3, 3)
"""

from __future__ import annotations

from ekslib.ipam.decision import PoolCounts, PoolDecision, deletable_enis, pool_decision
from ekslib.ipam.fleet import Churn, simulate_cluster
from ekslib.ipam.planner import FleetGroup, SubnetPlan, blocks_and_loose, fleet_group, place_nodes, plan_subnets
from ekslib.ipam.published import (
    PREFIX_ROWS_SOURCE,
    PUBLISHED_PREFIX_ROWS,
    PUBLISHED_SECONDARY_IP_ROWS,
    SECONDARY_IP_ROWS_SOURCE,
    PublishedRow,
    compare_published,
    published_row_problems,
    published_table,
)
from ekslib.ipam.schedules import Schedule, churn, ramp, scale, schedule_events
from ekslib.ipam.settings import NodeLimits, PoolSettings, node_limits, pool_settings
from ekslib.ipam.simulation import DEFAULT_POD_SUBNET, DEFAULT_SUBNET, SETTLE_LIMIT_S, NodeSimulation, simulate
from ekslib.ipam.steady import PoolState, steady_state, steady_states
from ekslib.ipam.subnet_space import SubnetSpace, fragmented_subnet, free_prefixes, usable_addresses

__all__ = [
    "NodeLimits",
    "PoolSettings",
    "node_limits",
    "pool_settings",
    "PoolCounts",
    "PoolDecision",
    "deletable_enis",
    "pool_decision",
    "SubnetSpace",
    "fragmented_subnet",
    "free_prefixes",
    "usable_addresses",
    "Schedule",
    "churn",
    "ramp",
    "scale",
    "schedule_events",
    "DEFAULT_POD_SUBNET",
    "DEFAULT_SUBNET",
    "NodeSimulation",
    "SETTLE_LIMIT_S",
    "simulate",
    "PoolState",
    "steady_state",
    "steady_states",
    "PREFIX_ROWS_SOURCE",
    "PUBLISHED_PREFIX_ROWS",
    "PUBLISHED_SECONDARY_IP_ROWS",
    "PublishedRow",
    "SECONDARY_IP_ROWS_SOURCE",
    "compare_published",
    "published_row_problems",
    "published_table",
    "FleetGroup",
    "SubnetPlan",
    "blocks_and_loose",
    "fleet_group",
    "place_nodes",
    "plan_subnets",
    "Churn",
    "simulate_cluster",
]
