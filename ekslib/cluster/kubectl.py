"""A real cluster in the model: parse ``kubectl ... -o json`` (and EC2's ENI answers) into a Cluster, and back.

:func:`from_kubectl` reads what these print (dicts, JSON texts or file paths)::

    kubectl get nodes -o json        > nodes.json
    kubectl get pods -A -o json      > pods.json
    kubectl get svc -A -o json       > services.json
    kubectl get endpointslices -A -o json > endpointslices.json                              # optional
    aws ec2 describe-network-interfaces --filters Name=vpc-id,Values=<vpc> > enis.json      # optional
    aws ec2 describe-subnets --filters Name=vpc-id,Values=<vpc>            > subnets.json   # optional
    aws ec2 describe-vpcs --vpc-ids <vpc>                                  > vpcs.json      # optional

From Kubernetes: instance type (label ``node.kubernetes.io/instance-type``, else the older
``beta.kubernetes.io/instance-type``), zone (``topology.kubernetes.io/zone``), the node's ``InternalIP``
(``status.addresses``), the instance id (``spec.providerID``, ``aws:///<zone>/<instance id>``), max pods
(``status.capacity.pods``), pod IPs (``status.podIP``), ``status.hostIP``, ``spec.hostNetwork``,
``spec.nodeName``; services from ``spec`` (type, clusterIP, ports, externalTrafficPolicy) with endpoints
by selector over pod labels. Finished pods (phase Succeeded/Failed: their address is free again) and pods
not yet scheduled or without an address are left out, and ``Cluster.notes`` says how many.

EndpointSlices (discovery.k8s.io/v1, what kube-proxy reads) come from ``endpointslices_json``: the Service from
the label ``kubernetes.io/service-name``, the first address of each endpoint (the one kube-proxy uses), its
conditions as the API defines them (``ready`` missing reads true, ``serving`` missing defers to ``ready``,
``terminating`` missing reads false), ``nodeName``, ``zone``, a Pod ``targetRef``, and the ports. Slices
kube-proxy ignores are left out with a note: no service label, or address type IPv6 or FQDN. Without
``endpointslices_json`` the slices are derived as the EndpointSlice controller would write them: one per Service
with a selector, its pods' addresses, serving when the pod's Ready condition is True (or absent), terminating
when the pod has a ``deletionTimestamp``, ready when serving and not terminating, target ports resolved (a named
one through the pods' named container ports, as the controller's ``FindPort``); ``default/kubernetes`` then has
no endpoints, since the API server writes those, and ``Cluster.notes`` says so.

EKS's control-plane ENIs (2 to 4, ``Description`` ``Amazon EKS <cluster-name>``, attached to an instance of an
AWS-owned account, requested by ``...:AmazonEKS``: Amazon EKS User Guide, "View Amazon EKS networking
requirements for VPC and subnets"; github.com/liwenwu-amazon/reinvent2018-NET410) are read from ``enis_json``:
the ENIs so described that no node of ``nodes_json`` has (those whose address ``default/kubernetes`` lists,
when its slice is given). Without them the addresses of ``default/kubernetes``'s slice stand for them
(``inferred=True``, id ``eni-unknown-eks-<address>``), in the subnet holding the address.

Limitation without EC2 detail: Kubernetes does not say which ENI holds a pod's address, nor the subnets'
CIDRs. Each node then gets one stand-in ENI (``inferred=True``, id ``eni-unknown-<node>``) holding all its
pods, and each zone one stand-in subnet whose CIDR is the smallest network covering the addresses seen
there (``inferred=True``); the VPC CIDR is guessed the same way. With ``enis_json`` (EC2
``DescribeNetworkInterfaces``: ``PrivateIpAddresses`` and ``Ipv4Prefixes``) each pod is attached to the
ENI holding its address; ``subnets_json``/``vpcs_json`` give exact CIDRs. :mod:`ekslib.sources` reads
all of these live.

Malformed or partial input raises :class:`~ekslib.errors.EkslibError` naming the object and the field:

>>> nodes = load_sample_json("two-node")["nodes"]
>>> bad = {"items": [{"metadata": {"name": "coredns-abc", "namespace": "kube-system"},
...                   "spec": {"nodeName": "n1"}, "status": {"phase": "Running", "podIP": "10.0.1.999"}}]}
>>> from_kubectl(nodes, bad)
Traceback (most recent call last):
...
ekslib.errors.EkslibError: pod kube-system/coredns-abc: status.podIP '10.0.1.999' is not an IPv4 address

:func:`to_kubectl` writes a Cluster as those seven documents (the project's sample dumps are made so), and
``from_kubectl(**to_kubectl(c))`` gives ``c`` back.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from ekslib._checks import is_whole, parse_ipv4, parse_ipv4_network
from ekslib.cluster.invariants import validate
from ekslib.cluster.model import (
    Cluster,
    ControlPlaneEni,
    EndpointPort,
    EndpointSlice,
    Eni,
    Node,
    Pod,
    Service,
    ServicePort,
    SliceEndpoint,
    Subnet,
    Vpc,
    check_veth_prefix,
    select_endpoints,
    veth_name,
)
from ekslib.errors import EkslibError
from ekslib.facts import (
    DEFAULT_VETH_PREFIX,
    EKS_ENI_DESCRIPTION_PREFIX,
    EKS_SERVICE_CIDR,
    EKS_SERVICE_CIDR_IN_10_VPC,
    ENDPOINTSLICE_CONTROLLER,
    INSTANCE_TYPE_LABELS,
    IPS_PER_PREFIX,
    MAX_ENDPOINTS_PER_SLICE,
    NODEGROUP_LABELS,
    PORT_PROTOCOLS,
    SERVICE_TYPES,
    SLICE_MANAGED_BY_LABEL,
    SLICE_SERVICE_LABEL,
    ZONE_LABELS,
)
from ekslib.sources.instance_types import instance_type_info
from ekslib.sources.kube import DUMP_FILES, load_sample_json, read_json

_FINISHED = ("Succeeded", "Failed")
_MISSING = object()
#: Fixed values of the generated dumps (AWS's documentation account id, an illustrative date and versions).
_ACCOUNT = "111122223333"
#: Stand-in for the AWS-owned account whose instances hold EKS's control-plane ENIs (another documentation id).
_EKS_ACCOUNT = "444455556666"
_CREATED = "2025-01-15T09:00:00Z"
_UID_NAMESPACE = uuid.UUID("9b6f0b2a-3c1e-4d5f-8a7b-6c5d4e3f2a1b")


# ----------------------------------------------------------------------------------------------- reading


#: The ``kind`` each kubectl dump holds (``kubectl get ... -o json`` writes it on every item).
_API_KINDS = {"node": "Node", "pod": "Pod", "service": "Service", "endpointslice": "EndpointSlice"}
_POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
#: The protocols a Service port may have (Kubernetes API ``core/v1`` ``Protocol``).
_PROTOCOLS = PORT_PROTOCOLS


def _what(value: Any) -> str:
    """A JSON value's type in JSON's words: 'an object', 'a list', 'a string', 'a number', 'true/false', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"


#: A Python type as :func:`_what` names its values.
_KIND_WORDS = {Mapping: "an object", list: "a list", str: "a string", bool: "true or false", int: "a number"}


