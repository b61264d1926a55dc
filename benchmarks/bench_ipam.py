"""How fast the IPAM model runs: a script, not a test (its figures depend on the machine).

    .venv/bin/python benchmarks/bench_ipam.py [--repeat N]

Prints, best of N repeats with ``time.perf_counter``:

1. ``simulate_cluster``: 200 m5.large nodes in three /19 subnets over 6 simulated hours at the 5 s pool
   loop (4,321 loops), default settings, with seeded churn (goal: under 5 s); and the same with
   WARM_IP_TARGET=2 / MINIMUM_IP_TARGET=10 and with prefix delegation (no goal, for information);
2. one-node ``simulate`` for 1 simulated hour (721 loops) of churn on an m5.large, and on an
   m5.24xlarge running ~700 pods (no goal);
3. ``steady_state`` for every row of both published tables (36 rows; no goal), and ``steady_states``
   over every pod count of an m5.24xlarge (736 states, one ramp; no goal).

Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "benchmarks"))

import pandas as pd  # noqa: E402
from bench_capacity import best_of, fmt  # noqa: E402  (the same timing and formatting as the capacity figures)

GOAL_CLUSTER_S = 5.0
SUBNETS = ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
SIX_HOURS = 6 * 3600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats per figure (best of N)")
    args = parser.parse_args(argv)

    from ekslib.ipam.fleet import simulate_cluster
    from ekslib.ipam.planner import FleetGroup
    from ekslib.ipam.published import PUBLISHED_PREFIX_ROWS, PUBLISHED_SECONDARY_IP_ROWS
    from ekslib.ipam.schedules import churn
    from ekslib.ipam.simulation import simulate
    from ekslib.ipam.steady import steady_state, steady_states

    steady_state("t3.small", 1)  # warm the instance-type snapshot
    nodes = [FleetGroup("m5.large", 200)]
    rows: list[tuple[str, float, float | None]] = []
    last = {}

    def cluster(**flags):
        last["frame"] = simulate_cluster(SUBNETS, nodes, duration_s=SIX_HOURS, **flags)

    rows.append(("simulate_cluster, 200 nodes x 6 h, default (WARM_ENI_TARGET=1)", best_of(cluster, args.repeat),
                 GOAL_CLUSTER_S))
    totals = last["frame"].groupby("time_s")[["pods_running", "warm", "ec2_calls"]].sum().iloc[-1]
    rows.append(("simulate_cluster, 200 nodes x 6 h, WARM_IP_TARGET=2 MINIMUM_IP_TARGET=10",
                 best_of(lambda: cluster(warm_ip_target=2, minimum_ip_target=10), args.repeat), None))
    tight = last["frame"].groupby("time_s")[["pods_running", "warm", "ec2_calls"]].sum().iloc[-1]
    rows.append(("simulate_cluster, 200 nodes x 6 h, prefix delegation",
                 best_of(lambda: cluster(prefix_delegation=True), args.repeat), None))

    hour = 3600
    small = churn(25, hour, lifetime_s=300, seed=1)
    big = churn(700, hour, lifetime_s=600, seed=1)
    rows.append(("simulate, m5.large, 1 h of churn (25 pods)",
                 best_of(lambda: simulate("m5.large", small, duration_s=hour), args.repeat), None))
    rows.append(("simulate, m5.24xlarge, 1 h of churn (700 pods)",
                 best_of(lambda: simulate("m5.24xlarge", big, duration_s=hour), args.repeat), None))

    published = PUBLISHED_SECONDARY_IP_ROWS + PUBLISHED_PREFIX_ROWS

    def every_row() -> None:
        for row in published:
            steady_state(row.instance_type, row.pods, **row.settings())

    rows.append((f"steady_state, every published row ({len(published)})", best_of(every_row, args.repeat), None))
    rows.append(("steady_states, m5.24xlarge, 0 to 735 pods (one ramp)",
                 best_of(lambda: steady_states("m5.24xlarge"), args.repeat), None))

    table = pd.DataFrame(rows, columns=["figure", "seconds", "goal_s"])
    table["figure"] = table["figure"].str.ljust(table["figure"].str.len().max())
    table["time"] = table["seconds"].map(fmt)
    table["goal"] = table["goal_s"].map(lambda goal: "-" if pd.isna(goal) else f"< {fmt(goal)}")
    table["result"] = [("PASS" if t < g else "MISS") if not pd.isna(g) else "" for t, g in
                       zip(table["seconds"], table["goal_s"])]
    print(f"ekslib IPAM benchmark; Python {sys.version.split()[0]}; best of {args.repeat}")
    print(table[["figure", "time", "goal", "result"]].to_string(index=False, justify="left"))
    misses = int((table["result"] == "MISS").sum())
    loops = SIX_HOURS // 5 + 1
    print(f"(cluster: {loops:,} loops x 200 nodes = {loops * 200:,} node-loops; at 6 h: "
          f"{int(totals['pods_running']):,} pods, {int(totals['warm']):,} warm addresses, "
          f"{int(totals['ec2_calls']):,} EC2 calls by default; WARM_IP_TARGET=2: {int(tight['warm']):,} warm, "
          f"{int(tight['ec2_calls']):,} EC2 calls)")
    print("all goals met" if not misses else f"{misses} goal(s) missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
