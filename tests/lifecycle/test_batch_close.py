"""Batch close: allocated, never printed -> decommissioned (unused_at_batch_close)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from rawzone import demo_raw_zone  # type: ignore[import-not-found]

from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.lifecycle.batch_close import close_batch
from serialtrace.lifecycle.schema import LIFECYCLE_EVENT_SCHEMA
from serialtrace.lifecycle.store import events_dir, read_events
from serialtrace.serials.ledger import Pool, SerialLedger

from .conftest import ClosedHome


def test_unprinted_serials_are_retired_as_unused(tmp_path: Path) -> None:
    demo = demo_raw_zone()  # WO-1002: 50 allocated, 41 printed; WO-1003: 5, none printed
    raw = demo.zone.write(tmp_path / "raw")
    result = close_batch(raw, "WO-1002", closed_at=datetime(2025, 3, 3, 12, tzinfo=UTC))
    assert (result.allocated, result.printed, result.already_closed) == (50, 41, False)
    assert result.unused == tuple(demo.wo2.serials[41:])
    table = pq.read_table(result.path)
    assert table.schema.equals(LIFECYCLE_EVENT_SCHEMA)
    rows = table.to_pylist()
    assert {r["serial"] for r in rows} == set(demo.wo2.serials[41:])
    first = rows[0]
    assert (first["from_status"], first["to_status"], first["reason"]) == (
        "allocated",
        "decommissioned",
        "unused_at_batch_close",
    )
    assert (first["scope"], first["scope_id"], first["source"]) == (
        "work_order",
        "WO-1002",
        "batch_close",
    )
    assert first["recorded_by"] == "batch-close"
    assert first["location_gln"] == demo.wo2.spec.site_gln
    assert len({r["request_id"] for r in rows}) == 1
    assert len({r["event_id"] for r in rows}) == 9


def test_closing_twice_changes_nothing(tmp_path: Path) -> None:
    raw = demo_raw_zone().zone.write(tmp_path / "raw")
    first = close_batch(raw, "WO-1003")
    again = close_batch(raw, "WO-1003")
    assert again.already_closed and again.unused == first.unused and len(first.unused) == 5
    assert len(list(events_dir(raw).glob("*.parquet"))) == 1
    assert len(read_events(raw)) == 5


def test_a_batch_printed_in_full_still_records_its_close(tmp_path: Path) -> None:
    raw = demo_raw_zone().zone.write(tmp_path / "raw")
    result = close_batch(raw, "WO-1001")
    assert result.unused == () and result.path.is_file()
    assert pq.read_table(result.path).num_rows == 0


def test_unknown_work_order_is_an_error(tmp_path: Path) -> None:
    raw = demo_raw_zone().zone.write(tmp_path / "raw")
    with pytest.raises(SerialtraceError, match="WO-9999: no serial allocations"):
        close_batch(raw, "WO-9999")


def test_a_print_with_another_lot_than_allocated_is_refused(tmp_path: Path) -> None:
    demo = demo_raw_zone()
    demo.zone.line["print"]["WO-1002"][0]["lot"] = "LB999"
    raw = demo.zone.write(tmp_path / "raw")
    with pytest.raises(ValidationError, match="allocated with lot LB001, cannot change to LB999"):
        close_batch(raw, "WO-1002")
    assert not events_dir(raw).exists() or not any(events_dir(raw).iterdir())


def test_unused_serials_stay_issued_and_are_never_reissued(tmp_path: Path) -> None:
    """The line stopped early: 6 of 10 printed. The 4 unused are retired, and the ledger
    never hands them out again."""
    with SerialLedger(tmp_path / "serials.sqlite") as ledger:
        pool = ledger.ensure_pool(Pool("P", "00614141000012", "US", 6, "0123456789", False))
        first = ledger.allocate(pool, 10, "WO-1")
        demo = demo_raw_zone()
        demo.zone.allocations = {
            "WO-1": [
                {**demo.zone.allocations["WO-1001"][0], "work_order_id": "WO-1", "serial": s}
                for s in first
            ]
        }
        printed = demo.zone.line["print"]["WO-1001"][:6]
        demo.zone.line = {stream: {} for stream in demo.zone.line}
        demo.zone.line["print"]["WO-1"] = [
            {**row, "work_order_id": "WO-1", "serial": s}
            for row, s in zip(printed, first, strict=False)
        ]
        raw = demo.zone.write(tmp_path / "raw")
        result = close_batch(raw, "WO-1")
        assert result.unused == tuple(first[6:])
        second = ledger.allocate(pool, 50, "WO-2")
        assert not set(second) & set(first)
        assert ledger.issued_count("P") == 60


def test_closed_serials_are_decommissioned_in_the_warehouse(built_home: ClosedHome) -> None:
    with duckdb.connect(str(built_home.home.warehouse), read_only=True) as con:
        rows = con.execute(
            "select work_order_id, status, status_reason, status_source, count(*) "
            "from serial_lifecycle where line_status = 'allocated' group by all order by all"
        ).fetchall()
        assert rows == [
            ("WO-1002", "decommissioned", "unused_at_batch_close", "lifecycle", 9),
            ("WO-1003", "decommissioned", "unused_at_batch_close", "lifecycle", 5),
        ]
        history = con.execute(
            "select from_status, to_status, reason, origin, recorded_by from "
            "serial_status_history where unit_key = ? order by transition_seq",
            [f"(01){built_home.demo.wo3.spec.gtin}(21){built_home.demo.wo3.serials[0]}"],
        ).fetchall()
        assert history == [
            (None, "allocated", None, "allocation", None),
            ("allocated", "decommissioned", "unused_at_batch_close", "batch_close", "batch-close"),
        ]
