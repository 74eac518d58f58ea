"""Benchmark: load one SAP batch-master file of N batches through the IDoc connector.

    .venv/bin/python bench/erp_load.py --batches 20000

Generates a MATMAS05 file (one material) and a BATMAS03 file of N IDocs into a fresh
home's drop folder, then times `load_pending` (parse, validate against the known master
data, write Parquet, log, move). Prints the figures last as one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.erp.config import load_connections
from ingest.erp.loader import load_pending
from ingest.erp.sap_idoc import render_batmas, render_matmas
from serialtrace.settings import Home


def _warm_up(home: Home) -> None:
    from ingest.schemas import LOT_SCHEMA
    from serialtrace.io.parquet import rows_to_table, write_atomic

    write_atomic(home.root / "warm.parquet", rows_to_table([], LOT_SCHEMA))
    load_pending(home, load_connections(home)["mes-demo"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20_000)
    args = parser.parse_args()
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home").ensure()
        conn = load_connections(home)["sap-demo"]
        conn.drop.mkdir(parents=True)
        product = {
            "gtin": "00312345678906",
            "erp_material": "FG-1",
            "name": "Bench product",
            "ndc": "12345-678-90",
            "company_prefix_length": 7,
            "dosage_form": "TABLET",
            "strength": "10 mg",
            "pack_size": "30",
            "manufacturer": "Bench Pharma",
        }
        lots = [
            {
                "erp_material": "FG-1",
                "lot": f"B{n:07d}",
                "expiry": dt.date(2028, 10, 31),
                "manufactured_on": dt.date(2026, 10, 1),
                "release_status": "released",
                "quantity": 1000,
                "quantity_unit": "EA",
            }
            for n in range(args.batches)
        ]
        (conn.drop / "01-MATMAS05.xml").write_bytes(render_matmas([product], "BENCH", at))
        started = time.perf_counter()
        batmas = render_batmas(lots, "BENCH", at)
        render_s = time.perf_counter() - started
        (conn.drop / "02-BATMAS03.xml").write_bytes(batmas)
        _warm_up(home)  # imports (pyarrow, pandas, duckdb) are not what is measured
        started = time.perf_counter()
        results = load_pending(home, conn)
        load_s = time.perf_counter() - started
        assert [r.outcome for r in results] == ["loaded", "loaded"], results
        assert results[1].rows["lots"] == args.batches
    print(
        json.dumps(
            {
                "benchmark": "erp_load",
                "batches": args.batches,
                "file_mb": round(len(batmas) / 1e6, 1),
                "render_s": round(render_s, 2),
                "load_s": round(load_s, 2),
                "batches_per_s": round(args.batches / load_s),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
