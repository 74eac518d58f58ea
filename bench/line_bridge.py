"""Benchmark: the line bridge against the device simulators on loopback.

    python bench/line_bridge.py [--units 100000]            one bridge, devices at full speed
    python bench/line_bridge.py --lines 10 [--units 600]    ten bridges at 600 units/min each

One line: the simulators run as fast as the bridge allows; prints the sustained rate
(units/min), camera-result → decision latency p50 / p99 / max, and the units unaccounted
for (allocated serials without exactly one outcome in the Parquet streams). Ten lines:
ten `serialtrace line run --simulate` processes at once, each line at --rate units/min;
prints each bridge's p99 and its peak resident memory. Figures last, as one JSON line;
the ratio compares the sustained rate with 600 units/min, the fastest lines in industry.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named like the package it measures: keep bench/ off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import subprocess
import tempfile
import time

import duckdb

from line_bridge.linefile import parse_line_file
from line_bridge.orders import load_order, sscc_source
from line_bridge.runner import SimulatorOptions, run_simulated_batch
from line_bridge.simulator import FaultRates
from serialtrace.config import load_demo_config
from serialtrace.demo import open_work_order
from serialtrace.serials.ledger import SerialLedger
from serialtrace.settings import PROJECT_ROOT, Home

INDUSTRY_FASTEST = 600  # units/min


def prepare(home: Home, work_order_id: str, units: int) -> None:
    with SerialLedger(home.ensure().serial_ledger) as ledger:
        open_work_order(home, load_demo_config(), units, ledger, work_order_id)


def unaccounted(home: Home, work_order_id: str, units: int) -> int:
    con = duckdb.connect()
    inspect = f"read_parquet('{home.raw_line}/inspect/work_order={work_order_id}/*.parquet')"
    decided = con.execute(f"select count(distinct seq) from {inspect}").fetchone()
    return units - int(decided[0] if decided else 0)


def one_line(units: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="serialtrace-bench-") as tmp:
        home = Home(Path(tmp))
        prepare(home, "WO-BENCH", units)
        order = load_order(home.raw, "WO-BENCH")
        line = parse_line_file(
            {
                "line": {"id": "LINE-B", "window": 64},
                "devices": {k: {"driver": "jsonl"} for k in ("printer", "camera", "gate")},
            }
        )
        with SerialLedger(home.serial_ledger) as ledger:
            new_sscc = sscc_source(ledger, order.company_prefix, units, 20, 40)
        last = [0.0]

        def progress(r: object) -> None:
            now = time.monotonic()
            if now - last[0] > 5:
                print(f"  {getattr(r, 'printed', 0):,} units", file=sys.stderr, flush=True)
                last[0] = now

        result = run_simulated_batch(
            line,
            order.batch,
            home.raw_line,
            new_sscc,
            SimulatorOptions(faults=FaultRates.spread(0.01), seed=1),
            progress,
        )
        missing = unaccounted(home, "WO-BENCH", units)
    figures = result.summary()
    return {
        "benchmark": "line_bridge",
        "lines": 1,
        "units": units,
        "units_per_minute": figures["units_per_minute"],
        "ratio_to_600_units_per_min": round(result.units_per_minute / INDUSTRY_FASTEST, 1),
        "decision_p50_ms": (result.latency_percentile_us(0.5) or 0) / 1000,
        "decision_p99_ms": (result.latency_percentile_us(0.99) or 0) / 1000,
        "decision_max_ms": max(result.decision_latencies_us, default=0) / 1000,
        "unaccounted": missing,
        "rejected": result.rejected,
    }


def peak_rss_mb(pid: int) -> float:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def many_lines(lines: int, units: int, rate: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="serialtrace-bench-") as tmp:
        line_file = Path(tmp) / "line.toml"
        line_file.write_text(
            '[line]\nid = "LINE-B"\n'
            + "".join(f'[devices.{k}]\ndriver = "jsonl"\n' for k in ("printer", "camera", "gate"))
        )
        procs = []
        for i in range(lines):
            home = Home(Path(tmp) / f"line{i}")
            prepare(home, f"WO-B{i}", units)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "serialtrace.cli",
                        "line",
                        "run",
                        "--line",
                        str(line_file),
                        "--order",
                        f"WO-B{i}",
                        "--home",
                        str(home.root),
                        "--simulate",
                        "--json",
                        "--rate",
                        str(rate),
                        "--seed",
                        str(i),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=PROJECT_ROOT,
                )
            )
        peaks = [0.0] * lines
        while any(p.poll() is None for p in procs):
            for i, p in enumerate(procs):
                peaks[i] = max(peaks[i], peak_rss_mb(p.pid))
            time.sleep(0.2)
        results = []
        for i, p in enumerate(procs):
            out, _ = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"bridge {i} failed ({p.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
        missing = sum(
            unaccounted(Home(Path(tmp) / f"line{i}"), f"WO-B{i}", units) for i in range(lines)
        )
    p99s = [r["decision_p99_us"] / 1000 for r in results]
    return {
        "benchmark": "line_bridge",
        "lines": lines,
        "units_per_line": units,
        "rate_per_line_units_per_min": rate,
        "achieved_units_per_min": [r["units_per_minute"] for r in results],
        "decision_p99_ms_max": max(p99s),
        "decision_p99_ms_each": p99s,
        "peak_rss_mb_max": round(max(peaks), 1),
        "peak_rss_mb_each": [round(x, 1) for x in peaks],
        "unaccounted": missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--units",
        type=int,
        default=None,
        help="units per line (default 100,000 for one line, 600 for many)",
    )
    parser.add_argument("--lines", type=int, default=1)
    parser.add_argument(
        "--rate", type=float, default=600.0, help="units/min per line when --lines > 1"
    )
    args = parser.parse_args()
    if args.lines == 1:
        figures = one_line(args.units or 100_000)
    else:
        figures = many_lines(args.lines, args.units or 600, args.rate)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
