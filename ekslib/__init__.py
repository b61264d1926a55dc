"""ekslib: the helper library behind the EKS networking study notebooks.

One subpackage per concept of the course, each importing only those above it in this list
(``tests/test_layout.py`` checks it):

* ``errors``, ``facts`` (every AWS/VPC CNI/Kubernetes/Linux constant with its source), ``_checks``;
* ``sources``   -- the instance-type snapshot, the VPC CNI's published tables, kubectl and EC2 readers;
* ``capacity``  -- max pods per instance type;
* ``ipam``      -- ipamd's warm pool, subnets and the subnet planner, fleets of nodes;
* ``cluster``   -- the cluster model: build it, read it from kubectl, graph it;
* ``linux``     -- a node's Linux networking as objects, printed as ``ip`` prints it;
* ``dataplane`` -- what the VPC CNI (and kubenet, for contrast) build on a node, and the rules it and kube-proxy
  write;
* ``flows``     -- the packet engine: a connection traced hop by hop through those rules, the VPC and its gateways;
* ``lab``       -- the same data plane in real Linux network namespaces, and the engine checked against the kernel;
* ``study``     -- exercises that check themselves, the notebooks' navigation, the static site;
* ``figures``   -- functions returning a ``plotly.graph_objects.Figure`` over the models;
* ``widgets``   -- thin ipywidgets GUIs over the figures; ``cli`` -- ``python -m ekslib``.

``import ekslib`` is kept light (no pandas, no plotly); the names below load their module on first use.

>>> import ekslib
>>> ekslib.max_pods("t3.medium")
17
"""

from __future__ import annotations

import importlib
from typing import Any

from ekslib._version import __version__

#: public name -> module that defines it (loaded lazily, PEP 562)
_EXPORTS = {
    "load_instance_types": "ekslib.sources",
    "instance_type_info": "ekslib.sources",
    "refresh_instance_types": "ekslib.sources",
    "InstanceType": "ekslib.sources",
    "max_pods": "ekslib.capacity",
    "explain_max_pods": "ekslib.capacity",
    "capacity_table": "ekslib.capacity",
    "Explanation": "ekslib.capacity",
    "prefix_delegation_supported": "ekslib.capacity",
    "source_differences": "ekslib.sources",
    "PoolSettings": "ekslib.ipam",
    "steady_state": "ekslib.ipam",
    "simulate": "ekslib.ipam",
    "free_prefixes": "ekslib.ipam",
    "plan_subnets": "ekslib.ipam",
    "simulate_cluster": "ekslib.ipam",
    "Cluster": "ekslib.cluster",
    "veth_name": "ekslib.cluster",
    "build_cluster": "ekslib.cluster",
    "NodeGroup": "ekslib.cluster",
    "Workload": "ekslib.cluster",
    "from_kubectl": "ekslib.cluster",
    "to_kubectl": "ekslib.cluster",
    "load_sample": "ekslib.cluster",
    "to_networkx": "ekslib.cluster",
    "node_dataplane": "ekslib.dataplane",
    "iptables_save": "ekslib.dataplane.iptables",
    "parse_iptables_save": "ekslib.dataplane.iptables",
    "chain_name": "ekslib.dataplane.iptables",
    "trace": "ekslib.flows",
    "scenario": "ekslib.flows",
    "Flow": "ekslib.flows",
    "EkslibError": "ekslib.errors",
    "UnknownInstanceTypeError": "ekslib.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ekslib' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
