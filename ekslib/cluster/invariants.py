"""The cluster model's invariants, checked in one place: :func:`problems` lists them, :func:`validate` raises.

Each problem names the object and the field: addresses inside their subnet and not reserved by AWS (5 per
subnet, Amazon VPC User Guide), no address held twice, ENIs within the instance type's limits
(:func:`ekslib.sources.instance_type_info`), pods on existing nodes and ENIs, Services with valid types,
ports in range and NodePorts in 30000-32767; EndpointSlices of existing Services with valid addresses and ports and
endpoints on existing nodes and pods; EKS's control-plane ENIs inside a subnet of the cluster, on no reserved
address and on none that anything else holds.

>>> from ekslib.cluster.build import build_cluster
>>> problems(build_cluster([("t3.medium", 1)]))
[]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

from ekslib.cluster.model import Cluster, veth_name
from ekslib.errors import EkslibError
from ekslib.facts import IPS_PER_PREFIX, NODE_PORT_RANGE, PORT_PROTOCOLS, SERVICE_TYPES
from ekslib.sources.instance_types import instance_type_info

# ----------------------------------------------------------------------------------------------- invariants


def problems(cluster: Cluster) -> list[str]:
    """Every broken invariant of ``cluster``, each naming the object and the field; [] when all hold.

    Checked: unique names and ids; subnets inside the VPC and not overlapping; every ENI address inside
    its subnet and not one of AWS's 5 reserved ones (not checked for an ``inferred`` subnet, whose CIDR is
    only a guess); /28 prefixes aligned; one primary ENI per node whose
    address is the node's; no address used twice (ENI primaries, secondaries, prefixes, pod addresses);
    every pod address held by its ENI and inside that ENI's subnet; host-network pods on the node's
    address; veth names as the VPC CNI computes them; pods per node within max pods; services' ClusterIPs
    inside the service CIDR, NodePorts in range, endpoints that exist; EndpointSlices tied to an existing
    Service of their namespace, IPv4, ports 1-65535 with unique names, endpoints on existing nodes and, when
    they name a pod, on that pod's address; control-plane ENIs in a subnet of the cluster, not on one of AWS's
    reserved addresses, and on an address nothing else holds (another ENI, a pod).
    """
    out: list[str] = []
    for check in (_name_and_subnet_problems, _eni_problems, _pod_problems, _service_problems, _slice_problems,
                  _control_plane_problems):
        check(cluster, out.append)
    return out


def _name_and_subnet_problems(cluster: Cluster, add: Callable[[str], None]) -> None:
    """Unique names and ids; subnets inside the VPC, not overlapping."""
    for kind, names in (("subnet", [s.id for s in cluster.subnets]), ("node", [n.name for n in cluster.nodes]),
                        ("ENI", [e.id for n in cluster.nodes for e in n.enis]
                         + [e.id for e in cluster.control_plane_enis]),
                        ("pod", [p.key for p in cluster.pods]), ("service", [s.key for s in cluster.services]),
                        ("EndpointSlice", [s.key for s in cluster.endpoint_slices])):
        for name, count in Counter(names).items():
            if count > 1:
                add(f"{kind} {name}: appears {count} times (names must be unique)")

    for subnet in cluster.subnets:
        if not cluster.vpc.contains(subnet.cidr):
            add(f"subnet {subnet.id}: cidr {subnet.cidr} is outside the VPC's CIDRs "
                f"({', '.join(map(str, cluster.vpc.cidrs))})")
    known = sorted((s for s in cluster.subnets if not s.inferred), key=lambda s: int(s.cidr.network_address))
    for a, b in zip(known, known[1:]):
        if a.cidr.overlaps(b.cidr):
            add(f"subnet {b.id}: cidr {b.cidr} overlaps subnet {a.id} ({a.cidr})")


def _eni_problems(cluster: Cluster, add: Callable[[str], None]) -> None:
    """Node ENIs: limits of the type, primary ENI, addresses inside the subnet, none used twice."""
    ix = cluster._ix
    users: dict[int, str] = {}  # ENI primary and secondary addresses -> who holds them
    prefix_users: dict[int, str] = {}  # /28 prefixes (by network address) -> who holds them

    def claim(address: IPv4Address, who: str) -> None:
        other = users.setdefault(int(address), who)
        if other != who:
            add(f"{who}: address {address} is used twice (also {other})")

    for node in cluster.nodes:
        devices = Counter(e.device_number for e in node.enis)
        for device, count in devices.items():
            if count > 1:
                add(f"node {node.name}: enis has {count} ENIs with device number {device}")
        limits = _instance_limits(node.instance_type)
        if limits is None:
            add(f"node {node.name}: instance_type {node.instance_type!r} is not in the instance-type snapshot")
        else:
            max_enis, slots = limits
            if len(node.enis) > max_enis:
                add(f"node {node.name}: enis has {len(node.enis)} ENIs, more than a {node.instance_type} "
                    f"takes ({max_enis})")
            for eni in node.enis:
                used = len(eni.secondary_ips) + len(eni.prefixes)
                if not eni.inferred and used > slots:
                    add(f"ENI {eni.id} (node {node.name}, eth{eni.device_number}): holds {used} secondary "
                        f"addresses/prefixes, more than the {slots} slots of a {node.instance_type} ENI "
                        f"(IPv4 per ENI - 1)")
        primaries = [e for e in node.enis if e.device_number == 0]
        if not primaries:
            add(f"node {node.name}: enis has no primary ENI (device number 0)")
        elif primaries[0].primary_ip != node.address:
            add(f"node {node.name}: address {node.address} is not its primary ENI's primary_ip "
                f"{primaries[0].primary_ip}")
        for eni in node.enis:
            where = f"ENI {eni.id} (node {node.name}, eth{eni.device_number})"
            if eni.node != node.name:
                add(f"{where}: node {eni.node!r} is not the node it is attached to ({node.name})")
            subnet = ix.subnets.get(eni.subnet_id)
            if subnet is None:
                add(f"{where}: subnet_id {eni.subnet_id!r} is not a subnet of this cluster")
                continue
            if subnet.az != node.az:
                add(f"{where}: subnet {subnet.id} is in {subnet.az} but the node is in {node.az}")
            for field_name, addresses in (("primary_ip", (eni.primary_ip,)), ("secondary_ips", eni.secondary_ips)):
                for address in addresses:
                    if address not in subnet.cidr:
                        add(f"{where}: {field_name} {address} is outside its subnet {subnet.id} ({subnet.cidr})")
                    elif subnet.is_reserved(address) and not subnet.inferred:
                        add(f"{where}: {field_name} {address} is one of the 5 addresses AWS reserves in {subnet.cidr}")
                    claim(address, f"{where} {field_name}")
            for prefix in eni.prefixes:
                if prefix.prefixlen != 28:
                    add(f"{where}: prefixes {prefix} is not a /28 (prefix delegation hands out /28 prefixes)")
                if not prefix.subnet_of(subnet.cidr):
                    add(f"{where}: prefixes {prefix} is outside its subnet {subnet.id} ({subnet.cidr})")
                elif not subnet.inferred and any(subnet.is_reserved(IPv4Address(a)) for a in _ends(prefix)):
                    add(f"{where}: prefixes {prefix} contains addresses AWS reserves in {subnet.cidr}")
                who = f"{where} prefixes {prefix}"
                other = prefix_users.setdefault(int(prefix.network_address), who)
                if other != who:
                    add(f"{who}: is used twice (also {other})")
    for value, who in users.items():
        other = prefix_users.get(value & ~(IPS_PER_PREFIX - 1))
        if other is not None:
            add(f"{who}: address {IPv4Address(value)} is used twice (also inside {other})")


def _pod_problems(cluster: Cluster, add: Callable[[str], None]) -> None:
    """Pods: within max pods, on their node's address or held by their ENI, veth names."""
    ix = cluster._ix
    per_node = Counter(p.node for p in cluster.pods)
    for node in cluster.nodes:
        if node.max_pods is not None and per_node[node.name] > node.max_pods:
            add(f"node {node.name}: {per_node[node.name]} pods exceed max_pods {node.max_pods} ({node.instance_type})")

    pod_users: dict[int, str] = {}
    for pod in cluster.pods:
        where = f"pod {pod.key}"
        node = ix.nodes.get(pod.node)
        if node is None:
            add(f"{where}: node {pod.node!r} is not a node of this cluster")
            continue
        if pod.host_network:
            if pod.address != node.address:
                add(f"{where}: address {pod.address} is not its node's address {node.address} (host-network pod)")
            if pod.host_veth:
                add(f"{where}: host_veth {pod.host_veth!r} set, but a host-network pod has no veth")
            continue
        expected = veth_name(pod.namespace, pod.name, cluster.veth_prefix)
        if pod.host_veth != expected:
            add(f"{where}: host_veth {pod.host_veth!r} is not the VPC CNI's name {expected!r}")
        eni = ix.enis.get(pod.eni_id)
        if eni is None:
            add(f"{where}: eni_id {pod.eni_id!r} is not an ENI of this cluster")
            continue
        if eni.node != pod.node:
            add(f"{where}: eni_id {eni.id} is attached to node {eni.node}, not to the pod's node {pod.node}")
        subnet = ix.subnets.get(eni.subnet_id)
        if subnet is not None and pod.address not in subnet.cidr:
            add(f"{where}: address {pod.address} is outside its ENI's subnet {subnet.id} ({subnet.cidr})")
        value = int(pod.address)
        holder = ix.eni_of_ip.get(value) or ix.eni_of_prefix.get(value & ~(IPS_PER_PREFIX - 1))
        if holder is not eni or value == int(eni.primary_ip):
            why = ("it is the ENI's own primary_ip, never a pod's" if pod.address == eni.primary_ip
                   else "not one of its secondary_ips nor inside one of its prefixes")
            add(f"{where}: address {pod.address} is not held by its ENI {eni.id} ({why})")
        other = pod_users.setdefault(value, where)
        if other != where:
            add(f"{where}: address {pod.address} is used twice (also {other})")


