"""The data layer for clusters: JSON from files, the bundled sample dumps, a live cluster, and EC2's ENIs.

Everything here only reads; :mod:`ekslib.cluster` turns what it returns into the cluster model.

* :func:`read_json`: a dump given as a dict, a JSON string or a path;
* :func:`load_sample_json`: the sample dumps under ``data/samples/<name>/`` (``nodes.json``, ``pods.json``,
  ``services.json``, ``endpointslices.json`` as ``kubectl get ... -o json`` prints them, and the EC2 answers
  ``enis.json``, ``subnets.json``, ``vpcs.json``), made by ``data/samples/make_samples.py``;
* :func:`fetch_kubectl_json`: the same four Kubernetes lists read live with the official ``kubernetes``
  client (``pip install kubernetes``; read-only: it only lists nodes, pods, services and EndpointSlices);
* :func:`describe_network_interfaces`, :func:`describe_subnets`, :func:`describe_vpcs`: EC2's
  ``DescribeNetworkInterfaces``/``DescribeSubnets``/``DescribeVpcs`` with boto3, every page.

>>> sorted(load_sample_json("two-node"))
['endpointslices', 'enis', 'nodes', 'pods', 'services', 'subnets', 'vpcs']
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ekslib.errors import EkslibError, suggest
from ekslib.sources.paths import DATA_DIR

__all__ = [
    "SAMPLES_DIR", "DUMP_FILES", "read_json", "sample_names", "load_sample_json", "write_dump",
    "fetch_kubectl_json", "describe_network_interfaces", "describe_subnets", "describe_vpcs",
]

#: The bundled sample dumps, one folder per sample.
SAMPLES_DIR = DATA_DIR / "samples"
#: The files of one dump: kubectl's four lists and EC2's three answers.
DUMP_FILES = ("nodes", "pods", "services", "endpointslices", "enis", "subnets", "vpcs")


def read_json(source: Any, what: str = "input") -> Any:
    """``source`` as parsed JSON: a dict or list as is, a JSON text, or the path of a JSON file.

    Anything else is an :class:`~ekslib.errors.EkslibError` that names ``what`` and says what went wrong:
    no such file, a folder, an empty or unreadable file, text that is not JSON (YAML or ``kubectl get``'s
    table get a hint to save with ``-o json``).

    >>> read_json('{"items": []}')
    {'items': []}
    >>> read_json("/nowhere/nodes.json", "nodes_json")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: nodes_json: no file /nowhere/nodes.json (give a dict, a JSON text or a path)
    """
    if isinstance(source, (dict, list)):
        return source
    if isinstance(source, bytes):
        try:
            source = source.decode()
        except UnicodeDecodeError:
            raise EkslibError(f"{what}: the bytes given are not UTF-8 text, so not JSON") from None
    if isinstance(source, str) and not source.strip():
        raise EkslibError(f"{what}: an empty text (give a dict, a JSON text or a path)")
    if isinstance(source, str) and (source.lstrip()[:1] in ("{", "[") or "\n" in source.strip()):
        text, origin = source, "the text"
    elif isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if path.is_dir():
            raise EkslibError(f"{what}: {path} is a folder, not a JSON file (ekslib.cluster.from_dump reads a dump "
                              f"folder)")
        if not path.is_file():
            raise EkslibError(f"{what}: no file {path} (give a dict, a JSON text or a path)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise EkslibError(f"{what}: {path} is not a UTF-8 text file, so not JSON") from None
        except OSError as exc:
            raise EkslibError(f"{what}: {path} cannot be read ({exc.strerror or exc})") from None
        origin = str(path)
        if not text.strip():
            raise EkslibError(f"{what}: {path} is empty (was the command's output saved into it?)")
    else:
        raise EkslibError(f"{what}: {_json_kind(source)} is not a dict, a JSON text or a path")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EkslibError(f"{what}: {origin} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                          f"column {exc.colno}){_format_hint(text)}") from None


def _json_kind(value: Any) -> str:
    """How a value that is none of dict, text or path reads in an error: 'None', 'a number (42)', 'a set'."""
    if value is None:
        return "None"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"a number ({value!r})"
    return f"a {type(value).__name__}"


def _format_hint(text: str) -> str:
    """A hint when a text that is not JSON looks like YAML or like kubectl's table output."""
    start = text.lstrip()[:200]
    if start.startswith(("apiVersion:", "---", "kind:", "items:")):
        return ": it looks like YAML; save kubectl's output with -o json"
    if start.upper().startswith("NAME "):
        return ": it looks like kubectl's table; save kubectl's output with -o json"
    return ""


def sample_names() -> list[str]:
    """The bundled samples (folders of ``data/samples`` holding a ``nodes.json``).

    >>> "two-node" in sample_names()
    True
    """
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in SAMPLES_DIR.iterdir() if (p / "nodes.json").is_file())


