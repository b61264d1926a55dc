"""How fast the capacity engine answers: a script, not a test (its figures depend on the machine).

    .venv/bin/python benchmarks/bench_capacity.py [--repeat N]

Prints, best of N repeats with ``time.perf_counter``:

1. ``capacity_table(**settings)`` for every instance type (EC2's snapshot and the VPC CNI's limits table
   merged: 1,418 types), for each of the 4 modes of
   ``ekslib.capacity.MODES``, and their total (goal: under 20 ms for the 4);
2. one warm ``max_pods("m5.large")`` call (goal: under 50 us; best of several timeit loops);
3. ``import ekslib`` in a fresh process: ``python -c "import ekslib"`` minus ``python -c "pass"``
   (goal: under 0.5 s), and the first ``max_pods`` call of a fresh process (cold: imports pandas, reads
   the EC2 snapshot and the VPC CNI's table and merges them; no goal, shown for information).

Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

GOAL_TABLES_S = 0.020
GOAL_MAX_PODS_S = 50e-6
GOAL_IMPORT_S = 0.5

COLD_FIRST_CALL = """
import time
import ekslib
start = time.perf_counter()
ekslib.max_pods("m5.large")
print(time.perf_counter() - start)
"""


def best_times(func, repeat: int) -> tuple[float, float]:
    """The best wall time and the best CPU time of ``repeat`` calls of ``func``, in seconds."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def best_of(func, repeat: int) -> float:
    """The best wall time of ``repeat`` calls of ``func``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def process_time(code: str, repeat: int) -> float:
    """Best wall time of ``python -c code`` in a fresh process, in seconds."""
    def once() -> None:
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return best_of(once, repeat)


def cold_first_call(repeat: int) -> float:
    """Best time of the first ``max_pods`` call in a fresh process (measured inside it), in seconds."""
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", COLD_FIRST_CALL], check=True, capture_output=True, text=True,
                             cwd=ROOT)
        times.append(float(out.stdout))
    return min(times)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="repeats for the in-process figures (best of N)")
    parser.add_argument("--process-repeat", type=int, default=5, help="repeats for the fresh-process figures")
    args = parser.parse_args(argv)

    # 3 first: fresh processes, before this process warms anything (it does not matter, but reads cleanly)
    python_alone = process_time("pass", args.process_repeat)
    with_import = process_time("import ekslib", args.process_repeat)
    import_time = max(with_import - python_alone, 0.0)
    cold = cold_first_call(args.process_repeat)

    from ekslib.capacity import MODES, capacity_table, max_pods
    from ekslib.sources.instance_types import load_instance_types

    count = len(load_instance_types())
    capacity_table()  # warm the snapshot cache and the branch-ENI table
    rows: list[tuple[str, float, float | None]] = []
    total = 0.0
    for mode, settings in MODES.items():
        seconds = best_of(lambda settings=settings: capacity_table(**settings), args.repeat)
        total += seconds
        rows.append((f"capacity_table, {mode}", seconds, None))
    rows.append(("capacity_table, total of the 4 modes", total, GOAL_TABLES_S))

    max_pods("m5.large")  # warm
    loops = 2000
    per_call = min(timeit.repeat(lambda: max_pods("m5.large"), number=loops, repeat=7)) / loops
    rows.append(('max_pods("m5.large"), warm, one call', per_call, GOAL_MAX_PODS_S))
    rows.append(("import ekslib, fresh process", import_time, GOAL_IMPORT_S))
    rows.append(("first max_pods, fresh process (cold: pandas + 2 CSVs)", cold, None))

    width = max(len(name) for name, _, _ in rows)
    print(f"ekslib capacity benchmark: {count:,} instance types; Python {sys.version.split()[0]}; "
          f"best of {args.repeat} (in-process) / {args.process_repeat} (fresh processes)")
    print(f"{'figure':<{width}}  {'time':>10}  {'goal':>12}  result")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 12}  ------")
    misses = 0
    for name, seconds, goal in rows:
        if goal is None:
            verdict, goal_text = "", "-"
        else:
            verdict, goal_text = ("PASS" if seconds < goal else "MISS"), f"< {fmt(goal)}"
            misses += verdict == "MISS"
        print(f"{name:<{width}}  {fmt(seconds):>10}  {goal_text:>12}  {verdict}")
    print(f"(python -c 'pass' alone: {fmt(python_alone)}; with import ekslib: {fmt(with_import)})")
    print("all goals met" if not misses else f"{misses} goal(s) missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
