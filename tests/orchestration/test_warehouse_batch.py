"""The data-triggered run (warehouse_batch_job, dbt selector new_line_data): what it
selects, that the sensors request it, and that a broken invariant still fails it."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetCheckKey, AssetKey

from orchestration.definitions import build_definitions
from orchestration.sensors import new_lifecycle_events_sensor, new_line_data_sensor
from orchestration.warehouse_batch import WAREHOUSE_BATCH_JOB
from serialtrace.demo import DemoResult
from serialtrace.settings import Home
from tests.orchestration.test_asset_checks import run_with_a_child_in_two_cases


def test_sensors_request_the_batch_job() -> None:
    assert new_line_data_sensor.job_name == WAREHOUSE_BATCH_JOB
    assert new_lifecycle_events_sensor.job_name == WAREHOUSE_BATCH_JOB


def test_batch_job_selects_what_line_data_touches(demo: tuple[Home, DemoResult]) -> None:
    home, _ = demo
    defs = build_definitions(home)
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(WAREHOUSE_BATCH_JOB)
    selected = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    # the batch models, what reads them, and the small tables they read
    assert {
        "int_batch_fingerprints",
        "serial_lifecycle",
        "serial_status_history",
        "aggregation_hierarchy",
        "batch_quality",
        "verification_index",
        "erp_reconciliation",
        "dim_work_orders",
        "stg_masterdata__work_orders",
        "batch_build_log",
    } <= selected
    # not what does not depend on line data
    assert not {"partner_scorecard", "verification_telemetry", "stg_erp__loads"} & selected
    # the master data a batch lands with it is rebuilt, and every other table the batch
    # models read (a data-triggered build works on a fresh warehouse too)
    assert {"stg_masterdata__products", "dim_products", "lot_status"} <= selected
    assert {"stg_shipments__shipments", "lifecycle_transitions"} <= selected
    checks = set(job.asset_layer.asset_graph.asset_check_keys) & set(graph.asset_check_keys)
    assert (
        AssetCheckKey(AssetKey("serial_status_history"), "assert_status_history_is_a_chain")
        in checks
    )


def test_broken_invariant_fails_the_batch_job(
    demo: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    evaluations = run_with_a_child_in_two_cases(demo, tmp_path, WAREHOUSE_BATCH_JOB)
    assert evaluations[("aggregation_hierarchy", "assert_no_child_in_two_parents")] is False
    assert evaluations[("stg_line__prints", "assert_printed_lot_and_expiry_match_allocation")]
    # the master-data models were rebuilt, but their own tests are the full build's
    assert not [check for (model, check) in evaluations if model == "stg_masterdata__products"]