class _Item:
    """One object of a dump being read, to name it (``pod kube-system/coredns-abc``) in every error."""

    def __init__(self, kind: str, data: Any, index: int, source: str) -> None:
        self.kind = kind
        if not isinstance(data, Mapping):
            raise EkslibError(f"{source} item {index}: is {_what(data)} ({data!r:.40}), not an object: {source} "
                              f"must hold {kind} objects")
        self.data = data
        meta = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
        ident = meta.get("name") or data.get({"ENI": "NetworkInterfaceId", "subnet": "SubnetId",
                                               "VPC": "VpcId"}.get(kind, ""))
        namespace = meta.get("namespace")
        if ident and isinstance(ident, str):
            in_namespace = namespace and isinstance(namespace, str)
            self.label = f"{kind} {namespace}/{ident}" if in_namespace else f"{kind} {ident}"
        else:
            self.label = f"{source} item {index} ({kind})"
        api_kind = data.get("kind")
        if kind in _API_KINDS and api_kind is not None and api_kind != _API_KINDS[kind]:
            raise EkslibError(f"{source} item {index}: kind is {api_kind!r}, not {_API_KINDS[kind]!r}: {source} must "
                              f"be what `kubectl get {kind}s -o json` prints (were two arguments swapped?)")

    def error(self, path: str, problem: str) -> EkslibError:
        return EkslibError(f"{self.label}: {path} {problem}")

    def get(self, path: str, default: Any = _MISSING, *, kind: type | tuple[type, ...] | None = None) -> Any:
        """The value at a dotted ``path`` (``status.podIP``); missing (or null) raises unless ``default`` is
        given; a part of the path that is there but not an object raises always, as does a value not of ``kind``."""
        value: Any = self.data
        parts = path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(value, Mapping):
                raise self.error(".".join(parts[:i]), f"is {_what(value)} ({value!r:.40}), not an object")
            if value.get(part) is None:
                if default is _MISSING:
                    raise self.error(path, "is missing")
                return default
            value = value[part]
        if kind is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            names = " or ".join(_KIND_WORDS.get(k, k.__name__) for k in kinds)
            raise self.error(path, f"{value!r:.60} is not {names}")
        return value

    def integer(self, path: str, value: Any, low: int = 0, high: int | None = None) -> int:
        text = value.strip() if isinstance(value, str) else None
        if not (is_whole(value) or (text and text.isascii() and text.isdigit())):
            raise self.error(path, f"{value!r:.40} is not a whole number")
        number = int(value)
        if number < low or (high is not None and number > high):
            raise self.error(path, f"{number} is outside {low}-{high if high is not None else 'inf'}")
        return number

    def ipv4(self, path: str, value: Any) -> IPv4Address:
        if not isinstance(value, str):     # JSON holds addresses as strings; a number is not one
            raise self.error(path, f"{value!r:.40} is not an IPv4 address (a string such as '10.0.1.5')")
        return parse_ipv4(value, f"{self.label}: {path}")

    def mapping(self, path: str, *, required: bool = False) -> Mapping[str, Any]:
        """The object at ``path`` (``{}`` when missing, unless ``required``)."""
        return self.get(path, kind=Mapping) if required else self.get(path, {}, kind=Mapping)

    def mappings(self, path: str) -> list[Mapping[str, Any]]:
        """The list of objects at ``path`` (``[]`` when missing); an entry that is not an object raises."""
        entries = self.get(path, [], kind=list)
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise self.error(f"{path}[{i}]", f"is {_what(entry)} ({entry!r:.40}), not an object")
        return entries


def _items(document: Any, kind: str, source: str, api_key: str | None = None) -> list[_Item]:
    """The objects of a ``kind: List`` (or one object, or a bare list; for EC2 answers, ``{api_key: [...]}``)."""
    data = read_json(document, source)
    if isinstance(data, Mapping):
        if api_key and api_key in data:
            data = data[api_key]
            where = f"{source}: {api_key}"
        elif "items" in data:
            data = data["items"]
            where = f"{source}: items"
        elif api_key is None and "metadata" in data:
            data, where = [data], source
        else:
            expected = f"'{api_key}' (the EC2 answer)" if api_key else "'items' (a kubectl List)"
            keys = ", ".join(sorted(map(str, data))) or "none"
            raise EkslibError(f"{source}: an object without {expected}; keys: {keys}")
    else:
        where = source
    if not isinstance(data, list):
        raise EkslibError(f"{where} is {_what(data)}, not a list of {kind} objects")
    return [_Item(kind, item, i, source) for i, item in enumerate(data)]


def _labels(item: _Item, path: str) -> dict[str, str]:
    """``metadata.labels`` (or ``annotations``) as a dict of strings; a value that is not a string raises."""
    labels = item.mapping(path)
    for key, value in labels.items():
        if not isinstance(value, str):
            raise item.error(f"{path}[{key!r}]", f"{value!r:.40} is not a string (label values are strings)")
    return dict(labels)


def _label(item: _Item, labels: Mapping[str, str], keys: tuple[str, ...], what: str) -> str:
    for key in keys:
        if labels.get(key):
            return str(labels[key])
    raise item.error(f"metadata.labels[{keys[0]!r}]", f"is missing (nor {', '.join(keys[1:])}): the node's {what}"
                     + (" -- a Fargate or non-EC2 node has none; leave it out" if what == "instance type" else ""))


def _parse_node(item: _Item) -> dict[str, Any]:
    name = item.get("metadata.name", kind=str)
    labels = _labels(item, "metadata.labels")
    instance_type = _label(item, labels, INSTANCE_TYPE_LABELS, "instance type")
    try:
        instance_type = instance_type_info(instance_type).instance_type
    except EkslibError as exc:
        raise item.error(f"metadata.labels[{INSTANCE_TYPE_LABELS[0]!r}]", str(exc)) from None
    az = _label(item, labels, ZONE_LABELS, "zone")
    item.mapping("status", required=True)
    addresses = item.get("status.addresses", kind=list)
    if not addresses:
        raise item.error("status.addresses", "is empty: a node reports its InternalIP there (is the node registered?)")
    internal = [i for i, a in enumerate(item.mappings("status.addresses")) if a.get("type") == "InternalIP"]
    if not internal:
        types = ", ".join(str(a.get("type")) for a in addresses)
        raise item.error("status.addresses", f"has no InternalIP (types: {types})")
    path = f"status.addresses[{internal[0]}].address"
    raw = addresses[internal[0]].get("address")
    if raw is None:
        raise item.error(path, "is missing")
    address = item.ipv4(path, raw)
    max_pods = None
    for where in ("status.capacity.pods", "status.allocatable.pods"):
        pods = item.get(where, None)
        if pods is not None:
            max_pods = item.integer(where, pods, 1)
            break
    provider = item.get("spec.providerID", "", kind=str)
    instance_id = provider.rsplit("/", 1)[-1] if provider.startswith("aws://") else ""
    nodegroup = next((labels[k] for k in NODEGROUP_LABELS if labels.get(k)), "")
    return {"name": name, "instance_type": instance_type, "az": az, "address": address, "max_pods": max_pods,
            "instance_id": instance_id, "nodegroup": nodegroup, "labels": labels}


def _parse_pod(item: _Item, nodes: Mapping[str, dict[str, Any]]) -> dict[str, Any] | str:
    """A pod's fields, or the reason it is left out (finished, unscheduled, no address yet)."""
    name = item.get("metadata.name", kind=str)
    namespace = item.get("metadata.namespace", kind=str)
    item.mapping("spec", required=True)      # the API server always writes both; a pod without them was edited
    item.mapping("status", required=True)
    phase = item.get("status.phase", "", kind=str)
    if phase and phase not in _POD_PHASES:
        raise item.error("status.phase", f"{phase!r} is not one of {', '.join(_POD_PHASES)}")
    if phase in _FINISHED:
        return "finished"
    node = item.get("spec.nodeName", None, kind=str)
    ip = item.get("status.podIP", None)
    if node is None or ip is None:
        if ip is not None:
            item.ipv4("status.podIP", ip)
        return "pending"
    address = item.ipv4("status.podIP", ip)
    if node not in nodes:
        raise item.error("spec.nodeName", f"{node!r} is not a node of nodes_json")
    host_ip = item.get("status.hostIP", None)
    if host_ip is not None and item.ipv4("status.hostIP", host_ip) != nodes[node]["address"]:
        raise item.error("status.hostIP", f"{host_ip} is not the InternalIP {nodes[node]['address']} of node {node} "
                         f"(were the dumps taken at different times?)")
    host_network = item.get("spec.hostNetwork", False, kind=bool)
    owners = item.mappings("metadata.ownerReferences")
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else {})
    conditions = item.mappings("status.conditions")
    ready = next((c.get("status") == "True" for c in conditions if c.get("type") == "Ready"), True)
    return {"namespace": namespace, "name": name, "node": node, "address": address, "host_network": host_network,
            "labels": _labels(item, "metadata.labels"),
            "owner_kind": str(owner.get("kind", "")), "owner_name": str(owner.get("name", "")),
            "ready": ready, "terminating": item.get("metadata.deletionTimestamp", None) is not None,
            "container_ports": _container_ports(item)}


