"""``dbt build`` over the demo raw zone: success, then exact figures in the marts.

The expected figures are worked out by hand from ``rawzone.demo_raw_zone``'s docstring,
not recomputed from the builder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_harness import BuiltWarehouse, run_dbt
from rawzone import GTIN_A

from serialtrace.settings import PROJECT_ROOT


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def unit_key(gtin: str, serial: str) -> str:
    return f"(01){gtin}(21){serial}"


def test_build_succeeds(built_warehouse: BuiltWarehouse) -> None:
    run = built_warehouse.run
    assert run.success, f"dbt build failed: {sorted(run.failed())}"
    statuses = run.statuses()
    assert not run.failed()
    assert "skipped" not in statuses.values()
    # every mart was built, and the unit tests ran
    for model in (
        "serial_lifecycle",
        "aggregation_hierarchy",
        "containers",
        "batch_quality",
        "dim_products",
        "dim_locations",
        "dim_work_orders",
    ):
        assert statuses[model] == "success"
    unit_tests = {name for name in statuses if name.startswith("test_")}
    assert {
        "test_serial_lifecycle_status_precedence",
        "test_aggregation_hierarchy_replays_add_and_delete_in_time_order",
        "test_containers_counts_partial_and_reworked_cases",
    } <= unit_tests


def test_serial_status_counts(built_warehouse: BuiltWarehouse) -> None:
    rows = query(
        built_warehouse.path,
        "select work_order_id, status, count(*) from serial_lifecycle group by all order by all",
    )
    assert rows == [
        ("WO-1001", "aggregated", 53),
        ("WO-1001", "commissioned", 1),
        ("WO-1001", "decommissioned", 6),
        ("WO-1002", "aggregated", 37),
        ("WO-1002", "allocated", 9),
        ("WO-1002", "decommissioned", 4),
        ("WO-1003", "allocated", 5),
    ]


def test_decommissioned_reasons(built_warehouse: BuiltWarehouse) -> None:
    rows = query(
        built_warehouse.path,
        """
        select status_reason, count(*) from serial_lifecycle
        where status = 'decommissioned' group by all order by all
        """,
    )
    assert rows == [
        ("rejected_at_line:duplicate", 2),
        ("rejected_at_line:low_grade", 2),
        ("rejected_at_line:timeout", 2),
        ("rejected_at_line:unreadable", 2),
        ("rejected_at_line:wrong_data", 2),
    ]
    # the reject at seq 45 was never confirmed: status time falls back to the command
    ((serial, status_at, case_sscc),) = query(
        built_warehouse.path,
        """
        select serial, status_at, case_sscc from serial_lifecycle
        where work_order_id = 'WO-1001' and seq = 45
        """,
    )
    assert serial == "A0000045"
    assert status_at == datetime(2025, 3, 3, 8, 0, 45, 250_000, tzinfo=UTC)
    assert case_sscc is None


def test_batch_quality_figures(built_warehouse: BuiltWarehouse) -> None:
    columns = (
        "work_order_id, allocated, printed, passed, rejected, "
        "wrong_data, unreadable, low_grade, timeout, duplicate, unconfirmed_rejects, "
        "cases, pallets, partial_cases, partial_pallets, "
        "grade_a, grade_b, grade_c, grade_d, grade_e, grade_f, ungraded"
    )
    rows = query(built_warehouse.path, f"select {columns} from batch_quality order by 1")
    assert rows == [
        ("WO-1001", 60, 60, 54, 6, 2, 1, 1, 1, 1, 1, 6, 2, 1, 1, 54, 2, 1, 1, 0, 0, 2),
        ("WO-1002", 50, 41, 37, 4, 0, 1, 1, 1, 1, 0, 4, 2, 1, 0, 37, 1, 0, 0, 0, 1, 2),
        ("WO-1003", 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ]
    rates = query(
        built_warehouse.path,
        """
        select work_order_id, camera_pass_rate, reject_rate, units_per_minute,
               first_print_at, last_print_at
        from batch_quality order by 1
        """,
    )
    wo1, wo2, wo3 = rates
    assert wo1[1:4] == pytest.approx((0.9, 0.1, 60.0))
    assert wo1[4] == datetime(2025, 3, 3, 8, 0, 1, tzinfo=UTC)
    assert wo1[5] == datetime(2025, 3, 3, 8, 1, 0, tzinfo=UTC)
    assert wo2[1:4] == pytest.approx((37 / 41, 4 / 41, 60.0))
    assert wo3[1:] == (None, None, None, None, None)


def test_hierarchy_after_rework(built_warehouse: BuiltWarehouse) -> None:
    demo = built_warehouse.demo
    case1, case2, _, _, _, case6 = demo.wo1.cases
    pallet1, pallet2 = demo.wo1.pallets

    def where_is(serial: str) -> list[tuple[Any, ...]]:
        return query(
            built_warehouse.path,
            "select parent_sscc, pallet_sscc from aggregation_hierarchy where child_key = ?",
            [unit_key(GTIN_A, serial)],
        )

    # moved from case 1 to the partial case 6 (on pallet 2)
    assert where_is(demo.moved_serial) == [(case6, pallet2)]
    # taken out of case 2 and put back
    assert where_is(demo.reworked_serial) == [(case2, pallet1)]
    # taken out of case 3 for good: loose, so commissioned
    assert where_is(demo.sampled_serial) == []
    ((status, case_sscc),) = query(
        built_warehouse.path,
        "select status, case_sscc from serial_lifecycle where gtin = ? and serial = ?",
        [GTIN_A, demo.sampled_serial],
    )
    assert (status, case_sscc) == ("commissioned", None)

    # what is inside pallet 1: 4 cases, 9 + 10 + 9 + 10 items
    inside = query(
        built_warehouse.path,
        """
        select child_level, count(*) from aggregation_hierarchy
        where pallet_sscc = ? group by all order by all
        """,
        [pallet1],
    )
    assert inside == [("case", 4), ("item", 38)]
    counts = dict(
        query(
            built_warehouse.path,
            "select sscc, child_count from containers where work_order_id = 'WO-1001'",
        )
    )
    assert [counts[case] for case in demo.wo1.cases] == [9, 10, 9, 10, 10, 5]
    assert (counts[pallet1], counts[pallet2]) == (4, 2)
    containers = query(
        built_warehouse.path,
        "select sscc, item_count, is_full, capacity from containers where sscc in (?, ?, ?, ?)",
        [case1, case6, pallet1, pallet2],
    )
    assert sorted(containers) == sorted(
        [
            (case1, 9, True, 10),
            (case6, 5, False, 10),
            (pallet1, 38, True, 4),
            (pallet2, 15, False, 4),
        ]
    )
    # a case's commissioning time is its first ADD, untouched by later rework
    ((commissioned_at,),) = query(
        built_warehouse.path, "select commissioned_at from containers where sscc = ?", [case1]
    )
    assert commissioned_at == datetime(2025, 3, 3, 8, 0, 12, 200_000, tzinfo=UTC)


def test_dimensions(built_warehouse: BuiltWarehouse) -> None:
    rows = query(
        built_warehouse.path,
        """
        select work_order_id, expiry, product_name, company_prefix_length,
               site_name, customer_name
        from dim_work_orders order by 1
        """,
    )
    assert [row[0] for row in rows] == ["WO-1001", "WO-1002", "WO-1003"]
    assert rows[0][1:] == (
        datetime(2027, 2, 28).date(),
        "Acmecillin injection",
        7,
        "Acme Packaging Plant 1",
        "Big Wholesale DC East",
    )
    assert query(
        built_warehouse.path,
        "select gln, company_prefix, location_reference from dim_locations order by gln",
    ) == [("0614141000012", "0614141", "00001"), ("0860000000017", "0860000", "00001")]
    assert query(
        built_warehouse.path,
        "select company_prefix, item_reference from dim_products where gtin = ?",
        [GTIN_A],
    ) == [("0614141", "000001")]


def test_docs_generate_documents_every_model_and_column(
    built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    run = run_dbt(
        ["docs", "generate"],
        raw_dir=built_warehouse.raw_dir,
        warehouse=built_warehouse.path,
        work_dir=tmp_path,
    )
    assert run.success
    manifest = json.loads((run.target_dir / "manifest.json").read_text())
    catalog = json.loads((run.target_dir / "catalog.json").read_text())
    missing: list[str] = []
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    # every model file of the project was parsed (none silently skipped by a config)
    model_files = list((PROJECT_ROOT / "transforms" / "models").rglob("*.sql"))
    assert len(models) == len(model_files)
    for node in models:
        if not node["description"].strip():
            missing.append(node["name"])
        documented = {
            name.lower() for name, col in node["columns"].items() if col["description"].strip()
        }
        for column in catalog["nodes"][node["unique_id"]]["columns"]:
            if column.lower() not in documented:
                missing.append(f"{node['name']}.{column}")
    assert missing == []


def test_lifecycle_source_without_files_is_empty_with_the_contract_columns(
    built_warehouse: BuiltWarehouse,
) -> None:
    """No lifecycle event recorded (the folder does not even exist): the staging model is
    an empty relation with the contract's columns and types, and every serial keeps its
    line status."""
    from serialtrace.lifecycle.schema import LIFECYCLE_EVENT_SCHEMA

    assert not (built_warehouse.raw_dir / "lifecycle").exists()
    assert query(built_warehouse.path, "select count(*) from stg_lifecycle__events") == [(0,)]
    columns = dict(
        query(
            built_warehouse.path,
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'stg_lifecycle__events'",
        )
    )
    renamed = {"source": "event_source"}
    for field in LIFECYCLE_EVENT_SCHEMA:
        timestamp = str(field.type).startswith("timestamp")
        expected = "TIMESTAMP WITH TIME ZONE" if timestamp else "VARCHAR"
        assert columns[renamed.get(field.name, field.name)] == expected, field.name
    assert query(
        built_warehouse.path,
        "select count(*) from serial_lifecycle "
        "where status_source <> 'line' or status is distinct from line_status",
    ) == [(0,)]


def test_status_history_tells_every_line_change(built_warehouse: BuiltWarehouse) -> None:
    rows = query(
        built_warehouse.path,
        "select origin, from_status, to_status, count(*) from serial_status_history "
        "group by all order by all",
    )
    assert rows == [
        ("allocation", None, "allocated", 115),
        ("line", "aggregated", "commissioned", 3),  # rework: moved, reworked, sampled
        ("line", "allocated", "printed", 101),
        ("line", "commissioned", "aggregated", 93),  # 91 packed + 2 packed again
        ("line", "printed", "commissioned", 91),
        ("line", "printed", "decommissioned", 10),
    ]


def test_erp_reconciliation_explains_every_batch(built_warehouse: BuiltWarehouse) -> None:
    with duckdb.connect(str(built_warehouse.path), read_only=True) as con:
        rows = con.execute(
            "select work_order_id, erp_planned_quantity, allocated, printed, "
            "commissioned_at_line, rejected_at_line, reconciliation_status, discrepancy "
            "from erp_reconciliation order by work_order_id"
        ).fetchall()
        quality = dict(con.execute("select work_order_id, passed from batch_quality").fetchall())
    assert [r[0] for r in rows] == sorted(quality)
    for wo, planned, allocated, printed, passed, _rejected, status, why in rows:
        assert passed == quality[wo]
        assert (status == "reconciled") == (why == "")
        if printed < allocated:  # the batch that never ran: its serials are unaccounted for
            assert status == "discrepancy" and "neither printed nor closed as unused" in why
        if allocated != planned:
            assert f"allocated {allocated} <> ERP planned {planned}" in why
