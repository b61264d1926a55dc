"""How fast the real-kernel lab comes up, goes down and checks the engine: a script, not a test.

    .venv/bin/python benchmarks/bench_lab.py [--repeat N]       # as root (or it says why not and exits 0)

Prints, best of N repeats (``time.perf_counter``):

1. lab up and down for the Services scenarios' cluster (3 nodes, 13 pods, the VPC, a NAT gateway, a load
   balancer, 3 hosts outside: 21 namespaces, 25 veth pairs) and for the study cluster
   (2 nodes): goals up <= 1 s, down <= 0.3 s;
2. one real connection with its observation (delivered, addresses, conntrack of every translating namespace);
3. ``verify()`` of every case of ``ekslib.lab.verify.CASES`` (4 labs, ~29 cases): goal <= 10 s, with how many
   matched.

Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench_capacity import fmt  # noqa: E402  (same folder)

GOAL_UP_S, GOAL_DOWN_S, GOAL_VERIFY_S = 1.0, 0.3, 10.0


def verdict(value: float, goal: float) -> str:
    return f"{'ok' if value <= goal else 'MISS'} (goal <= {fmt(goal)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from ekslib.flows.scenarios import scenario_cluster, service_cluster
    from ekslib.lab import Lab, lab_support
    from ekslib.lab.verify import verify

    ok, why = lab_support()
    if not ok:
        print(f"no lab here: {why}")
        return 0
    for label, cluster in (("Services cluster (3 nodes)", service_cluster()),
                           ("study cluster (2 nodes)", scenario_cluster("private"))):
        ups, downs = [], []
        for _ in range(args.repeat):
            lab = Lab(cluster)
            lab.start()
            lab.stop()
            ups.append(lab.timings["up"])
            downs.append(lab.timings["down"])
        spaces = len(lab.plan.namespaces)
        print(f"lab up, {label}, {spaces} namespaces: {fmt(min(ups))} {verdict(min(ups), GOAL_UP_S)}")
        print(f"lab down, {label}: {fmt(min(downs))} {verdict(min(downs), GOAL_DOWN_S)}")
    with Lab() as lab:
        pod = next(p for p in lab.cluster.pods if not p.host_network)
        times = []
        for i in range(max(5, args.repeat)):
            started = time.perf_counter()
            lab.connect(pod.key, "internet", sport=42000 + i)
            times.append(time.perf_counter() - started)
        print(f"one connection and its observation (pod to internet): {fmt(min(times))}")
    best = float("inf")
    for _ in range(max(1, args.repeat // 2)):
        started = time.perf_counter()
        table = verify()
        best = min(best, time.perf_counter() - started)
    played = table[table["played"]]
    print(f"verify() of {len(played)} cases ({int(played['match'].sum())} as predicted, "
          f"{len(table) - len(played)} not played): {fmt(best)} {verdict(best, GOAL_VERIFY_S)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