def _container_ports(item: _Item) -> dict[tuple[str, str], int]:
    """The pod's named container ports, ``{(name, protocol): number}``: what the EndpointSlice controller's
    ``FindPort`` looks a named ``targetPort`` up in (containers, then sidecar init containers). Only well-formed
    entries are kept: they serve only to resolve named target ports of derived slices."""
    found: dict[tuple[str, str], int] = {}
    for path in ("spec.containers", "spec.initContainers"):
        containers = item.get(path, [])
        for container in containers if isinstance(containers, list) else []:
            if not isinstance(container, Mapping) or not isinstance(container.get("ports"), list):
                continue
            if path == "spec.initContainers" and container.get("restartPolicy") != "Always":
                continue
            for port in container["ports"]:
                if isinstance(port, Mapping) and isinstance(port.get("name"), str) and is_whole(
                        port.get("containerPort")):
                    found.setdefault((port["name"], str(port.get("protocol") or "TCP")), int(port["containerPort"]))
    return found


def _parse_service(item: _Item, pods: list[Pod]) -> Service:
    name = item.get("metadata.name", kind=str)
    namespace = item.get("metadata.namespace", kind=str)
    item.mapping("spec", required=True)
    kind = item.get("spec.type", "ClusterIP", kind=str)
    if kind not in SERVICE_TYPES:
        raise item.error("spec.type", f"{kind!r} is not one of {', '.join(SERVICE_TYPES)}")
    raw_ip = item.get("spec.clusterIP", None)
    cluster_ip = None if raw_ip in (None, "", "None") else item.ipv4("spec.clusterIP", raw_ip)
    entries = item.mappings("spec.ports")
    if not entries and raw_ip != "None" and kind != "ExternalName":
        # the API server refuses such a Service (validation: spec.ports "Required value")
        raise item.error("spec.ports", "is missing or empty: a Service needs at least one port (only headless "
                         "services, clusterIP None, and ExternalName services may have none)")
    ports = []
    for i, port in enumerate(entries):
        where = f"spec.ports[{i}]"
        if port.get("port") is None:
            raise item.error(f"{where}.port", "is missing")
        number = item.integer(f"{where}.port", port["port"], 1, 65535)
        target = port.get("targetPort", number)
        if not isinstance(target, str) or target.isdigit():
            target = item.integer(f"{where}.targetPort", target, 1, 65535)
        protocol = port.get("protocol", "TCP")
        if protocol not in _PROTOCOLS:
            raise item.error(f"{where}.protocol", f"{protocol!r} is not one of {', '.join(_PROTOCOLS)}")
        port_name = port.get("name", "")
        if not isinstance(port_name, str):
            raise item.error(f"{where}.name", f"{port_name!r} is not a string")
        node_port = port.get("nodePort")
        ports.append(ServicePort(number, target, protocol, port_name,
                                 None if node_port is None else item.integer(f"{where}.nodePort", node_port, 1, 65535)))
    selector = _labels(item, "spec.selector")
    policy = item.get("spec.externalTrafficPolicy", "", kind=str) if kind in ("NodePort", "LoadBalancer") else ""
    if policy not in ("", "Cluster", "Local"):
        raise item.error("spec.externalTrafficPolicy", f"{policy!r} is not 'Cluster' or 'Local'")
    health = item.get("spec.healthCheckNodePort", None)
    ingress = item.mappings("status.loadBalancer.ingress")
    balancer = next((str(i.get("hostname") or i.get("ip") or "") for i in ingress), "")
    return Service(namespace, name, kind, cluster_ip, tuple(ports), selector, policy or ("Cluster" if kind in (
        "NodePort", "LoadBalancer") else ""), select_endpoints(pods, namespace, selector),
        None if health is None else item.integer("spec.healthCheckNodePort", health, 1, 65535), balancer,
        _labels(item, "metadata.annotations"))


