"""kube-proxy's iptables mode (ekslib.dataplane.kube_proxy) against kube-proxy's own source and tests.

The expected lines are quoted from github.com/kubernetes/kubernetes ``pkg/proxy/iptables/proxier_test.go`` (read in
the fork aroradaman/kubernetes at 4177b600): the iptables-restore input ``syncProxyRules`` writes, in kube-proxy's
spelling. ``Rule.parse`` reads that spelling into the same objects iptables-save's would give, so each expected
line is compared as a rule, not as text. The clusters here are built by hand to be the ones those tests describe
(node ``test-hostname`` at 192.168.0.2, pod CIDR 10.0.0.0/8, ClusterIPs 172.30.0.0/16).
"""

# ruff: noqa: E501 -- the expected lines are quoted verbatim from proxier_test.go; they cannot be wrapped

from __future__ import annotations

import base64
import dataclasses
import hashlib
from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ekslib.dataplane.kube_proxy as kube_proxy_module
from ekslib.cluster import build_cluster, load_sample
from ekslib.cluster.model import (
    Cluster,
    EndpointPort,
    EndpointSlice,
    Eni,
    Node,
    Service,
    ServicePort,
    SliceEndpoint,
    Subnet,
    Vpc,
)
from ekslib.cluster.spec import ServiceSpec, Workload
from ekslib.dataplane.kube_proxy import KubeProxySettings, chain_name, kube_proxy_ruleset, service_port_name
from ekslib.errors import EkslibError
from ekslib.linux.netfilter import Rule, StatisticOptions

HOST = "test-hostname"


def _node(name: str, address: str) -> Node:
    eni = Eni(f"eni-{name}", name, 0, "subnet-test", IPv4Address(address))
    return Node(name, "m5.large", "us-west-2a", IPv4Address(address), "subnet-test", (eni,))


def _world(services: list[tuple[Service, list[tuple[str, str | None, dict]]]], port: int = 80) -> Cluster:
    """A cluster of ``services``, each with one EndpointSlice: (address, node or None, conditions) per endpoint,
    the slice's ports those of the Service (target port ``port`` unless the Service port says otherwise)."""
    slices = []
    for svc, endpoints in services:
        ports = tuple(EndpointPort(p.name, p.target_port if isinstance(p.target_port, int) else port, p.protocol)
                      for p in svc.ports)
        eps = tuple(SliceEndpoint(IPv4Address(a), node_name=n or "", **cond) for a, n, cond in endpoints)
        slices.append(EndpointSlice(svc.namespace, f"{svc.name}-1", svc.key, "IPv4", eps, ports))
    return Cluster("proxier-test", Vpc("vpc-test", (IPv4Network("192.168.0.0/16"),)),
                   (Subnet("subnet-test", "us-west-2a", IPv4Network("192.168.0.0/24")),),
                   (_node(HOST, "192.168.0.2"), _node("host2", "192.168.0.3")), (),
                   tuple(s for s, _ in services), IPv4Network("172.30.0.0/16"), endpoint_slices=tuple(slices))


def _svc(ns: str, name: str, ip: str, kind: str = "ClusterIP", *, port: int = 80, port_name: str = "p80",
         node_port: int | None = None, policy: str = "", health: int | None = None, lb: str = "",
         protocol: str = "TCP") -> Service:
    return Service(ns, name, kind, IPv4Address(ip), (ServicePort(port, port, protocol, port_name, node_port),),
                   external_traffic_policy=policy, health_check_node_port=health, load_balancer=lb)


def _chain(rs, table: str, chain: str) -> list[str]:
    return [r.text for r in rs.rules(table, chain)]


def _expect(rs, table: str, chain: str, expected: str, why: str = "") -> None:
    """``chain`` holds exactly the rules of ``expected`` (lines as kube-proxy writes them), in that order."""
    lines = [line.strip() for line in expected.strip().splitlines() if line.strip()]
    want = [Rule.parse(line) for line in lines]
    got = list(rs.rules(table, chain))
    assert got == want, (f"{table} {chain}{' (' + why + ')' if why else ''}: proxier_test.go expects\n  "
                         + "\n  ".join(lines) + "\nbut the model has\n  " + "\n  ".join(r.text for r in got))


# ------------------------------------------------------------------------------------------------ chain names


