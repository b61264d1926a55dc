"""The real-kernel lab: what it plans (everywhere), and what it does in a real kernel (root only; CI runs as root).

The kernel tests never look at the host's network except to read it, and check that reading shows no change.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from ekslib.dataplane.iptables import iptables_save
from ekslib.dataplane.vpc_cni import node_dataplane
from ekslib.errors import EkslibError
from ekslib.flows.flow import Address, ConntrackEntry
from ekslib.flows.scenarios import scenario, scenario_cluster, scenario_setup, service_cluster
from ekslib.lab import kernel
from ekslib.lab.lab import parse_trace
from ekslib.lab.plan import lab_plan
from ekslib.lab.traffic import parse_conntrack
from ekslib.lab.verify import CASES, NOT_PLAYED, normalise

LAB_OK, WHY = kernel.lab_support()
needs_lab = pytest.mark.skipif(not LAB_OK, reason=f"no real-kernel lab here: {WHY}")


# ------------------------------------------------------------------------------------------- the plan
@pytest.fixture(scope="module")
def plan():
    return lab_plan(service_cluster(), tag="ekslab-1-0")


def test_every_name_carries_the_tag_and_fits_the_kernel(plan):
    names = [n.name for n in plan.namespaces]
    assert len(names) == len(set(names))
    assert all(n.startswith("ekslab-1-0-") and kernel.parse_tag(n) == ("ekslab", 1) for n in names)
    for link in plan.links:
        assert len(link.name_a) <= 15 and len(link.name_b) <= 15  # IFNAMSIZ - 1
    assert all(len(b) <= 15 for _, b, _ in plan.bridges)


def test_nodes_load_the_same_rule_text_the_engine_walks(plan):
    cluster = plan.cluster
    for node in cluster.nodes:
        space = plan.namespace(plan.node_namespaces[node.name])
        assert space.iptables == iptables_save(cluster, node.name, cni=plan.cni)
        assert space.zone == f"node {node.name}"


def test_pods_are_wired_as_the_vpc_cni_wires_them(plan):
    cluster = plan.cluster
    node = cluster.nodes[0]
    dp = node_dataplane(cluster, node.name)
    pod_ns = dict(plan.pod_namespaces)
    for veth in dp.veths:
        ns = pod_ns[veth.pod]
        routes = [r.route.text() for r in plan.routes if r.ns == ns]
        assert routes == ["default via 169.254.1.1 dev eth0", "169.254.1.1 dev eth0 scope link"]
        neighbour = next(n for n in plan.neighbours if n.ns == ns)
        assert (str(neighbour.address), neighbour.lladdr) == ("169.254.1.1", veth.host_mac)
        address = next(a for a in plan.addresses if a.ns == ns)
        assert (address.address, address.prefixlen) == (veth.address, 32)
    node_ns = plan.node_namespaces[node.name]
    priorities = sorted({r.priority for r in plan.rules if r.ns == node_ns})
    assert priorities[:2] == [512, 1024] and 32765 in priorities


def test_secondary_addresses_are_proxy_arp_entries_on_their_eni(plan):
    cluster = plan.cluster
    for node in cluster.nodes:
        ns = plan.node_namespaces[node.name]
        proxies = {(n.dev, n.address) for n in plan.neighbours if n.ns == ns and n.proxy}
        expected = {(e.interface, a) for e in node.enis for a in e.secondary_ips}
        assert proxies == expected


def test_the_source_destination_check_lets_an_eni_send_only_what_it_holds(plan):
    ebtables = plan.namespace(plan.namespace_of_role("vpc")).ebtables
    eni = next(e for n in plan.cluster.nodes for e in n.enis if not e.is_primary)
    node = next(i for i, n in enumerate(plan.cluster.nodes) if n.name == eni.node)
    chain = f"SDC-n{node}e{eni.device_number}-OUT"
    allowed = {IPv4Network(line.split("--ip-src ")[1].split()[0]) for line in ebtables.splitlines()
               if line.startswith(f"-A {chain} ") and "--ip-src" in line}
    assert allowed == {IPv4Network(f"{a}/32") for a in (eni.primary_ip, *eni.secondary_ips)}
    assert f"-A {chain} -j DROP" in ebtables


def test_private_subnets_leave_by_the_nat_gateway_public_ones_by_the_internet_gateway():
    plan = lab_plan(scenario_cluster("private"), tag="t")
    vpc = plan.namespace_of_role("vpc")
    private = [s.cidr for s in plan.cluster.subnets if not s.public]
    rules = [r for r in plan.rules if r.ns == vpc and r.src in private]
    assert rules and all(r.table == 100 for r in rules)
    nat = plan.namespace(plan.namespace_of_role("nat-gateway"))
    assert "-j SNAT --to-source 198.51.100.20 --random-fully" in nat.iptables
    vpc_rules = plan.namespace(vpc).iptables
    assert "-A FORWARD -o igw+ -m comment --comment \"internet gateway: no public IPv4 address\" -j DROP" in vpc_rules


def test_load_balancers_keep_or_hide_the_client_as_aws_does():
    instance = lab_plan(service_cluster(), tag="t").namespace("t-lb").iptables
    assert "DNAT --to-destination" in instance and "SNAT" not in instance  # instance targets keep the client
    ip_tcp = lab_plan(service_cluster(target_type="ip"), tag="t").namespace("t-lb").iptables
    assert "-j SNAT" in ip_tcp and ":8080" in ip_tcp  # IP targets over TCP: the pod sees the NLB
    ip_kept = lab_plan(service_cluster(target_type="ip", preserve_client_ip=True), tag="t").namespace("t-lb")
    assert "-j SNAT" not in ip_kept.iptables


# ------------------------------------------------------------------------------------------- parsers
def test_parse_conntrack_reads_what_conntrack_prints():
    text = ("tcp      6 431999 ESTABLISHED src=203.0.113.77 dst=192.168.0.4 sport=40000 dport=30080 "
            "src=192.168.0.21 dst=192.168.0.4 sport=8080 dport=7932 [ASSURED] mark=128 use=1\n"
            "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 "
            "sport=53 dport=5000 mark=0 use=1\nconntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.")
    tcp, udp = parse_conntrack(text, "node a")
    assert tcp.reply_dst == Address(IPv4Address("192.168.0.4"), 7932) and tcp.mark == 128
    assert udp.protocol == "udp" and udp.original_dst.port == 53 and udp.zone == "node a"


def test_parse_trace_keeps_the_first_packet_and_drops_the_trace_rule():
    text = ("PACKET: 2 aa IN=eth0 SRC=1.1.1.1\n"
            " TRACE: 2 aa raw:PREROUTING:rule:0x2:CONTINUE  -4 -t raw -A PREROUTING -p tcp -j TRACE\n"
            " TRACE: 2 aa raw:PREROUTING:policy:ACCEPT \n"
            " TRACE: 2 aa nat:PREROUTING:rule:0x28:JUMP:KUBE-SERVICES  -4 -t nat -A PREROUTING -j KUBE-SERVICES\n"
            " TRACE: 2 bb nat:PREROUTING:rule:0x28:JUMP:KUBE-SERVICES  -4 -t nat -A PREROUTING -j KUBE-SERVICES\n")
    steps = parse_trace(text)
    assert [(s.table, s.chain, s.verdict) for s in steps] == [("raw", "PREROUTING", "policy ACCEPT"),
                                                              ("nat", "PREROUTING", "KUBE-SERVICES")]
    assert steps[1].rule == "-A PREROUTING -j KUBE-SERVICES"


def test_normalise_hides_the_ports_a_nat_picks_at_random():
    entry = ConntrackEntry("node a", "tcp", Address.parse("203.0.113.77:40000"), Address.parse("192.168.0.4:30080"),
                           Address.parse("192.168.0.21:8080"), Address.parse("192.168.0.4:7932"), 128)
    (text,) = normalise([entry], {30080, 8080}, 40000)
    assert text == ("node a: tcp 203.0.113.77:sport > 192.168.0.4:30080 | 192.168.0.21:8080 > 192.168.0.4:* "
                    "mark=128")


def test_every_case_is_a_scenario_and_what_is_not_played_says_why():
    from ekslib.flows.scenarios import SCENARIOS

    assert {c.scenario for c in CASES} | {"overlay-pod-to-pod"} == set(SCENARIOS)
    assert all(len(why) > 40 for why in NOT_PLAYED.values())


def test_without_a_lab_the_reason_is_one_sentence(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ok, why = kernel.lab_support()
    assert not ok and "root" in why and why.count(". ") == 0


def test_the_lab_refuses_a_bad_prefix():
    from ekslib.lab import Lab

    with pytest.raises(EkslibError, match="lower-case letters"):
        Lab(prefix="Bad-1")


# ------------------------------------------------------------------------------------------- the kernel
def _host_network() -> dict[str, str]:
    """The host namespace's addresses, routes, policy rules, neighbours, netfilter rules and lab sysctls (read
    only; iptables-nft reads the kernel's tables without creating any)."""
    commands = {"addresses": ["ip", "-j", "addr"], "routes": ["ip", "-j", "route", "show", "table", "all"],
                "rules": ["ip", "-j", "rule"], "links": ["ip", "-j", "link"],
                "iptables": ["iptables-nft-save"], "ebtables": ["ebtables-nft-save"]}
    out = {}
    for name, command in commands.items():
        text = subprocess.run(command, capture_output=True, text=True).stdout
        if name in ("addresses", "links"):  # counters and timers move; the configuration does not
            items = json.loads(text or "[]")
            for item in items:
                for key in ("stats64", "operstate", "flags", "link_type"):
                    item.pop(key, None)
                for info in item.get("addr_info", []):
                    info.pop("valid_life_time", None)
                    info.pop("preferred_life_time", None)
            text = json.dumps(items, sort_keys=True)
        if name in ("iptables", "ebtables"):
            text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
            text = "\n".join(line.split("[")[0] if line.startswith(":") else line for line in text.splitlines())
        out[name] = text
    for key in ("net/ipv4/ip_forward", "net/ipv4/conf/all/rp_filter", "net/ipv4/conf/all/arp_ignore",
                "net/bridge/bridge-nf-call-iptables"):
        path = f"/proc/sys/{key}"
        out[key] = Path(path).read_text() if os.path.exists(path) else ""
    return out


