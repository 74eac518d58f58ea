from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.model import Alert, AlertType, Classification, Disposition, Subject
from alerts.notification import fmd_outcome, form_3911
from alerts.service import dispose_case, raise_alert, store_for
from alerts.sources import fmd_alerts
from serialtrace.errors import ValidationError
from serialtrace.settings import Home
from serialtrace.users import UserStore
from tests.alerts.conftest import CASES, GTIN, PW, Clock


def test_form_3911_initial_and_termination(
    home: Home, users: UserStore, clock: Clock, tmp_path: Path
) -> None:
    alert = Alert(
        AlertType.MANUAL, "M-9", "case found at an unknown wholesaler", (Subject(sscc=CASES[0]),)
    )
    case, _ = raise_alert(home, alert, user="qa", clock=clock)
    store = store_for(home, clock)
    with pytest.raises(ValidationError, match="no determination"):
        form_3911(store, case.case_id, home.warehouse)
    store.assign(case.case_id, "qa", user="hq")
    store.determine(case.case_id, Classification.DIVERTED, "sold outside the contract", user="qa")
    note = form_3911(store, case.case_id, home.warehouse, users=users)
    c = note.content
    assert c["type_of_report"] == "initial" and c["classification"] == "Diverted"
    assert c["product"]["serial_numbers"] == ["S00", "S01"]
    assert c["product"]["lots"] == ["LOT1"] and c["product"]["expiry_dates"] == ["2028-02-29"]
    assert c["product"]["quantity"] == 2
    assert c["contact"] == {"name": "Quinn Quality", "email": "qa@x.test"}
    assert c["notify_by"].startswith("2026-11-26T08:00")  # 24 h after the determination
    assert "product.drug_use" in c["to_complete"]  # not known to the installation
    json_path, pdf_path = note.write(tmp_path)
    assert json.loads(json_path.read_text())["form"] == "FDA-3911"
    assert pdf_path.read_bytes().startswith(b"%PDF") and pdf_path.stat().st_size > 1000
    with pytest.raises(ValidationError, match="incident number"):
        form_3911(store, case.case_id, home.warehouse, kind="termination")
    end = form_3911(
        store,
        case.case_id,
        home.warehouse,
        kind="termination",
        incident_number="IN-123",
        termination_reason="product destroyed",
    )
    assert end.content["reason_for_termination"] == "product destroyed"
    assert end.content["fda_incident_number"] == "IN-123"
    # the closed case carries its signature into the notification
    dispose_case(
        home, case.case_id, Disposition.ILLEGITIMATE, "diverted", users, "hq", PW, clock=clock
    )
    signed = form_3911(store, case.case_id, home.warehouse).content["case"]["signatures"]
    assert [s["name"] for s in signed] == ["Hana Head"]
    assert c["product"]["ndc"] == "12345-678-90" and c["company"]["name"] == "Example Pharma Inc."
    assert c["company"]["address"] == "1 Plant Road, Springfield, NJ, 07000, US"
    # the illegitimate serials were decommissioned through serialtrace/lifecycle
    from serialtrace.lifecycle.store import read_events

    events = read_events(home.raw)
    assert sorted(e["serial"] for e in events) == ["S00", "S01"]
    assert {e["reason"] for e in events} == {"destroyed"}


def test_fmd_outcome(home: Home, users: UserStore, clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps(
            {
                "alerts": [
                    {
                        "alert_id": "FR-1",
                        "market": "FR",
                        "return_code": "NMVS_NC_PC_02",
                        "raised_at": "2026-11-25T06:00:00Z",
                        "product_code": GTIN,
                        "serial": "S10",
                        "batch": "LOT1",
                        "expiry": "2028-02-29",
                    }
                ]
            }
        )
    )
    (alert,) = fmd_alerts(path)
    case, _ = raise_alert(home, alert, clock=clock)
    store = store_for(home, clock)
    assert fmd_outcome(store, case.case_id).content["investigation_outcome"] == (
        "under investigation"
    )
    dispose_case(
        home,
        case.case_id,
        Disposition.CLEARED,
        "pharmacy scanner misread",
        users,
        "qa",
        PW,
        clock=clock,
    )
    note = fmd_outcome(store, case.case_id, users=users)
    assert note.content["investigation_outcome"].startswith("closed: not a falsification")
    assert note.content["alert_id"] == "FR-1" and note.content["market"] == "FR"
    _, pdf = note.write(tmp_path / "out")
    assert pdf.read_bytes().startswith(b"%PDF")
