"""The alert queue and case page, run headless by Streamlit's test harness as a logged-in
user (tests/dashboards/login.py): actions are taken as that user, per their roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from alerts.model import Alert, AlertType, Subject
from alerts.service import raise_alert, store_for
from serialtrace.settings import Home
from serialtrace.users import UserStore
from tests.alerts.conftest import CASES, GTIN, PW, Clock
from tests.dashboards.login import ensure_user, view_app


@pytest.fixture
def on_home(home: Home, users: UserStore, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    return home


def _app(user: str = "qa") -> AppTest:
    return view_app("alerts.py", user=user).run()


def test_no_alerts_yet_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path))
    app = _app(ensure_user(Home(tmp_path), "qa", ["quality"]))
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
    # the step is saved as the logged-in user
    app.text_area(key="entry_text").input("called the wholesaler")
    app.selectbox(key="entry_action").select("step")
    app.button[0].click().run()
    assert not app.exception
    entries = store_for(on_home).entries(case.case_id)
    assert [(e.kind, e.user) for e in entries] == [("raised", entries[0].user), ("step", "qa")]


def test_stale_form_is_refused_and_signed_disposition(on_home: Home, clock: Clock) -> None:
    alert = Alert(AlertType.MANUAL, "M-2", "odd label", (Subject(gtin=GTIN, serial="S10"),))
    case, _ = raise_alert(on_home, alert, clock=clock)
    app = _app()
    # someone else changes the case after this page loaded it
    store_for(on_home).assign(case.case_id, "hq", user="hq")
    app.text_area(key="entry_text").input("my note")
    app.button[0].click().run()
    assert "reload it" in app.error[0].value
    assert "my note" not in [e.text for e in store_for(on_home).entries(case.case_id)]
    # reloaded: a wrong password does not sign (and the refusal is in the trail)
    app = _app()
    app.text_input(key="sign_password").input("nope-nope-nope")
    app.text_area(key="sign_reason").input("label printed by a known contract packer")
    app.button[1].click().run()
    assert not app.exception and "wrong user name or password" in app.error[0].value
    assert store_for(on_home).get(case.case_id).status != "closed"
    assert "signature.refused" in [t["action"] for t in store_for(on_home).trail(case.case_id)]
    # the session user's password signs and closes as cleared
    app.text_input(key="sign_password").input(PW)
    app.text_area(key="sign_reason").input("label printed by a known contract packer")
    app.button[1].click().run()
    assert not app.exception
    closed = store_for(on_home).get(case.case_id)
    assert closed.status == "closed" and closed.disposition == "cleared"
    assert [s.user for s in store_for(on_home).signatures(case.case_id)] == ["qa"]
    assert store_for(on_home).locks.all_active() == []


def test_the_auditor_reads_the_case_but_has_no_action(on_home: Home, clock: Clock) -> None:
    alert = Alert(AlertType.MANUAL, "M-3", "dented case", (Subject(sscc=CASES[1]),))
    case, _ = raise_alert(on_home, alert, clock=clock)
    app = _app("aud")
    assert not app.exception
    assert list(app.dataframe[0].value["case"]) == [case.case_id]
    assert "read-only" in app.info[0].value
    assert [b.label for b in app.button] == []  # neither form
    assert not any(t.key == "sign_password" for t in app.text_input)


def test_a_serialization_admin_adds_notes_but_does_not_sign(
    on_home: Home, users: UserStore, clock: Clock
) -> None:
    users.add("sa", PW, full_name="Sam Serial", roles=["serialization_admin"], by="t")
    alert = Alert(AlertType.MANUAL, "M-4", "smudged code", (Subject(sscc=CASES[1]),))
    case, _ = raise_alert(on_home, alert, clock=clock)
    app = _app("sa")
    assert not app.exception
    assert app.selectbox(key="entry_action").options == ["evidence", "note"]
    assert [b.label for b in app.button] == ["Save"]  # no signature form
    app.text_area(key="entry_text").input("photo of the code attached")
    app.selectbox(key="entry_action").select("note")
    app.button[0].click().run()
    assert not app.exception
    assert store_for(on_home).entries(case.case_id)[-1].user == "sa"