def load_sample_json(name: str = "two-node") -> dict[str, Any]:
    """The raw dumps of sample ``name``: ``{"nodes": ..., "pods": ..., ...}`` for the files it has."""
    folder = SAMPLES_DIR / name
    if not (folder / "nodes.json").is_file():
        known = sample_names()
        hint = suggest(name, known) or known
        raise EkslibError(f"no sample {name!r} in {SAMPLES_DIR}; samples: {', '.join(hint) or 'none'}")
    return {key: read_json(folder / f"{key}.json", f"sample {name} {key}.json")
            for key in DUMP_FILES if (folder / f"{key}.json").is_file()}


def write_dump(dump: dict[str, Any], folder: str | Path) -> list[Path]:
    """Write each part of ``dump`` to ``folder/<key>.json`` (indented, keys in order, newline at the end)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key in DUMP_FILES:
        if dump.get(key) is not None:
            path = folder / f"{key}.json"
            path.write_text(json.dumps(dump[key], indent=2, default=_json_default) + "\n")
            written.append(path)
    return written


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_safe(value: Any) -> Any:
    """``value`` with datetimes (boto3 gives some) turned into ISO strings, so ``json.dump`` takes it."""
    return json.loads(json.dumps(value, default=_json_default))


def fetch_kubectl_json(*, kubeconfig: str | None = None, context: str | None = None) -> dict[str, Any]:
    """``{"nodes", "pods", "services", "endpointslices"}`` of the current cluster, as ``kubectl get ... -A -o
    json`` prints them.

    Read-only (it lists nodes, and pods, services and EndpointSlices in all namespaces) with the official
    ``kubernetes`` Python client and your kubeconfig (``~/.kube/config``, or ``kubeconfig``/``context``).
    The client is optional: ``pip install kubernetes``. For EKS, ``aws eks update-kubeconfig --name
    <cluster>`` writes the kubeconfig.
    """
    try:
        from kubernetes import client, config
    except ImportError:
        raise EkslibError("reading a live cluster needs the official Kubernetes client: pip install kubernetes "
                          "(or save `kubectl get nodes -o json`, `kubectl get pods -A -o json` and "
                          "`kubectl get svc -A -o json`, `kubectl get endpointslices -A -o json` to files and pass "
                          "those to ekslib.cluster.from_kubectl)"
                          ) from None
    config.load_kube_config(config_file=kubeconfig, context=context)
    api = client.CoreV1Api()
    serialise = client.ApiClient().sanitize_for_serialization

    def as_list(kind: str, result: Any, api_version: str = "v1") -> dict[str, Any]:
        items = []
        for item in result.items:
            data = serialise(item)
            data.setdefault("apiVersion", api_version)
            data.setdefault("kind", kind)
            items.append(data)
        return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}

    return {
        "nodes": as_list("Node", api.list_node()),
        "pods": as_list("Pod", api.list_pod_for_all_namespaces()),
        "services": as_list("Service", api.list_service_for_all_namespaces()),
        "endpointslices": as_list("EndpointSlice", client.DiscoveryV1Api().list_endpoint_slice_for_all_namespaces(),
                                  "discovery.k8s.io/v1"),
    }


def _ec2(ec2_client: Any) -> Any:
    if ec2_client is not None:
        return ec2_client
    import boto3

    return boto3.client("ec2")


def _describe(ec2_client: Any, operation: str, key: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item of a paginated EC2 ``Describe*`` call, JSON-safe."""
    paginator = _ec2(ec2_client).get_paginator(operation)
    kwargs: dict[str, Any] = {"Filters": filters} if filters else {}
    return _json_safe([item for page in paginator.paginate(**kwargs) for item in page[key]])


def _filters(**values: Sequence[str] | str | None) -> list[dict[str, Any]]:
    out = []
    for name, value in values.items():
        if value:
            out.append({"Name": name.replace("_", "-"), "Values": [value] if isinstance(value, str) else list(value)})
    return out


def describe_network_interfaces(ec2_client: Any = None, *, vpc_id: str | None = None,
                                instance_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """EC2 ``DescribeNetworkInterfaces`` (every page), optionally only a VPC's or some instances' ENIs.

    Returns the raw ``NetworkInterfaces`` items (datetimes as ISO strings): pass them to
    ``from_kubectl(..., enis_json=...)``. ``ec2_client`` defaults to ``boto3.client("ec2")``.
    """
    filters = _filters(vpc_id=vpc_id)
    if instance_ids:
        filters.append({"Name": "attachment.instance-id", "Values": list(instance_ids)})
    return _describe(ec2_client, "describe_network_interfaces", "NetworkInterfaces", filters)


def describe_subnets(ec2_client: Any = None, *, vpc_id: str | None = None) -> list[dict[str, Any]]:
    """EC2 ``DescribeSubnets`` (every page), optionally only one VPC's: the exact subnet CIDRs."""
    return _describe(ec2_client, "describe_subnets", "Subnets", _filters(vpc_id=vpc_id))


def describe_vpcs(ec2_client: Any = None, *, vpc_id: str | None = None) -> list[dict[str, Any]]:
    """EC2 ``DescribeVpcs`` (every page), optionally one VPC: its CIDR blocks."""
    return _describe(ec2_client, "describe_vpcs", "Vpcs", _filters(vpc_id=vpc_id))