@pytest.mark.parametrize(("kind", "spn", "protocol", "endpoint", "expected"), [
    ("SVC", "kube-system/kube-dns:dns-tcp", "tcp", None, "KUBE-SVC-ERIFXISQEP7F7OF4"),  # dataplane.md, every EKS node
    ("SVC", "kube-system/kube-dns:dns", "udp", None, "KUBE-SVC-TCOU7JCQXEZGVUNU"),
    ("SVC", "default/kubernetes:https", "tcp", None, "KUBE-SVC-NPX46M4PTMTKRN6Y"),
    # proxier_test.go
    ("SVC", "ns1/svc1:p80", "tcp", None, "KUBE-SVC-XPGD46QRK7WJZT7O"),
    ("SVC", "ns2/svc2:p80", "tcp", None, "KUBE-SVC-GNZBNJ2PO5MGZ6GT"),
    ("SVL", "ns2/svc2:p80", "tcp", None, "KUBE-SVL-GNZBNJ2PO5MGZ6GT"),
    ("EXT", "ns2/svc2:p80", "tcp", None, "KUBE-EXT-GNZBNJ2PO5MGZ6GT"),
    ("FW", "ns5/svc5:p80", "tcp", None, "KUBE-FW-NUKIZ6OKUXPJNT4C"),
    ("SVC", "ns3/svc3:p80", "tcp", None, "KUBE-SVC-X27LE4BHSL4DOUIK"),
    ("SVC", "ns4/svc4:p80", "tcp", None, "KUBE-SVC-4SW47YFZTEDKD3PK"),
    ("SVC", "ns2/svc2:p8080", "tcp", None, "KUBE-SVC-2VJB64SDSIJUP5T6"),
    ("SVC", "ns4/svc4:p8082", "tcp", None, "KUBE-SVC-EBDQOQU5SJFXRIL3"),
    ("SEP", "ns1/svc1:p80", "tcp", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
    ("SEP", "ns2/svc2:p80", "tcp", "10.180.0.2:80", "KUBE-SEP-RS4RBKLTHTF2IUXJ"),
    ("SEP", "ns4/svc4:p80", "tcp", "10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"),
    ("SEP", "ns4/svc4:p80", "tcp", "10.180.0.5:80", "KUBE-SEP-C6EBXVWJJZMIWKLZ"),
    ("SEP", "ns5/svc5:p80", "tcp", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"),
    ("SEP", "ns1/svc1:p80", "tcp", "10.0.0.0:80", "KUBE-SEP-DKGQUZGBKLTPAR56"),
    ("SEP", "ns3/svc3:p8081", "TCP", "203.0.113.4:8081", "KUBE-SEP-RUVVH7YV3PHQBDOS"),
    ("SEP", "ns4/svc4:p8082", "tcp", "10.4.0.1:8082", "KUBE-SEP-SU5STNODRYEWJAUF"),
])
def test_chain_names_match_kube_proxy(kind, spn, protocol, endpoint, expected):
    assert chain_name(kind, spn, protocol, endpoint) == expected, \
        f"proxier_test.go names {spn} {protocol} {endpoint or ''} {expected}"


@given(st.text(), st.sampled_from(["TCP", "udp", "sctp"]), st.none() | st.text(max_size=21))
def test_chain_name_is_base32_of_sha256(spn, protocol, endpoint):
    """portProtoHash: base32.StdEncoding of sha256(servicePortName + protocol [+ endpoint]), first 16 characters."""
    digest = hashlib.sha256((spn + protocol.lower() + (endpoint or "")).encode()).digest()
    kind = "SVC" if endpoint is None else "SEP"
    assert chain_name(kind, spn, protocol, endpoint) == f"KUBE-{kind}-" + base64.b32encode(digest).decode()[:16]


def test_chain_name_arguments():
    assert service_port_name("ns/svc", "") == "ns/svc"  # fmtPortName: no ":" for an unnamed port
    with pytest.raises(EkslibError, match="not one of"):
        chain_name("XLB", "ns/svc:p", "tcp")
    with pytest.raises(EkslibError, match="endpoint"):
        chain_name("SEP", "ns/svc:p", "tcp")
    with pytest.raises(EkslibError, match="endpoint"):
        chain_name("SVC", "ns/svc:p", "tcp", "10.0.0.1:80")
    assert all(len(chain_name(k, "a-very-long-namespace/a-very-long-name:port", "sctp", "1.2.3.4:5" if k == "SEP"
                              else None)) <= 28 for k in ("SVC", "SVL", "EXT", "FW", "SEP"))


# ------------------------------------------------------------------------------------ TestOverallIPTablesRules


def _overall() -> tuple[Cluster, KubeProxySettings]:
    """``TestOverallIPTablesRules``: six Services, ``NewFakeProxier`` (pod CIDR 10.0.0.0/8, no --random-fully)."""
    cluster = _world([
        (_svc("ns1", "svc1", "172.30.0.41"), [("10.180.0.1", None, {})]),
        (_svc("ns2", "svc2", "172.30.0.42", "LoadBalancer", node_port=3001, policy="Local", health=30000,
              lb="1.2.3.4"), [("10.180.0.2", None, {})]),
        (_svc("ns3", "svc3", "172.30.0.43", "NodePort", node_port=3003, policy="Cluster"), [("10.180.0.3", None, {})]),
        (_svc("ns4", "svc4", "172.30.0.44", "NodePort"), [("10.180.0.4", None, {}), ("10.180.0.5", HOST, {})]),
        (_svc("ns5", "svc5", "172.30.0.45", "LoadBalancer", node_port=3002, policy="Cluster", health=30000,
              lb="5.6.7.8"), [("10.180.0.3", None, {})]),
        (_svc("ns6", "svc6", "172.30.0.46"), []),
    ])
    settings = KubeProxySettings(
        cluster_cidr="10.0.0.0/8", random_fully=False, kubelet_chains=False,
        external_ips={"ns2/svc2": ["192.168.99.22"], "ns4/svc4": ["192.168.99.33"]},
        load_balancer_source_ranges={"ns5/svc5": [" 203.0.113.0/25"]}, session_affinity={"ns5/svc5": 10800})
    return cluster, settings


def test_overall_iptables_rules_nat():
    cluster, settings = _overall()
    rs = kube_proxy_ruleset(cluster, HOST, settings)
    _expect(rs, "nat", "KUBE-NODEPORTS", """
        -A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
        -A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
        -A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
    """, "less the '-d 127.0.0.0/8 ... -m nfacct --nfacct-name localhost_nps_accepted_pkts' rules: kube-proxy writes "
         "them only when nfacct counters exist, and the netfilter model has no -m nfacct")
    _expect(rs, "nat", "KUBE-SERVICES", """
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
        -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
        -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
        -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
        -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
        -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
        -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
        -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
    """)
    expected = {
        "KUBE-EXT-4SW47YFZTEDKD3PK": """
            -A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
            -A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK""",
        "KUBE-EXT-GNZBNJ2PO5MGZ6GT": """
            -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
            -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
            -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT""",
        "KUBE-EXT-NUKIZ6OKUXPJNT4C": """
            -A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
            -A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C""",
        "KUBE-EXT-X27LE4BHSL4DOUIK": """
            -A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
            -A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK""",
        "KUBE-FW-NUKIZ6OKUXPJNT4C": """
            -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
            -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL\"""",
        "KUBE-MARK-MASQ": "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
        "KUBE-POSTROUTING": """
            -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
            -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
            -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE""",
        "KUBE-SEP-C6EBXVWJJZMIWKLZ": """
            -A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
            -A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80""",
        "KUBE-SEP-I77PXRDZVX7PMWMN": """
            -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
            -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80""",
        "KUBE-SEP-OYPFS5VJICHGATKP": """
            -A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
            -A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80""",
        "KUBE-SEP-RS4RBKLTHTF2IUXJ": """
            -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
            -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80""",
        "KUBE-SEP-SXIVWICOYRO3J4NJ": """
            -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
            -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80""",
        "KUBE-SEP-UKSFD7AGPMPPLUHC": """
            -A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
            -A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80""",
        "KUBE-SVC-4SW47YFZTEDKD3PK": """
            -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
            -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
            -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ""",
        "KUBE-SVC-GNZBNJ2PO5MGZ6GT": """
            -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
            -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ""",
        "KUBE-SVC-NUKIZ6OKUXPJNT4C": """
            -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
            -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
            -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN""",
        "KUBE-SVC-X27LE4BHSL4DOUIK": """
            -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
            -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP""",
        "KUBE-SVC-XPGD46QRK7WJZT7O": """
            -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
            -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ""",
    }
    for chain, lines in expected.items():
        _expect(rs, "nat", chain, lines)
    kube_chains = {c.name for c in rs.table("nat").chains if c.name.startswith("KUBE-")}
    assert kube_chains == {*expected, "KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-PROXY-CANARY"}, \
        "proxier_test.go declares exactly these nat chains (no KUBE-SVL-GNZBNJ2PO5MGZ6GT: svc2 has no local endpoint)"


def test_overall_iptables_rules_filter():
    cluster, settings = _overall()
    rs = kube_proxy_ruleset(cluster, HOST, settings)
    _expect(rs, "filter", "KUBE-NODEPORTS", """
        -A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
    """, "svc5 has a healthCheckNodePort but Cluster policy: no rule")
    _expect(rs, "filter", "KUBE-SERVICES", """
        -A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
    """)
    _expect(rs, "filter", "KUBE-EXTERNAL-SERVICES", """
        -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
        -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
        -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP
    """)
    _expect(rs, "filter", "KUBE-FIREWALL", """
        -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
    """)
    _expect(rs, "filter", "KUBE-FORWARD", """
        -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
        -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
        -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    """, "TestDropInvalidRule without nfacct counters")
    _expect(rs, "filter", "KUBE-PROXY-FIREWALL", """
        -A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
    """)


def test_masquerade_and_invalid_drop_settings():
    cluster, _ = _overall()
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(conntrack_tcp_be_liberal=True))
    assert _chain(rs, "filter", "KUBE-FORWARD")[0].endswith('"kubernetes forwarding rules" -m mark --mark '
                                                           '0x4000/0x4000 -j ACCEPT'), \
        "TestDropInvalidRule: tcpLiberal true -> no '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP'"
    assert _chain(rs, "nat", "KUBE-POSTROUTING")[-1].endswith("-j MASQUERADE --random-fully"), \
        'TestMasqueradeRule: "-A KUBE-POSTROUTING -m comment --comment \\"kubernetes service traffic requiring SNAT\\" -j MASQUERADE --random-fully"'
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(masquerade_bit=10))
    assert _chain(rs, "nat", "KUBE-MARK-MASQ") == ["-A KUBE-MARK-MASQ -j MARK --set-xmark 0x400/0x400"]
    with pytest.raises(EkslibError, match="0..31"):
        KubeProxySettings(masquerade_bit=32)