@pytest.fixture(scope="module")
def services_lab():
    from ekslib.lab import Lab

    cluster, cni = scenario_setup("nodeport", secondary_eni=True)
    with Lab(cluster, cni=cni) as lab:
        yield lab


@needs_lab
def test_the_host_network_is_the_same_after_a_lab_and_after_an_exception_or_ctrl_c_inside_one():
    from ekslib.lab import Lab, lab_namespaces

    before = _host_network()
    with Lab(scenario_cluster("private")) as lab:
        assert lab.connect(lab.cluster.pods[1].key, "internet").reply_accepted
    assert _host_network() == before
    for interruption in (RuntimeError("boom"), KeyboardInterrupt()):  # an error, and Ctrl-C
        with pytest.raises(type(interruption)), Lab(scenario_cluster("private")) as lab:
            names = [n.name for n in lab.plan.namespaces]
            raise interruption
        assert not set(names) & set(lab_namespaces())
    assert _host_network() == before


@needs_lab
def test_a_lab_left_by_a_killed_process_is_removed_at_the_next_start():
    from ekslib.lab import Lab, lab_namespaces

    child = subprocess.Popen([sys.executable, "-c", "import time\nfrom ekslib.lab import Lab\n"
                              "from ekslib.flows.scenarios import scenario_cluster\n"
                              "Lab(scenario_cluster('private')).start(); print('up', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "up"
    orphans = [n for n in lab_namespaces() if kernel.parse_tag(n)[1] == child.pid]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert orphans and set(orphans) <= set(lab_namespaces())
    lab = Lab(scenario_cluster("private"))
    lab.start()
    try:
        assert set(orphans) <= set(lab.reclaimed)
        assert not set(orphans) & set(lab_namespaces())
    finally:
        lab.stop()


# Notebook 07 plays, and its check cells assert, what the kernel does with a pod-to-pod connection across nodes
# (the pod's own address arrives) and with the NodePort connections to the secondary-ENI pod without the 0x80
# connmark (each dies at that ENI's source/destination check, as the engine predicts): the suite runs that
# notebook once (tests/test_collection.py), so those are not played again here.


@needs_lab
def test_the_kernels_chain_walk_is_the_engines(services_lab):
    from ekslib.lab.verify import walk_table

    table = walk_table(services_lab, "nodeport", secondary_eni=True)  # a random endpoint: the engine follows
    assert len(table) >= 10 and table["same"].all()


@needs_lab
def test_each_connection_reports_only_its_own_drops(services_lab):
    """The VPC's bridge floods no unknown unicast (static FDB entries), so the only drops a connection reports
    are its own: one NodePort connection to a node without a local endpoint, one rule."""
    cluster, cni = scenario_setup("nodeport", external_traffic_policy="Local", local_endpoint=False)
    services_lab.reconfigure(cluster, cni=cni)
    try:
        flow = scenario("nodeport", external_traffic_policy="Local", local_endpoint=False)
        for sport in (43000, 43001):
            obs = services_lab.replay(flow, sport=sport)
            assert not obs.delivered and [d.packets for d in obs.dropped] == [1]
            assert obs.dropped[0].rule == flow.hops[-1].rule  # the rule the engine names
    finally:
        cluster, cni = scenario_setup("nodeport", secondary_eni=True)
        services_lab.reconfigure(cluster, cni=cni)


@needs_lab
def test_the_lab_names_what_it_does_not_know(services_lab):
    with pytest.raises(EkslibError, match="did you mean"):
        services_lab.namespace_of("clinet")


@needs_lab
def test_up_and_down_are_quick():
    from ekslib.lab import Lab

    started = time.perf_counter()
    with Lab() as lab:
        pass
    assert time.perf_counter() - started < 5  # the benchmark measures the goals (1 s / 0.3 s); this catches hangs
    assert set(lab.timings) == {"up", "down"}


@needs_lab
def test_a_normal_user_runs_the_lab_inside_a_user_namespace():
    """What `python -m ekslib lab verify` does for a user who is not root: the same lab, as root of a user
    namespace with its own network and mount namespaces (here started by root, which unshare allows too)."""
    argv = [sys.executable, "-m", "ekslib", "lab", "verify", "--scenario", "pod-to-pod-same-node", "--format",
            "json", "--quiet"]
    wrapped = kernel.user_namespace_command(argv)
    if wrapped is None:
        pytest.skip("this system allows no user namespace")
    done = subprocess.run(wrapped, capture_output=True, text=True, timeout=120)
    rows = json.loads(done.stdout)
    assert done.returncode == 0 and rows and all(r["match"] for r in rows), done.stderr[-500:]
