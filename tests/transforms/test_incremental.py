"""Incremental builds: a new batch, a rework and lifecycle events arriving late for an old
batch re-process only the batches they touch, and the result equals a full refresh,
table by table."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from conftest import IncrementalBuilds
from dbt_harness import DbtRun, broken_copy, project_manifest, run_dbt
from incremental import DESTROYED_CASE
from rawzone import item_link, write_rows

from line_bridge.schemas import STREAMS

AGGREGATE = STREAMS["aggregate"]

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


SCOPE_READ = re.compile(r"select work_order_id, is_changed from \S*int_batch_fingerprints")
BATCH_DELETE = re.compile(r"delete from \S+ where (.+)", re.DOTALL)
FINGERPRINTS = "model.serialtrace.int_batch_fingerprints"


def test_the_batch_scope_is_read_once_per_build_after_it_is_rebuilt(
    incremental_builds: IncrementalBuilds,
) -> None:
    """Every incremental model and scoped test asks for the batch scope; a build reads
    int_batch_fingerprints for it once, after committing its rebuild, and the next build
    in the same process (same parsed project) reads its own."""
    for name, steps in incremental_builds.trace.items():
        reads = [
            i for i, (kind, text) in enumerate(steps) if kind == "sql" and SCOPE_READ.search(text)
        ]
        assert len(reads) == 1, f"{name}: {len(reads)} reads of the batch scope"
        assert steps.index(("commit", FINGERPRINTS)) < reads[0], name
    deletes = {
        name: {
            " ".join(match.group(1).split())
            for kind, text in steps
            if kind == "sql" and (match := BATCH_DELETE.search(text))
        }
        for name, steps in incremental_builds.trace.items()
    }
    # the first build and a full refresh replace whole tables; stage 2 rebuilds the two
    # changed work orders; the build after it, with nothing changed, deletes nothing
    assert deletes == {
        "stage_1": set(),
        "stage_2": {"work_order_id in ('WO-1001','WO-1002')"},
        "unchanged": {"1 = 0"},
        "full_refresh": set(),
    }


def test_another_invocation_reads_the_batch_scope_again(
    incremental_builds: IncrementalBuilds, tmp_path: Path
) -> None:
    """In process, the parsed project (and the scope a build kept in it) outlives the
    build: an invocation that does not rebuild int_batch_fingerprints reads it again."""
    warehouse = tmp_path / incremental_builds.incremental.name
    shutil.copyfile(incremental_builds.incremental, warehouse)
    raw = incremental_builds.raw_dir
    manifest = project_manifest(raw_dir=raw, warehouse=warehouse)

    def invoke(*command: str) -> DbtRun:
        return run_dbt(
            command, raw_dir=raw, warehouse=warehouse, work_dir=tmp_path, manifest=manifest
        )

    assert invoke("run", "--select", "int_batch_fingerprints").success  # keeps: none changed
    with duckdb.connect(str(warehouse)) as con:  # as another process's build would leave it
        con.execute("update int_batch_fingerprints set is_changed = work_order_id = 'WO-1003'")
    tested = invoke("test", "--select", "stg_line__prints")
    assert tested.success, sorted(tested.failed())
    (compiled,) = tested.target_dir.rglob("compiled/**/batch_checks_stg_line__prints.sql")
    sql = compiled.read_text()
    assert "'WO-1003'" in sql and "'WO-1001'" not in sql


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
    assert {"int_serials_line_status", "int_status_changes_replayed", "batch_build_log"} <= set(
        tables
    )
    # the lifecycle and its history are views over those tables: compared row for row too
    tables += ["serial_lifecycle", "serial_status_history"]
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


def test_scoped_tests_catch_a_new_batch_breaking_an_old_one(
    incremental_builds: IncrementalBuilds, tmp_path: Path
) -> None:
    """An incremental build tests only the changed batches, yet a new part file of
    WO-1002 that packs an item still in a WO-1001 case (WO-1001 unchanged) fails it: the
    uniqueness and two-parents checks look at every row sharing a key with the new ones."""
    raw = tmp_path / "raw"
    shutil.copytree(incremental_builds.raw_dir, raw)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(incremental_builds.incremental, warehouse)
    demo = incremental_builds.demo
    wo1, wo2 = demo.wo1, demo.wo2
    serial = wo1.case_items[wo1.cases[4]][0]  # in WO-1001's case 5, untouched by rework
    row = item_link(wo1, wo2.cases[3], serial, wo2.ended_at + timedelta(minutes=1))
    row.update(work_order_id="WO-1002", line_id=wo2.spec.line_id, parent_full=False)
    write_rows(raw / "line/aggregate/work_order=WO-1002/part-00001.parquet", [row], AGGREGATE)

    run = run_dbt(
        ["build", "--store-failures"], raw_dir=raw, warehouse=warehouse, work_dir=tmp_path
    )

    assert not run.success
    assert "assert_no_child_in_two_parents" in run.failed()
    failing = _query(
        warehouse,
        "select child_key, current_parents "
        "from main_dbt_test__audit.assert_no_child_in_two_parents",
    )
    assert failing == [(f"(01){wo1.spec.gtin}(21){serial}", 2)]
    compiled = next(
        run.target_dir.rglob("compiled/**/assert_no_child_in_two_parents.sql")
    ).read_text()
    assert "work_order_id in ('WO-1002')" in compiled  # only the changed batch was in scope
    # that invariant is the uniqueness test of the hierarchy's key (child_key); the
    # hierarchy's other folded checks wait for containers, which its failure skipped
    assert run.statuses()["batch_checks_aggregation_hierarchy"] == "skipped"
    # a key holding the work order is checked on the changed work order's rows alone:
    # a unit of WO-1002 twice still fails both keys of int_units_inspected
    units_check = next(
        run.target_dir.rglob("compiled/**/batch_checks_int_units_inspected.sql")
    ).read_text()
    assert "work_order_id in ('WO-1002')" in units_check
    copy = broken_copy(
        warehouse,
        tmp_path / "copy",
        [
            "insert into int_units_inspected select * from int_units_inspected "
            "where work_order_id = 'WO-1002' and seq = 1",
        ],
    )
    assert sorted(_query(copy, f"select check_name, failing_rows from ({units_check})")) == [
        ("unique(unit_key)", 1),
        ("unique(work_order_id, seq)", 1),
    ]
    # unit_key is unique within the changed work orders only; a unit of WO-1002 that is
    # a unit of WO-1001 (key, GTIN and serial alike: a duplicate across batches) is
    # caught by the tie to WO-1002's own prints (tied in turn to WO-1002's allocations,
    # which stg_serials__allocations checks across every batch)
    other = broken_copy(
        warehouse,
        tmp_path / "other",
        [
            "update int_units_inspected as unit set unit_key = old.unit_key, "
            "gtin = old.gtin, serial = old.serial "
            "from (select unit_key, gtin, serial from int_units_inspected "
            "where work_order_id = 'WO-1001' and seq = 1) as old "
            "where unit.work_order_id = 'WO-1002' and unit.seq = 1",
        ],
    )
    assert _query(other, f"select check_name, failing_rows from ({units_check})") == [
        (
            "relationships((work_order_id, gtin, serial) -> "
            "stg_line__prints.(work_order_id, gtin, serial))",
            1,
        )
    ]
    # the same at the source: a print of WO-1002 holding a serial of WO-1001 is checked
    # within WO-1002 alone, and caught by the tie to WO-1002's own allocations (a serial
    # printed in two batches is allocated in both, which the allocations' check finds)
    prints_check = next(
        run.target_dir.rglob("compiled/**/batch_checks_stg_line__prints.sql")
    ).read_text()
    allocations_check = next(
        run.target_dir.rglob("compiled/**/batch_checks_stg_serials__allocations.sql")
    ).read_text()
    assert "work_order_id in ('WO-1002')" in prints_check
    _copied_row(raw / "line/print/work_order=WO-1002", seq=9999, gtin=wo1.spec.gtin, serial=serial)
    assert _query(warehouse, f"select check_name, failing_rows from ({prints_check})") == [
        (
            "relationships((work_order_id, gtin, serial) -> "
            "stg_serials__allocations.(work_order_id, gtin, serial))",
            1,
        )
    ]
    _copied_row(raw / "serials/allocations/work_order=WO-1002", gtin=wo1.spec.gtin, serial=serial)
    assert _query(warehouse, f"select check_name, failing_rows from ({prints_check})") == []
    assert _query(warehouse, f"select check_name, failing_rows from ({allocations_check})") == [
        ("unique(gtin, serial)", 1)
    ]


def _copied_row(folder: Path, **values: object) -> None:
    """A new part file in ``folder`` holding its first row with ``values`` changed."""
    (first, *_) = sorted(folder.glob("*.parquet"))
    table = pq.read_table(first)
    row = table.slice(0, 1).to_pylist()[0] | values
    write_rows(folder / "part-09999.parquet", [row], table.schema)