# ------------------------------------------------------------------------------------------------- EKS defaults


def test_eks_has_no_cluster_cidr_so_no_local_detector():
    cluster, _ = _overall()
    rs = kube_proxy_ruleset(cluster, HOST)
    assert not KubeProxySettings().detects_local
    svc = _chain(rs, "nat", "KUBE-SVC-XPGD46QRK7WJZT7O")
    assert svc == ['-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" '
                   "-j KUBE-SEP-SXIVWICOYRO3J4NJ"], \
        "no '! -s <clusterCIDR> -j KUBE-MARK-MASQ' rule without a cluster CIDR (the no-op LocalTrafficDetector)"
    ext = _chain(rs, "nat", "KUBE-EXT-GNZBNJ2PO5MGZ6GT")
    assert not any("pod traffic for" in line for line in ext) and len(ext) == 2, ext


def test_masquerade_all_and_interface_prefix_detector():
    cluster, _ = _overall()
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(masquerade_all=True))
    assert _chain(rs, "nat", "KUBE-SVC-XPGD46QRK7WJZT7O")[0] == (
        '-A KUBE-SVC-XPGD46QRK7WJZT7O -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" '
        "-m tcp --dport 80 -j KUBE-MARK-MASQ")
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(detect_local_mode="InterfaceNamePrefix",
                                                             interface_name_prefix="eni"))
    assert _chain(rs, "nat", "KUBE-SVC-XPGD46QRK7WJZT7O")[0].startswith("-A KUBE-SVC-XPGD46QRK7WJZT7O -d "
                                                                        "172.30.0.41/32 ! -i eni+ -p tcp")
    assert _chain(rs, "nat", "KUBE-EXT-GNZBNJ2PO5MGZ6GT")[0].startswith("-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -i eni+ ")
    with pytest.raises(EkslibError, match="interface_name_prefix"):
        KubeProxySettings(detect_local_mode="InterfaceNamePrefix")


