"""The demo's alert step, over the shared demo home (tests/conftest.py)."""

from __future__ import annotations

from alerts.demo import DEMO_QA
from alerts.locks import QuarantineLocks, item_key
from alerts.service import store_for
from serialtrace.demo import DemoResult
from serialtrace.settings import Home


def test_demo_raised_investigated_signed_and_closed_one_alert(
    demo: tuple[Home, DemoResult],
) -> None:
    home, _result = demo
    store = store_for(home)
    (case,) = store.cases()
    assert case.alert_type == "verification" and case.status == "closed"
    assert case.disposition == "illegitimate" and case.classification == "counterfeit"
    assert case.assignee == DEMO_QA and case.closed_by == DEMO_QA
    (sig,) = store.signatures(case.case_id)
    assert sig.meaning == "approved" and store.verify_signature(sig)
    kinds = [e.kind for e in store.entries(case.case_id)]
    assert kinds == ["raised", "assignment", "step", "finding", "determination", "disposition"]
    (ident,) = store.identifiers(case.case_id)
    assert ident["status"] is None  # never issued: not in the warehouse
    locks = QuarantineLocks(home.alerts_db)
    assert locks.case_for(item_key(ident["gtin"], ident["serial"])) == case.case_id
    assert store.verify_trail().intact
    assert (home.root / "alerts" / "out" / f"{case.case_id}-FDA-3911-initial.pdf").is_file()
