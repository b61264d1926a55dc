"""ekslib: the helper library behind the EKS networking study notebooks.

Layers, each importing only those before it:

* data     -- ``ekslib.data``: load and refresh the EC2 instance-type snapshot;
* model    -- ``ekslib.capacity`` (and later ``ipam``, ``cluster``, ``flows``): pure computation;
* figures  -- ``ekslib.figures.*``: functions that return a ``plotly.graph_objects.Figure``;
* widgets  -- ``ekslib.widgets.*``: thin ipywidgets GUIs over the model.

``import ekslib`` is kept light (no pandas, no plotly); the names below load their module on first use.

>>> import ekslib
>>> ekslib.max_pods("t3.medium")
17
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it (loaded lazily, PEP 562)
_EXPORTS = {
    "load_instance_types": "ekslib.data",
    "instance_type_info": "ekslib.data",
    "refresh_instance_types": "ekslib.data",
    "InstanceType": "ekslib.data",
    "max_pods": "ekslib.capacity",
    "explain_max_pods": "ekslib.capacity",
    "capacity_table": "ekslib.capacity",
    "Explanation": "ekslib.capacity",
    "PoolSettings": "ekslib.ipam",
    "steady_state": "ekslib.ipam",
    "simulate": "ekslib.ipam",
    "free_prefixes": "ekslib.subnets",
    "plan_subnets": "ekslib.subnets",
    "simulate_cluster": "ekslib.ipam_cluster",
    "Cluster": "ekslib.cluster",
    "veth_name": "ekslib.cluster",
    "build_cluster": "ekslib.cluster_build",
    "NodeGroup": "ekslib.cluster_build",
    "Workload": "ekslib.cluster_build",
    "from_kubectl": "ekslib.kubectl",
    "to_kubectl": "ekslib.kubectl",
    "load_sample": "ekslib.kubectl",
    "to_networkx": "ekslib.cluster_graph",
    "node_dataplane": "ekslib.node_dataplane",
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
