"""How fast a packet is traced and animated: a script, not a test.

    .venv/bin/python benchmarks/bench_flows.py [--repeat N]

Prints, best of N repeats with ``time.perf_counter`` (after one warm-up of each, so the scenarios' clusters are
built, the nodes' rules generated and plotly imported):

1. ``trace`` of a pod-to-pod flow across nodes with its reply, in the scenarios' cluster (goal: under 2 ms), and
   the same from a pod on a secondary ENI;
2. ``scenario("pod-to-internet")``: picking the pod and tracing, private subnets (node SNAT, then the NAT
   gateway), with its reply;
3. ``flow_animation`` of a few scenarios: the build (goal: under 100 ms), ``fig.to_json()``, and the JSON's size
   (goal: under 150 KB), with the number of hops and frames;
4. ``hops_figure`` and ``conntrack_figure`` of the cross-node flow, for information.

Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench_capacity import best_of, fmt  # noqa: E402  (same folder)

GOAL_TRACE_S = 0.002
GOAL_ANIMATION_S = 0.100
GOAL_ANIMATION_JSON_BYTES = 150_000
ANIMATED = {
    "pod-to-pod-cross-node": {},
    "pod-to-pod-cross-node, secondary ENI": {"secondary_eni": True},
    "pod-to-internet": {},
    "pod-to-internet, public, secondary ENI": {"subnet": "public", "secondary_eni": True},
    "pod-to-pod-same-node": {},
    "host-network-egress": {},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="repeats (best of N)")
    args = parser.parse_args(argv)

    from ekslib.figures.flows import conntrack_figure, flow_animation, hops_figure
    from ekslib.flows import scenario, scenario_cluster, trace
    from ekslib.flows.scenarios import pick_pod

    cluster = scenario_cluster("private")
    rows: list[tuple[str, float, float | None]] = []
    sizes: list[tuple[str, int]] = []
    notes: list[str] = []
    for label, secondary in (("primary ENI", False), ("secondary ENI", True)):
        src = pick_pod(cluster, secondary_eni=secondary)
        dst = pick_pod(cluster, other_node=src.node)
        flow = trace(cluster, src.key, dst.key)  # warm: the nodes' rules and the VPC are built once per cluster
        assert flow.delivered and flow.reply is not None and flow.reply.delivered
        notes.append(f"cross-node from a pod on the {label}: {len(flow.hops)} request + {len(flow.reply.hops)} "
                     f"reply hops, {flow.rules_evaluated} rules evaluated")
        rows.append((f"trace, pod to pod across nodes with its reply ({label})",
                     best_of(lambda src=src, dst=dst: trace(cluster, src.key, dst.key), args.repeat), GOAL_TRACE_S))
    scenario("pod-to-internet")
    rows.append(('scenario("pod-to-internet"), with its reply', best_of(lambda: scenario("pod-to-internet"),
                                                                          args.repeat), None))
    for label, options in ANIMATED.items():
        name = label.split(",")[0]
        flow = scenario(name, **options)
        figure = flow_animation(flow)  # warm
        notes.append(f"{label}: {len(flow.all_hops())} hops, {len(figure.frames)} frames")
        rows.append((f"flow_animation: {label}", best_of(lambda flow=flow: flow_animation(flow), args.repeat),
                     GOAL_ANIMATION_S))
        rows.append(("  its fig.to_json()", best_of(figure.to_json, args.repeat), None))
        sizes.append((f"flow_animation JSON: {label}", len(figure.to_json())))
    cross = scenario("pod-to-pod-cross-node")
    rows.append(("hops_figure, cross-node", best_of(lambda: hops_figure(cross), args.repeat), None))
    rows.append(("conntrack_figure, cross-node", best_of(lambda: conntrack_figure(cross), args.repeat), None))

    width = max(len(name) for name, _, _ in rows + [(n, 0, None) for n, _ in sizes])
    print(f"ekslib flows benchmark: the scenarios' cluster (2 x t3.medium, {len(cluster.pods)} pods); "
          f"Python {sys.version.split()[0]}; best of {args.repeat}")
    for line in notes:
        print(f"  {line}")
    print(f"{'what':<{width}}  {'measured':>10}  {'goal':>12}  result")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 12}  ------")
    misses = 0
    for name, seconds, goal in rows:
        verdict = "" if goal is None else ("PASS" if seconds <= goal else "MISS")
        misses += verdict == "MISS"
        print(f"{name:<{width}}  {fmt(seconds):>10}  {'-' if goal is None else '<= ' + fmt(goal):>12}  {verdict}")
    for name, size in sizes:
        verdict = "PASS" if size <= GOAL_ANIMATION_JSON_BYTES else "MISS"
        misses += verdict == "MISS"
        print(f"{name:<{width}}  {size / 1e3:>7.1f} KB  {'<= ' + f'{GOAL_ANIMATION_JSON_BYTES / 1e3:.0f} KB':>12}  "
              f"{verdict}")
    print("all goals met" if not misses else f"{misses} goal(s) missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
