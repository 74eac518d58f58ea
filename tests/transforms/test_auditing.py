"""Every SQL block of docs/auditing.md, run against a built warehouse opened read-only,
with its answer checked. The blocks are parsed from the page, so the page cannot drift
from the warehouse."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pytest
from conftest import IncrementalBuilds
from dbt_harness import PROJECT_ROOT
from incremental import DESTROYED_CASE
from rawzone import GTIN_A, GTIN_B

from serialtrace.demo import DemoResult
from serialtrace.settings import Home

AUDITING_MD = PROJECT_ROOT / "docs" / "auditing.md"
BLOCK = re.compile(r"<!-- audit-query: (?P<name>[a-z_]+) -->\s*```sql\n(?P<sql>.*?)```", re.S)


def documented_queries() -> dict[str, str]:
    text = AUDITING_MD.read_text()
    queries = {m["name"]: m["sql"] for m in BLOCK.finditer(text)}
    # every sql block on the page is a named, tested query
    assert len(queries) == text.count("```sql")
    return queries


QUERIES = documented_queries()
DEMO_CUSTOMER = "0614141000012"  # [customer] of serialtrace/defaults/demo.toml


def run(builds: IncrementalBuilds, name: str, **variables: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(builds.full_refresh), read_only=True) as con:
        for key, value in variables.items():
            con.execute(f"set variable {key} = ?", [value])
        return con.execute(QUERIES[name]).fetchall()


def test_every_documented_query_is_checked() -> None:
    assert set(QUERIES) == {
        "serial_history",
        "serial_now",
        "decommissioned_by_lot",
        "decommissioned_by_lot_summary",
        "lot_status",
        "shipped_to_partner",
    }


def test_warehouse_opened_read_only_refuses_writes(incremental_builds: IncrementalBuilds) -> None:
    with (
        duckdb.connect(str(incremental_builds.full_refresh), read_only=True) as con,
        pytest.raises(duckdb.Error, match="read-only"),
    ):
        con.execute("create table scratch (i integer)")


def test_full_history_of_a_serial(incremental_builds: IncrementalBuilds) -> None:
    """The unit moved in rework from case 1 to case 6 of WO-1001."""
    demo = incremental_builds.demo
    case1, case6 = demo.wo1.cases[0], demo.wo1.cases[5]
    pallet1, pallet2 = demo.wo1.pallets
    rows = run(incremental_builds, "serial_history", gtin=GTIN_A, serial=demo.moved_serial)
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    times = [row[1] for row in rows]
    assert times == sorted(times)
    facts = [
        (fact, to_status or container) for _, _, fact, _, to_status, _, _, container, *_ in rows
    ]
    assert facts == [
        ("status", "allocated"),
        ("printed", None),
        ("status", "printed"),
        ("inspected", None),
        ("status", "commissioned"),
        ("packed", case1),
        ("status", "aggregated"),
        ("case_palletised", pallet1),  # case 1 onto pallet 1
        ("case_palletised", pallet2),  # case 6 onto pallet 2 (before the unit was moved in)
        ("unpacked", case1),
        ("status", "commissioned"),
        ("packed", case6),
        ("status", "aggregated"),
    ]
    inspected = rows[3]
    assert (inspected[8], inspected[9], inspected[10]) == ("pass", "A", "LINE-1-CAM")
    assert rows[0][11] == "allocation" and rows[1][11] == "line"


def test_serial_now(incremental_builds: IncrementalBuilds) -> None:
    demo = incremental_builds.demo
    case = demo.wo1.cases[DESTROYED_CASE]
    serial = demo.wo1.case_items[case][0]
    ((status, reason, status_at, source, user, lot, _, wo, case_sscc, pallet),) = run(
        incremental_builds, "serial_now", gtin=GTIN_A, serial=serial
    )
    assert (status, reason, source, user, lot, wo) == (
        "decommissioned",
        "destroyed",
        "lifecycle",
        "qa.jane",
        "LA001",
        "WO-1001",
    )
    assert isinstance(status_at, datetime)
    assert (case_sscc, pallet) == (case, demo.wo1.pallets[0])


def test_decommissioned_serials_of_a_lot(incremental_builds: IncrementalBuilds) -> None:
    demo = incremental_builds.demo
    rows = run(incremental_builds, "decommissioned_by_lot", gtin=GTIN_A, lot="LA001")
    assert len(rows) == 17
    by_serial = {row[0]: row for row in rows}
    # seq 45: wrong_data, the gate never confirmed the reject
    unconfirmed = by_serial[demo.wo1.serials[44]]
    assert unconfirmed[1:3] == ("rejected_at_line", "wrong_data")
    assert unconfirmed[4:8] == ("line", None, "LINE-1-GATE", False)
    sample = by_serial[demo.sampled_serial]
    assert (sample[1], sample[4], sample[5], sample[8]) == ("sample", "cli", "qa.joe", "serial")
    assert sample[11] == "REQ-SAMPLE"
    destroyed = [row for row in rows if row[1] == "destroyed"]
    case = demo.wo1.cases[DESTROYED_CASE]
    assert {row[9] for row in destroyed} == {case}  # scope_id: the case named in the request
    assert {row[12] for row in destroyed} == {case}  # and the units are still in it


def test_decommissioned_summary_per_lot(incremental_builds: IncrementalBuilds) -> None:
    assert run(incremental_builds, "decommissioned_by_lot_summary", gtin=GTIN_A, lot="LA001") == [
        ("destroyed", None, "cli", "qa.jane", 10),
        ("rejected_at_line", "duplicate", "line", None, 1),
        ("rejected_at_line", "low_grade", "line", None, 1),
        ("rejected_at_line", "timeout", "line", None, 1),
        ("rejected_at_line", "unreadable", "line", None, 1),
        ("rejected_at_line", "wrong_data", "line", None, 2),
        ("sample", None, "cli", "qa.joe", 1),
    ]
    assert run(incremental_builds, "decommissioned_by_lot_summary", gtin=GTIN_B, lot="LB001") == [
        ("rejected_at_line", "duplicate", "line", None, 1),
        ("rejected_at_line", "low_grade", "line", None, 1),
        ("rejected_at_line", "timeout", "line", None, 1),
        ("rejected_at_line", "unreadable", "line", None, 1),
        ("unused_at_batch_close", None, "batch_close", "batch-close", 9),
    ]


def test_lot_status(incremental_builds: IncrementalBuilds) -> None:
    # 54 passed: 53 packed (one sample taken out), 10 of them destroyed; the sample retired
    assert run(incremental_builds, "lot_status", gtin=GTIN_A, lot="LA001") == [
        ("aggregated", 43),
        ("decommissioned", 17),
    ]


def test_shipped_to_partner_in_a_period(demo: tuple[Home, DemoResult]) -> None:
    """The demo ships every pallet of its batch to the demo customer: each passed unit is
    listed once, inside the period of the shipment and not outside it."""
    home, result = demo

    def shipped(partner: str, start: str, end: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(home.warehouse), read_only=True) as con:
            for key, value in (("partner_gln", partner), ("period_start", start),
                               ("period_end", end)):  # fmt: skip
                con.execute(f"set variable {key} = ?", [value])
            return con.execute(QUERIES["shipped_to_partner"]).fetchall()

    rows = shipped(DEMO_CUSTOMER, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    assert len(rows) == result.passed
    assert len({row[6] for row in rows}) == result.passed  # one row per serial
    assert len({row[4] for row in rows}) == result.pallets  # the shipped pallets
    (shipment_id, despatched_at, po, desadv) = {row[:4] for row in rows}.pop()
    assert po == f"PO-{result.work_order_id}" and desadv == shipment_id
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        lot = con.execute(
            "select lot, expiry from dim_work_orders where work_order_id = ?",
            [result.work_order_id],
        ).fetchone()
    assert lot is not None and lot[0] and {(row[7], row[8]) for row in rows} == {lot}
    after = (despatched_at + timedelta(seconds=1)).isoformat()
    assert shipped(DEMO_CUSTOMER, after, "2100-01-01T00:00:00Z") == []
    assert shipped("0614141000029", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z") == []
