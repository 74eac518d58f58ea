"""Incremental builds: a new batch, a rework and lifecycle events arriving late for an old
batch re-process only the batches they touch, and the result equals a full refresh,
table by table."""

from __future__ import annotations

from pathlib import Path

import duckdb
from conftest import IncrementalBuilds
from incremental import DESTROYED_CASE

# columns that tell when or how the build ran, not what the data says
RUN_COLUMNS = {"built_at", "built_fingerprint", "is_changed"}


def test_every_build_succeeds(incremental_builds: IncrementalBuilds) -> None:
    for name, run in incremental_builds.runs.items():
        assert run.success, f"{name}: {sorted(run.failed())}"


def test_only_changed_batches_are_rebuilt(incremental_builds: IncrementalBuilds) -> None:
    changed = incremental_builds.changed
    assert changed["stage_1"] == ["WO-1001", "WO-1002", "WO-1003"]  # first build: all
    # WO-1002 ran; WO-1001 got rework and lifecycle events; WO-1003 did not change
    assert changed["stage_2"] == ["WO-1001", "WO-1002"]
    assert changed["unchanged"] == []
    assert changed["full_refresh"] == ["WO-1001", "WO-1002", "WO-1003"]
    statuses = incremental_builds.runs["stage_2"].statuses()
    assert statuses["serial_lifecycle"] == "success"


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ? order by 1", [catalog]
    ).fetchall()
    return [row[0] for row in rows]


def test_incremental_equals_full_refresh_table_by_table(
    incremental_builds: IncrementalBuilds,
) -> None:
    con = duckdb.connect()
    con.execute(f"attach '{incremental_builds.incremental}' as inc (read_only)")
    con.execute(f"attach '{incremental_builds.full_refresh}' as ref (read_only)")
    tables = _tables(con, "inc")
    assert tables == _tables(con, "ref")
    assert {"serial_lifecycle", "serial_status_history", "batch_build_log"} <= set(tables)
    differences = {}
    for table in tables:
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from duckdb_columns() "
                "where database_name = 'inc' and table_name = ? order by column_index",
                [table],
            ).fetchall()
            if row[0] not in RUN_COLUMNS
        ]
        select = ", ".join(f'"{column}"' for column in columns)
        (only_inc,) = con.execute(
            f"select count(*) from (select {select} from inc.{table} "
            f"except all select {select} from ref.{table})"
        ).fetchall()[0]
        (only_ref,) = con.execute(
            f"select count(*) from (select {select} from ref.{table} "
            f"except all select {select} from inc.{table})"
        ).fetchall()[0]
        if only_inc or only_ref:
            differences[table] = (only_inc, only_ref)
    con.close()
    assert differences == {}


def _query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_late_lifecycle_events_change_old_batch(incremental_builds: IncrementalBuilds) -> None:
    """The destroyed case and the sample of WO-1001 (built in stage 1) are decommissioned
    after the incremental stage-2 build; WO-1002's unprinted serials are closed."""
    rows = _query(
        incremental_builds.incremental,
        "select work_order_id, status, status_reason, count(*) from serial_lifecycle "
        "where status_source = 'lifecycle' group by all order by all",
    )
    assert rows == [
        ("WO-1001", "decommissioned", "destroyed", 10),
        ("WO-1001", "decommissioned", "sample", 1),
        ("WO-1002", "decommissioned", "unused_at_batch_close", 9),
    ]
    case = incremental_builds.demo.wo1.cases[DESTROYED_CASE]
    assert _query(
        incremental_builds.incremental,
        f"select count(*) from serial_lifecycle where case_sscc = '{case}' "
        "and status = 'decommissioned' and line_status = 'aggregated'",
    ) == [(10,)]
