"""The partners page, run headless by Streamlit's test harness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from partners.ledger import DeliveryLedger, utcnow
from serialtrace.settings import PROJECT_ROOT, Home
from tests.dashboards.login import ensure_user, view_app

PAGE = PROJECT_ROOT / "dashboards" / "views" / "partners.py"


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_mart: bool) -> Home:
    home = Home(tmp_path / "home").ensure()
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    ensure_user(home, "partner-viewer", ["auditor"])
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("create table batch_quality (work_order_id varchar)")
        if with_mart:
            con.execute(
                "create table partner_scorecard as select * from (values"
                " ('acme-sftp', 3, 2, 1, 0, 0, 2, 0, 0, 66.7),"
                " ('beta-as2', 1, 0, 0, 1, 0, 0, 0, 0, 0.0))"
                " t(partner_id, files_sent, files_acknowledged, files_rejected, files_failed,"
                " files_pending, acks_on_time, acks_late, acks_overdue,"
                " pct_acknowledged_on_time)"
            )
    now = utcnow()
    with DeliveryLedger(home.partners_ledger) as ledger:
        d = ledger.enqueue("acme-sftp", "sftp", "WO-1.xml", "WO-1.xml", "h", 1, now=now)
        ledger.begin_attempt(d.message_id, now)
        ledger.mark_sent(d.message_id, timedelta(minutes=5), now=now)
        ledger.acknowledge(d.message_id, "sftp-verified", "stored as inbound/x (SHA-256 ok)")
    return home


def test_page_shows_the_scorecard_and_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _home(tmp_path, monkeypatch, with_mart=True)
    app = view_app(PAGE, user="partner-viewer").run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {
        "Partners": "2",
        "Files sent": "4",
        "Acknowledged": "2",
        "Failed or rejected": "2",
    }
    ledger_frame = app.dataframe[1].value
    assert list(ledger_frame["file_name"]) == ["WO-1.xml"]
    assert list(ledger_frame["status"]) == ["acknowledged"]


def test_page_without_the_mart_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _home(tmp_path, monkeypatch, with_mart=False)
    app = view_app(PAGE, user="partner-viewer").run()
    assert not app.exception
    assert "No partner deliveries in the warehouse yet" in app.info[0].value
    assert list(app.dataframe[0].value["status"]) == ["acknowledged"]
