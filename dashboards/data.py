"""Read-only queries of the warehouse for the dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

REJECT_CAUSES = ("wrong_data", "unreadable", "low_grade", "timeout", "duplicate")
GRADES = ("grade_a", "grade_b", "grade_c", "grade_d", "grade_f")


def batch_quality(warehouse: Path) -> pl.DataFrame:
    """One row per batch, newest first (mart ``batch_quality``)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        table = con.sql(
            "select * from batch_quality order by first_print_at desc nulls last"
        ).to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def reject_causes(batch: dict[str, Any]) -> pl.DataFrame:
    """Rejects of one batch by cause, largest first (a Pareto)."""
    rows = [(cause, int(batch.get(cause) or 0)) for cause in REJECT_CAUSES]
    frame = pl.DataFrame(rows, schema=["cause", "units"], orient="row")
    return frame.filter(pl.col("units") > 0).sort("units", descending=True)


def grade_distribution(batch: dict[str, Any]) -> pl.DataFrame:
    rows = [(g[-1].upper(), int(batch.get(g) or 0)) for g in GRADES]
    return pl.DataFrame(rows, schema=["grade", "units"], orient="row")
