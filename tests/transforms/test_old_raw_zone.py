"""A raw zone written before session 2: master-data files without the nullable columns
added since (ERP provenance, the product's SNOMED CT and proprietary codes) still build.

The files are written with the session-1 schemas (the current contracts without the
columns listed in ``ADDED_SINCE_SESSION_1``), as an old installation has them on disk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt_harness import DbtRun, run_dbt
from rawzone import demo_raw_zone

from ingest.dbt_defaults import MACRO_PATH, duckdb_type, render_macro
from ingest.schemas import MASTERDATA_TABLES

# the nullable columns each master-data contract gained after the walking skeleton
# (commit cff8ed4): ERP provenance (89fc8d2) and the product codes (ef514d1)
PROVENANCE = ["source", "source_file", "load_id"]
ADDED_SINCE_SESSION_1 = {
    "companies": PROVENANCE,
    "locations": PROVENANCE,
    "products": [
        "erp_material",
        "source_changed_at",
        *PROVENANCE,
        "snomed_ct_code",
        "proprietary_code",
    ],
    "lots": ["company_id", "quantity", "quantity_unit", "source_changed_at", *PROVENANCE],
    "work_orders": ["company_id", *PROVENANCE],
}


def old_schema(table: str) -> pa.Schema:
    schema = MASTERDATA_TABLES[table]
    added = ADDED_SINCE_SESSION_1[table]
    assert all(schema.field(name).nullable for name in added)
    return pa.schema([field for field in schema if field.name not in added])


def test_the_defaults_macro_is_generated_from_the_contracts() -> None:
    assert MACRO_PATH.read_text() == render_macro(), "run python -m ingest.dbt_defaults"


def test_duckdb_type_names_an_unknown_type() -> None:
    with pytest.raises(ValueError, match="no DuckDB type for the Parquet column type"):
        duckdb_type(pa.list_(pa.string()))


@pytest.fixture(scope="module")
def old_zone_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtRun]:
    root = tmp_path_factory.mktemp("old-raw-zone")
    raw = demo_raw_zone().zone.write(root / "raw")
    for table, rows in demo_raw_zone().zone.masterdata.items():
        schema = old_schema(table)
        path = raw / "masterdata" / table / "part-00000.parquet"
        data = [{field.name: row.get(field.name) for field in schema} for row in rows]
        pq.write_table(pa.Table.from_pylist(data, schema=schema), path)
        assert set(pq.read_schema(path).names).isdisjoint(ADDED_SINCE_SESSION_1[table])
    # every model that reads the master-data files, and their tests
    run = run_dbt(
        [
            "build",
            "--select",
            "source:masterdata+1",
            "--indirect-selection",
            "cautious",
            "--exclude-resource-type",
            "unit_test",
        ],
        raw_dir=raw,
        warehouse=root / "warehouse.duckdb",
        work_dir=root,
    )
    return root / "warehouse.duckdb", run


def test_staging_reads_master_data_without_the_new_columns(
    old_zone_build: tuple[Path, DbtRun],
) -> None:
    warehouse, run = old_zone_build
    assert run.success, f"dbt build failed: {sorted(run.failed())}"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        products = con.execute(
            "select count(*), count(snomed_ct_code), count(proprietary_code), count(ndc)"
            " from stg_masterdata__products"
        ).fetchone()
        loads = con.execute(
            "select count(*), count(erp_material), count(load_id),"
            " min(record_source), max(record_source), count(changed_at)"
            " from stg_erp__product_loads"
        ).fetchone()
        lots = con.execute(
            "select count(*), count(quantity), count(company_id), min(record_source)"
            " from stg_erp__lot_loads"
        ).fetchone()
        work_orders = con.execute("select count(*) from stg_masterdata__work_orders").fetchone()
    # two products, their old columns read, the new ones null
    assert products == (2, 0, 0, 2)
    # provenance absent: 'unknown' source, change time = load time
    assert loads == (2, 0, 0, "unknown", "unknown", 2)
    assert lots is not None and lots[1:] == (0, 0, "unknown")
    assert work_orders == (3,)


def test_a_missing_required_column_still_fails(tmp_path: Path) -> None:
    raw = demo_raw_zone().zone.write(tmp_path / "raw")
    schema = pa.schema([f for f in old_schema("products") if f.name != "dosage_form"])
    rows = demo_raw_zone().zone.masterdata["products"]
    data = [{field.name: row.get(field.name) for field in schema} for row in rows]
    pq.write_table(
        pa.Table.from_pylist(data, schema=schema),
        raw / "masterdata" / "products" / "part-00000.parquet",
    )
    run = run_dbt(
        ["run", "--select", "stg_masterdata__products"],
        raw_dir=raw,
        warehouse=tmp_path / "warehouse.duckdb",
        work_dir=tmp_path,
    )
    assert not run.success
    assert "stg_masterdata__products" in run.failed()
    assert "dosage_form" in str(run.result.result)


def test_an_erp_load_log_without_loaded_by_still_reads(tmp_path: Path) -> None:
    """The ERP load log gained `loaded_by` (the acting user) after loads had been written:
    an older file is read with the column null, a newer one with its user."""
    from ingest.schemas import ERP_LOAD_SCHEMA

    raw = tmp_path / "raw"
    folder = raw / "erp" / "loads"
    folder.mkdir(parents=True)
    row = {
        "load_id": "sap-1",
        "connection": "sap",
        "company_id": "DEMO",
        "kind": "sap_idoc",
        "source_file": "a.xml",
        "sha256": "0" * 64,
        "outcome": "loaded",
        "products": 1,
        "lots": 0,
        "work_orders": 0,
        "rejected_rows": 0,
        "reason": None,
        "loaded_at": datetime(2026, 1, 1, tzinfo=UTC),
        "loaded_by": "qa.lead",
    }
    old = pa.schema([f for f in ERP_LOAD_SCHEMA if f.name != "loaded_by"])
    old_row = {k: v for k, v in row.items() if k != "loaded_by"} | {"load_id": "sap-0"}
    pq.write_table(pa.Table.from_pylist([old_row], schema=old), folder / "part-old.parquet")
    pq.write_table(pa.Table.from_pylist([row], schema=ERP_LOAD_SCHEMA), folder / "part-new.parquet")
    run = run_dbt(
        ["run", "--select", "stg_erp__loads"],
        raw_dir=raw,
        warehouse=tmp_path / "warehouse.duckdb",
        work_dir=tmp_path,
    )
    assert run.success, f"dbt run failed: {sorted(run.failed())}"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select load_id, loaded_by from stg_erp__loads order by load_id"
        ).fetchall()
    assert rows == [("sap-0", None), ("sap-1", "qa.lead")]
