"""How fast a node's iptables rules are built and printed: a script, not a test (its figures depend on the machine).

    .venv/bin/python benchmarks/bench_rules.py [--repeat N] [--sizes 10,100,1000,5000]

For each size, a synthetic cluster (``build_cluster``, m5.4xlarge nodes) runs that many Services besides
``default/kubernetes`` and ``kube-system/kube-dns``: 80 % ClusterIP, 15 % NodePort, 5 % LoadBalancer with
``externalTrafficPolicy: Local``, each with 2 or 3 pods. On the cluster's first node it prints, best of N repeats
with ``time.perf_counter`` (wall) and ``time.process_time`` (CPU of this process, less disturbed by other work on
the machine):

1. ``node_ruleset`` -- the VPC CNI's rules and kube-proxy's and kubelet's, as objects (each table checked as a
   whole by ``Table``);
2. ``render`` of that ruleset (what iptables-save prints);
3. ``iptables_save`` -- both (goal for 1,000 Services: at most 200 ms);

(sizes above 1,000 Services are repeated a fifth as often, at least 3 times)

and the counts: Service ports, endpoints (above 1,000 kube-proxy drops its per-endpoint comments), rules, chains,
bytes of text. Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench_capacity import best_times, fmt  # noqa: E402  (same folder)

GOAL_SERVICES = 1000
GOAL_SAVE_S = 0.200
PODS_PER_NODE = 200  # of an m5.4xlarge's 234


def cluster_of(services: int):
    """A cluster with ``services`` Services of 2-3 pods each (see the module docstring)."""
    from ekslib.cluster.build import build_cluster
    from ekslib.cluster.spec import NodeGroup, ServiceSpec, Workload

    workloads = []
    for i in range(services):
        if i % 20 == 19:
            spec = ServiceSpec("LoadBalancer", 80, 8080, external_traffic_policy="Local")
        elif i % 20 >= 16:
            spec = ServiceSpec("NodePort", 80, 8080)
        else:
            spec = ServiceSpec("ClusterIP", 80, 8080)
        workloads.append(Workload(f"app{i:05d}", 2 + i % 2, service=spec))
    pods = sum(w.replicas for w in workloads) + 4
    nodes = max(2, -(-pods // PODS_PER_NODE))
    return build_cluster([NodeGroup("m5.4xlarge", nodes, max_pods=234)], vpc_cidr="10.0.0.0/16",
                         subnets=[("us-west-2a", "10.0.0.0/18"), ("us-west-2b", "10.0.64.0/18"),
                                  ("us-west-2c", "10.0.128.0/18")], workloads=workloads,
                         service_cidr="172.20.0.0/16")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="repeats (best of N)")
    parser.add_argument("--sizes", default="10,100,1000,5000", help="numbers of Services, comma-separated")
    args = parser.parse_args(argv)

    from ekslib.dataplane.iptables import iptables_save, node_ruleset
    from ekslib.linux.iptables_save import render

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"ekslib rules benchmark: Python {sys.version.split()[0]}; best of {args.repeat} (wall / CPU; above "
          f"{GOAL_SERVICES:,} Services best of {max(3, args.repeat // 5)})")
    header = (f"{'services':>8}  {'ports':>6}  {'endpoints':>9}  {'rules':>6}  {'chains':>6}  {'text':>8}  "
              f"{'node_ruleset':>19}  {'render':>19}  {'iptables_save':>19}  result")
    print(header)
    print("-" * len(header))
    misses = 0
    for size in sizes:
        cluster = cluster_of(size)
        node = cluster.nodes[0].name
        ruleset = node_ruleset(cluster, node)
        text = iptables_save(cluster, node)
        ports = sum(len(s.ports) for s in cluster.services if s.cluster_ip is not None)
        endpoints = sum(len(cluster.service_endpoints(s.key, p.name)) for s in cluster.services for p in s.ports)
        rules = sum(len(c.rules) for t in ruleset.tables for c in t.chains)
        chains = sum(len(t.chains) for t in ruleset.tables)
        repeat = args.repeat if size <= GOAL_SERVICES else max(3, args.repeat // 5)  # the big ones take seconds
        build = best_times(lambda cluster=cluster, node=node: node_ruleset(cluster, node), repeat)
        printed = best_times(lambda ruleset=ruleset: render(ruleset), repeat)
        save = best_times(lambda cluster=cluster, node=node: iptables_save(cluster, node), repeat)
        verdict = ""
        if size == GOAL_SERVICES:
            verdict = "PASS" if save[0] <= GOAL_SAVE_S else "MISS"
            misses += verdict == "MISS"
        pair = lambda t: f"{fmt(t[0])} / {fmt(t[1])}"
        print(f"{size:>8,}  {ports:>6,}  {endpoints:>9,}  {rules:>6,}  {chains:>6,}  {len(text) / 1e3:>6.0f} kB  "
              f"{pair(build):>19}  {pair(printed):>19}  {pair(save):>19}  {verdict}")
    print(f"goal: iptables_save of a node with {GOAL_SERVICES:,} Services <= {fmt(GOAL_SAVE_S)} (wall): "
          + ("met" if not misses else "MISSED"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
