"""How long the study experience's heavy steps take: a script, not a test.

    .venv/bin/python benchmarks/bench_study.py [--jobs N] [--repeat N] [--no-test]

Prints:

1. the static site build (``ekslib.study.site.build_site``): every notebook run once, in ``--jobs`` kernels side
   by side (each kernel reset between notebooks), seconds per notebook, the whole build, and the CPU time of the
   kernels;
2. ``python3 tasks.py test``, ``--repeat`` times (default 3; identical runs on a shared 2-core machine differ by
   several seconds): each run's wall and CPU time, then the fastest, the median and the slowest (the goal: under
   60 s on 2 cores, once installed; judged on the median).

Exit code 0 whatever the figures: a MISS is reported, not raised.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

GOAL_TEST_S = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the test command")
    parser.add_argument("--no-test", action="store_true", help="only the site build")
    args = parser.parse_args()
    from ekslib.study.site import build_site

    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        report = build_site(out, ROOT / "notebooks", jobs=args.jobs)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for name, seconds in report.seconds.items():
        print(f"  {name}: {seconds:.1f} s, {report.figures[name]} figures")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"site build, {len(report.seconds)} notebooks in {args.jobs} kernels: {wall:.1f} s "
          f"({cpu:.1f} s of kernel CPU); {'ok' if report.ok else 'ERRORS'}")
    if args.no_test:
        return 0
    walls = []
    for run in range(1, args.repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "tasks.py", "test", "-q"], cwd=ROOT, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(f"python3 tasks.py test, run {run}: {walls[-1]:.1f} s ({cpu:.0f} s of CPU as getrusage counts it; "
              f"Chromium's renderers, re-parented, are not in it){'' if done.returncode == 0 else ', FAILED'}",
              flush=True)
    walls.sort()
    median = statistics.median(walls)
    verdict = "ok" if median < GOAL_TEST_S else "MISS"
    print(f"python3 tasks.py test, {len(walls)} runs: fastest {walls[0]:.1f} s, median {median:.1f} s, slowest "
          f"{walls[-1]:.1f} s: {verdict} (goal < {GOAL_TEST_S:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
