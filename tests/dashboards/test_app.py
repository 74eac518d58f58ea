"""Each page, run headless by Streamlit's own test harness over the demo's warehouse, as
a logged-in admin (tests/dashboards/login.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import data
from serialtrace.demo import DemoResult
from serialtrace.gs1.element_string import encode_unit
from serialtrace.settings import Home
from tests.dashboards.login import ensure_user, view_app


def _run(view: str) -> AppTest:
    return view_app(view).run()


@pytest.fixture
def on_demo(
    demo: tuple[Home, DemoResult], monkeypatch: pytest.MonkeyPatch
) -> tuple[Home, DemoResult]:
    monkeypatch.setenv("SERIALTRACE_HOME", str(demo[0].root))
    ensure_user(demo[0])
    return demo


def test_batch_page_shows_the_warehouse_figures(on_demo: tuple[Home, DemoResult]) -> None:
    home, result = on_demo
    app = _run("batch_quality.py")
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


def test_a_filter_that_matches_nothing_says_so(on_demo: tuple[Home, DemoResult]) -> None:
    app = _run("batch_quality.py")
    app.sidebar.multiselect[2].select("NO-SUCH-LOT").run()  # not an option: nothing matches
    assert not app.exception


def test_serial_lookup_shows_status_and_case(on_demo: tuple[Home, DemoResult]) -> None:
    home, _result = on_demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select s.gtin, s.serial, s.case_sscc, w.lot, w.expiry from serial_lifecycle s "
            "join dim_work_orders w using (work_order_id) where s.case_sscc is not null limit 1"
        ).fetchone()
    assert row is not None
    gtin, serial, case, lot, expiry = row
    scanned = "]d2" + encode_unit(gtin, serial, lot, expiry.strftime("%y%m%d")).payload
    app = _run("serial_lookup.py")
    app.text_input(key="identifier").input(scanned).run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Status"] == "shipped"  # the demo ships its pallets
    assert any(case in c.value for c in app.caption)


def test_serial_lookup_rejects_garbage_with_a_message(on_demo: tuple[Home, DemoResult]) -> None:
    app = _run("serial_lookup.py")
    app.text_input(key="identifier").input("not a code").run()
    assert not app.exception and app.error


def test_reconciliation_page_lists_every_batch(on_demo: tuple[Home, DemoResult]) -> None:
    _, _result = on_demo
    app = _run("reconciliation.py")
    assert not app.exception
    assert app.metric[0].value.endswith("of 1")


def test_missing_warehouse_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path))
    ensure_user(Home(tmp_path))
    for view in (
        "batch_quality.py",
        "serial_lookup.py",
        "reconciliation.py",
        "verification_log.py",
    ):
        app = _run(view)
        assert not app.exception
        assert "Run `serialtrace demo` first" in app.error[0].value


def test_serial_lookup_shows_a_quarantine_lock(on_demo: tuple[Home, DemoResult]) -> None:
    from alerts.locks import QuarantineLocks, item_key

    home, _result = on_demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select gtin, serial from serial_lifecycle where case_sscc is not null limit 1"
        ).fetchone()
    assert row is not None
    gtin, serial = row
    locks = QuarantineLocks(home.alerts_db)
    locks.lock("CASE-LOOKUP-TEST", [item_key(gtin, serial)], reason="test", user="qa")
    try:
        app = _run("serial_lookup.py")
        app.text_input(key="identifier").input(f"{gtin} {serial}").run()
        assert not app.exception
        assert any("CASE-LOOKUP-TEST" in e.value for e in app.error)
    finally:
        locks.release("CASE-LOOKUP-TEST", user="qa")
    app = _run("serial_lookup.py")
    app.text_input(key="identifier").input(f"{gtin} {serial}").run()
    assert not any("CASE-LOOKUP-TEST" in e.value for e in app.error)


def test_verification_log_shows_the_demo_queries(on_demo: tuple[Home, DemoResult]) -> None:
    home, _result = on_demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        queries, not_verified = con.execute(
            "select sum(queries), sum(not_verified_answers) from verification_telemetry "
            "where direction = 'incoming'"
        ).fetchone() or (0, 0)
        (logged,) = con.execute(
            "select count(*) from stg_verification__queries where direction = 'incoming'"
        ).fetchone() or (0,)
    assert queries >= 2 and not_verified >= 1  # the demo asks about two serials
    app = _run("verification_log.py")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Queries"] == f"{queries:,}"
    assert metrics["Not verified"] == f"{not_verified:,}"
    caption = next(c.value for c in app.caption if c.value.startswith("Rows "))
    assert f"of {logged:,} " in caption
    app.checkbox(key="verification-failures").check().run()
    caption = next(c.value for c in app.caption if c.value.startswith("Rows "))
    assert f"of {not_verified:,} " in caption
    totals, reasons = data.verification_totals(home.warehouse)
    # integers, not DuckDB's decimal sums (altair cannot infer a Vega-Lite type for those)
    assert totals is not None and totals["queries"] == queries
    assert reasons.schema["answers"] == pl.Int64 and reasons["answers"].sum() == not_verified


def test_partners_page_reads_the_mart_and_the_ledger(on_demo: tuple[Home, DemoResult]) -> None:
    home, _result = on_demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        partners = [
            r[0] for r in con.execute("select partner_id from partner_scorecard").fetchall()
        ]
    with sqlite3.connect(f"file:{home.partners_ledger}?mode=ro", uri=True) as ledger:
        ids = [r[0] for r in ledger.execute("select delivery_id from deliveries").fetchall()]
    ledger.close()
    assert partners and ids  # the demo exports to its partners
    assert data.partner_scorecard(home.warehouse)["partner_id"].to_list() == sorted(partners)
    shown = data.latest_deliveries(home.partners_ledger, limit=max(1, len(ids) - 1))
    assert shown.height == max(1, len(ids) - 1)
    app = _run("partners.py")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Partners"] == f"{len(partners):,}"
    assert len(app.dataframe) == 2  # the scorecard and the latest deliveries