def test_load_balancer_hostnames_get_no_rules():
    """AWS ELBs publish a hostname: serviceport.go skips an ingress without an IP, so no LB rule and no KUBE-FW."""
    cluster = load_sample("two-node")
    web = cluster.service("default/web")
    assert web.load_balancer.endswith(".elb.us-west-2.amazonaws.com")
    rs = kube_proxy_ruleset(cluster, cluster.nodes[0].name,
                            KubeProxySettings(load_balancer_source_ranges={"default/web": ["10.0.0.0/8"]}))
    text = rs.text
    assert "loadbalancer IP" not in text and "KUBE-FW-" not in text and "KUBE-PROXY-FIREWALL -" not in text.replace(
        ":KUBE-PROXY-FIREWALL - ", "")


# ------------------------------------------------------------------------------------- endpoints and policies


def test_statistic_probabilities_make_a_uniform_choice():
    for n in (1, 2, 3, 4, 5, 7, 10, 33):
        endpoints = [(f"10.1.{i // 250}.{i % 250 + 1}", HOST, {}) for i in range(n)]
        cluster = _world([(_svc("ns", "many", "172.30.1.1"), endpoints)])
        rules = kube_proxy_ruleset(cluster, HOST).rules("nat", chain_name("SVC", "ns/many:p80", "tcp"))
        assert len(rules) == n
        assert not rules[-1].find("statistic"), "the last endpoint's rule is unconditional"
        remaining, chances = 1.0, []
        for i, rule in enumerate(rules):
            stats = rule.find("statistic")
            p = stats[0].options.probability if stats else 1.0
            expected = StatisticOptions("random", float(f"{1 / (n - i):0.10f}")).probability
            assert p == expected, f"endpoint {i} of {n}: 1/(n-i) as computeProbability prints it ('%0.10f')"
            chances.append(remaining * p)
            remaining *= 1 - p
        assert all(abs(c - 1 / n) < 1e-8 for c in chances), chances


