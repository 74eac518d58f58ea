"""The alert queue and case page, run headless by Streamlit's test harness."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from alerts.model import Alert, AlertType, Subject
from alerts.service import raise_alert, store_for
from serialtrace.settings import PROJECT_ROOT, Home
from serialtrace.users import UserStore
from tests.alerts.conftest import CASES, GTIN, PW, Clock

VIEW = str(PROJECT_ROOT / "dashboards" / "views" / "alerts.py")


@pytest.fixture
def on_home(home: Home, users: UserStore, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    return home


def _app() -> AppTest:
    return AppTest.from_file(VIEW, default_timeout=60).run()


def test_no_alerts_yet_is_explained(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path))
    app = _app()
    assert not app.exception and "no alert was raised yet" in app.info[0].value


def test_queue_case_page_and_investigation_form(on_home: Home, clock: Clock) -> None:
    alert = Alert(AlertType.MANUAL, "M-1", "torn seal", (Subject(sscc=CASES[0]),))
    case, _ = raise_alert(on_home, alert, clock=clock)
    app = _app()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Open cases"] == "1" and metrics["Unassigned"] == "1"
    queue = app.dataframe[0].value
    assert list(queue["case"]) == [case.case_id] and list(queue["owner"]) == ["—"]
    assert {"age (h)", "SLA left (h)", "severity"} <= set(queue.columns)
    affected = app.dataframe[1].value
    assert set(affected["identifier"]) == {
        f"(00){CASES[0]}",
        f"(01){GTIN}(21)S00",
        f"(01){GTIN}(21)S01",
    }
    # the lock is visible from any identifier form
    app.sidebar.text_input(key="probe").input(f"{GTIN}:S01").run()
    assert f"LOCKED by case {case.case_id}" in app.sidebar.error[0].value
    app.sidebar.text_input(key="probe").input(f"{GTIN}:S10").run()
    assert "not quarantined" in app.sidebar.success[0].value
    # a wrong password is refused and nothing is written
    app.text_input(key="entry_user").input("qa")
    app.text_input(key="entry_password").input("nope-nope")
    app.text_area(key="entry_text").input("called the wholesaler")
    app.selectbox(key="entry_action").select("step")
    app.button[0].click().run()
    assert not app.exception and "wrong user name or password" in app.error[0].value
    assert [e.kind for e in store_for(on_home).entries(case.case_id)] == ["raised"]
    # the right one saves the step
    app.text_input(key="entry_password").input(PW)
    app.button[0].click().run()
    assert not app.exception
    assert [e.kind for e in store_for(on_home).entries(case.case_id)] == ["raised", "step"]


def test_stale_form_is_refused_and_signed_disposition(on_home: Home, clock: Clock) -> None:
    alert = Alert(AlertType.MANUAL, "M-2", "odd label", (Subject(gtin=GTIN, serial="S10"),))
    case, _ = raise_alert(on_home, alert, clock=clock)
    app = _app()
    # someone else changes the case after this page loaded it
    store_for(on_home).assign(case.case_id, "hq", user="hq")
    app.text_input(key="entry_user").input("qa")
    app.text_input(key="entry_password").input(PW)
    app.text_area(key="entry_text").input("my note")
    app.button[0].click().run()
    assert "reload it" in app.error[0].value
    assert "my note" not in [e.text for e in store_for(on_home).entries(case.case_id)]
    # reloaded: sign and close as cleared
    app = _app()
    app.text_input(key="sign_user").input("qa")
    app.text_input(key="sign_password").input(PW)
    app.text_area(key="sign_reason").input("label printed by a known contract packer")
    app.button[1].click().run()
    assert not app.exception
    closed = store_for(on_home).get(case.case_id)
    assert closed.status == "closed" and closed.disposition == "cleared"
    assert store_for(on_home).locks.all_active() == []
