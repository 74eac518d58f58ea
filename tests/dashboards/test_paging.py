"""Large tables page in SQL: only one page of rows ever leaves the warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dashboards.data import page_of
from serialtrace.demo import DemoResult
from serialtrace.errors import ValidationError
from serialtrace.settings import Home
from tests.dashboards.login import ensure_user, view_app


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select range as n from range(450)")
    return path


def test_pages_cut_in_sql(warehouse: Path) -> None:
    sql = "select n from t order by n"
    first = page_of(warehouse, sql, number=1, size=200)
    assert (first.total, first.pages, first.rows.height) == (450, 3, 200)
    assert (first.first_row, first.last_row) == (1, 200)
    last = page_of(warehouse, sql, number=3, size=200)
    assert last.rows["n"].to_list() == list(range(400, 450))
    assert (last.first_row, last.last_row) == (401, 450)
    beyond = page_of(warehouse, sql, number=99, size=200)
    assert beyond.number == 3 and beyond.rows["n"][0] == 400
    filtered = page_of(warehouse, "select n from t where n < ? order by n", [5], size=2)
    assert (filtered.total, filtered.pages, filtered.rows["n"].to_list()) == (5, 3, [0, 1])
    empty = page_of(warehouse, "select n from t where n < 0 order by n")
    assert (empty.total, empty.pages, empty.first_row, empty.last_row) == (0, 1, 0, 0)
    with pytest.raises(ValidationError, match="page size"):
        page_of(warehouse, sql, size=0)


def test_batch_serials_page_through_the_batch(
    demo: tuple[Home, DemoResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, result = demo
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        total, status, of_status = con.execute(
            "select sum(count(*)) over (), status, count(*) from serial_lifecycle "
            "where work_order_id = ? group by status order by count(*) desc limit 1",
            [result.work_order_id],
        ).fetchone() or (0, "", 0)
    app = view_app("batch_quality.py", user=ensure_user(home)).run()
    assert not app.exception
    caption = next(c.value for c in app.caption if c.value.startswith("Rows "))
    assert caption == f"Rows 1–200 of {total:,} (page 1 of {-(-total // 200):,})"
    app.number_input(key="batch-serials-page").set_value(2).run()
    caption = next(c.value for c in app.caption if c.value.startswith("Rows "))
    assert caption.startswith(f"Rows 201–{min(400, total):,} of {total:,}")
    app.selectbox(key="serial-status").select(status).run()
    app.number_input(key="batch-serials-page").set_value(1).run()
    caption = next(c.value for c in app.caption if c.value.startswith("Rows "))
    assert caption.startswith(f"Rows 1–{min(200, of_status):,} of {of_status:,}")
