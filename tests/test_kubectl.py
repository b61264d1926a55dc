"""from_kubectl / to_kubectl, the sample dumps, and the live sources (EC2 against moto)."""

from __future__ import annotations

import copy
import importlib.util
import json
from ipaddress import IPv4Address

import pytest

from ekslib.cluster.build import build_cluster
from ekslib.cluster.kubectl import from_dump, from_kubectl, load_sample, to_kubectl
from ekslib.cluster.model import veth_name
from ekslib.cluster.spec import NodeGroup
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
        ("pods", "spec.hostNetwork", "yes", "spec.hostNetwork 'yes' is not a bool"),
        ("pods", "status.podIP", "192.168.200.9", "is on no ENI of node"),
        ("nodes", "metadata.labels.node.kubernetes.io/instance-type", None, None),
        ("nodes", "status.addresses", [], r"node ip-192-168-96-4\S+: status.addresses has no InternalIP"),
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
        (42, "int is not a dict"),
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