def test_probability_texts_of_kube_proxy_and_iptables_save():
    """kube-proxy writes %0.10f (TestComputeProbability: 1/3 -> "0.3333333333"), iptables-save %.11f of the
    kernel's 2**-31 step; parsing either gives the same rule."""
    written = Rule.parse('-A KUBE-SVC-X -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-Y')
    assert written.text == "-A KUBE-SVC-X -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-Y"
    assert Rule.parse(written.text) == written


def test_endpoint_order_is_kube_proxys():
    """Endpoints are sorted by their ip:port text (TestUpdateEndpointsMap: "10.1.1.11:11" before "10.1.1.1:11")."""
    cluster = _world([(_svc("ns1", "ep1", "172.30.0.1", port=11, port_name="p11", protocol="UDP"),
                       [("10.1.1.1", None, {}), ("10.1.1.11", None, {})])], port=11)
    rules = kube_proxy_ruleset(cluster, HOST).rules("nat", chain_name("SVC", "ns1/ep1:p11", "udp"))
    assert [r.find("comment")[0].options.text for r in rules] == ["ns1/ep1:p11 -> 10.1.1.11:11",
                                                                  "ns1/ep1:p11 -> 10.1.1.1:11"]


def test_local_policy_without_local_endpoint_drops_in_filter():
    c = build_cluster([("t3.medium", 2)], workloads=[
        Workload("web", 1, service=ServiceSpec("LoadBalancer", 80, 8080, external_traffic_policy="Local"))])
    web = c.service("default/web")
    (endpoint,) = c.service_endpoints(web.key, "http")
    other = next(n.name for n in c.nodes if n.name != endpoint.node_name)
    spn, node_port = "default/web:http", web.ports[0].node_port
    ext = chain_name("EXT", spn, "tcp")

    rs = kube_proxy_ruleset(c, other)
    assert _chain(rs, "filter", "KUBE-EXTERNAL-SERVICES") == [
        f'-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "{spn} has no local endpoints" -m addrtype '
        f"--dst-type LOCAL -m tcp --dport {node_port} -j DROP"], \
        'proxier_test.go: "-A KUBE-EXTERNAL-SERVICES -m comment --comment \\"ns2/svc2:p80 has no local endpoints\\" ' \
        '-m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP"'
    assert not any("KUBE-SVL" in line for line in _chain(rs, "nat", ext)), "no local endpoint: no jump to KUBE-SVL"
    assert "KUBE-SVL-" not in rs.text
    assert _chain(rs, "filter", "KUBE-NODEPORTS")[0].endswith(f"--dport {web.health_check_node_port} -j ACCEPT"), \
        "the health check node port is accepted on every node (it answers 503 where there is no endpoint)"

    rs = kube_proxy_ruleset(c, endpoint.node_name)
    assert rs.rules("filter", "KUBE-EXTERNAL-SERVICES") == ()
    svl = chain_name("SVL", spn, "tcp")
    assert _chain(rs, "nat", ext)[-1] == f"-A {ext} -j {svl}"
    assert len(rs.rules("nat", svl)) == 1


