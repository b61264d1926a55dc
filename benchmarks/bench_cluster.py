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
3. build + graph (goal: well under 1 s);
4. ``cluster_figure`` of that cluster (one marker per ENI above ``DETAIL_LIMIT`` pods, WebGL) and its
   ``to_json``; build + figure + JSON (the issue's goal: under 1.5 s, with the JSON under 4 MB); the same with
   one node highlighted (drawn pod by pod);
5. beside it, networkx's ``spring_layout`` (seed 0) of the same graph (secondary-IP variant only). Its default
   for 500+ nodes is scipy's energy minimisation, O(n^2) per step: 50 iterations on the 23,006-node graph took
   1,027 s here, so by default it runs ``--spring-iterations 1`` and prints that; ``--spring-iterations 50``
   runs the default in full. It is also timed, in full, on the graph without pods (VPC, subnets, nodes, ENIs:
   what the aggregated figure draws). Needs scipy (in requirements.txt); skipped with a note without it.

The VPC is 10.0.0.0/16 with three private /18 subnets: in secondary-IP mode 200 nodes of 108 pods hold 24,000
addresses (4 ENIs x 30 each), 98 % of what eksctl's three /19s (24,561 usable) can give, so any more nodes
would not fit there.
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
GOAL_BUILD_AND_FIGURE_S = 1.5
GOAL_FIGURE_JSON_BYTES = 4_000_000
PODS_PER_NODE = 110
SUBNETS = [("us-west-2a", "10.0.0.0/18"), ("us-west-2b", "10.0.64.0/18"), ("us-west-2c", "10.0.128.0/18")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeats (best of N)")
    parser.add_argument("--nodes", type=int, default=200, help="m5.4xlarge nodes")
    parser.add_argument("--spring-iterations", type=int, default=1,
                        help="iterations of spring_layout on the whole graph (networkx's default: 50; 0 skips it)")
    args = parser.parse_args(argv)

    from ekslib.cluster import build as cluster_build
    from ekslib.cluster.build import build_cluster
    from ekslib.cluster.graph import to_networkx
    from ekslib.cluster.spec import NodeGroup
    from ekslib.figures.cluster import cluster_figure

    build_cluster([("t3.medium", 1)])  # warm: snapshot, imports
    replicas = args.nodes * (PODS_PER_NODE - 2) - 2  # all but aws-node, kube-proxy; coredns takes 2
    variants = {
        "prefix delegation": dict(node_groups=[NodeGroup("m5.4xlarge", args.nodes)], prefix_delegation=True),
        "secondary IPs, max pods 110": dict(node_groups=[NodeGroup("m5.4xlarge", args.nodes, max_pods=110)]),
    }
    rows: list[tuple[str, float, float | None]] = []
    sizes = []
    json_sizes: list[tuple[str, int]] = []
    spring_graph = None
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
        t_figure = best_of(lambda cluster=cluster: cluster_figure(cluster), args.repeat)
        figure = cluster_figure(cluster)
        t_json = best_of(figure.to_json, args.repeat)
        node = cluster.nodes[0].name
        t_highlight = best_of(lambda cluster=cluster, node=node: cluster_figure(cluster, highlight=node).to_json(),
                              args.repeat)
        json_sizes += [(f"{label}: cluster_figure JSON", len(figure.to_json())),
                       (f"{label}: cluster_figure JSON, one node highlighted",
                        len(cluster_figure(cluster, highlight=node).to_json()))]
        rows += [(f"{label}: build_cluster", t_build, None),
                 (f"{label}: build_cluster, ipamd steady states cached", t_warm, None),
                 (f"{label}: to_networkx", t_graph, None),
                 (f"{label}: build + graph", t_build + t_graph, GOAL_BUILD_AND_GRAPH_S),
                 (f"{label}: cluster_figure", t_figure, None),
                 (f"{label}: fig.to_json()", t_json, None),
                 (f"{label}: build + figure + JSON", t_build + t_figure + t_json, GOAL_BUILD_AND_FIGURE_S),
                 (f"{label}: figure + JSON, one node highlighted", t_highlight, None)]
        spring_graph = graph
    rows += _spring_rows(spring_graph, args.spring_iterations)

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
    for name, size in json_sizes:
        verdict = "PASS" if size < GOAL_FIGURE_JSON_BYTES else "MISS"
        misses += verdict == "MISS"
        print(
            f"{name:<{width}}  {size / 1e6:>7.2f} MB  {'< ' + f'{GOAL_FIGURE_JSON_BYTES / 1e6:.0f} MB':>10}  {verdict}"
        )
    print("all goals met" if not misses else f"{misses} goal(s) missed")
    return 0


def _spring_rows(graph, iterations: int) -> list[tuple[str, float, float | None]]:
    """networkx's spring_layout on ``graph`` (``iterations``) and, in full, on its pod-free part."""
    import networkx as nx

    try:
        import scipy  # noqa: F401  (spring_layout needs it for 500+ nodes)
    except ImportError:
        print("spring_layout skipped: it needs scipy for graphs of 500+ nodes (pip install scipy)")
        return []
    rows: list[tuple[str, float, float | None]] = []
    no_pods = graph.subgraph([n for n, d in graph.nodes(data=True) if d["kind"] not in ("pod", "service")])
    rows.append(
        (
            f"spring_layout, graph without pods ({no_pods.number_of_nodes():,} nodes), 50 iterations",
            best_of(lambda: nx.spring_layout(no_pods, seed=0), 1),
            None,
        )
    )
    if iterations > 0:
        rows.append(
            (
                f"spring_layout, whole graph ({graph.number_of_nodes():,} nodes), {iterations} iteration(s)",
                best_of(lambda: nx.spring_layout(graph, seed=0, iterations=iterations), 1),
                None,
            )
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
