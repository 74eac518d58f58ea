"""The batch page's units/min over time: a curve whatever the batch's print span."""

from __future__ import annotations

import duckdb
import pytest

from dashboards.data import THROUGHPUT_BUCKETS, throughput_sql


@pytest.mark.parametrize(
    ("units", "step", "per_minute"),
    [(700, "to_milliseconds(i * 3)", 20_000), (600, "to_seconds(i * 6)", 10)],
)
def test_throughput_cuts_any_span_into_buckets(units: int, step: str, per_minute: int) -> None:
    con = duckdb.connect()
    con.execute(
        "create table serial_lifecycle as select 'WO-1' as work_order_id, "
        f"timestamp '2026-01-01 08:00:00' + {step} as printed_at from range({units}) t(i) "
        "union all select 'WO-2', timestamp '2026-01-01 09:00:00'"  # another batch: not counted
    )
    rows = con.sql(throughput_sql(), params=["WO-1"]).fetchall()
    assert len(rows) == THROUGHPUT_BUCKETS  # a batch printed in 2 s and one over an hour
    rates = [rate for _, rate in rows]
    assert rates[0] == pytest.approx(per_minute, rel=0.02)  # a steady line: a flat curve
    width_min = (rows[1][0] - rows[0][0]).total_seconds() / 60
    assert sum(rate * width_min for rate in rates) == pytest.approx(units)  # no unit lost
    assert con.sql(throughput_sql(), params=["WO-9"]).fetchall() == []
