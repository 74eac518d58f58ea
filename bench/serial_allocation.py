"""Benchmark: allocate N randomized 12-character serials for one pool, durable commit included.

    .venv/bin/python bench/serial_allocation.py --count 10000000

Target (the serial-pools issue): 10 million serials in at most 10 s and 1.5 GB peak memory on
the project's 2-core machine. Prints serials/s; the figures come last as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from serialtrace.markets.profile import ALPHABETS
from serialtrace.serials.ledger import Pool, SerialLedger


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000_000, help="serials to allocate")
    parser.add_argument("--alphabet", choices=["alphanumeric", "numeric"], default="alphanumeric")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the ledger file")
    parser.add_argument(
        "--materialize",
        action="store_true",
        help="also time turning the packed serials into a list of Python strings",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "serials.sqlite"
        pool = Pool(
            "BENCH",
            "09506000134352",
            "EU-FMD",
            12,
            ALPHABETS[args.alphabet],
            True,
            client="BENCH",
            max_guess_probability=1e-5,
        )
        with SerialLedger(path) as ledger:
            ledger.ensure_pool(pool)
            started = time.perf_counter()
            block = ledger.allocate_block(pool.pool_id, args.count, "WO-BENCH")
            elapsed = time.perf_counter() - started
            materialize_s = None
            if args.materialize:
                t = time.perf_counter()
                serials = list(block.serials)
                materialize_s = round(time.perf_counter() - t, 2)
                del serials
            issued = ledger.issued_count(pool.pool_id)
            space = pool.normalized().space
        size_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
    assert issued == args.count == len(block.serials)
    rate = args.count / elapsed
    print(
        f"allocated {args.count:,} serials in {elapsed:.2f} s: {rate:,.0f} serials/s",
        file=sys.stderr,
    )
    figures = {
        "benchmark": "serial_allocation",
        "count": args.count,
        "alphabet": args.alphabet,
        "length": 12,
        "seconds": round(elapsed, 2),
        "serials_per_s": round(rate),
        "materialize_list_s": materialize_s,
        "peak_rss_mb": round(_peak_rss_mb()),
        "ledger_mb": round(size_mb),
        "guess_probability": issued / space,
        "target_met": elapsed <= 10 and _peak_rss_mb() <= 1536,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
