"""Versioned master data in the warehouse: a later recall is a new lot version with its
time; events join the version valid when they happened; reconciliation uses the ERP's
batch quantity."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.schemas import MASTERDATA_TABLES
from serialtrace.io.parquet import rows_to_table, write_atomic
from tests.transforms.dbt_harness import run_dbt
from tests.transforms.rawzone import GTIN_A, demo_raw_zone


def _query(warehouse: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("erp-warehouse")
    demo = demo_raw_zone()
    raw = demo.zone.write(root / "raw")
    recalled_at = demo.wo1.ended_at + timedelta(days=2)
    lot = {
        "gtin": GTIN_A,
        "lot": "LA001",
        "expiry": demo.wo1.spec.expiry,
        "manufactured_on": demo.zone.masterdata["lots"][0]["manufactured_on"],
        "company_id": "ACME",
        "quantity": 50,
        "quantity_unit": "EA",
        "source": "sap-test",
        "source_file": "BATMAS03_recall.xml",
        "load_id": "sap-test-1",
    }
    rows = [
        {
            **lot,
            "release_status": "released",
            "source_changed_at": demo.wo1.spec.started_at - timedelta(hours=1),
            "loaded_at": recalled_at,
        },
        {
            **lot,
            "release_status": "recalled",
            "source_changed_at": recalled_at,
            "loaded_at": recalled_at,
        },
        # the same recall sent again a day later: the same version, not a new one
        {
            **lot,
            "release_status": "recalled",
            "source_changed_at": recalled_at + timedelta(days=1),
            "loaded_at": recalled_at + timedelta(days=1),
        },
    ]
    write_atomic(
        raw / "masterdata" / "lots" / "part-erp-sap-test-1.parquet",
        rows_to_table(rows, MASTERDATA_TABLES["lots"]),
    )
    run = run_dbt(
        [
            "build",
            "--select",
            "+erp_reconciliation",
            "+batch_master_data_at_packaging",
            "+lot_status_history",
            "stg_erp__loads",
            "+int_locations_versioned",
            "--indirect-selection",
            "cautious",
        ],
        raw_dir=raw,
        warehouse=root / "warehouse.duckdb",
        work_dir=root,
    )
    assert run.success, run.failed()
    statuses = run.statuses()
    for name in (
        "assert_lot_versions_are_a_chain",
        "test_int_lots_versioned_repeats_collapse_and_validity_chains",
    ):
        assert statuses.get(name) == "pass", (name, statuses.get(name))
    return run.warehouse, recalled_at


def test_recall_is_a_new_lot_version_with_its_time(warehouse: tuple[Path, Any]) -> None:
    path, recalled_at = warehouse
    [status] = _query(path, "select * from lot_status where lot = 'LA001'")
    assert (status["release_status"], status["is_released_for_packaging"]) == ("recalled", False)
    assert status["status_since"] == recalled_at and status["record_source"] == "sap-test"
    history = _query(
        path, "select * from lot_status_history where lot = 'LA001' order by version_number"
    )
    # the raw zone's first load, the ERP's released version, its recall (sent twice)
    assert [(h["release_status"], h["record_source"]) for h in history] == [
        ("released", "unknown"),
        ("released", "sap-test"),
        ("recalled", "sap-test"),
    ]
    assert history[1]["valid_to"] == recalled_at == history[2]["valid_from"]
    assert history[2]["valid_to"] is None
    assert all(h["is_current"] == (h is history[-1]) for h in history)


def test_events_join_the_version_valid_at_their_time(warehouse: tuple[Path, Any]) -> None:
    path, _ = warehouse
    [wo1] = _query(
        path, "select * from batch_master_data_at_packaging where work_order_id = 'WO-1001'"
    )
    assert wo1["release_status_at_packaging"] == "released"
    assert wo1["release_status_now"] == "recalled"
    assert wo1["product_name_at_packaging"] is not None and wo1["product_version"] == 1


def test_reconciliation_uses_the_erp_batch_quantity(warehouse: tuple[Path, Any]) -> None:
    path, _ = warehouse
    [wo1] = _query(path, "select * from erp_reconciliation where work_order_id = 'WO-1001'")
    assert wo1["erp_batch_quantity"] == 50
    assert (
        f"commissioned {wo1['commissioned_at_line']} > ERP batch quantity 50"
        in (wo1["discrepancy"])
    )
    assert wo1["reconciliation_status"] == "discrepancy"
    assert _query(path, "select count(*) as n from stg_erp__loads") == [{"n": 0}]
