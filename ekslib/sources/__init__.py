"""Where ekslib's facts come from: EC2's instance catalogue, the VPC CNI's published tables, kubectl and EC2 dumps.

* :mod:`~ekslib.sources.instance_types`: the instance types (EC2 ``DescribeInstanceTypes``), refresh, lookups;
* :mod:`~ekslib.sources.published`: files the VPC CNI and the VPC resource controller publish, bundled with provenance;
* :mod:`~ekslib.sources.kube`: raw JSON from ``kubectl`` and EC2 (``DescribeNetworkInterfaces``), and the samples.
"""

from __future__ import annotations

from ekslib.sources.instance_types import (
    COLUMNS,
    DEFAULT_REGIONS,
    MIN_SHARE_OF_CURRENT,
    SNAPSHOT,
    InstanceType,
    RefreshResult,
    families,
    fetch_instance_types,
    instance_type_info,
    instance_type_names,
    load_instance_types,
    load_provenance,
    provenance_path,
    record_from_api,
    refresh_instance_types,
    size_rank,
    sizes_of,
    snapshot_from_moto,
    split_name,
)
from ekslib.sources.kube import (
    DUMP_FILES,
    SAMPLES_DIR,
    describe_network_interfaces,
    describe_subnets,
    describe_vpcs,
    fetch_kubectl_json,
    load_sample_json,
    read_json,
    sample_names,
    write_dump,
)
from ekslib.sources.paths import DATA_DIR, PUBLISHED_DIR
from ekslib.sources.published import (
    BRANCH_LIMITS_CSV,
    CNI_LIMITS_CSV,
    MAX_PODS_TXT,
    PROVENANCE_JSON,
    REGENERATE,
    branch_eni_limits,
    load_branch_limits,
    load_cni_limits,
    load_published_max_pods,
    published_provenance,
)

__all__ = [
    "DATA_DIR",
    "PUBLISHED_DIR",
    "COLUMNS",
    "DEFAULT_REGIONS",
    "InstanceType",
    "MIN_SHARE_OF_CURRENT",
    "RefreshResult",
    "SNAPSHOT",
    "families",
    "fetch_instance_types",
    "instance_type_info",
    "instance_type_names",
    "load_instance_types",
    "load_provenance",
    "provenance_path",
    "record_from_api",
    "refresh_instance_types",
    "size_rank",
    "sizes_of",
    "snapshot_from_moto",
    "split_name",
    "BRANCH_LIMITS_CSV",
    "CNI_LIMITS_CSV",
    "MAX_PODS_TXT",
    "PROVENANCE_JSON",
    "REGENERATE",
    "branch_eni_limits",
    "load_branch_limits",
    "load_cni_limits",
    "load_published_max_pods",
    "published_provenance",
    "DUMP_FILES",
    "SAMPLES_DIR",
    "describe_network_interfaces",
    "describe_subnets",
    "describe_vpcs",
    "fetch_kubectl_json",
    "load_sample_json",
    "read_json",
    "sample_names",
    "write_dump",
]
