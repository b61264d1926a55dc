"""What building each ekslib figure costs, and what plotly.py's validation would add: a script, not a test.

    .venv/bin/python benchmarks/bench_figures.py [--repeat N]

For each figure of ``tests/test_figures_valid.py`` (every figure function, with its variants) prints the median
milliseconds to make it as a lesson does (its inputs, a simulation, a cluster or a traced flow, then the figure
from plain dicts, :func:`ekslib.figures.theme.figure`), the milliseconds plotly.py takes to validate the same
figure property by property (``go.Figure(fig.to_dict())``: what building it with ``go.Scatter`` and
``update_layout`` paid on top, at least), and its size as JSON.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import plotly.graph_objects as go

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from test_figures_valid import CASES  # every figure function, with its variants

    print(f"{'figure':62s} {'make':>8s} {'validate':>9s} {'JSON':>7s}")
    total_build = total_validate = 0.0
    for name, case in CASES.items():
        fig = case()
        data = fig.to_dict()
        build = _median_ms(case, args.repeat)
        validate = _median_ms(lambda data=data: go.Figure(data), args.repeat)
        total_build += build
        total_validate += validate
        print(f"{name[:62]:62s} {build:6.1f}ms {validate:7.1f}ms {len(fig.to_json()) / 1024:5.0f}KB")
    print(f"{'all':62s} {total_build:6.0f}ms {total_validate:7.0f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
