"""Benchmark: the demo path end to end (allocation, line, warehouse + EPCIS).

    python bench/demo_pipeline.py [--units N]

Prints progress, then the figures as one JSON line (last line). The ratio compares the
line bridge's sustained rate with 600 units/min, the fastest pharmaceutical packaging
lines in industry.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
from pathlib import Path

from serialtrace.demo import run_demo
from serialtrace.settings import Home

INDUSTRY_FASTEST_UNITS_PER_MIN = 600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=10_000, help="units in the batch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serialtrace-bench-") as tmp:
        result = run_demo(Home(Path(tmp)), args.units, seed=args.seed)
    line_rate = result.printed / result.line_seconds * 60
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "benchmark": "demo_pipeline",
        "units": args.units,
        "total_s": round(result.elapsed_seconds, 2),
        "stage_s": {k: round(v, 2) for k, v in result.stage_seconds.items()},
        "line_units_per_min": round(line_rate),
        "line_rate_vs_fastest_industry_line": round(line_rate / INDUSTRY_FASTEST_UNITS_PER_MIN, 1),
        "passed": result.passed,
        "rejected": result.rejected,
        "peak_rss_mb_this_process": round(peak_mb),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