def _flag(item: _Item, path: str, value: Any, default: bool) -> bool:
    """A true/false field that may be missing (then ``default``)."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise item.error(path, f"{value!r:.40} is not true or false")
    return value


def _text(item: _Item, path: str, value: Any) -> str:
    """A string field that may be missing (then ``""``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise item.error(path, f"{value!r:.40} is not a string")
    return value


def _parse_slice(item: _Item, notes: dict[str, int]) -> EndpointSlice | None:
    """An EndpointSlice, or None for one kube-proxy ignores (counted in ``notes``)."""
    name = item.get("metadata.name", kind=str)
    namespace = item.get("metadata.namespace", kind=str)
    labels = _labels(item, "metadata.labels")
    service = labels.get(SLICE_SERVICE_LABEL)
    if not service:
        notes[f"without a {SLICE_SERVICE_LABEL} label"] += 1  # kube-proxy: "no ... label set on endpoint slice"
        return None
    address_type = item.get("addressType", kind=str)
    if address_type in ("IPv6", "FQDN"):
        notes[f"of address type {address_type}"] += 1
        return None
    if address_type != "IPv4":
        raise item.error("addressType", f"{address_type!r} is not one of IPv4, IPv6, FQDN")
    ports = []
    for i, port in enumerate(item.mappings("ports")):
        where = f"ports[{i}]"
        if port.get("port") is None:
            raise item.error(f"{where}.port", "is missing: a port without a number means 'all ports', which "
                             "kube-proxy ignores (endpointslicecache.go: 'Ignoring invalid endpoint port')")
        number = item.integer(f"{where}.port", port["port"], 1, 65535)
        protocol = _text(item, f"{where}.protocol", port.get("protocol")) or "TCP"
        if protocol not in PORT_PROTOCOLS:
            raise item.error(f"{where}.protocol", f"{protocol!r} is not one of {', '.join(PORT_PROTOCOLS)}")
        ports.append(EndpointPort(_text(item, f"{where}.name", port.get("name")), number, protocol))
    names = [p.name for p in ports]
    for i, port_name in enumerate(names):
        if port_name in names[:i]:
            raise item.error(f"ports[{i}].name", f"{port_name!r} appears twice (port names are unique in a slice)")
    endpoints = []
    for i, entry in enumerate(item.mappings("endpoints")):
        where = f"endpoints[{i}]"
        addresses = entry.get("addresses")
        if addresses is None or addresses == []:
            raise item.error(f"{where}.addresses", "is missing or empty: an endpoint has at least one address")
        if not isinstance(addresses, list):
            raise item.error(f"{where}.addresses", f"{addresses!r:.40} is not a list")
        if len(addresses) > 1:
            notes["several addresses"] += 1
        address = item.ipv4(f"{where}.addresses[0]", addresses[0])
        conditions = entry.get("conditions", {})
        if conditions is None:
            conditions = {}
        if not isinstance(conditions, Mapping):
            raise item.error(f"{where}.conditions", f"is {_what(conditions)} ({conditions!r:.40}), not an object")
        ready = _flag(item, f"{where}.conditions.ready", conditions.get("ready"), True)
        serving = _flag(item, f"{where}.conditions.serving", conditions.get("serving"), ready)
        terminating = _flag(item, f"{where}.conditions.terminating", conditions.get("terminating"), False)
        target = entry.get("targetRef")
        pod = ""
        if target is not None:
            if not isinstance(target, Mapping):
                raise item.error(f"{where}.targetRef", f"is {_what(target)} ({target!r:.40}), not an object")
            if target.get("kind") == "Pod":
                pod_name = _text(item, f"{where}.targetRef.name", target.get("name"))
                if not pod_name:
                    raise item.error(f"{where}.targetRef.name", "is missing")
                pod_namespace = _text(item, f"{where}.targetRef.namespace", target.get("namespace")) or namespace
                pod = f"{pod_namespace}/{pod_name}"
        endpoints.append(SliceEndpoint(address, ready, serving, terminating,
                                       _text(item, f"{where}.nodeName", entry.get("nodeName")),
                                       _text(item, f"{where}.zone", entry.get("zone")), pod))
    return EndpointSlice(namespace, name, f"{namespace}/{service}", "IPv4", tuple(endpoints), tuple(ports),
                         labels.get(SLICE_MANAGED_BY_LABEL, ""))


def _derived_slices(services: tuple[Service, ...], pod_rows: dict[str, dict[str, Any]],
                    zones: Mapping[str, str]) -> list[EndpointSlice]:
    """What the EndpointSlice controller would write for each Service with a selector (``endpointslices_json``
    not given): see the module docstring. Pods whose ports resolve differently go to different slices, as the
    controller groups endpoints by their port list."""
    out = []
    for svc in services:
        if not svc.selector:
            continue
        groups: dict[tuple[EndpointPort, ...], list[SliceEndpoint]] = {}
        for key in svc.endpoints:
            row = pod_rows[key]
            ports = []
            for p in svc.ports:
                number = p.target_port if isinstance(p.target_port, int) else row["container_ports"].get(
                    (p.target_port, p.protocol))
                if number is not None:   # FindPort failed: the controller leaves the port out for this pod
                    ports.append(EndpointPort(p.name, number, p.protocol))
            serving, terminating = row["ready"], row["terminating"]
            groups.setdefault(tuple(ports), []).append(SliceEndpoint(
                row["address"], serving and not terminating, serving, terminating, row["node"],
                zones.get(row["node"], ""), key))
        chunks = [(ports, eps[i:i + MAX_ENDPOINTS_PER_SLICE]) for ports, eps in groups.items()
                  for i in range(0, len(eps), MAX_ENDPOINTS_PER_SLICE)] or [((), [])]
        for n, (ports, chunk) in enumerate(chunks):
            name = f"{svc.name}-derived" + (f"-{n + 1}" if len(chunks) > 1 else "")
            out.append(EndpointSlice(svc.namespace, name, svc.key, "IPv4", tuple(chunk), ports,
                                     ENDPOINTSLICE_CONTROLLER))
    return out


def _parse_eni(item: _Item) -> dict[str, Any]:
    eni_id = item.get("NetworkInterfaceId", kind=str)
    primary = item.get("PrivateIpAddress", None)
    secondary: list[IPv4Address] = []
    for i, entry in enumerate(item.get("PrivateIpAddresses", [], kind=list)):
        where = f"PrivateIpAddresses[{i}].PrivateIpAddress"
        if isinstance(entry, Mapping) and entry.get("PrivateIpAddress") is None:
            raise item.error(where, "is missing")
        address = item.ipv4(where, entry.get("PrivateIpAddress") if isinstance(entry, Mapping) else entry)
        if isinstance(entry, Mapping) and entry.get("Primary"):
            primary = primary or str(address)
        elif str(address) != primary:
            secondary.append(address)
    if primary is None:
        raise item.error("PrivateIpAddress", "is missing")
    prefixes = tuple(_network_field(item, f"Ipv4Prefixes[{i}].Ipv4Prefix", p.get("Ipv4Prefix") if isinstance(
        p, Mapping) else p) for i, p in enumerate(item.get("Ipv4Prefixes", [], kind=list)))
    attachment = item.get("Attachment", {}, kind=Mapping)
    device = attachment.get("DeviceIndex")
    return {"id": eni_id, "subnet_id": item.get("SubnetId", kind=str), "az": item.get("AvailabilityZone", "", kind=str),
            "vpc_id": item.get("VpcId", "", kind=str), "primary_ip": item.ipv4("PrivateIpAddress", primary),
            "secondary_ips": tuple(secondary), "prefixes": prefixes, "mac": item.get("MacAddress", "", kind=str),
            "instance_id": str(attachment.get("InstanceId", "")),
            "device": None if device is None else item.integer("Attachment.DeviceIndex", device),
            "description": item.get("Description", "", kind=str)}


def _block_state(item: _Item, index: int, block: Mapping[str, Any]) -> Any:
    """``CidrBlockState.State`` of one VPC CIDR association ('associated' when not given)."""
    state = block.get("CidrBlockState", {})
    if not isinstance(state, Mapping):
        raise item.error(f"CidrBlockAssociationSet[{index}].CidrBlockState", f"is {_what(state)}, not an object")
    return state.get("State", "associated")


def _network_field(item: _Item, path: str, value: Any) -> IPv4Network:
    """A CIDR field of an EC2 answer (a string such as '10.0.1.0/24'), or an error naming the object and field."""
    if value is None:
        raise item.error(path, "is missing")
    if not isinstance(value, str):
        raise item.error(path, f"{value!r:.40} is not an IPv4 CIDR (a string such as '192.168.96.0/19')")
    return parse_ipv4_network(value, f"{item.label}: {path}")


def _covering(addresses: list[int]) -> IPv4Network:
    """The smallest network holding every address (as integers) of the list."""
    if not addresses:
        raise EkslibError("no address to infer a network from")
    low, high = min(addresses), max(addresses)
    length = 32 - (low ^ high).bit_length()
    return IPv4Network((low, length), strict=False)


def from_kubectl(nodes_json: Any, pods_json: Any, services_json: Any = None, *, endpointslices_json: Any = None,
                 enis_json: Any = None, subnets_json: Any = None, vpcs_json: Any = None, name: str = "kubectl",
                 veth_prefix: str = DEFAULT_VETH_PREFIX, service_cidr: str | IPv4Network | None = None) -> Cluster:
    """The cluster that ``kubectl get nodes/pods -A/svc -A/endpointslices -A -o json`` (and optionally EC2's
    answers) describe.

    Each argument is a dict, a JSON text or a path; see the module docstring for what is read and what is
    inferred. ``veth_prefix`` is the cluster's ``AWS_VPC_K8S_CNI_VETHPREFIX``; ``service_cidr`` defaults to
    whichever of EKS's two defaults holds every ClusterIP. The result is validated.

    >>> c = load_sample("two-node")
    >>> [n.instance_type for n in c.nodes], len(c.host_network_pods())
    (['t3.medium', 't3.medium'], 4)
    """
    veth_prefix = check_veth_prefix(veth_prefix)
    notes: list[str] = []
    nodes: dict[str, dict[str, Any]] = {}
    for item in _items(nodes_json, "node", "nodes_json"):
        node = _parse_node(item)
        if node["name"] in nodes:
            raise item.error("metadata.name", "appears twice in nodes_json")
        nodes[node["name"]] = node
    if not nodes:
        raise EkslibError("nodes_json: the list of nodes is empty; a cluster needs at least one node (did `kubectl "
                          "get nodes -o json` run against the right cluster? `kubectl config current-context` says "
                          "which one)")
    pod_rows: list[dict[str, Any]] = []
    left_out: dict[str, int] = defaultdict(int)
    for item in _items(pods_json, "pod", "pods_json"):
        row = _parse_pod(item, nodes)
        if isinstance(row, str):
            left_out[row] += 1
        else:
            pod_rows.append(row)
    if left_out["finished"]:
        notes.append(f"{left_out['finished']} finished pods (Succeeded/Failed) left out: "
                     "their addresses are free again")
    if left_out["pending"]:
        notes.append(f"{left_out['pending']} pods not yet scheduled or without an address left out")

    slices: list[EndpointSlice] | None = None
    if endpointslices_json is not None:
        slices, skipped, keys = [], defaultdict(int), set()
        for item in _items(endpointslices_json, "endpointslice", "endpointslices_json"):
            parsed = _parse_slice(item, skipped)
            if parsed is not None:
                if parsed.key in keys:
                    raise item.error("metadata.name", "appears twice in endpointslices_json")
                keys.add(parsed.key)
                slices.append(parsed)
        for why, count in skipped.items():
            if why == "several addresses":
                notes.append(f"{count} EndpointSlice endpoints list several addresses: only the first is read, as "
                             f"kube-proxy does")
            else:
                notes.append(f"{count} EndpointSlices {why} left out: kube-proxy (IPv4) ignores them")
    api_server = sorted({e.address for s in slices or () if s.service == "default/kubernetes" for e in s.endpoints},
                        key=str)
    enis_by_node, subnets, vpc, control_plane = _network(nodes, pod_rows, enis_json, subnets_json, vpcs_json,
                                                         api_server, name, notes)
    pods: list[Pod] = []
    for row in pod_rows:
        node_enis = enis_by_node[row["node"]]
        where = f"pod {row['namespace']}/{row['name']}"
        if row["host_network"]:
            eni = node_enis[0]
            veth = None
        else:
            eni = next((e for e in node_enis if e.holds(row["address"])), None)
            if eni is None:
                held = "; ".join(f"{e.id} (eth{e.device_number})" for e in node_enis)
                raise EkslibError(
                    f"{where}: status.podIP {row['address']} is on no ENI of node {row['node']} in "
                    f"enis_json ({held}); were the dumps taken at different times?"
                )
            veth = veth_name(row["namespace"], row["name"], veth_prefix)
        pods.append(
            Pod(
                row["namespace"],
                row["name"],
                row["node"],
                row["address"],
                row["host_network"],
                eni.id,
                veth,
                row["labels"],
                row["owner_kind"],
                row["owner_name"],
            )
        )
    node_list = tuple(
        Node(
            n["name"],
            n["instance_type"],
            n["az"],
            n["address"],
            enis_by_node[n["name"]][0].subnet_id,
            tuple(enis_by_node[n["name"]]),
            n["max_pods"],
            n["instance_id"],
            n["nodegroup"],
            n["labels"],
        )
        for n in nodes.values()
    )
    services = (
        tuple(_parse_service(item, pods) for item in _items(services_json, "service", "services_json"))
        if services_json is not None
        else ()
    )
    if slices is None:
        rows = {f"{r['namespace']}/{r['name']}": r for r in pod_rows}
        slices = _derived_slices(services, rows, {n["name"]: n["az"] for n in nodes.values()})
        if services:
            notes.append("no endpointslices_json: EndpointSlices derived from the Services' selectors and the pods, "
                         "as the EndpointSlice controller would write them; default/kubernetes has none (the API "
                         "server writes its endpoints, the control plane's addresses; pass endpointslices_json=)")
    cluster_ips = [s.cluster_ip for s in services if s.cluster_ip is not None]
    if service_cidr is not None:
        svc_cidr = parse_ipv4_network(service_cidr, "service_cidr")
    else:
        svc_cidr = next(
            (c for c in (EKS_SERVICE_CIDR, EKS_SERVICE_CIDR_IN_10_VPC) if all(ip in c for ip in cluster_ips)), None
        )
        if svc_cidr is None:
            svc_cidr = _covering([int(ip) for ip in cluster_ips])
            notes.append(
                f"service CIDR inferred as {svc_cidr} from the ClusterIPs (pass service_cidr= for the real one)"
            )
    prefix_mode = any(e.prefixes for enis in enis_by_node.values() for e in enis)
    return validate(
        Cluster(name, vpc, subnets, node_list, tuple(pods), services, svc_cidr, prefix_mode, veth_prefix, tuple(notes),
                tuple(slices), tuple(control_plane))
    )


def _network(
    nodes: dict[str, dict[str, Any]],
    pod_rows: list[dict[str, Any]],
    enis_json: Any,
    subnets_json: Any,
    vpcs_json: Any,
    api_server: list[IPv4Address],
    cluster_name: str,
    notes: list[str],
) -> tuple[dict[str, list[Eni]], tuple[Subnet, ...], Vpc, list[ControlPlaneEni]]:
    """ENIs per node (primary first), subnets, VPC and EKS's control-plane ENIs: from EC2's answers when given,
    else inferred (``api_server``: the addresses of ``default/kubernetes``'s EndpointSlice)."""
    seen: dict[str, list[int]] = defaultdict(list)  # subnet id -> addresses seen in it
    subnet_az: dict[str, str] = {}
    subnet_user: dict[str, str] = {}  # subnet id -> the first ENI found in it (to name in an error)
    enis_by_node: dict[str, list[Eni]] = {}
    control_plane: list[ControlPlaneEni] = []
    vpc_id = ""
    if enis_json is None:
        notes.append(
            "no EC2 ENI detail: one stand-in ENI per node holds all its pods, and subnet and VPC CIDRs are "
            "inferred from the addresses seen (pass enis_json=, subnets_json=, vpcs_json=)"
        )
        by_node: dict[str, list[IPv4Address]] = defaultdict(list)
        for row in pod_rows:
            if not row["host_network"]:
                by_node[row["node"]].append(row["address"])
        for node in nodes.values():
            subnet_id = f"subnet-unknown-{node['az']}"
            subnet_az[subnet_id] = node["az"]
            subnet_user.setdefault(subnet_id, f"ENI eni-unknown-{node['name']}")
            addresses = sorted(by_node[node["name"]], key=int)
            seen[subnet_id] += [int(node["address"])] + [int(a) for a in addresses]
            enis_by_node[node["name"]] = [
                Eni(
                    f"eni-unknown-{node['name']}",
                    node["name"],
                    0,
                    subnet_id,
                    node["address"],
                    tuple(addresses),
                    inferred=True,
                )
            ]
    else:
        by_instance = {n["instance_id"]: n for n in nodes.values() if n["instance_id"]}
        by_address = {n["address"]: n for n in nodes.values()}
        raw: dict[str, list[dict[str, Any]]] = defaultdict(list)
        eks: list[dict[str, Any]] = []
        others = 0
        for item in _items(enis_json, "ENI", "enis_json", "NetworkInterfaces"):
            eni = _parse_eni(item)
            node = by_instance.get(eni["instance_id"]) or (
                by_address.get(eni["primary_ip"]) if eni["device"] == 0 else None
            )
            if node is None:
                if eni["description"].startswith(EKS_ENI_DESCRIPTION_PREFIX):
                    eks.append(eni)
                else:
                    others += 1
                continue
            if eni["device"] is None:
                raise item.error("Attachment.DeviceIndex", "is missing")
            if node["az"] != eni["az"] and eni["az"]:
                raise item.error(
                    "AvailabilityZone", f"{eni['az']!r} is not the zone {node['az']} of node {node['name']}"
                )
            raw[node["name"]].append(eni)
            vpc_id = vpc_id or eni["vpc_id"]
        chosen, left = _control_plane_choice(eks, vpc_id, api_server, cluster_name)
        others += len(left)
        for e in chosen:
            control_plane.append(ControlPlaneEni(e["id"], e["subnet_id"], e["primary_ip"], e["description"]))
            subnet_az.setdefault(e["subnet_id"], e["az"])
            subnet_user.setdefault(e["subnet_id"], f"control-plane ENI {e['id']}")
            seen[e["subnet_id"]].append(int(e["primary_ip"]))
        if others:
            notes.append(
                f"{others} ENIs of enis_json belong to no node of nodes_json (load balancers, NAT "
                f"gateways, other instances): left out"
            )
        for node in nodes.values():
            found = sorted(raw.get(node["name"], []), key=lambda e: e["device"])
            if not found or found[0]["device"] != 0:
                raise EkslibError(
                    f"node {node['name']}: spec.providerID {node['instance_id'] or '(none)'} has no "
                    f"primary ENI (DeviceIndex 0) in enis_json; was DescribeNetworkInterfaces "
                    f"filtered to other instances or another VPC?"
                )
            enis_by_node[node["name"]] = [
                Eni(
                    e["id"],
                    node["name"],
                    e["device"],
                    e["subnet_id"],
                    e["primary_ip"],
                    e["secondary_ips"],
                    e["prefixes"],
                    e["mac"],
                )
                for e in found
            ]
            for e in found:
                subnet_az[e["subnet_id"]] = e["az"] or node["az"]
                subnet_user.setdefault(e["subnet_id"], f"ENI {e['id']}")
                seen[e["subnet_id"]] += [int(e["primary_ip"])] + [int(a) for a in e["secondary_ips"]]
                seen[e["subnet_id"]] += [
                    int(a) for p in e["prefixes"] for a in (p.network_address, p.broadcast_address)
                ]

    subnets: dict[str, Subnet] = {}
    if subnets_json is not None:
        for item in _items(subnets_json, "subnet", "subnets_json", "Subnets"):
            subnet_id = item.get("SubnetId", kind=str)
            if vpc_id and item.get("VpcId", vpc_id) != vpc_id:
                continue
            tags = {str(t.get("Key")): t.get("Value") for t in item.mappings("Tags")}
            subnets[subnet_id] = Subnet(
                subnet_id,
                item.get("AvailabilityZone", kind=str),
                _network_field(item, "CidrBlock", item.get("CidrBlock", kind=str)),
                bool(item.get("MapPublicIpOnLaunch", False)),
                str(tags.get("Name") or ""),
            )
    missing = [a for a in api_server if a not in {e.address for e in control_plane}]
    if missing and not control_plane:
        control_plane = _inferred_control_plane(missing, subnets, seen, enis_by_node, notes)
    for subnet_id, addresses in sorted(seen.items(), key=lambda kv: (subnet_az.get(kv[0], ""), kv[0])):
        if subnet_id not in subnets:
            if subnets_json is not None:
                raise EkslibError(f"{subnet_user[subnet_id]}: SubnetId {subnet_id} is not in subnets_json")
            subnets[subnet_id] = Subnet(subnet_id, subnet_az[subnet_id], _covering(addresses), inferred=True)
    if subnets_json is None and enis_json is not None:
        notes.append("no subnets_json: subnet CIDRs inferred from the addresses seen")

    vpc = None
    if vpcs_json is not None:
        for item in _items(vpcs_json, "VPC", "vpcs_json", "Vpcs"):
            if vpc_id and item.get("VpcId", kind=str) != vpc_id:
                continue
            blocks = [
                (i, b)
                for i, b in enumerate(item.mappings("CidrBlockAssociationSet"))
                if _block_state(item, i, b) == "associated"
            ]
            cidrs = [(f"CidrBlockAssociationSet[{i}].CidrBlock", b.get("CidrBlock")) for i, b in blocks] or [
                ("CidrBlock", item.get("CidrBlock"))]
            vpc = Vpc(item.get("VpcId", kind=str), tuple(_network_field(item, path, c) for path, c in cidrs))
            break
        if vpc is None:
            raise EkslibError(f"vpcs_json: no VPC {vpc_id or ''} in it (the ENIs are in {vpc_id or 'an unknown VPC'})")
    else:
        everything = [int(a) for s in subnets.values() for a in (s.cidr.network_address, s.cidr.broadcast_address)]
        vpc = Vpc(vpc_id or "vpc-unknown", (_covering(everything),), inferred=True)
        if enis_json is not None:
            notes.append("no vpcs_json: VPC CIDR inferred from the subnets")
    return enis_by_node, tuple(subnets.values()), vpc, control_plane


def _control_plane_choice(eks: list[dict[str, Any]], vpc_id: str, api_server: list[IPv4Address],
                          cluster_name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(this cluster's control-plane ENIs, the others) among the ENIs described ``Amazon EKS <name>``: those of
    the nodes' VPC whose address ``default/kubernetes`` lists when its slice is known; else those of the one
    cluster named, or of ``cluster_name`` when several are."""
    mine = [e for e in eks if not vpc_id or not e["vpc_id"] or e["vpc_id"] == vpc_id]
    if api_server:
        chosen = [e for e in mine if e["primary_ip"] in api_server]
    else:
        names = {e["description"][len(EKS_ENI_DESCRIPTION_PREFIX):] for e in mine}
        if len(names) > 1:
            mine = [e for e in mine if e["description"] == f"{EKS_ENI_DESCRIPTION_PREFIX}{cluster_name}"]
        chosen = mine
    return chosen, [e for e in eks if e not in chosen]


def _inferred_control_plane(addresses: list[IPv4Address], subnets: dict[str, Subnet], seen: dict[str, list[int]],
                            enis_by_node: dict[str, list[Eni]], notes: list[str]) -> list[ControlPlaneEni]:
    """Stand-in control-plane ENIs at ``default/kubernetes``'s addresses: in the known subnet holding each, else
    in the inferred subnet with the nearest address seen (its CIDR guess then widens to hold it)."""
    held = {int(a) for enis in enis_by_node.values() for e in enis for a in (e.primary_ip, *e.secondary_ips)}
    held_prefixes = {int(p.network_address) for enis in enis_by_node.values() for e in enis for p in e.prefixes}
    out = []
    for address in addresses:
        value = int(address)
        if value in held or (value & ~(IPS_PER_PREFIX - 1)) in held_prefixes:
            notes.append(f"default/kubernetes endpoint {address} is an address of a node's ENI, not of an EKS "
                         f"control-plane ENI: not a control-plane ENI")
            continue
        subnet_id = next((s.id for s in subnets.values() if address in s.cidr), None)
        if subnet_id is None:
            guesses = [sid for sid in seen if sid not in subnets]
            if not guesses:
                notes.append(f"default/kubernetes endpoint {address} is in no subnet of subnets_json: no "
                             f"control-plane ENI made for it")
                continue
            subnet_id = min(guesses, key=lambda sid: min(abs(value - a) for a in seen[sid]))
            seen[subnet_id].append(value)
        out.append(ControlPlaneEni(f"eni-unknown-eks-{str(address).replace('.', '-')}", subnet_id, address,
                                   inferred=True))
    if out:
        notes.append(f"control-plane ENIs inferred from default/kubernetes's EndpointSlice ({len(out)} addresses; "
                     f"enis_json with EKS's 'Amazon EKS <cluster-name>' interfaces gives their ids)")
    return out


def from_dump(dump: Mapping[str, Any] | str | Path, **kwargs: Any) -> Cluster:
    """:func:`from_kubectl` over a dump: a dict with keys nodes, pods, services, endpointslices, enis, subnets,
    vpcs (as :func:`to_kubectl` returns), or a folder holding ``<key>.json`` files."""
    if isinstance(dump, (str, Path)):
        folder = Path(dump)
        if not (folder / "nodes.json").is_file():
            raise EkslibError(f"{folder}: no nodes.json here (a dump folder holds {', '.join(DUMP_FILES)} .json)")
        dump = {k: folder / f"{k}.json" for k in DUMP_FILES if (folder / f"{k}.json").is_file()}
    missing = [k for k in ("nodes", "pods") if k not in dump]
    if missing:
        raise EkslibError(f"dump: {', '.join(missing)} missing (keys: {', '.join(dump)})")
    return from_kubectl(
        dump["nodes"],
        dump["pods"],
        dump.get("services"),
        endpointslices_json=dump.get("endpointslices"),
        enis_json=dump.get("enis"),
        subnets_json=dump.get("subnets"),
        vpcs_json=dump.get("vpcs"),
        **kwargs,
    )


def load_sample(name: str = "two-node", **kwargs: Any) -> Cluster:
    """A bundled sample cluster (``data/samples/<name>``), so the notebooks run offline.

    >>> c = load_sample()
    >>> c.name, len(c.nodes), c.service("kube-system/kube-dns").cluster_ip
    ('two-node', 2, IPv4Address('10.100.0.10'))
    """
    return from_dump(load_sample_json(name), **{"name": name, **kwargs})


# ----------------------------------------------------------------------------------------------- writing


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, "/".join(parts)))


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


_IMAGES = {  # illustrative images of the EKS add-ons (the registry of us-west-2)
    "aws-node": "602401143452.dkr.ecr.{region}.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1",
    "kube-proxy": "602401143452.dkr.ecr.{region}.amazonaws.com/eks/kube-proxy:v1.31.3-minimal-eksbuild.2",
    "coredns": "602401143452.dkr.ecr.{region}.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2",
}


def _region(cluster: Cluster) -> str:
    zone = cluster.nodes[0].az if cluster.nodes else "us-west-2a"
    return re.sub(r"[a-z]$", "", zone)


def _dns(address: IPv4Address, region: str) -> str:
    """EC2's private DNS name of an address: ``ip-10-0-1-5.<region>.compute.internal``, ``ec2.internal`` in
    us-east-1 (Amazon EC2 User Guide, "EC2 instance hostname types")."""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{str(address).replace('.', '-')}.{domain}"


def _node_doc(node: Node, region: str) -> dict[str, Any]:
    info = instance_type_info(node.instance_type)
    dns = node.name if "." in node.name else _dns(node.address, region)
    pods = str(node.max_pods) if node.max_pods is not None else None
    capacity: dict[str, str] = {"ephemeral-storage": "20959212Ki"}
    allocatable: dict[str, str] = {"ephemeral-storage": "18242267924"}
    if info.vcpus is not None and info.memory_mib is not None:  # None: a type only the VPC CNI's table knows
        capacity |= {"cpu": str(info.vcpus), "memory": f"{info.memory_mib * 1024}Ki"}
        allocatable |= {
            "cpu": f"{info.vcpus * 1000 - 70 - 10 * max(info.vcpus - 1, 0)}m",
            "memory": f"{max(info.memory_mib - 11 * (node.max_pods or 0) - 255 - 100, 0) * 1024}Ki",
        }
    if pods:
        capacity["pods"] = allocatable["pods"] = pods
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "uid": _uid("node", node.name),
            "creationTimestamp": _CREATED,
            "labels": dict(node.labels),
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": str(node.address),
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {"providerID": f"aws:///{node.az}/{node.instance_id}"} if node.instance_id else {},
        "status": {
            "addresses": [
                {"address": str(node.address), "type": "InternalIP"},
                {"address": dns, "type": "InternalDNS"},
                {"address": dns, "type": "Hostname"},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": _CREATED,
                    "lastTransitionTime": _CREATED,
                }
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.25",
                "kernelVersion": "6.1.128-136.201.amzn2023.x86_64",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.31.5-eks-5d632ec",
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.6.20250203",
            },
        },
    }


def _pod_doc(pod: Pod, node: Node, region: str) -> dict[str, Any]:
    workload = pod.owner_name if pod.owner_kind == "DaemonSet" else pod.owner_name.rsplit("-", 1)[0] or pod.name
    image = _IMAGES.get(workload, "public.ecr.aws/nginx/nginx:1.27").format(region=region)
    metadata: dict[str, Any] = {
        "name": pod.name,
        "namespace": pod.namespace,
        "uid": _uid("pod", pod.key),
        "creationTimestamp": _CREATED,
        "labels": dict(pod.labels),
    }
    if pod.owner_kind:
        metadata["generateName"] = pod.name.rsplit("-", 1)[0] + "-"
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": pod.owner_kind,
                "name": pod.owner_name,
                "uid": _uid(pod.owner_kind, pod.namespace, pod.owner_name),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    spec: dict[str, Any] = {
        "nodeName": pod.node,
        "containers": [{"name": workload, "image": image}],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
    }
    if pod.host_network:
        spec.update(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet", priorityClassName="system-node-critical")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": {
            "phase": "Running",
            "hostIP": str(node.address),
            "hostIPs": [{"ip": str(node.address)}],
            "podIP": str(pod.address),
            "podIPs": [{"ip": str(pod.address)}],
            "qosClass": "Burstable",
            "startTime": _CREATED,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": _CREATED}],
        },
    }


def _service_doc(service: Service) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": service.type, "sessionAffinity": "None"}
    if service.cluster_ip is not None:
        spec.update(
            clusterIP=str(service.cluster_ip),
            clusterIPs=[str(service.cluster_ip)],
            ipFamilies=["IPv4"],
            ipFamilyPolicy="SingleStack",
            internalTrafficPolicy="Cluster",
        )
    ports = []
    for p in service.ports:
        entry: dict[str, Any] = {"port": p.port, "protocol": p.protocol, "targetPort": p.target_port}
        if p.name:
            entry["name"] = p.name
        if p.node_port is not None:
            entry["nodePort"] = p.node_port
        ports.append(entry)
    spec["ports"] = ports
    if service.selector:
        spec["selector"] = dict(service.selector)
    if service.external_traffic_policy:
        spec["externalTrafficPolicy"] = service.external_traffic_policy
    if service.health_check_node_port is not None:
        spec["healthCheckNodePort"] = service.health_check_node_port
    if service.type == "LoadBalancer":
        spec["allocateLoadBalancerNodePorts"] = True
    metadata: dict[str, Any] = {
        "name": service.name,
        "namespace": service.namespace,
        "uid": _uid("service", service.key),
        "creationTimestamp": _CREATED,
    }
    if service.annotations:
        metadata["annotations"] = dict(service.annotations)
    ingress = [{"hostname": service.load_balancer}] if service.load_balancer else []
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": spec,
        "status": {"loadBalancer": {"ingress": ingress} if ingress else {}},
    }


def _eni_doc(eni: Eni, node: Node, subnet: Subnet, vpc_id: str, cluster_name: str, region: str) -> dict[str, Any]:
    def dns(address: IPv4Address) -> str:
        return _dns(address, region)

    addresses = [{"Primary": True, "PrivateDnsName": dns(eni.primary_ip), "PrivateIpAddress": str(eni.primary_ip)}]
    addresses += [{"Primary": False, "PrivateDnsName": dns(a), "PrivateIpAddress": str(a)} for a in eni.secondary_ips]
    tags = (
        []
        if eni.is_primary
        else [  # ipamd tags the ENIs it creates (amazon-vpc-cni-k8s pkg/awsutils)
            {"Key": "cluster.k8s.amazonaws.com/name", "Value": cluster_name},
            {"Key": "node.k8s.amazonaws.com/instance_id", "Value": node.instance_id},
        ]
    )
    doc = {
        "Attachment": {
            "AttachmentId": f"eni-attach-{_uid('attach', eni.id).replace('-', '')[:17]}",
            "DeleteOnTermination": True,
            "DeviceIndex": eni.device_number,
            "NetworkCardIndex": 0,
            "InstanceId": node.instance_id,
            "InstanceOwnerId": _ACCOUNT,
            "Status": "attached",
        },
        "AvailabilityZone": subnet.az,
        "Description": "" if eni.is_primary else f"aws-K8S-{node.instance_id}",
        "Groups": [
            {"GroupId": f"sg-{_uid('sg', vpc_id).replace('-', '')[:17]}", "GroupName": f"eks-cluster-sg-{cluster_name}"}
        ],
        "InterfaceType": "interface",
        "Ipv6Addresses": [],
        "MacAddress": eni.mac,
        "NetworkInterfaceId": eni.id,
        "OwnerId": _ACCOUNT,
        "PrivateDnsName": dns(eni.primary_ip),
        "PrivateIpAddress": str(eni.primary_ip),
        "PrivateIpAddresses": addresses,
        "RequesterManaged": False,
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": eni.subnet_id,
        "TagSet": tags,
        "VpcId": vpc_id,
    }
    if eni.prefixes:
        doc["Ipv4Prefixes"] = [{"Ipv4Prefix": str(p)} for p in eni.prefixes]
    return doc


def _slice_doc(s: EndpointSlice) -> dict[str, Any]:
    """An EndpointSlice as ``kubectl get endpointslices -o json`` prints it: the controller's with its owner
    reference, ``generateName`` and all three conditions; the API server's (``managed_by`` empty) as its endpoint
    reconciler writes it, ``ready`` alone (kubernetes ``pkg/controlplane/reconcilers/endpointsadapter.go``)."""
    controller = s.managed_by == ENDPOINTSLICE_CONTROLLER
    labels = {SLICE_SERVICE_LABEL: s.service.split("/", 1)[1]}
    if s.managed_by:
        labels[SLICE_MANAGED_BY_LABEL] = s.managed_by
    metadata: dict[str, Any] = {"name": s.name, "namespace": s.namespace, "uid": _uid("endpointslice", s.key),
                                "creationTimestamp": _CREATED, "labels": labels}
    if controller:
        metadata["generateName"] = labels[SLICE_SERVICE_LABEL] + "-"
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": "Service", "name": labels[SLICE_SERVICE_LABEL],
                                        "uid": _uid("service", s.service), "controller": True,
                                        "blockOwnerDeletion": True}]
    endpoints = []
    for e in s.endpoints:
        conditions: dict[str, bool] = {"ready": e.ready}
        if controller or e.serving != e.ready or e.terminating:
            conditions |= {"serving": e.serving, "terminating": e.terminating}
        entry: dict[str, Any] = {"addresses": [str(e.address)], "conditions": conditions}
        if e.node_name:
            entry["nodeName"] = e.node_name
        if e.zone:
            entry["zone"] = e.zone
        if e.target_pod:
            namespace, name = e.target_pod.split("/", 1)
            entry["targetRef"] = {"kind": "Pod", "namespace": namespace, "name": name,
                                  "uid": _uid("pod", e.target_pod)}
        endpoints.append(entry)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": metadata,
        "addressType": s.address_type,
        "endpoints": endpoints,
        "ports": [{"name": p.name, "port": p.port, "protocol": p.protocol} for p in s.ports],
    }


def _control_plane_eni_doc(eni: ControlPlaneEni, subnet: Subnet, vpc_id: str, cluster_name: str,
                           region: str) -> dict[str, Any]:
    """An EKS control-plane ENI as ``DescribeNetworkInterfaces`` shows one (github.com/liwenwu-amazon/
    reinvent2018-NET410): described ``Amazon EKS <cluster>``, attached as device 1 to an instance of an AWS-owned
    account (no ``InstanceId`` visible), requested by ``...:AmazonEKS``, in the cluster security group."""
    uid = _uid("eni", eni.id).replace("-", "")
    dns = _dns(eni.address, region)
    return {
        "Attachment": {
            "AttachmentId": f"eni-attach-{uid[:17]}",
            "DeleteOnTermination": True,
            "DeviceIndex": 1,
            "InstanceOwnerId": _EKS_ACCOUNT,
            "Status": "attached",
        },
        "AvailabilityZone": subnet.az,
        "Description": eni.description,
        "Groups": [
            {"GroupId": f"sg-{_uid('sg', vpc_id).replace('-', '')[:17]}", "GroupName": f"eks-cluster-sg-{cluster_name}"}
        ],
        "InterfaceType": "interface",
        "Ipv6Addresses": [],
        "MacAddress": "02:" + ":".join(uid[i:i + 2] for i in range(0, 10, 2)),
        "NetworkInterfaceId": eni.id,
        "OwnerId": _ACCOUNT,
        "PrivateDnsName": dns,
        "PrivateIpAddress": str(eni.address),
        "PrivateIpAddresses": [{"Primary": True, "PrivateDnsName": dns, "PrivateIpAddress": str(eni.address)}],
        "RequesterId": f"AROA{uid[:17].upper()}:AmazonEKS",
        "RequesterManaged": False,
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": eni.subnet_id,
        "TagSet": [],
        "VpcId": vpc_id,
    }


def to_kubectl(cluster: Cluster) -> dict[str, Any]:
    """``cluster`` as the seven documents :func:`from_kubectl` reads: ``nodes``, ``pods``, ``services``,
    ``endpointslices`` (kubectl ``List`` objects following the Kubernetes API schema) and ``enis`` (the nodes'
    and EKS's control-plane ENIs), ``subnets``, ``vpcs`` (EC2 answers).

    Stand-in (``inferred``) ENIs, subnets and VPCs are not written: EC2 would not know them.

    >>> from ekslib.cluster import build_cluster
    >>> c = build_cluster([("t3.medium", 2)], name="rt")
    >>> from_kubectl(**{f"{k}_json": v for k, v in to_kubectl(c).items()}, name="rt") == c
    True
    """
    region = _region(cluster)
    nodes = {n.name: n for n in cluster.nodes}
    dump: dict[str, Any] = {
        "nodes": _list("Node", [_node_doc(n, region) for n in cluster.nodes]),
        "pods": _list("Pod", [_pod_doc(p, nodes[p.node], region) for p in cluster.pods]),
        "services": _list("Service", [_service_doc(s) for s in cluster.services]),
        "endpointslices": _list("EndpointSlice", [_slice_doc(s) for s in cluster.endpoint_slices]),
    }
    subnets = {s.id: s for s in cluster.subnets}
    enis = [e for n in cluster.nodes for e in n.enis]
    if enis and not any(e.inferred for e in enis):
        dump["enis"] = {
            "NetworkInterfaces": [
                _eni_doc(e, nodes[e.node], subnets[e.subnet_id], cluster.vpc.id, cluster.name, region) for e in enis
            ] + [
                _control_plane_eni_doc(e, subnets[e.subnet_id], cluster.vpc.id, cluster.name, region)
                for e in cluster.control_plane_enis if not e.inferred
            ]
        }
    if cluster.subnets and not any(s.inferred for s in cluster.subnets):
        dump["subnets"] = {
            "Subnets": [
                {
                    "AvailabilityZone": s.az,
                    "AvailableIpAddressCount": s.usable - cluster.addresses_taken(s.id),
                    "CidrBlock": str(s.cidr),
                    "DefaultForAz": False,
                    "MapPublicIpOnLaunch": s.public,
                    "OwnerId": _ACCOUNT,
                    "State": "available",
                    "SubnetId": s.id,
                    "VpcId": cluster.vpc.id,
                    "SubnetArn": f"arn:aws:ec2:{region}:{_ACCOUNT}:subnet/{s.id}",
                    "Tags": [{"Key": "Name", "Value": s.name}] if s.name else [],
                }
                for s in cluster.subnets
            ]
        }
    if not cluster.vpc.inferred:
        dump["vpcs"] = {
            "Vpcs": [
                {
                    "CidrBlock": str(cluster.vpc.cidrs[0]),
                    "CidrBlockAssociationSet": [
                        {
                            "AssociationId": f"vpc-cidr-assoc-{i:017x}",
                            "CidrBlock": str(c),
                            "CidrBlockState": {"State": "associated"},
                        }
                        for i, c in enumerate(cluster.vpc.cidrs)
                    ],
                    "DhcpOptionsId": "dopt-0123456789abcdef0",
                    "InstanceTenancy": "default",
                    "IsDefault": False,
                    "OwnerId": _ACCOUNT,
                    "State": "available",
                    "VpcId": cluster.vpc.id,
                    "Tags": [{"Key": "Name", "Value": f"{cluster.name}-vpc"}],
                }
            ]
        }
    return dump
