"""The dbt data tests are Dagster asset checks, the singular invariants included, and a
broken invariant fails its check and the run."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetCheckKey, AssetKey

from line_bridge.schemas import STREAMS
from orchestration.definitions import WAREHOUSE_JOB, build_definitions
from orchestration.run import QUIET, dagster_instance
from serialtrace.demo import DemoResult
from serialtrace.settings import Home

INVARIANTS = {
    "assert_no_child_in_two_parents": "aggregation_hierarchy",
    "assert_every_printed_unit_has_outcome": "int_units_inspected",
    "assert_passed_plus_rejected_equals_printed": "batch_quality",
    "assert_container_item_count_matches_items": "containers",
    "assert_no_decommissioned_serial_in_case": "serial_lifecycle",
    "assert_aggregated_items_passed_inspection": "aggregation_hierarchy",
    "assert_failed_units_match_rejects": "int_units_inspected",
    "assert_printed_serials_were_allocated": "int_units_inspected",
    "assert_aggregation_levels_consistent": "stg_line__aggregations",
    "assert_printed_lot_and_expiry_match_allocation": "stg_line__prints",
    "assert_status_history_is_a_chain": "serial_status_history",
    "assert_lifecycle_events_applied": "int_lifecycle_events_replayed",
}


def test_every_invariant_is_an_asset_check(demo: tuple[Home, DemoResult]) -> None:
    home, _ = demo
    graph = build_definitions(home).resolve_asset_graph()
    checks = set(graph.asset_check_keys)
    for test, model in INVARIANTS.items():
        assert AssetCheckKey(AssetKey(model), test) in checks, test
    # generic tests too, on their model
    assert AssetCheckKey(AssetKey("serial_lifecycle"), "batch_checks_serial_lifecycle") in checks


def _pack_into_second_case(home: Home) -> str:
    """A new part file of the demo batch ADDs an item already in one case to another."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        cases = con.execute(
            "select distinct case_sscc from serial_lifecycle where case_sscc is not null "
            "order by 1 limit 2"
        ).fetchall()
        row = con.execute(
            "select work_order_id, line_id, gtin, serial, status_at from serial_lifecycle "
            "where case_sscc = ? order by serial limit 1",
            [cases[0][0]],
        ).fetchone()
    assert row is not None and len(cases) == 2
    work_order_id, line_id, gtin, serial, at = row
    link = {
        "work_order_id": work_order_id,
        "line_id": line_id,
        "parent_sscc": cases[1][0],
        "parent_level": "case",
        "child_level": "item",
        "child_gtin": gtin,
        "child_serial": serial,
        "child_sscc": None,
        "action": "ADD",
        "parent_full": False,
        "aggregated_at": at + timedelta(hours=1),
    }
    folder = home.raw_line / "aggregate" / f"work_order={work_order_id}"
    table = pa.Table.from_pylist([link], schema=STREAMS["aggregate"])
    pq.write_table(table, folder / "part-99999.parquet")
    return str(work_order_id)


def run_with_a_child_in_two_cases(
    demo: tuple[Home, DemoResult], tmp_path: Path, job: str
) -> dict[tuple[str, str], bool]:
    """Run ``job`` on a copy of the demo home where one unit sits in two cases; assert the
    run failed and return its asset check evaluations ((model, check) -> passed)."""
    source, _ = demo
    home = Home(tmp_path / "home")
    shutil.copytree(source.root, home.root)
    _pack_into_second_case(home)
    defs = build_definitions(home)
    with dagster_instance(home) as instance:
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET
        )
    assert not result.success
    return {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }


def test_broken_invariant_fails_its_check_and_the_run(
    demo: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    evaluations = run_with_a_child_in_two_cases(demo, tmp_path, WAREHOUSE_JOB)
    assert evaluations[("aggregation_hierarchy", "assert_no_child_in_two_parents")] is False
    assert evaluations[("stg_line__prints", "assert_printed_lot_and_expiry_match_allocation")]
