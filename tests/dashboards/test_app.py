"""The Streamlit app, run headless by Streamlit's own test harness over demo data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from serialtrace.demo import DemoResult
from serialtrace.settings import PROJECT_ROOT, Home

APP = str(PROJECT_ROOT / "dashboards" / "app.py")


def test_batch_page_shows_the_warehouse_figures(
    demo: tuple[Home, DemoResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, result = demo
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert app.selectbox[0].value == result.work_order_id
    metrics = {m.label: m.value for m in app.metric}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        printed, passed, rejected = con.execute(
            "select printed, passed, rejected from batch_quality where work_order_id = ?",
            [result.work_order_id],
        ).fetchone() or (None, None, None)
    assert metrics["Printed"] == f"{printed:,}"
    assert metrics["Passed"] == f"{passed:,}"
    assert metrics["Rejected"] == f"{rejected:,}"
    assert metrics["Cases / pallets"] == f"{result.cases:,} / {result.pallets:,}"


def test_missing_warehouse_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert "Run `serialtrace demo` first" in app.error[0].value
