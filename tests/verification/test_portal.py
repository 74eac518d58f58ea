"""The portal page, run headless by Streamlit's test harness over the shared demo home
(whose demo step asked the responder about one serial)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, SensorResult, build_sensor_context

from alerts.locks import QuarantineLocks, item_key
from orchestration.definitions import build_definitions
from orchestration.resources import RawZone
from orchestration.verification import sealed_query_journal_sensor
from serialtrace.cli import main
from serialtrace.demo import DemoResult
from serialtrace.settings import PROJECT_ROOT, Home
from tests.dashboards.login import ensure_user, view_app
from verification.portal import query_history
from verification.querylog import QueryJournal
from verification.store import store_path

PAGE = PROJECT_ROOT / "dashboards" / "views" / "verification.py"


@pytest.fixture
def on_demo(
    demo: tuple[Home, DemoResult], monkeypatch: pytest.MonkeyPatch
) -> tuple[Home, DemoResult]:
    monkeypatch.setenv("SERIALTRACE_HOME", str(demo[0].root))
    ensure_user(demo[0])
    return demo


def _asked(home: Home) -> tuple[str, str, str, str]:
    """The serial the demo's verification step asked about (its query log row)."""
    with duckdb.connect() as con:
        row = con.execute(
            "select gtin, serial, lot, expiry from read_parquet(?) where verified",
            [str(home.raw / "verification" / "queries" / "*.parquet")],
        ).fetchone()
    assert row is not None
    return row


def test_portal_shows_answer_lifecycle_parents_and_history(
    on_demo: tuple[Home, DemoResult],
) -> None:
    home, _ = on_demo
    gtin, serial, lot, expiry = _asked(home)
    app = view_app(PAGE).run()
    app.text_input(key="identifier").input(f"(01){gtin}(17){expiry}(10){lot}(21){serial}").run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Answer"] == "verified"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        status = con.execute(
            "select status from serial_lifecycle where gtin = ? and serial = ?", [gtin, serial]
        ).fetchone()
    assert status is not None and metrics["Status"] == status[0]  # the warehouse's status
    assert len(query_history(home, gtin, serial)) >= 1
    assert any("queries logged" in c.value and not c.value.startswith("0 ") for c in app.caption)
    assert len(app.dataframe) == 3  # lifecycle, aggregation parents, query history

    locks = QuarantineLocks(home.alerts_db)
    locks.lock("CASE-PORTAL", [item_key(gtin, serial)], reason="test", user="qa")
    try:
        app = view_app(PAGE).run()
        app.text_input(key="identifier").input(f"{gtin} {serial} {lot} {expiry}").run()
        metrics = {m.label: m.value for m in app.metric}
        assert metrics["Answer"] == "not verified"
        assert metrics["additionalInfo"] == "Suspect"
        assert any("CASE-PORTAL" in w.value for w in app.warning)
    finally:
        locks.release("CASE-PORTAL", user="qa")


def test_portal_names_the_problem_in_bad_input(on_demo: tuple[Home, DemoResult]) -> None:
    app = view_app(PAGE).run()
    app.text_input(key="identifier").input("(01)123").run()
    assert not app.exception and app.error


def test_refresh_exports_every_serial_of_the_index(
    on_demo: tuple[Home, DemoResult], capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = on_demo
    assert main(["verify", "refresh", "--home", str(home.root)]) == 0
    assert "serials" in capsys.readouterr().out
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        expected = con.execute(
            "select gtin, serial, lot, cast(expiry as varchar), status from verification_index"
        ).fetchall()
    with sqlite3.connect(store_path(home.root)) as db:
        got = db.execute("select gtin, serial, lot, expiry, status from serials").fetchall()
    assert sorted(got) == sorted(expected) and len(got) == 700


def test_dagster_graph_and_journal_sensor(demo: tuple[Home, DemoResult], tmp_path: Path) -> None:
    home, _ = demo
    graph = build_definitions(home).resolve_asset_graph()
    store = graph.get(AssetKey(["verification", "lookup_store"]))
    assert AssetKey("verification_index") in store.parent_keys
    staging = graph.get(AssetKey("stg_verification__queries"))
    assert AssetKey(["verification", "queries"]) in staging.parent_keys

    other = Home(tmp_path / "h").ensure()
    journal = QueryJournal(other.root)
    journal.append({"query_id": "q", "logged_at": "2026-11-25T00:00:00+00:00"})
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, resources={"raw_zone": RawZone(path=str(other.raw))}
        )
        before = sealed_query_journal_sensor(context)
        assert isinstance(before, SensorResult) and not before.run_requests  # still open
        journal.close()
        after = sealed_query_journal_sensor(context)
        assert isinstance(after, SensorResult) and len(after.run_requests or []) == 1