def _service_problems(cluster: Cluster, add: Callable[[str], None]) -> None:
    """Services: type, ClusterIP in the service CIDR and unique, NodePorts, endpoints."""
    ix = cluster._ix
    cluster_ips: dict[IPv4Address, str] = {}
    for service in cluster.services:
        where = f"service {service.key}"
        if service.type not in SERVICE_TYPES:
            add(f"{where}: type {service.type!r} is not one of {', '.join(SERVICE_TYPES)}")
        if service.cluster_ip is not None:
            if service.cluster_ip not in cluster.service_cidr:
                add(f"{where}: cluster_ip {service.cluster_ip} is outside the service CIDR {cluster.service_cidr}")
            other = cluster_ips.setdefault(service.cluster_ip, service.key)
            if other != service.key:
                add(f"{where}: cluster_ip {service.cluster_ip} is used twice (also service {other})")
        for port in service.ports:
            if port.node_port is not None and not NODE_PORT_RANGE[0] <= port.node_port <= NODE_PORT_RANGE[1]:
                add(f"{where}: ports node_port {port.node_port} is outside {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}")
        for key in service.endpoints:
            if key not in ix.pods:
                add(f"{where}: endpoints {key!r} is not a pod of this cluster")


def _slice_problems(cluster: Cluster, add: Callable[[str], None]) -> None:
    """EndpointSlices: their Service, address type, ports, endpoints' addresses, nodes and pods."""
    ix = cluster._ix
    for s in cluster.endpoint_slices:
        where = f"EndpointSlice {s.key}"
        if s.service not in ix.services:
            add(f"{where}: service {s.service!r} (label kubernetes.io/service-name) is not a service of this cluster")
        elif s.service.split("/", 1)[0] != s.namespace:
            add(f"{where}: service {s.service!r} is in another namespace (a slice serves a Service of its own)")
        if s.address_type != "IPv4":
            add(f"{where}: address_type {s.address_type!r} is not 'IPv4' (IPv6 and FQDN slices are not modelled)")
        for name, count in Counter(p.name for p in s.ports).items():
            if count > 1:
                add(f"{where}: ports name {name!r} appears {count} times (port names are unique in a slice)")
        for i, p in enumerate(s.ports):
            if not isinstance(p.port, int) or isinstance(p.port, bool) or not 1 <= p.port <= 65535:
                add(f"{where}: ports[{i}].port {p.port!r} is not a port number 1-65535")
            if p.protocol not in PORT_PROTOCOLS:
                add(f"{where}: ports[{i}].protocol {p.protocol!r} is not one of {', '.join(PORT_PROTOCOLS)}")
        for i, e in enumerate(s.endpoints):
            if not isinstance(e.address, IPv4Address):
                add(f"{where}: endpoints[{i}].address {e.address!r} is not an IPv4 address")
                continue
            if e.node_name and e.node_name not in ix.nodes:
                add(f"{where}: endpoints[{i}].node_name {e.node_name!r} is not a node of this cluster")
            if e.target_pod:
                pod = ix.pods.get(e.target_pod)
                if pod is None:
                    add(f"{where}: endpoints[{i}].target_pod {e.target_pod!r} is not a pod of this cluster")
                elif pod.address != e.address:
                    add(f"{where}: endpoints[{i}].address {e.address} is not the address {pod.address} of its pod "
                        f"{pod.key}")
                elif e.node_name and pod.node != e.node_name:
                    add(f"{where}: endpoints[{i}].node_name {e.node_name} is not the node {pod.node} of its pod "
                        f"{pod.key}")


