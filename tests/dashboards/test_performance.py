"""What keeps the pages fast on a big warehouse: the serial lookup served by an index,
one read-only connection per page run, results cached per warehouse version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboards import cache, data
from dashboards.auth import USER_KEY
from serialtrace.demo import DemoResult
from serialtrace.errors import SerialtraceError
from serialtrace.settings import PROJECT_ROOT, Home
from tests.dashboards.login import ensure_user


def _plan(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> str:
    """The plan DuckDB ran (how a table is read is decided when the query runs: EXPLAIN
    ANALYZE tells)."""
    return str(con.execute(f"explain analyze {sql}", params).fetchall()[0][1])


def _scan_type(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> str:
    """How DuckDB read the one table a query reads."""
    plan = _plan(con, sql, params)
    types = [line for line in plan.splitlines() if "Type:" in line]
    assert len(types) == 1, plan
    return types[0]


def test_the_serial_lookup_is_an_index_scan(demo: tuple[Home, DemoResult]) -> None:
    home, _ = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        indexes = con.execute(
            "select table_name, index_name, expressions from duckdb_indexes() order by 1"
        ).fetchall()
        assert indexes == [
            ("aggregation_hierarchy", "aggregation_hierarchy__parent_sscc_idx", "[parent_sscc]"),
            # under the serial_lifecycle view
            ("int_serials_line_status", "int_serials_line_status__serial_idx", "[serial]"),
        ]
        row = con.execute(
            "select gtin, serial, case_sscc from serial_lifecycle where case_sscc is not null "
            "order by serial desc limit 1"
        ).fetchone()
        assert row is not None
        # serial_lifecycle is a view: the line-status table under it is read by its
        # index, the few lifecycle events beside it are scanned
        assert "Index Scan" in _plan(con, data.SERIAL_LOOKUP_SQL, [row[1]])
        assert "Index Scan" in _scan_type(con, data.CHILDREN_SQL, [row[2]])
        # what the index cannot serve: a filter on two columns scans the table
        two = "select * from serial_lifecycle where gtin = ? and serial = ?"
        assert "Index Scan" not in _plan(con, two, list(row[:2]))
        items = con.execute(
            "select child_serial from aggregation_hierarchy where parent_sscc = ? "
            "and child_level = 'item' order by 1",
            [row[2]],
        ).fetchall()
    view = data.serial_view(home.warehouse, row[0], row[1])
    assert (view.lifecycle["gtin"], view.lifecycle["serial"], view.case) == row
    assert view.case_items["serial"].to_list() == [i[0] for i in items]
    assert row[1] in view.case_items["serial"].to_list()


def test_a_serial_of_another_gtin_is_not_found(demo: tuple[Home, DemoResult]) -> None:
    home, _ = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute("select gtin, serial from serial_lifecycle limit 1").fetchone()
    assert row is not None
    other = "0" * 13 + ("1" if row[0][-1] != "1" else "2")
    with pytest.raises(SerialtraceError, match=f"serial {row[1]} of GTIN {other}"):
        data.serial_view(home.warehouse, other, row[1])


def test_a_page_run_opens_one_read_only_connection_and_closes_it(
    demo: tuple[Home, DemoResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = demo
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    opened: list[tuple[duckdb.DuckDBPyConnection, dict[str, Any]]] = []
    real_connect = duckdb.connect

    def counting_connect(database: str, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        con = real_connect(database, **kwargs)
        opened.append((con, kwargs))
        return con

    monkeypatch.setattr(duckdb, "connect", counting_connect)
    st.cache_data.clear()
    app = AppTest.from_file(str(PROJECT_ROOT / "dashboards" / "app.py"), default_timeout=60)
    app.session_state[USER_KEY] = ensure_user(home)  # as after the login form
    app.run()
    assert not app.exception
    assert [m.label for m in app.metric][:1] == ["Printed"]  # the batch page ran whole
    assert any(c.value.startswith("Rows ") for c in app.caption)  # its serials table too
    assert [kwargs for _, kwargs in opened] == [{"read_only": True}]
    with pytest.raises(duckdb.ConnectionException):  # closed at the end of the run
        opened[0][0].execute("select 1")


def test_cached_results_follow_a_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table erp_reconciliation as "
            "select 'WO-1' as work_order_id, 'reconciled' as reconciliation_status"
        )
    calls: list[Path] = []
    real = data.reconciliation

    def counted(path: Path) -> Any:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(data, "reconciliation", counted)
    st.cache_data.clear()
    assert cache.reconciliation(warehouse)["work_order_id"].to_list() == ["WO-1"]
    assert cache.reconciliation(warehouse)["work_order_id"].to_list() == ["WO-1"]
    assert len(calls) == 1  # the second call came from the cache

    before = cache.warehouse_version(warehouse)
    with duckdb.connect(str(warehouse)) as con:  # a rebuild writes the warehouse
        con.execute("insert into erp_reconciliation values ('WO-2', 'discrepancy')")
        con.execute("checkpoint")
    assert cache.warehouse_version(warehouse) != before
    frame = cache.reconciliation(warehouse)
    assert frame["work_order_id"].to_list() == ["WO-2", "WO-1"]
    assert frame["reconciles"].to_list() == [False, True]
    assert len(calls) == 2


def test_the_history_uses_an_index_on_serial_when_the_mart_has_one(
    demo: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    home, _ = demo
    copy = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        # the history is a view over serial_lifecycle and its index on serial
        assert con.execute(data.HISTORY_INDEX_SQL).fetchall() == [(1,)]
        row = con.execute(
            "select gtin, serial, any_value(work_order_id) from serial_status_history "
            "group by all having count(*) > 2 order by serial limit 1"
        ).fetchone()
        assert row is not None
        sql = data.history_sql(indexed=True, with_work_order=False)
        plan = _plan(con, sql, [row[1]])
        assert "Index Scan" in plan and "int_serials_line_status" in plan
        scanned = con.execute(
            data.history_sql(indexed=False, with_work_order=True), list(row)
        ).fetchall()
        assert [r[1:] for r in con.execute(sql, [row[1]]).fetchall()] == scanned
    with duckdb.connect() as con:  # the history as a table, as older warehouses had it
        con.execute(f"attach '{home.warehouse}' as demo (read_only)")
        con.execute(f"attach '{copy}' as copy")
        for table in ("serial_status_history", "serial_lifecycle", "aggregation_hierarchy"):
            con.execute(f"create table copy.{table} as from demo.{table}")
    before = data.serial_view(home.warehouse, *row[:2]).history
    with duckdb.connect(str(copy)) as con:
        assert con.execute(data.HISTORY_INDEX_SQL).fetchall() == [(0,)]  # no index
        con.execute("create index history_serial on serial_status_history (serial)")
        # another GTIN's unit with the same serial: found by the index, left out
        con.execute(
            "insert into serial_status_history by name select * replace "
            "(left(gtin, 13) || if(right(gtin, 1) = '9', '8', '9') as gtin) "
            "from serial_status_history where serial = ?",
            [row[1]],
        )
        assert con.execute(data.HISTORY_INDEX_SQL).fetchall() == [(1,)]
        sql = data.history_sql(indexed=True, with_work_order=False)
        assert "Index Scan" in _scan_type(con, sql, [row[1]])
    after = data.serial_view(copy, *row[:2]).history
    assert after.height > 2 and after.equals(before)
