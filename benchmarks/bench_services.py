"""How fast kube-proxy's scale is traced, and a NodePort connection: a script, not a test.

    .venv/bin/python benchmarks/bench_services.py [--repeat N]

Prints, best of N repeats, wall time (``time.perf_counter``) and CPU time of the process (``time.process_time``,
less disturbed by other work on the machine):

1. ``rules_traversed()`` for the default counts (10, 100, 1,000, 10,000 Services) from cold: in a fresh process
   with ekslib and pandas already imported, so it builds the base cluster, the four clusters, each node's rules
   (the engine's world) and traces 8 connections (goal: at most 2 s);
2. the same call again in one process, with the clusters and their rules cached: the 8 traces alone;
3. ``trace(cluster, "client", "<node public IP>:<NodePort>")`` with its reply, on
   ``scenario_cluster("public")`` (the node's public address from ``VpcFabric.of(cluster).public_ips``, the
   NodePort Service's port), after one warm-up (goal: at most 2 ms); if that flow is not answered, from one node
   to another node's NodePort instead, and it says so;

and the table the first call returns (rules evaluated per new connection, iptables mode, traced). Exit code 0
whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench_capacity import best_times, fmt  # noqa: E402  (same folder)

GOAL_SCALE_S = 2.0
GOAL_NODEPORT_S = 0.002
COLD = """
import time
import pandas
from ekslib.flows.scale import rules_traversed
start, cpu = time.perf_counter(), time.process_time()
rules_traversed()
print(time.perf_counter() - start, time.process_time() - cpu)
"""


def cold_scale(repeat: int) -> tuple[float, float]:
    """Best wall and CPU time of ``rules_traversed()`` in fresh processes (imports done before the clock starts)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", COLD], check=True, cwd=ROOT, capture_output=True, text=True)
        w, c = (float(v) for v in out.stdout.split())
        wall, cpu = min(wall, w), min(cpu, c)
    return wall, cpu


def nodeport_flow():
    """(label, a function tracing a NodePort connection with its reply, its first Flow)."""
    from ekslib.flows import VpcFabric, scenario_cluster, trace

    cluster = scenario_cluster("public")
    service = next(s for s in cluster.services if s.type == "NodePort")
    node_port = service.ports[0].node_port
    public = VpcFabric.of(cluster).public_ips
    node = cluster.nodes[0]
    destination = f"{public[node.address]}:{node_port}"
    flow = trace(cluster, "client", destination)
    if flow.delivered and flow.reply is not None and flow.reply.delivered:
        return (f'trace(cluster, "client", "{destination}"): {service.key} NodePort via the node\'s public IP',
                lambda: trace(cluster, "client", destination), flow)
    other = cluster.nodes[1]  # the client cannot reach it yet: from one node to the other node's NodePort
    destination = f"{other.address}:{node_port}"
    flow = trace(cluster, node.name, destination)
    return (f"trace(node, \"{destination}\"): {service.key} NodePort from another node (the client's flow "
            "was not answered)", lambda: trace(cluster, node.name, destination), flow)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="repeats (best of N; fresh processes: a fifth, >= 3)")
    args = parser.parse_args(argv)

    from ekslib.flows.scale import SERVICE_COUNTS, rules_traversed

    cold_repeat = max(3, args.repeat // 5)
    rows: list[tuple[str, tuple[float, float], float | None]] = []
    rows.append((f"rules_traversed() {SERVICE_COUNTS}, cold (fresh process, best of {cold_repeat})",
                 cold_scale(cold_repeat), GOAL_SCALE_S))
    table = rules_traversed()  # this process: builds and caches the clusters and their rules
    warm = best_times(rules_traversed, max(3, args.repeat // 4))
    rows.append(("rules_traversed() again, rules cached (8 traces)", warm, None))
    label, func, flow = nodeport_flow()
    func()  # warm
    rows.append((label, best_times(func, args.repeat), GOAL_NODEPORT_S))

    print(f"ekslib services benchmark: Python {sys.version.split()[0]}; best of {args.repeat} (wall / CPU)")
    traced = table[table["how"] == "traced"]
    print("  iptables mode, rules evaluated per new connection (request + reply, traced):")
    for _, r in traced.iterrows():
        print(f"    {int(r['services']):>6,} Services ({int(r['service_ports']):>6,} Service ports in KUBE-SERVICES): "
              f"first {int(r['first']):>6,}, last {int(r['last']):>6,} ({r['first_service']}, {r['last_service']})")
    print(f"  NodePort flow: delivered {flow.delivered}, reply {flow.reply is not None and flow.reply.delivered}, "
          f"{len(flow.all_hops())} hops, {flow.rules_evaluated} rules evaluated")
    width = max(len(name) for name, _, _ in rows)
    print(f"{'what':<{width}}  {'wall':>10}  {'CPU':>10}  {'goal':>10}  result")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 10}  {'-' * 10}  ------")
    misses = 0
    for name, (wall, cpu), goal in rows:
        verdict = "" if goal is None else ("PASS" if wall <= goal else "MISS")
        misses += verdict == "MISS"
        print(f"{name:<{width}}  {fmt(wall):>10}  {fmt(cpu):>10}  {'-' if goal is None else '<= ' + fmt(goal):>10}  "
              f"{verdict}")
    print("all goals met" if not misses else f"{misses} goal(s) missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