def _control_plane_problems(cluster: Cluster, add: Callable[[str], None]) -> None:
    """EKS's control-plane ENIs: inside a subnet of the cluster, not reserved, not held by anything else."""
    ix = cluster._ix
    seen: dict[int, str] = {}
    for eni in cluster.control_plane_enis:
        where = f"control-plane ENI {eni.id}"
        address = eni.address
        if not isinstance(address, IPv4Address):
            add(f"{where}: address {address!r} is not an IPv4 address")
            continue
        subnet = ix.subnets.get(eni.subnet_id)
        if subnet is None:
            add(f"{where}: subnet_id {eni.subnet_id!r} is not a subnet of this cluster")
        elif address not in subnet.cidr:
            add(f"{where}: address {address} is outside its subnet {subnet.id} ({subnet.cidr})")
        elif subnet.is_reserved(address) and not subnet.inferred:
            add(f"{where}: address {address} is one of the 5 addresses AWS reserves in {subnet.cidr}")
        value = int(address)
        holder = ix.eni_of_ip.get(value) or ix.eni_of_prefix.get(value & ~(IPS_PER_PREFIX - 1))
        if holder is not None:
            add(f"{where}: address {address} is used twice (also ENI {holder.id} of node {holder.node})")
        elif ix.pods_by_address.get(address):
            add(f"{where}: address {address} is used twice (also pod {ix.pods_by_address[address][0].key})")
        other = seen.setdefault(value, where)
        if other != where:
            add(f"{where}: address {address} is used twice (also {other})")


def _ends(prefix: IPv4Network) -> tuple[int, int]:
    """First and last address of a network as integers (cheaper than ``broadcast_address``)."""
    first = int(prefix.network_address)
    return first, first + prefix.num_addresses - 1


def _instance_limits(instance_type: str) -> tuple[int, int] | None:
    """(ENIs on card 0, slots per ENI = IPv4 per ENI - 1) of a type, None if the snapshot does not know it."""
    try:
        info = instance_type_info(instance_type)
    except EkslibError:
        return None
    return info.enis, info.ipv4_per_eni - 1


def validate(cluster: Cluster) -> Cluster:
    """Return ``cluster`` if every invariant of :func:`problems` holds, else raise one EkslibError listing them.

    >>> from ekslib.cluster import build_cluster
    >>> validate(build_cluster([("t3.medium", 2)])).name
    'demo'
    """
    found = problems(cluster)
    if found:
        shown = "\n  ".join(found[:20])
        more = f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""
        raise EkslibError(f"cluster {cluster.name!r} breaks {len(found)} invariant(s):\n  {shown}{more}")
    return cluster