def test_internal_traffic_policy_local():
    endpoints = [("10.0.1.1", HOST, {}), ("10.0.1.2", "host1", {}), ("10.0.1.3", "host2", {})]
    cluster = _world([(_svc("ns1", "svc1", "172.30.1.1", port_name=""), endpoints)])
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(internal_traffic_local={"ns1/svc1"}))
    svl = chain_name("SVL", "ns1/svc1", "tcp")
    assert _chain(rs, "nat", "KUBE-SERVICES")[0].endswith(f"-j {svl}"), "TestInternalTrafficPolicy: ClusterIP -> SVL"
    assert len(rs.rules("nat", svl)) == 1 and chain_name("SVC", "ns1/svc1", "tcp") not in rs.text
    remote_only = _world([(_svc("ns1", "svc1", "172.30.1.1", port_name=""), endpoints[1:])])
    rs = kube_proxy_ruleset(remote_only, HOST, KubeProxySettings(internal_traffic_local={"ns1/svc1"}))
    assert _chain(rs, "filter", "KUBE-SERVICES") == [
        '-A KUBE-SERVICES -d 172.30.1.1/32 -p tcp -m comment --comment "ns1/svc1 has no local endpoints" -m tcp '
        "--dport 80 -j DROP"], "TestInternalTrafficPolicy: no local endpoints -> DROP"


def test_terminating_endpoints_fallback():
    """TestTerminatingEndpointsTrafficPolicyCluster: ready endpoints only while there are some; else those both
    serving and terminating; never the not-serving ones."""
    ready = {"ready": True, "serving": True, "terminating": False}
    draining = {"ready": False, "serving": True, "terminating": True}
    gone = {"ready": False, "serving": False, "terminating": True}
    svc = _svc("ns1", "svc1", "172.30.1.1", port_name="")
    spn = "ns1/svc1"
    cluster = _world([(svc, [("10.0.1.1", HOST, ready), ("10.0.1.3", "x", draining), ("10.0.1.4", "x", gone),
                             ("10.0.1.5", "x", ready)])])
    rules = kube_proxy_ruleset(cluster, HOST).rules("nat", chain_name("SVC", spn, "tcp"))
    assert [r.find("comment")[0].options.text.split(" -> ")[1] for r in rules] == ["10.0.1.1:80", "10.0.1.5:80"]
    cluster = _world([(svc, [("10.0.1.2", HOST, draining), ("10.0.1.4", "x", gone), ("10.0.1.5", "x", draining)])])
    rules = kube_proxy_ruleset(cluster, HOST).rules("nat", chain_name("SVC", spn, "tcp"))
    assert [r.find("comment")[0].options.text.split(" -> ")[1] for r in rules] == ["10.0.1.2:80", "10.0.1.5:80"]
    cluster = _world([(svc, [("10.0.1.5", HOST, gone)])])
    assert _chain(kube_proxy_ruleset(cluster, HOST), "filter", "KUBE-SERVICES")[0].endswith("-j REJECT "
                                                                                           "--reject-with icmp-port-unreachable")


def test_large_cluster_mode_drops_endpoint_comments():
    """TestSyncProxyRulesLargeClusterMode: 2 x 499 endpoints keep their comments, 3 more (1,001 > 1,000) drop them."""
    def eps(prefix: str, n: int):
        return [(f"{prefix}.{i % 256}.{i // 256}", None, {}) for i in range(n)]
    services = [(_svc("ns1", "svc1", "172.30.0.41"), eps("10.0", 499)),
                (_svc("ns2", "svc2", "172.30.0.42", port=8080, port_name="p8080"), eps("10.1", 499))]
    settings = KubeProxySettings(masquerade_all=True)
    rs = kube_proxy_ruleset(_world(services), HOST, settings)
    assert _chain(rs, "nat", "KUBE-SEP-DKGQUZGBKLTPAR56")[1] == Rule.parse(
        "-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80").text
    services.append((_svc("ns3", "svc3", "172.30.0.43", port=8081, port_name="p8081"),
                     [("203.0.113.4", None, {}), ("203.0.113.8", None, {}), ("203.0.113.12", None, {})]))
    rs = kube_proxy_ruleset(_world(services), HOST, settings)
    assert _chain(rs, "nat", "KUBE-SEP-RUVVH7YV3PHQBDOS")[1] == Rule.parse(
        "-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081").text
    assert _chain(rs, "nat", "KUBE-SEP-DKGQUZGBKLTPAR56")[1] == Rule.parse(
        "-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80").text
    svc = _chain(rs, "nat", "KUBE-SVC-XPGD46QRK7WJZT7O")
    assert "cluster IP" in svc[0] and not any("comment" in line for line in svc[1:]), \
        "the masquerade rule keeps its comment; only the endpoint rules lose theirs"
    with_threshold = kube_proxy_ruleset(_world(services), HOST, KubeProxySettings(large_cluster_threshold=5000))
    assert "ns3/svc3:p8081 -> 203.0.113.4:8081" in with_threshold.text


