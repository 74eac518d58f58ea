"""A raw zone that breaks a business invariant makes ``dbt build`` fail, and the marts
that depend on the broken data are not built."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_harness import BuiltWarehouse, broken_copy, run_dbt
from rawzone import DemoZone, demo_raw_zone, item_link


def serial_in_two_cases(demo: DemoZone) -> None:
    """An item of case 4 is also ADDed to case 5, without a DELETE from case 4."""
    wo1 = demo.wo1
    case4, case5 = wo1.cases[3], wo1.cases[4]
    serial = wo1.case_items[case4][0]
    later = wo1.ended_at + timedelta(minutes=30)
    demo.zone.line["aggregate"]["WO-1001"].append(item_link(wo1, case5, serial, later))


def rejected_unit_in_case(demo: DemoZone) -> None:
    """The unit rejected at seq 7 (wrong_data) is packed into the partial case 6."""
    wo1 = demo.wo1
    later = wo1.ended_at + timedelta(minutes=30)
    demo.zone.line["aggregate"]["WO-1001"].append(
        item_link(wo1, wo1.cases[5], wo1.serials[6], later, parent_full=False)
    )


def printed_unit_without_outcome(demo: DemoZone) -> None:
    """The camera record of seq 10 is lost."""
    inspections = demo.zone.line["inspect"]["WO-1001"]
    inspections[:] = [row for row in inspections if row["seq"] != 10]


@pytest.mark.parametrize(
    ("breakage", "expected_failures", "expected_skipped"),
    [
        (
            serial_in_two_cases,
            # aggregation_hierarchy is written, then its invariant fails: what reads it is
            # not built, nor its batch_checks (they read containers for a relationship)
            {"assert_no_child_in_two_parents"},
            {
                "containers",
                "int_serials_line_status",
                "serial_lifecycle",
                "batch_quality",
                "batch_checks_aggregation_hierarchy",
            },
        ),
        (
            rejected_unit_in_case,
            {"assert_aggregated_items_passed_inspection"},
            {"serial_lifecycle"},
        ),
        (
            printed_unit_without_outcome,
            {"assert_every_printed_unit_has_outcome"},
            {"serial_lifecycle", "batch_quality"},
        ),
    ],
    ids=["serial-in-two-cases", "rejected-unit-in-case", "printed-unit-without-outcome"],
)
def test_broken_invariant_fails_the_build(
    tmp_path: Path,
    breakage: Callable[[DemoZone], None],
    expected_failures: set[str],
    expected_skipped: set[str],
) -> None:
    demo = demo_raw_zone()
    breakage(demo)
    raw = demo.zone.write(tmp_path / "raw")

    run = run_dbt(
        ["build"], raw_dir=raw, warehouse=tmp_path / "warehouse.duckdb", work_dir=tmp_path
    )

    assert not run.success
    assert expected_failures <= run.failed()
    statuses = run.statuses()
    assert {model for model in expected_skipped if statuses[model] == "skipped"} == expected_skipped


def test_no_shipped_serial_was_decommissioned_before_its_despatch(
    built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    """assert_shipped_units_are_shipped: a unit decommissioned at the line (a reject)
    found in a shipment despatched after that fails the invariant; the same unit in a
    shipment despatched before it was decommissioned (destroyed by the buyer) does not."""
    sql = built_warehouse.compiled("assert_shipped_units_are_shipped")
    with duckdb.connect(str(built_warehouse.path), read_only=True) as con:
        assert con.execute(sql).fetchall() == []
        (unit_key,) = con.execute(
            "select min(unit_key) from serial_lifecycle where status = 'decommissioned'"
        ).fetchone() or (None,)
    assert unit_key is not None

    def shipped(folder: str, hours: int) -> list[tuple[object, ...]]:
        copy = broken_copy(
            built_warehouse.path,
            tmp_path / folder,
            [
                "insert into shipments by name select 'SH1' as shipment_id, "
                f"'{unit_key}' as identifier_key, 'item' as identifier_level, "
                "'000000000000000017' as shipped_sscc, status_at + "
                f"to_hours({hours}) as despatched_at "
                f"from serial_lifecycle where unit_key = '{unit_key}'"
            ],
        )
        with duckdb.connect(str(copy), read_only=True) as con:
            return con.execute(
                f"select shipment_id, identifier_key, status from ({sql})"
            ).fetchall()

    assert shipped("after", 1) == [("SH1", unit_key, "decommissioned")]
    assert shipped("before", -1) == []
