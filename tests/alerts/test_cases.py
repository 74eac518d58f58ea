from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from alerts.locks import QuarantineLocks, container_key, item_key
from alerts.model import (
    Alert,
    AlertType,
    Classification,
    Disposition,
    EntryKind,
    Subject,
    VerificationOutcome,
)
from alerts.service import (
    QuarantinedError,
    check_shippable,
    dispose_case,
    on_verification,
    raise_alert,
    store_for,
    verification_lock,
)
from alerts.store import StaleCaseError
from serialtrace.errors import ValidationError
from serialtrace.settings import Home
from serialtrace.users import AuthenticationError, UserStore
from tests.alerts.conftest import CASES, GTIN, PALLET, PW, T0, Clock


def _outcome(serial: str, verified: bool = False, qid: str = "Q-1") -> VerificationOutcome:
    return VerificationOutcome(
        query_id=qid,
        at=T0,
        requestor_gln="9506000000015",
        gtin=GTIN,
        serial=serial,
        lot="LOT1",
        expiry=date(2028, 2, 29),
        verified=verified,
        reason_code=None if verified else "No_match_GTIN_Serial",
    )


def test_pallet_report_locks_cases_and_items(home: Home, clock: Clock) -> None:
    alert = Alert(AlertType.MANUAL, "M-1", "pallet damaged seal", (Subject(sscc=PALLET),))
    case, new = raise_alert(home, alert, user="qa", clock=clock)
    assert new and case.case_id == "ALR-2026-000001" and case.status == "open"
    locks = QuarantineLocks(home.alerts_db)
    keys = {lk.identifier for lk in locks.all_active()}
    assert keys == {
        container_key(PALLET),
        *(container_key(c) for c in CASES),
        *(item_key(GTIN, f"S{i}{j}") for i in range(2) for j in range(2)),
    }
    # raising the same alert again finds the case (idempotent imports)
    again, new = raise_alert(home, alert, user="qa", clock=clock)
    assert not new and again.case_id == case.case_id
    # the lock is visible to shipping and verification
    with pytest.raises(QuarantinedError, match=f"case {case.case_id}"):
        check_shippable(locks, [container_key(CASES[0])])
    check_shippable(locks, [item_key(GTIN, "NOT-LOCKED")])
    verdict = verification_lock(locks, GTIN, "S01")
    assert verdict.locked and verdict.case_id == case.case_id
    assert not verification_lock(locks, GTIN, "NOT-LOCKED").locked


def test_verification_outcome_opens_case_only_when_needed(home: Home, clock: Clock) -> None:
    assert on_verification(home, _outcome("S00", verified=True), clock=clock) is None
    case = on_verification(home, _outcome("NEVER-ISSUED"), clock=clock)
    assert case is not None and case.alert_type == "verification"
    assert "never issued" in case.title and case.detail["requestor_gln"] == "9506000000015"
    rows = store_for(home).identifiers(case.case_id)
    assert [(r["identifier"], r["status"], r["locked"]) for r in rows] == [
        (item_key(GTIN, "NEVER-ISSUED"), None, 1)
    ]
    flagged = VerificationOutcome(
        "Q-2", T0, None, GTIN, "S00", None, None, True, None, ("Suspect",)
    )
    case2 = on_verification(home, flagged, clock=clock)
    assert case2 is not None and case2.case_id != case.case_id
    rows = store_for(home).identifiers(case2.case_id)
    assert rows[0]["status"] == "aggregated" and rows[0]["case_sscc"] == CASES[0]


def test_investigation_cleared_releases_locks(home: Home, users: UserStore, clock: Clock) -> None:
    store = store_for(home, clock)
    case = on_verification(home, _outcome("S10"), clock=clock)
    assert case is not None
    clock.advance(minutes=5)
    case = store.assign(case.case_id, "qa", user="hq", expected_version=case.version)
    assert case.status == "investigating" and case.assignee == "qa" and case.version == 2
    store.add_entry(case.case_id, EntryKind.STEP, "asked the requestor for a photo", user="qa")
    store.add_entry(
        case.case_id,
        EntryKind.EVIDENCE,
        "photo of the pack",
        user="qa",
        data={"file": "photo.jpg", "sha256": "ab" * 32},
    )
    store.add_entry(case.case_id, EntryKind.FINDING, "scanner misread a 1 as l", user="qa")
    with pytest.raises(AuthenticationError):
        dispose_case(home, case.case_id, Disposition.CLEARED, "misread", users, "qa", "bad pw")
    refused = store.trail(case.case_id)[-1]
    assert refused["action"] == "signature.refused" and refused["user"] == "qa"
    with pytest.raises(ValidationError, match="quality or admin"):
        dispose_case(home, case.case_id, Disposition.CLEARED, "misread", users, "op", PW)
    closed, sig = dispose_case(
        home, case.case_id, Disposition.CLEARED, "scanning error", users, "qa", PW, clock=clock
    )
    assert closed.status == "closed" and closed.disposition == "cleared"
    assert sig.full_name == "Quinn Quality" and sig.meaning == "approved"
    assert store.verify_signature(sig)
    assert QuarantineLocks(home.alerts_db).case_for(item_key(GTIN, "S10")) is None
    kinds = [e.kind for e in store.entries(case.case_id)]
    assert kinds == ["raised", "assignment", "step", "evidence", "finding", "disposition"]
    assert all(e.user and e.at for e in store.entries(case.case_id))
    with pytest.raises(ValidationError, match="closed"):
        store.add_entry(case.case_id, EntryKind.NOTE, "late", user="qa")


def test_illegitimate_needs_determination_and_keeps_lock(
    home: Home, users: UserStore, clock: Clock
) -> None:
    store = store_for(home, clock)
    case = on_verification(home, _outcome("FAKE-1"), clock=clock)
    assert case is not None
    with pytest.raises(ValidationError, match="determination first"):
        dispose_case(home, case.case_id, Disposition.ILLEGITIMATE, "fake", users, "qa", PW)
    store.determine(case.case_id, Classification.COUNTERFEIT, "not our serial", user="qa")
    closed, sig = dispose_case(
        home, case.case_id, Disposition.ILLEGITIMATE, "counterfeit", users, "qa", PW, clock=clock
    )
    assert closed.disposition == "illegitimate" and closed.classification == "counterfeit"
    last = store.entries(case.case_id)[-1]
    assert last.data["not_in_warehouse"] == [item_key(GTIN, "FAKE-1")]
    assert QuarantineLocks(home.alerts_db).case_for(item_key(GTIN, "FAKE-1")) == case.case_id
    assert store.verify_signature(sig)
    # the signature is bound to the record: change a signed entry and it no longer verifies
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DROP TRIGGER case_entry_no_update")
        db.execute(
            "UPDATE case_entry SET text = 'edited' WHERE case_id = ? AND kind = 'determination'",
            (case.case_id,),
        )
    assert not store.verify_signature(sig)


def test_stale_writer_is_refused_not_lost(home: Home, clock: Clock) -> None:
    store = store_for(home, clock)
    case = on_verification(home, _outcome("S11"), clock=clock)
    assert case is not None
    store.assign(case.case_id, "qa", user="hq", expected_version=case.version)
    with pytest.raises(StaleCaseError, match="reload"):
        store.assign(case.case_id, "hq", user="op", expected_version=case.version)
    assert store.get(case.case_id).assignee == "qa"