def test_nodeport_addresses_and_localhost():
    cluster, _ = _overall()
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(localhost_nodeports=False))
    assert _chain(rs, "nat", "KUBE-SERVICES")[-1] == (
        '-A KUBE-SERVICES ! -d 127.0.0.0/8 -m comment --comment "kubernetes service nodeports; NOTE: this must be the '
        'last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    assert len(rs.rules("filter", "KUBE-FIREWALL")) == 1, "kubelet's copy of the localnet DROP stays"
    alone = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(localhost_nodeports=False, kubelet_chains=False))
    assert alone.rules("filter", "KUBE-FIREWALL") == (), "localhost NodePorts off: kube-proxy writes no localnet DROP"
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(nodeport_addresses=["192.168.0.0/24", "127.0.0.1/32"],
                                                             localhost_nodeports=False))
    assert [line.split(" -m ")[0] for line in _chain(rs, "nat", "KUBE-SERVICES")[-1:]] == [
        "-A KUBE-SERVICES -d 192.168.0.2/32"], "TestNodePorts: per node IP, loopback left out"
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(nodeport_addresses=["192.168.0.0/24", "127.0.0.1/32"],
                                                             kubelet_chains=False))
    assert [line.split(" -m ")[0] for line in _chain(rs, "nat", "KUBE-SERVICES")[-2:]] == [
        "-A KUBE-SERVICES -d 127.0.0.1/32", "-A KUBE-SERVICES -d 192.168.0.2/32"]
    assert len(rs.rules("filter", "KUBE-FIREWALL")) == 1, "loopback in nodePortAddresses: localhost NodePorts stay on"
    rs = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(nodeport_addresses=["192.168.0.0/24"],
                                                             kubelet_chains=False))
    assert rs.rules("filter", "KUBE-FIREWALL") == (), "no loopback in nodePortAddresses: localhost NodePorts off"


def test_kubelet_chains_and_jump_order():
    cluster, _ = _overall()
    with_kubelet = kube_proxy_ruleset(cluster, HOST)
    assert [r.target.name for r in with_kubelet.rules("filter", "INPUT")] == [
        "KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL"]
    assert [r.target.name for r in with_kubelet.rules("filter", "FORWARD")] == [
        "KUBE-PROXY-FIREWALL", "KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"]
    assert [r.target.name for r in with_kubelet.rules("filter", "OUTPUT")] == [
        "KUBE-PROXY-FIREWALL", "KUBE-SERVICES", "KUBE-FIREWALL"]
    assert {c.name for c in with_kubelet.table("mangle").chains} >= {"KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY",
                                                                     "KUBE-PROXY-CANARY"}
    alone = kube_proxy_ruleset(cluster, HOST, KubeProxySettings(kubelet_chains=False))
    assert [r.target.name for r in alone.rules("filter", "INPUT")] == [
        "KUBE-FIREWALL", "KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES"], \
        "without kubelet's earlier jumps, kube-proxy's own KUBE-FIREWALL jump (ensured last, prepended) comes first"
    assert _chain(with_kubelet, "filter", "INPUT")[2] == (
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" '
        "-j KUBE-EXTERNAL-SERVICES")
    again = kube_proxy_ruleset(cluster, HOST, ruleset=with_kubelet)
    assert again == with_kubelet, "EnsureRule: a jump already there is not added twice; restore replaces the chains"


def test_session_affinity_rules():
    cluster, settings = _overall()
    rs = kube_proxy_ruleset(cluster, HOST, settings)
    sep = "KUBE-SEP-I77PXRDZVX7PMWMN"
    assert _chain(rs, "nat", "KUBE-SVC-NUKIZ6OKUXPJNT4C")[1] == (
        '-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --rcheck '
        f"--seconds 10800 --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}")
    assert KubeProxySettings(session_affinity={"a/b": None}).session_affinity == {"a/b": 10800}
    with pytest.raises(EkslibError, match="86400"):
        KubeProxySettings(session_affinity={"a/b": 0})


def test_samples_cover_every_node():
    for name in ("two-node", "three-node"):
        cluster = load_sample(name)
        for node in cluster.nodes:
            rs = kube_proxy_ruleset(cluster, node.name)
            services = rs.rules("nat", "KUBE-SERVICES")
            assert services[-1].target.name == "KUBE-NODEPORTS" and services[-1].find("addrtype"), \
                "the KUBE-NODEPORTS jump is the last rule of nat KUBE-SERVICES"
            assert all(r.target.name.startswith("KUBE-SVC-") for r in services[:-1])
            ports = sum(len(s.ports) for s in cluster.services if s.cluster_ip is not None)
            assert len(services) == ports + 1
    with pytest.raises(EkslibError, match="no node"):
        kube_proxy_ruleset(load_sample("two-node"), "nope")


