"""from_kubectl / to_kubectl, the sample dumps, and the live sources (EC2 against moto)."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
from ipaddress import IPv4Address

import pytest

from ekslib.cluster.build import build_cluster
from ekslib.cluster.kubectl import from_dump, from_kubectl, load_sample, to_kubectl
from ekslib.cluster.model import veth_name
from ekslib.cluster.spec import NodeGroup, ServiceSpec, Workload
from ekslib.errors import EkslibError
from ekslib.sources import kube as kube_sources
from ekslib.sources.kube import SAMPLES_DIR, load_sample_json, read_json


@pytest.fixture(scope="module")
def dump():
    return load_sample_json("two-node")


# ----------------------------------------------------------------------------------------------- samples


def test_two_node_sample_is_the_seed_picture():
    cluster = load_sample("two-node")
    assert cluster.name == "two-node" and cluster.notes == ()
    assert [n.instance_type for n in cluster.nodes] == ["t3.medium", "t3.medium"]
    assert all(len(n.enis) >= 2 and n.max_pods == 17 for n in cluster.nodes)
    for node in cluster.nodes:
        assert sorted(p.owner_name for p in cluster.host_network_pods(node.name)) == ["aws-node", "kube-proxy"]
    dns = cluster.service("kube-system/kube-dns")
    assert str(dns.cluster_ip) == "10.100.0.10" and len(dns.endpoints) == 2
    assert {s.type for s in cluster.services} == {"ClusterIP", "NodePort", "LoadBalancer"}
    assert cluster.service("default/web").external_traffic_policy == "Local"
    # some pod sits behind the second ENI, so rule 1536 / table 2 show up on that node
    assert any(cluster.eni(p.eni_id).device_number > 0 for p in cluster.pods if not p.host_network)


def test_samples_are_up_to_date_with_their_script():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES_DIR / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.SAMPLES) == kube_sources.sample_names()
    for name, kwargs in module.SAMPLES.items():
        expected = json.loads(json.dumps(to_kubectl(build_cluster(name=name, **kwargs))))
        assert load_sample_json(name) == expected, f"data/samples/{name} is stale: run data/samples/make_samples.py"


def test_sample_follows_the_kubernetes_schema(dump):
    assert dump["pods"]["kind"] == "List" and dump["pods"]["apiVersion"] == "v1"
    pod = dump["pods"]["items"][0]
    assert {"apiVersion", "kind", "metadata", "spec", "status"} <= set(pod)
    assert pod["status"]["podIPs"] == [{"ip": pod["status"]["podIP"]}]
    node = dump["nodes"]["items"][0]
    assert node["spec"]["providerID"].startswith("aws:///us-west-2")
    assert {a["type"] for a in node["status"]["addresses"]} == {"InternalIP", "InternalDNS", "Hostname"}
    eni = dump["enis"]["NetworkInterfaces"][0]
    assert sum(a["Primary"] for a in eni["PrivateIpAddresses"]) == 1


def test_unknown_sample_lists_the_known_ones():
    with pytest.raises(EkslibError, match="two-node"):
        load_sample("too-node")


# ----------------------------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("groups, kwargs", [
    ([("t3.medium", 2)], {}),
    ([("t3.medium", 2), NodeGroup("m5.large", 2, az="us-west-2c")], {"workloads": [("web", 12), ("api", 5)]}),
    ([("m5.large", 3)], {"prefix_delegation": True, "workloads": [("web", 40)], "seed": 4}),
    ([("c5.xlarge", 2)], {"vpc_cidr": "10.0.0.0/16", "veth_prefix": "cali"}),
])
def test_round_trip(groups, kwargs):
    cluster = build_cluster(groups, name="rt", **kwargs)
    again = from_dump(to_kubectl(cluster), name="rt", veth_prefix=cluster.veth_prefix)
    assert again == cluster
    text = json.loads(json.dumps(to_kubectl(cluster)))  # survives JSON
    assert from_dump(text, name="rt", veth_prefix=cluster.veth_prefix) == cluster


def test_json_text_and_paths_are_accepted(tmp_path, dump):
    kube_sources.write_dump(dump, tmp_path)
    from_files = from_dump(tmp_path, name="two-node")
    from_text = from_kubectl(json.dumps(dump["nodes"]), json.dumps(dump["pods"]), json.dumps(dump["services"]),
                             endpointslices_json=tmp_path / "endpointslices.json",
                             enis_json=json.dumps(dump["enis"]), subnets_json=tmp_path / "subnets.json",
                             vpcs_json=str(tmp_path / "vpcs.json"), name="two-node")
    assert from_files == from_text == load_sample("two-node")


# ----------------------------------------------------------------------------------------------- kubectl only


def test_without_ec2_detail_enis_and_subnets_are_inferred(dump):
    full = load_sample("two-node")
    cluster = from_kubectl(dump["nodes"], dump["pods"], dump["services"])
    assert any("stand-in ENI" in note for note in cluster.notes)
    assert [p.key for p in cluster.pods] == [p.key for p in full.pods]
    assert [p.address for p in cluster.pods] == [p.address for p in full.pods]
    for node in cluster.nodes:
        (eni,) = node.enis
        assert eni.inferred and eni.id == f"eni-unknown-{node.name}" and eni.primary_ip == node.address
        assert len(cluster.pods_on_eni(eni.id)) == sum(1 for p in full.pods_on_node(node.name) if not p.host_network)
    for subnet in cluster.subnets:
        real = full.subnet(full.nodes[0].subnet_id) if subnet.az == full.nodes[0].az else None
        assert subnet.inferred and subnet.id == f"subnet-unknown-{subnet.az}"
        if real is not None:
            assert subnet.cidr.subnet_of(real.cidr)
    assert cluster.vpc.inferred and cluster.vpc.cidrs[0].supernet_of(full.subnets[3].cidr)
    assert cluster.service("default/web").endpoints == full.service("default/web").endpoints


def test_labels_of_older_clusters(dump):
    old = copy.deepcopy(dump["nodes"])
    for node in old["items"]:
        labels = node["metadata"]["labels"]
        labels["beta.kubernetes.io/instance-type"] = labels.pop("node.kubernetes.io/instance-type")
        labels["failure-domain.beta.kubernetes.io/zone"] = labels.pop("topology.kubernetes.io/zone")
    cluster = from_kubectl(old, dump["pods"])
    assert [n.instance_type for n in cluster.nodes] == ["t3.medium", "t3.medium"]
    assert [n.az for n in cluster.nodes] == ["us-west-2a", "us-west-2b"]


def test_finished_and_pending_pods_are_left_out(dump):
    pods = copy.deepcopy(dump["pods"])
    running = next(p for p in pods["items"] if not p["spec"].get("hostNetwork"))
    done = copy.deepcopy(running)
    done["metadata"]["name"] = "job-abcde"
    done["status"]["phase"] = "Succeeded"  # its address was given back and reused by `running`
    pending = copy.deepcopy(running)
    pending["metadata"]["name"] = "waiting-abcde"
    pending["status"] = {"phase": "Pending"}
    del pending["spec"]["nodeName"]
    pods["items"] += [done, pending]
    cluster = from_dump({**dump, "pods": pods})
    assert len(cluster.pods) == len(dump["pods"]["items"])
    assert any("1 finished pods" in n for n in cluster.notes)
    assert any("1 pods not yet scheduled" in n for n in cluster.notes)


def test_veth_names_use_the_given_prefix(dump):
    cluster = from_dump(dump, veth_prefix="cali")
    pod = next(p for p in cluster.pods if not p.host_network)
    assert pod.host_veth == veth_name(pod.namespace, pod.name, "cali")


# ----------------------------------------------------------------------------------------------- malformed input


def _pod_item(dump, host_network=False):
    return next(i for i, p in enumerate(dump["pods"]["items"]) if bool(p["spec"].get("hostNetwork")) == host_network)


def _change(dump, part, path, value, index=0):
    data = copy.deepcopy(dump)
    target = data[part]["items"][index] if part in ("nodes", "pods", "services") else data[part]
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    "part, path, value, message",
    [
        (
            "pods",
            "status.podIP",
            "10.0.1.999",
            r"pod kube-system/coredns-\S+: status.podIP '10.0.1.999' is not an IPv4 address",
        ),
        ("pods", "status.podIP", "fd00::1", "IPv6 clusters are not modelled"),
        (
            "pods",
            "spec.nodeName",
            "ghost",
            r"pod kube-system/coredns-\S+: spec.nodeName 'ghost' is not a node of nodes_json",
        ),
        ("pods", "metadata.namespace", KeyError, r"pod coredns-\S+: metadata.namespace is missing"),
        ("pods", "status.hostIP", "192.168.1.1", "status.hostIP 192.168.1.1 is not the InternalIP"),
        ("pods", "spec.hostNetwork", "yes", "spec.hostNetwork 'yes' is not true or false"),
        ("pods", "status.podIP", "192.168.200.9", "is on no ENI of node"),
        ("nodes", "metadata.labels.node.kubernetes.io/instance-type", None, None),
        ("nodes", "status.addresses", [], r"node ip-192-168-96-4\S+: status.addresses is empty"),
        ("nodes", "status.addresses", [{"type": "Hostname", "address": "x"}],
         r"node ip-192-168-96-4\S+: status.addresses has no InternalIP \(types: Hostname\)"),
        ("nodes", "status.capacity.pods", "many", "status.capacity.pods 'many' is not a whole number"),
        ("services", "spec.ports.0.port", "eighty", r"service default/web: spec.ports\[0\].port 'eighty'"),
        ("services", "spec.type", "Ingress", "spec.type 'Ingress' is not one of"),
        ("services", "spec.clusterIP", "10.100.0.300", "spec.clusterIP '10.100.0.300' is not an IPv4 address"),
    ],
)
def test_malformed_input_names_object_and_field(dump, part, path, value, message):
    index = _pod_item(dump) if part == "pods" else (2 if part == "services" else 0)
    if part == "nodes" and value is None:  # a label key with dots: edit the dict directly
        data = copy.deepcopy(dump)
        data["nodes"]["items"][0]["metadata"]["labels"]["node.kubernetes.io/instance-type"] = "t3.mediun"
        message = r"node ip-192-168-96-4\S+: metadata.labels\['node.kubernetes.io/instance-type'\] .*t3.medium"
    else:
        data = _change(dump, part, path, value, index)
    with pytest.raises(EkslibError, match=message):
        from_dump(data)


def _edit(part, index, path, value):
    """A change to item ``index`` of ``part`` at dotted ``path`` (KeyError deletes), as tests list them."""
    return part, index, path, value


#: Bad inputs as a user meets them, each with the message that names the object and the field.
BAD_OBJECTS = [
    # pods
    (_edit("pods", "app", "status", KeyError), r"pod default/\S+: status is missing"),
    (_edit("pods", "app", "spec", KeyError), r"pod default/\S+: spec is missing"),
    (_edit("pods", "app", "status", []), r"pod default/\S+: status \[\] is not an object"),
    (_edit("pods", "app", "status.podIP", 5), r"status.podIP 5 is not an IPv4 address \(a string such as"),
    (_edit("pods", "app", "status.phase", "Runing"), r"status.phase 'Runing' is not one of Pending, Running"),
    (_edit("pods", "app", "status.phase", 3), r"status.phase 3 is not a string"),
    (_edit("pods", "app", "metadata.labels", ["app"]), r"metadata.labels \['app'\] is not an object"),
    (_edit("pods", "app", "metadata.labels.app", 1), r"metadata.labels\['app'\] 1 is not a string"),
    (_edit("pods", "app", "metadata.ownerReferences", ["rs"]),
     r"metadata.ownerReferences\[0\] is a string \('rs'\), not an object"),
    (_edit("pods", "app", "metadata", KeyError), r"pods_json item \d+ \(pod\): metadata.name is missing"),
    (_edit("pods", "app", "kind", "Node"), r"pods_json item \d+: kind is 'Node', not 'Pod'.*swapped"),
    # nodes
    (_edit("nodes", 0, "status", KeyError), r"node ip-\S+: status is missing"),
    (_edit("nodes", 0, "status.addresses", KeyError), r"node ip-\S+: status.addresses is missing"),
    (_edit("nodes", 0, "status.addresses", [{"type": "InternalIP"}]),
     r"node ip-\S+: status.addresses\[0\].address is missing"),
    (_edit("nodes", 0, "status.addresses", [{"type": "InternalIP", "address": 167772161}]),
     r"status.addresses\[0\].address 167772161 is not an IPv4 address"),
    (_edit("nodes", 0, "status.addresses", "10.0.0.1"), r"status.addresses '10.0.0.1' is not a list"),
    (_edit("nodes", 0, "status.capacity", []), r"node ip-\S+: status.capacity is a list \(\[\]\), not an object"),
    (_edit("nodes", 0, "status.capacity.pods", "1７"), r"status.capacity.pods '1７' is not a whole number"),
    (_edit("nodes", 0, "spec.providerID", 7), r"spec.providerID 7 is not a string"),
    (_edit("nodes", 0, "metadata.labels", []), r"metadata.labels \[\] is not an object"),
    # services
    (_edit("services", 0, "spec.ports", KeyError), r"service default/kubernetes: spec.ports is missing or empty"),
    (_edit("services", 0, "spec.ports", []), r"spec.ports is missing or empty: a Service needs at least one port"),
    (_edit("services", 0, "spec", KeyError), r"service default/kubernetes: spec is missing"),
    (_edit("services", 0, "spec.ports", [80]), r"spec.ports\[0\] is a number \(80\), not an object"),
    (_edit("services", 0, "spec.ports", {"port": 443}), r"spec.ports \{'port': 443\} is not a list"),
    (_edit("services", 0, "spec.ports.0.protocol", "HTTP"), r"spec.ports\[0\].protocol 'HTTP' is not one of TCP"),
    (_edit("services", 0, "spec.selector", ["app"]), r"spec.selector \['app'\] is not an object"),
    (_edit("services", 0, "status", {"loadBalancer": {"ingress": ["elb"]}}),
     r"status.loadBalancer.ingress\[0\] is a string \('elb'\), not an object"),
    (_edit("services", 0, "kind", "Pod"), r"services_json item 0: kind is 'Pod', not 'Service'"),
    # EC2 answers
    (_edit("enis", 0, "PrivateIpAddresses", [{"Primary": True}]),
     r"ENI eni-\w+: PrivateIpAddresses\[0\].PrivateIpAddress is missing"),
    (_edit("enis", 0, "Ipv4Prefixes", [{"Ipv4Prefix": 5}]), r"ENI eni-\w+: Ipv4Prefixes\[0\].Ipv4Prefix 5 is not"),
    (_edit("enis", 0, "Attachment", "eth0"), r"ENI eni-\w+: Attachment 'eth0' is not an object"),
    (_edit("subnets", 0, "Tags", [["Name", "a"]]), r"subnet subnet-\w+: Tags\[0\] is a list"),
    (_edit("vpcs", 0, "CidrBlockAssociationSet", [{"CidrBlock": "192.168.0.0/16", "CidrBlockState": "ok"}]),
     r"VPC vpc-\w+: CidrBlockAssociationSet\[0\].CidrBlockState is a string, not an object"),
]


@pytest.mark.parametrize("edit, message", BAD_OBJECTS, ids=[f"{e[0]}-{e[2]}-{i}" for i, (e, _) in
                                                             enumerate(BAD_OBJECTS)])
def test_each_malformed_object_is_named(dump, edit, message):
    part, index, path, value = edit
    data = copy.deepcopy(dump)
    api = {"enis": "NetworkInterfaces", "subnets": "Subnets", "vpcs": "Vpcs"}.get(part, "items")
    items = data[part][api]
    if index == "app":
        index = next(i for i, p in enumerate(items) if p["metadata"].get("labels", {}).get("app"))
    target = items[index]
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    with pytest.raises(EkslibError, match=message):
        from_dump(data)


@pytest.mark.parametrize("nodes, pods", [({"items": []}, {"items": []}), ([], []), ({"items": []}, None)])
def test_an_empty_node_list_is_named(dump, nodes, pods):
    with pytest.raises(EkslibError, match="nodes_json: the list of nodes is empty"):
        from_kubectl(nodes, dump["pods"] if pods is None else pods)


def test_nodes_without_pods_or_services_still_load(dump):
    cluster = from_kubectl(dump["nodes"], {"items": []}, {"items": []})
    assert len(cluster.nodes) == 2 and cluster.pods == () and cluster.services == ()
    headless = {"items": [{"kind": "Service", "metadata": {"name": "db", "namespace": "default"},
                           "spec": {"clusterIP": "None", "selector": {"app": "db"}}}]}
    assert from_kubectl(dump["nodes"], {"items": []}, headless).service("default/db").ports == ()


@pytest.mark.parametrize("nodes, pods, message", [
    ({"kind": "List"}, None, r"nodes_json: an object without 'items' \(a kubectl List\); keys: kind"),
    (None, {"apiVersion": "v1"}, r"pods_json: an object without 'items'"),
    ({"items": {"a": 1}}, None, "nodes_json: items is an object, not a list of node objects"),
    ({"items": None}, None, "nodes_json: items is null, not a list of node objects"),
    ("pods", None, None),   # swapped arguments: the pods list given as nodes
])
def test_missing_or_wrong_items(dump, nodes, pods, message):
    if nodes == "pods":
        nodes, message = dump["pods"], r"nodes_json item 0: kind is 'Pod', not 'Node'"
    with pytest.raises(EkslibError, match=message):
        from_kubectl(dump["nodes"] if nodes is None else nodes, dump["pods"] if pods is None else pods)


def test_every_wrong_json_type_is_an_ekslib_error(dump):
    # Each field of a node, a pod and a service (and of each EC2 answer) replaced by a value of another JSON
    # type, or deleted: the loader either accepts it or raises EkslibError, never another exception.
    def paths(value, prefix=()):
        yield prefix
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from paths(inner, prefix + (key,))
        elif isinstance(value, list):
            for i, inner in enumerate(value[:1]):
                yield from paths(inner, prefix + (i,))

    first_app = next(i for i, p in enumerate(dump["pods"]["items"]) if not p["spec"].get("hostNetwork"))
    eks_eni = next(i for i, e in enumerate(dump["enis"]["NetworkInterfaces"]) if e["Description"].startswith("Amazon"))
    roots = [("nodes", "items", 0), ("pods", "items", first_app), ("services", "items", 2),
             ("endpointslices", "items", 0), ("endpointslices", "items", 1),
             ("enis", "NetworkInterfaces", 0), ("enis", "NetworkInterfaces", eks_eni), ("subnets", "Subnets", 0),
             ("vpcs", "Vpcs", 0)]
    cases = 0
    for part, key, index in roots:
        for path in paths(dump[part][key][index]):
            if not path:
                continue
            for value in (None, 7, "x", [], {}, True, KeyError):
                items = list(dump[part][key])  # a copy of the one object changed, the rest shared
                items[index] = target = copy.deepcopy(items[index])
                data = {**dump, part: {**dump[part], key: items}}
                for step in path[:-1]:
                    target = target[step]
                if value is KeyError:
                    del target[path[-1]]
                else:
                    target[path[-1]] = value
                cases += 1
                with contextlib.suppress(EkslibError):
                    from_dump(data)
    assert cases > 500


@pytest.mark.parametrize("content, message", [
    ("", r"nodes.json is empty \(was the command's output saved into it\?\)"),
    ("apiVersion: v1\nkind: List\nitems: []\n", "it looks like YAML; save kubectl's output with -o json"),
    ("NAME    STATUS   ROLES    AGE\nip-10   Ready    <none>   1d\n", "it looks like kubectl's table"),
    (b"\xff\xfe{}", "is not a UTF-8 text file"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "nodes.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(EkslibError, match=message):
        from_kubectl(path, {"items": []})


def test_paths_and_texts_that_are_not_files(tmp_path):
    with pytest.raises(EkslibError, match=r"nodes_json: no file /nowhere/nodes.json"):
        from_kubectl("/nowhere/nodes.json", {"items": []})
    with pytest.raises(EkslibError, match=r"nodes_json: \S+ is a folder, not a JSON file"):
        from_kubectl(tmp_path, {"items": []})
    with pytest.raises(EkslibError, match="nodes_json: an empty text"):
        from_kubectl("  ", {"items": []})
    with pytest.raises(EkslibError, match="nodes_json: the text is not valid JSON .*kubectl's table"):
        from_kubectl("NAME   STATUS\nip-1   Ready\n", {"items": []})
    with pytest.raises(EkslibError, match="nodes_json: None is not a dict, a JSON text or a path"):
        from_kubectl(None, {"items": []})
    with pytest.raises(EkslibError, match="dump: pods missing"):
        from_dump({"nodes": {"items": []}})
    with pytest.raises(EkslibError, match="no nodes.json here"):
        from_dump(tmp_path)


def test_missing_instance_type_label_mentions_fargate(dump):
    data = copy.deepcopy(dump)
    del data["nodes"]["items"][1]["metadata"]["labels"]["node.kubernetes.io/instance-type"]
    with pytest.raises(EkslibError, match="instance-type'] is missing .*Fargate"):
        from_dump(data)


def test_partial_eni_answer_names_the_node(dump):
    data = copy.deepcopy(dump)
    data["enis"]["NetworkInterfaces"] = [
        e for e in data["enis"]["NetworkInterfaces"] if e["Attachment"]["DeviceIndex"] != 0
    ]
    with pytest.raises(EkslibError, match=r"node ip-\S+: spec.providerID i-\w+ has no primary ENI"):
        from_dump(data)
    data = copy.deepcopy(dump)
    data["enis"]["NetworkInterfaces"][1]["PrivateIpAddresses"][2]["PrivateIpAddress"] = "1.2.3"
    with pytest.raises(EkslibError, match=r"ENI eni-\w+: PrivateIpAddresses\[2\].PrivateIpAddress '1.2.3'"):
        from_dump(data)
    data = copy.deepcopy(dump)
    data["subnets"]["Subnets"] = data["subnets"]["Subnets"][:3]
    with pytest.raises(EkslibError, match=r"SubnetId subnet-\w+ is not in subnets_json"):
        from_dump(data)


def test_host_network_pod_off_the_node_address_fails_validation(dump):
    index = _pod_item(dump, host_network=True)
    data = _change(dump, "pods", "status.podIP", "192.168.96.77", index)
    with pytest.raises(
        EkslibError,
        match=r"pod kube-system/aws-node-\w+: address 192.168.96.77 is not its node's address .*host-network",
    ):
        from_dump(data)


@pytest.mark.parametrize(
    "document, message",
    [
        ("not json", "no file not json"),
        ('{"items": [1, 2', "not valid JSON"),
        ({"kind": "Pod"}, "without 'items'"),
        ({"items": ["x"]}, "item 0: is a str"),
        (42, r"pods_json: a number \(42\) is not a dict, a JSON text or a path"),
    ],
)
def test_unreadable_documents(dump, document, message):
    with pytest.raises(EkslibError, match=message):
        from_kubectl(dump["nodes"], document)


def test_read_json_reports_position(tmp_path):
    path = tmp_path / "pods.json"
    path.write_text('{\n  "items": [,]\n}')
    with pytest.raises(EkslibError, match=r"pods.json is not valid JSON \(Expecting value at line 2"):
        read_json(path, "pods_json")


# ----------------------------------------------------------------------------------------------- live sources


def test_fetch_kubectl_json_without_the_client_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_kubernetes(name, *args, **kwargs):
        if name == "kubernetes" or name.startswith("kubernetes."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_kubernetes)
    with pytest.raises(EkslibError, match="pip install kubernetes"):
        kube_sources.fetch_kubectl_json()


def test_describe_network_interfaces_against_moto_feeds_from_kubectl():
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name="us-west-2", aws_access_key_id="moto", aws_secret_access_key="moto")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-west-2a")["Subnet"]
        instance = ec2.run_instances(
            ImageId="ami-12c6146b",
            InstanceType="t3.medium",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet["SubnetId"],
            PrivateIpAddress="10.0.1.10",
        )["Instances"][0]  # an AMI id moto knows
        node_ip = instance["PrivateIpAddress"]
        # explicit addresses: moto's random ones may fall on AWS's reserved .0-.3, which validation rightly refuses
        eni = ec2.create_network_interface(
            SubnetId=subnet["SubnetId"],
            PrivateIpAddresses=[{"PrivateIpAddress": f"10.0.1.{n}", "Primary": n == 20} for n in (20, 21, 22, 23)],
            Description=f"aws-K8S-{instance['InstanceId']}",
        )["NetworkInterface"]
        ec2.attach_network_interface(
            NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=instance["InstanceId"], DeviceIndex=1
        )
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
            PrivateIpAddresses=["10.0.1.11", "10.0.1.12"],
        )
        enis = kube_sources.describe_network_interfaces(ec2, vpc_id=vpc)
        subnets = kube_sources.describe_subnets(ec2, vpc_id=vpc)
        vpcs = kube_sources.describe_vpcs(ec2, vpc_id=vpc)
        only_node = kube_sources.describe_network_interfaces(ec2, instance_ids=[instance["InstanceId"]])
    json.dumps(enis)  # JSON-safe (datetimes turned into text)
    assert {e["NetworkInterfaceId"] for e in only_node} == {e["NetworkInterfaceId"] for e in enis}
    by_device = {e["Attachment"]["DeviceIndex"]: e for e in enis}
    primary_secondaries = [a["PrivateIpAddress"] for a in by_device[0]["PrivateIpAddresses"] if not a["Primary"]]
    eth1_secondaries = [a["PrivateIpAddress"] for a in by_device[1]["PrivateIpAddresses"] if not a["Primary"]]
    assert len(primary_secondaries) == 2 and len(eth1_secondaries) == 3

    name = f"ip-{node_ip.replace('.', '-')}.us-west-2.compute.internal"
    nodes = {
        "items": [
            {
                "metadata": {
                    "name": name,
                    "labels": {
                        "node.kubernetes.io/instance-type": "t3.medium",
                        "topology.kubernetes.io/zone": "us-west-2a",
                    },
                },
                "spec": {"providerID": f"aws:///us-west-2a/{instance['InstanceId']}"},
                "status": {"addresses": [{"type": "InternalIP", "address": node_ip}], "capacity": {"pods": "17"}},
            }
        ]
    }

    def pod(pod_name, ip, host=False):
        return {
            "metadata": {"name": pod_name, "namespace": "default"},
            "spec": {"nodeName": name, "hostNetwork": host},
            "status": {"phase": "Running", "podIP": ip, "hostIP": node_ip},
        }

    pods = {
        "items": [pod("aws-node-x", node_ip, True), pod("a", primary_secondaries[0]), pod("b", eth1_secondaries[1])]
    }
    cluster = from_kubectl(nodes, pods, enis_json=enis, subnets_json=subnets, vpcs_json=vpcs)
    assert cluster.notes == () and cluster.vpc.id == vpc and str(cluster.vpc.cidrs[0]) == "10.0.0.0/16"
    (node,) = cluster.nodes
    assert node.instance_id == instance["InstanceId"] and [e.device_number for e in node.enis] == [0, 1]
    assert cluster.pod("default/a").eni_id == by_device[0]["NetworkInterfaceId"]
    assert cluster.pod("default/b").eni_id == eni["NetworkInterfaceId"]
    assert cluster.pod("default/aws-node-x").eni_id == by_device[0]["NetworkInterfaceId"]
    assert cluster.subnet(node.subnet_id).cidr.exploded == "10.0.1.0/24"
    assert cluster.node_of_address(IPv4Address(eth1_secondaries[0])).name == name
    # without subnets/VPCs the CIDRs are guessed and said so
    guessed = from_kubectl(nodes, pods, enis_json={"NetworkInterfaces": enis})
    assert guessed.subnets[0].inferred and any("subnets_json" in n for n in guessed.notes)


def test_a_type_only_the_vpc_cni_table_knows_round_trips():
    # p3.2xlarge has no vCPUs or memory in the bundled data (not in moto's EC2 catalogue): the dump leaves them out
    cluster = build_cluster([("p3.2xlarge", 1)])
    again = from_dump(to_kubectl(cluster))
    assert [p.address for p in again.pods] == [p.address for p in cluster.pods]



# ----------------------------------------------------------------------------------------------- EndpointSlices


def _items_of(dump, part):
    return dump[part]["NetworkInterfaces" if part == "enis" else "items"]


def _slice_index(dump, service):
    return next(i for i, s in enumerate(dump["endpointslices"]["items"])
                if s["metadata"]["labels"]["kubernetes.io/service-name"] == service)


def test_sample_slices_are_kube_proxys_view(dump):
    cluster = load_sample("two-node")
    coredns = sorted((p for p in cluster.pods if p.owner_name.startswith("coredns-")), key=lambda p: p.key)
    (dns,) = cluster.service_slices("kube-system/kube-dns")
    assert [(p.name, p.port, p.protocol) for p in dns.ports] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    assert [(e.address, e.node_name, e.target_pod) for e in dns.endpoints] == [
        (p.address, p.node, p.key) for p in coredns]
    assert [e.endpoint for e in cluster.service_endpoints("kube-system/kube-dns", "dns-tcp")] == sorted(
        f"{p.address}:53" for p in coredns)
    # default/kubernetes: the two EKS control-plane ENIs of enis.json, in the VPC, neither a pod nor a node
    enis = cluster.control_plane_enis
    assert len(enis) == 2 and {e.description for e in enis} == {"Amazon EKS two-node"}
    assert not any(e.inferred for e in enis)
    kubernetes = cluster.service_endpoints("default/kubernetes", "https")
    assert sorted(e.address for e in kubernetes) == sorted(e.address for e in enis)
    for endpoint in kubernetes:
        assert endpoint.port == 443 and endpoint.node_name == "" and endpoint.pod == ""
        assert cluster.vpc.contains(endpoint.address) and cluster.subnet_of_address(endpoint.address) is not None
        assert cluster.pods_at_address(endpoint.address) == () and cluster.node_of_address(endpoint.address) is None
        assert cluster.address_info(endpoint.address).role == "EKS control plane ENI"
    # the files follow the API: discovery.k8s.io/v1, the service-name label, managed-by on the controller's only
    items = dump["endpointslices"]["items"]
    assert {i["apiVersion"] for i in items} == {"discovery.k8s.io/v1"} and {i["kind"] for i in items} == {
        "EndpointSlice"}
    api_server = items[_slice_index(dump, "kubernetes")]
    assert api_server["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert api_server["metadata"]["name"] == "kubernetes" and "ownerReferences" not in api_server["metadata"]
    assert all(e["conditions"] == {"ready": True} and "nodeName" not in e for e in api_server["endpoints"])
    controller = items[_slice_index(dump, "kube-dns")]
    assert controller["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslice-controller.k8s.io"
    assert controller["metadata"]["generateName"] == "kube-dns-"
    assert controller["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert controller["endpoints"][0]["targetRef"]["kind"] == "Pod"
    eks = [e for e in dump["enis"]["NetworkInterfaces"] if e["Description"].startswith("Amazon EKS ")]
    assert len(eks) == 2 and all("InstanceId" not in e["Attachment"] for e in eks)
    assert all(e["RequesterId"].endswith(":AmazonEKS") for e in eks)


def test_a_dump_without_slices_loads_with_a_note_and_derives_them(dump):
    full = load_sample("two-node")
    cluster = from_dump({k: v for k, v in dump.items() if k != "endpointslices"}, name="two-node")
    (note,) = cluster.notes
    assert "no endpointslices_json" in note and "default/kubernetes has none" in note
    for svc in full.services:
        if svc.key == "default/kubernetes":
            assert cluster.service_slices(svc.key) == () and cluster.service_endpoints(svc.key) == ()
            continue
        for port in svc.ports:
            assert cluster.service_endpoints(svc.key, port.name) == full.service_endpoints(svc.key, port.name)
        (derived,) = cluster.service_slices(svc.key)
        assert derived.name == f"{svc.name}-derived" and derived.managed_by == "endpointslice-controller.k8s.io"
    # the control-plane ENIs still come from enis.json: their description names the one EKS cluster
    assert cluster.control_plane_enis == full.control_plane_enis
    # nor EC2's answers: no control-plane ENI is known at all
    bare = from_kubectl(dump["nodes"], dump["pods"], dump["services"])
    assert bare.control_plane_enis == () and len(bare.notes) == 2


def test_without_enis_the_control_plane_is_inferred_from_default_kubernetes(dump):
    full = load_sample("two-node")
    cluster = from_kubectl(dump["nodes"], dump["pods"], dump["services"], endpointslices_json=dump["endpointslices"])
    assert any("control-plane ENIs inferred from default/kubernetes's EndpointSlice (2 addresses" in n
               for n in cluster.notes)
    assert sorted(e.address for e in cluster.control_plane_enis) == sorted(e.address for e in full.control_plane_enis)
    for eni in cluster.control_plane_enis:
        assert eni.inferred and eni.id == "eni-unknown-eks-" + str(eni.address).replace(".", "-")
        subnet = cluster.subnet(eni.subnet_id)
        # the stand-in subnet of the zone whose addresses lie nearest: the zone of the real ENI
        assert subnet.inferred and eni.address in subnet.cidr
        assert subnet.az == full.subnet_of_address(eni.address).az
        assert cluster.address_info(eni.address).role == "EKS control plane ENI"
    # with enis.json but without its EKS interfaces (filtered to the nodes): inferred too, in the real subnets
    nodes_only = copy.deepcopy(dump)
    nodes_only["enis"]["NetworkInterfaces"] = [
        e for e in nodes_only["enis"]["NetworkInterfaces"] if not e["Description"].startswith("Amazon EKS")]
    again = from_dump(nodes_only)
    assert [e.subnet_id for e in again.control_plane_enis] == [
        full.subnet_of_address(e.address).id for e in again.control_plane_enis]
    assert all(e.inferred for e in again.control_plane_enis)
    # to_kubectl writes no inferred ENI: EC2 would not know it
    assert not [e for e in to_kubectl(again)["enis"]["NetworkInterfaces"] if "Amazon EKS" in e["Description"]]


def test_another_clusters_eks_interfaces_are_left_out(dump):
    data = copy.deepcopy(dump)
    eks = [e for e in data["enis"]["NetworkInterfaces"] if e["Description"].startswith("Amazon EKS")]
    foreign = copy.deepcopy(eks[0])
    foreign.update(NetworkInterfaceId="eni-0f0f0f0f0f0f0f0f0", Description="Amazon EKS other-cluster",
                   PrivateIpAddress="192.168.96.200",
                   PrivateIpAddresses=[{"Primary": True, "PrivateIpAddress": "192.168.96.200"}])
    data["enis"]["NetworkInterfaces"].append(foreign)
    cluster = from_dump(data, name="two-node")
    assert len(cluster.control_plane_enis) == 2 and "eni-0f0f0f0f0f0f0f0f0" not in {
        e.id for e in cluster.control_plane_enis}
    assert any("1 ENIs of enis_json belong to no node" in n for n in cluster.notes)
    # without the slices, the description decides: the one named like the cluster
    no_slices = {k: v for k, v in data.items() if k != "endpointslices"}
    assert {e.description for e in from_dump(no_slices, name="two-node").control_plane_enis} == {
        "Amazon EKS two-node"}


def test_round_trip_keeps_slices_and_control_plane():
    cluster = build_cluster([("t3.medium", 2)], name="rt", seed=5,
                            workloads=[Workload("web", 3, service=ServiceSpec()),
                                       Workload("idle", 0, service=ServiceSpec(port=81))])
    text = json.loads(json.dumps(to_kubectl(cluster)))
    again = from_dump(text, name="rt")
    assert again == cluster and again.notes == ()
    assert len(again.endpoint_slices) == 4 and len(again.control_plane_enis) == 2
    assert again.service_endpoints("default/web", "http") == cluster.service_endpoints("default/web", "http")


def _slice_edit(dump, service, path, value):
    data = copy.deepcopy(dump)
    target = data["endpointslices"]["items"][_slice_index(dump, service)]
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = int(keys[-1]) if isinstance(target, list) else keys[-1]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


BAD_SLICES = [
    ("kube-dns", "endpoints.0.addresses.0", "10.0.1.999",
     r"endpointslice kube-system/kube-dns-\w+: endpoints\[0\].addresses\[0\] '10.0.1.999' is not an IPv4 address"),
    ("kube-dns", "endpoints.0.addresses", [], r"endpoints\[0\].addresses is missing or empty"),
    ("kube-dns", "endpoints.0.addresses", "10.0.0.1", r"endpoints\[0\].addresses '10.0.0.1' is not a list"),
    ("kube-dns", "endpoints.0.conditions.ready", "yes", r"endpoints\[0\].conditions.ready 'yes' is not true or false"),
    ("kube-dns", "endpoints.0.conditions", [], r"endpoints\[0\].conditions is a list"),
    ("kube-dns", "endpoints.0.nodeName", 7, r"endpoints\[0\].nodeName 7 is not a string"),
    ("kube-dns", "endpoints.0.targetRef", "pod", r"endpoints\[0\].targetRef is a string"),
    ("kube-dns", "endpoints.0.targetRef.name", KeyError, r"endpoints\[0\].targetRef.name is missing"),
    ("kube-dns", "endpoints", {"a": 1}, r"endpoints \{'a': 1\} is not a list"),
    ("kube-dns", "ports.0.port", 70000, r"ports\[0\].port 70000 is outside 1-65535"),
    ("kube-dns", "ports.0.port", KeyError, r"ports\[0\].port is missing: a port without a number means 'all ports'"),
    ("kube-dns", "ports.0.protocol", "HTTP", r"ports\[0\].protocol 'HTTP' is not one of TCP, UDP, SCTP"),
    ("kube-dns", "ports.1.name", "dns", r"ports\[1\].name 'dns' appears twice"),
    ("kube-dns", "addressType", "IPX", r"addressType 'IPX' is not one of IPv4, IPv6, FQDN"),
    ("kube-dns", "addressType", KeyError, r"endpointslice kube-system/kube-dns-\w+: addressType is missing"),
    ("kube-dns", "metadata.namespace", KeyError, r"endpointslice kube-dns-\w+: metadata.namespace is missing"),
    ("kube-dns", "kind", "Pod", r"endpointslices_json item 1: kind is 'Pod', not 'EndpointSlice'"),
    # found by validation: each names the slice and the field
    ("kube-dns", "endpoints.0.nodeName", "ip-9-9-9-9",
     r"EndpointSlice kube-system/kube-dns-\w+: endpoints\[0\].node_name 'ip-9-9-9-9' is not a node"),
    ("kube-dns", "endpoints.0.targetRef.name", "coredns-gone",
     r"endpoints\[0\].target_pod 'kube-system/coredns-gone' is not a pod of this cluster"),
    ("kube-dns", "endpoints.0.addresses.0", "192.168.96.6",
     r"endpoints\[0\].address 192.168.96.6 is not the address \S+ of its pod"),
    ("kube-dns", "metadata.labels.kubernetes.io/service-name", "dns",
     r"EndpointSlice kube-system/kube-dns-\w+: service 'kube-system/dns' \(label kubernetes.io/service-name\) is not"),
]


@pytest.mark.parametrize("service, path, value, message", BAD_SLICES,
                         ids=[f"{p}-{i}" for i, (_, p, _, _) in enumerate(BAD_SLICES)])
def test_each_malformed_slice_is_named(dump, service, path, value, message):
    if path.startswith("metadata.labels."):  # a label key with dots: edit the dict directly
        data = copy.deepcopy(dump)
        data["endpointslices"]["items"][_slice_index(dump, service)]["metadata"]["labels"][
            "kubernetes.io/service-name"] = value
    else:
        data = _slice_edit(dump, service, path, value)
    with pytest.raises(EkslibError, match=message):
        from_dump(data)


def test_slices_kube_proxy_ignores_are_left_out_with_a_note(dump):
    data = copy.deepcopy(dump)
    items = data["endpointslices"]["items"]
    ipv6 = copy.deepcopy(items[_slice_index(dump, "kube-dns")])
    ipv6["metadata"]["name"] = "kube-dns-v6abc"
    ipv6["addressType"] = "IPv6"
    ipv6["endpoints"][0]["addresses"] = ["fd00::5"]
    orphan = copy.deepcopy(items[_slice_index(dump, "web")])
    orphan["metadata"]["name"] = "custom"
    del orphan["metadata"]["labels"]["kubernetes.io/service-name"]
    two = items[_slice_index(dump, "web")]["endpoints"][0]
    two["addresses"] = two["addresses"] + ["192.168.250.1"]
    items += [ipv6, orphan]
    cluster = from_dump(data, name="two-node")
    assert sorted(cluster.notes) == [
        "1 EndpointSlice endpoints list several addresses: only the first is read, as kube-proxy does",
        "1 EndpointSlices of address type IPv6 left out: kube-proxy (IPv4) ignores them",
        "1 EndpointSlices without a kubernetes.io/service-name label left out: kube-proxy (IPv4) ignores them",
    ]
    assert cluster.endpoint_slices == load_sample("two-node").endpoint_slices
    # a missing condition reads as the API says: ready true, serving as ready, terminating false
    data = _slice_edit(dump, "kube-dns", "endpoints.0.conditions", {"ready": False})
    (endpoint, *_) = from_dump(data).service_slices("kube-system/kube-dns")[0].endpoints
    assert (endpoint.ready, endpoint.serving, endpoint.terminating) == (False, False, False)
    data = _slice_edit(dump, "kube-dns", "endpoints.0.conditions", KeyError)
    (endpoint, *_) = from_dump(data).service_slices("kube-system/kube-dns")[0].endpoints
    assert (endpoint.ready, endpoint.serving, endpoint.terminating) == (True, True, False)


def test_derived_slices_resolve_named_ports_and_follow_pod_readiness(dump):
    pods = copy.deepcopy(dump["pods"])
    services = copy.deepcopy(dump["services"])
    web = next(s for s in services["items"] if s["metadata"]["name"] == "web")
    web["spec"]["ports"][0]["targetPort"] = "http"
    web_pods = [p for p in pods["items"] if p["metadata"]["labels"].get("app") == "web"]
    for pod in web_pods[:2]:
        pod["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    web_pods[0]["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    web_pods[1]["metadata"]["deletionTimestamp"] = "2025-01-15T09:05:00Z"
    cluster = from_kubectl(dump["nodes"], pods, services, enis_json=dump["enis"], subnets_json=dump["subnets"],
                           vpcs_json=dump["vpcs"])
    slices = cluster.service_slices("default/web")
    # the third pod declares no port "http": the controller's FindPort fails, it goes to a slice without ports
    assert sorted((len(s.ports), len(s.endpoints)) for s in slices) == [(0, 1), (1, 2)]
    seen = {e.pod: e for e in cluster.service_endpoints("default/web", "http")}

    def key(pod):
        return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"

    assert set(seen) == {key(p) for p in web_pods[:2]}
    assert all(e.port == 8080 for e in seen.values())
    assert (seen[key(web_pods[0])].ready, seen[key(web_pods[0])].serving) == (False, False)
    assert (seen[key(web_pods[1])].ready, seen[key(web_pods[1])].serving, seen[key(web_pods[1])].terminating) == (
        False, True, True)


def test_fetch_kubectl_json_lists_endpointslices(monkeypatch):
    import sys
    import types

    class Item(dict):
        pass

    def result(*names):
        return types.SimpleNamespace(items=[Item(metadata={"name": n}) for n in names])

    client = types.SimpleNamespace(
        CoreV1Api=lambda: types.SimpleNamespace(list_node=lambda: result("n1"),
                                                list_pod_for_all_namespaces=lambda: result("p1"),
                                                list_service_for_all_namespaces=lambda: result("s1")),
        DiscoveryV1Api=lambda: types.SimpleNamespace(list_endpoint_slice_for_all_namespaces=lambda: result("e1")),
        ApiClient=lambda: types.SimpleNamespace(sanitize_for_serialization=lambda item: dict(item)),
    )
    config = types.SimpleNamespace(load_kube_config=lambda config_file=None, context=None: None)
    monkeypatch.setitem(sys.modules, "kubernetes", types.SimpleNamespace(client=client, config=config))
    dump = kube_sources.fetch_kubectl_json()
    assert sorted(dump) == ["endpointslices", "nodes", "pods", "services"]
    (item,) = dump["endpointslices"]["items"]
    assert item["apiVersion"] == "discovery.k8s.io/v1" and item["kind"] == "EndpointSlice"
    assert dump["nodes"]["items"][0]["apiVersion"] == "v1"
