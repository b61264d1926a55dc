"""How fast a big synthetic cluster is built and turned into a graph: a script, not a test.

    .venv/bin/python benchmarks/bench_cluster.py [--repeat N] [--nodes 200]

Prints, best of N repeats with ``time.perf_counter`` (after one warm-up build of a small cluster, so the
instance-type snapshot is loaded):

1. ``build_cluster`` of ``--nodes`` m5.4xlarge nodes filled to ~110 pods each (108 pods with VPC addresses
   plus aws-node and kube-proxy), in two ways: prefix delegation (max pods 110 by the calculator's ceiling)
   and secondary-IP mode with max pods set to 110. ipamd's steady state per node is cached by
   (instance type, pod count); each repeat starts with that cache cleared, and the build with a warm cache
   is shown too;
2. ``to_networkx`` of that cluster;
3. build + graph (goal: well under 1 s).

The VPC is 10.0.0.0/16 with three private /18 subnets: in secondary-IP mode 200 nodes of 108 pods hold 24,000
addresses (4 ENIs x 30 each), 98 % of what eksctl's three /19s (24,561 usable) can give, so any more nodes
would not fit there.
The figure part of the benchmark (``cluster_figure`` and networkx's spring layout) lives with the figures.
Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench_capacity import best_of, fmt  # noqa: E402  (same folder)

GOAL_BUILD_AND_GRAPH_S = 1.0
PODS_PER_NODE = 110
SUBNETS = [("us-west-2a", "10.0.0.0/18"), ("us-west-2b", "10.0.64.0/18"), ("us-west-2c", "10.0.128.0/18")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeats (best of N)")
    parser.add_argument("--nodes", type=int, default=200, help="m5.4xlarge nodes")
    args = parser.parse_args(argv)

    from ekslib import cluster_build
    from ekslib.cluster_build import NodeGroup, build_cluster
    from ekslib.cluster_graph import to_networkx

    build_cluster([("t3.medium", 1)])  # warm: snapshot, imports
    replicas = args.nodes * (PODS_PER_NODE - 2) - 2  # all but aws-node, kube-proxy; coredns takes 2
    variants = {
        "prefix delegation": dict(node_groups=[NodeGroup("m5.4xlarge", args.nodes)], prefix_delegation=True),
        "secondary IPs, max pods 110": dict(node_groups=[NodeGroup("m5.4xlarge", args.nodes, max_pods=110)]),
    }
    rows: list[tuple[str, float, float | None]] = []
    sizes = []
    for label, kwargs in variants.items():
        def build(kwargs=kwargs):
            return build_cluster(vpc_cidr="10.0.0.0/16", subnets=SUBNETS, workloads=[("app", replicas)], **kwargs)

        def cold_build(build=build):
            cluster_build._steady_per_eni.cache_clear()
            return build()

        cluster = build()
        graph = to_networkx(cluster)
        sizes.append(f"{label}: {len(cluster.nodes)} nodes, {sum(len(n.enis) for n in cluster.nodes)} ENIs, "
                     f"{len(cluster.pods):,} pods; graph {graph.number_of_nodes():,} nodes, "
                     f"{graph.number_of_edges():,} edges")
        t_build = best_of(cold_build, args.repeat)
        t_warm = best_of(build, args.repeat)
        t_graph = best_of(lambda cluster=cluster: to_networkx(cluster), args.repeat)
        rows += [(f"{label}: build_cluster", t_build, None),
                 (f"{label}: build_cluster, ipamd steady states cached", t_warm, None),
                 (f"{label}: to_networkx", t_graph, None),
                 (f"{label}: build + graph", t_build + t_graph, GOAL_BUILD_AND_GRAPH_S)]

    width = max(len(name) for name, _, _ in rows)
    print(f"ekslib cluster benchmark: {args.nodes} x m5.4xlarge, ~{PODS_PER_NODE} pods per node; "
          f"Python {sys.version.split()[0]}; best of {args.repeat}")
    for line in sizes:
        print(f"  {line}")
    print(f"{'figure':<{width}}  {'time':>10}  {'goal':>10}  result")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 10}  ------")
    misses = 0
    for name, seconds, goal in rows:
        verdict = "" if goal is None else ("PASS" if seconds < goal else "MISS")
        misses += verdict == "MISS"
        print(f"{name:<{width}}  {fmt(seconds):>10}  {'-' if goal is None else '< ' + fmt(goal):>10}  {verdict}")
    print("all goals met" if not misses else f"{misses} goal(s) missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