def _rich() -> tuple[Cluster, KubeProxySettings]:
    """A sample with every kind of rule: LB IPs with source ranges, external IPs, affinity, iTP Local."""
    cluster = load_sample("two-node")
    services = tuple(dataclasses.replace(s, load_balancer="198.51.100.7") if s.key == "default/web" else s
                     for s in cluster.services)
    cluster = dataclasses.replace(cluster, services=services)
    node = cluster.nodes[0]
    settings = KubeProxySettings(
        cluster_cidr="192.168.0.0/16", external_ips={"default/api": ["203.0.113.9"]},
        load_balancer_source_ranges={"default/web": [f"{node.address}/32", "198.18.0.0/15"]},
        session_affinity={"default/backend": 600}, internal_traffic_local={"kube-system/kube-dns"})
    return cluster, settings


def _large() -> tuple[Cluster, KubeProxySettings]:
    """1,200 endpoints (large-cluster mode) behind ClusterIP, NodePort and Local LoadBalancer Services."""
    kinds = [ServiceSpec("ClusterIP", 80, 8080), ServiceSpec("NodePort", 80, 8080),
             ServiceSpec("LoadBalancer", 80, 8080, external_traffic_policy="Local")]
    workloads = [Workload(f"app{i:03d}", 3, service=kinds[i % 3]) for i in range(400)]
    return (build_cluster([("m5.4xlarge", 6)], workloads=workloads, service_cidr="10.100.0.0/16"),
            KubeProxySettings(session_affinity={"default/app007": 60}))


@pytest.mark.parametrize("which", ["two-node", "three-node", "rich", "overall", "large"])
def test_trusted_construction_equals_validated(which, monkeypatch):
    """The fast path builds the same objects (rules, chains, tables) the validating constructors build."""
    cases = {"rich": _rich, "overall": _overall, "large": _large}
    cluster, settings = cases[which]() if which in cases else (load_sample(which), KubeProxySettings())
    nodes = [n.name for n in cluster.nodes][:2]
    fast = [kube_proxy_ruleset(cluster, n, settings) for n in nodes]
    monkeypatch.setattr(kube_proxy_module, "_TRUSTED", False)
    slow = [kube_proxy_ruleset(cluster, n, settings) for n in nodes]
    assert fast == slow
    assert [c.name for c in fast[0].table("nat").chains] == [c.name for c in slow[0].table("nat").chains]
    assert [r.text for r in fast[0].rules("nat", "KUBE-SERVICES")] == [r.text for r in slow[0].rules("nat",
                                                                                                     "KUBE-SERVICES")]


def test_rich_cluster_rules():
    cluster, settings = _rich()
    node = cluster.nodes[0]
    rs = kube_proxy_ruleset(cluster, node.name, settings)
    fw = chain_name("FW", "default/web:http", "tcp")
    ext = chain_name("EXT", "default/web:http", "tcp")
    assert _chain(rs, "nat", fw) == [
        f'-A {fw} -s {node.address}/32 -m comment --comment "default/web:http loadbalancer IP" -j {ext}',
        f'-A {fw} -s 198.18.0.0/15 -m comment --comment "default/web:http loadbalancer IP" -j {ext}',
        f'-A {fw} -s 198.51.100.7/32 -m comment --comment "default/web:http loadbalancer IP" -j {ext}',
        f'-A {fw} -m comment --comment "other traffic to default/web:http will be dropped by KUBE-PROXY-FIREWALL"',
    ], "the node's own address is in a source range, so the LB IP is allowed as a source too (allowFromNode)"
    assert any("-d 203.0.113.9/32" in line for line in _chain(rs, "nat", "KUBE-SERVICES"))
    dns = chain_name("SVL", "kube-system/kube-dns:dns", "udp")
    assert any(line.endswith(f"-j {dns}") for line in _chain(rs, "nat", "KUBE-SERVICES"))


def test_trusted_table_still_checks_jumps():
    from ekslib.linux.netfilter import Chain, Target
    bad = [Chain("KUBE-X", rules=(Rule("KUBE-X", target=Target("KUBE-MISSING")),))]
    with pytest.raises(EkslibError, match="KUBE-MISSING"):
        kube_proxy_module._table("nat", bad)
